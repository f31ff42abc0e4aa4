"""Marketing consents, and past campaigns run with randomised control groups.

Consents are an event log per person and channel (granted, later perhaps withdrawn). A campaign
targets consenting CRM customers acquired before its send date and holds out a random control
group. Response follows the planted uplift model: without treatment a person responds with their
base probability, with treatment with base + uplift, both scaled by the campaign's strength and
damped for people who have already dropped out. Uplift differs by segment and is negative for
"sleeping dogs".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.demo import contact
from insightloop.demo.defects import DefectLog, choose_defects
from insightloop.demo.fmt import chunk_seq, format_datetime, keys, take
from insightloop.demo.output import FILES, FileChunk
from insightloop.demo.params import PERSONAS, UPLIFT_SEGMENTS, day_number
from insightloop.demo.population import Persons
from insightloop.demo.purchases import END_DAY, Transactions
from insightloop.demo.systems import Presence

__all__ = ["CAMPAIGNS", "Campaign", "campaigns_table", "consents_chunk", "members_chunk"]

MS_PER_DAY = 86_400_000
CONSENT_CHANNELS = ("email", "sms", "post")
_CHANNEL_FACTOR = np.array([1.0, 0.55, 0.35])
_SOURCES = pa.array(["crm", "ecommerce", "loyalty", "store"])
DEAD_RESPONSE_FACTOR = 0.2


@dataclass(frozen=True)
class Campaign:
    """A past campaign: when, through which channel, how strong, how big a control group."""

    campaign_id: str
    name: str
    channel: str
    send_date: dt.date
    strength: float
    control_share: float
    target_share: float
    offer: str


CAMPAIGNS = (
    Campaign("CMP-2201", "Spring sale", "email", dt.date(2022, 3, 15), 1.0, 0.15, 0.8, "20% off"),
    Campaign(
        "CMP-2202", "Summer app offer", "sms", dt.date(2022, 6, 1), 0.8, 0.2, 1.0, "free shipping"
    ),
    Campaign(
        "CMP-2203",
        "Autumn collection",
        "email",
        dt.date(2022, 9, 10),
        1.0,
        0.1,
        0.7,
        "new arrivals",
    ),
    Campaign("CMP-2204", "Black Friday", "email", dt.date(2022, 11, 20), 1.4, 0.1, 1.0, "30% off"),
    Campaign(
        "CMP-2301",
        "Catalogue mailing",
        "post",
        dt.date(2023, 3, 20),
        0.7,
        0.2,
        0.6,
        "printed catalogue",
    ),
    Campaign(
        "CMP-2302", "Members' week", "email", dt.date(2023, 6, 15), 1.0, 0.15, 0.9, "double points"
    ),
    Campaign("CMP-2303", "Black Friday", "email", dt.date(2023, 11, 22), 1.4, 0.1, 1.0, "30% off"),
    Campaign("CMP-2401", "Win-back", "sms", dt.date(2024, 2, 10), 1.2, 0.2, 1.0, "15% voucher"),
    Campaign(
        "CMP-2402", "Gift guide", "email", dt.date(2024, 5, 5), 0.9, 0.15, 0.8, "gift wrapping"
    ),
    Campaign("CMP-2403", "Black Friday", "email", dt.date(2024, 11, 25), 1.4, 0.1, 1.0, "30% off"),
)


def campaigns_table() -> dict[str, pa.Array]:
    """The ``campaigns/campaigns.csv`` columns."""
    return {
        "campaign_id": pa.array([c.campaign_id for c in CAMPAIGNS]),
        "name": pa.array([c.name for c in CAMPAIGNS]),
        "channel": pa.array([c.channel for c in CAMPAIGNS]),
        "send_date": pa.array([c.send_date.isoformat() for c in CAMPAIGNS]),
        "offer": pa.array([c.offer for c in CAMPAIGNS]),
        "control_share": pa.array([f"{c.control_share:.2f}" for c in CAMPAIGNS]),
    }


@dataclass
class Consents:
    """Per person and channel: day consent was granted and withdrawn (inf if never)."""

    granted: np.ndarray  # (n_persons, 3)
    withdrawn: np.ndarray


def _crm_primary(persons: Persons, presence: Presence) -> np.ndarray:
    row = np.full(persons.n, -1, dtype=np.int64)
    primary = ~presence.crm_duplicate
    row[presence.crm_person[primary]] = np.flatnonzero(primary)
    return row


def consents_chunk(
    rng: np.random.Generator, chunk: int, persons: Persons, presence: Presence, tag_modulus: int
) -> tuple[FileChunk, Consents]:
    """Consent events of persons known to the CRM, and the consent state they imply."""
    n = persons.n
    crm_row = _crm_primary(persons, presence)
    known = crm_row >= 0
    rate = np.array([pp.consent_rate for pp in PERSONAS])[persons.persona]
    grant = known[:, None] & (rng.random((n, 3)) < rate[:, None] * _CHANNEL_FACTOR)
    granted = np.where(grant, persons.t0[:, None] + rng.random((n, 3)) * 20, np.inf)
    withdraw = grant & (rng.random((n, 3)) < 0.15)
    start = np.where(grant, granted, 0.0)
    withdrawn = np.where(withdraw, start + rng.random((n, 3)) * (END_DAY - start), np.inf)
    withdrawn = np.where(withdrawn < END_DAY, withdrawn, np.inf)

    person, channel = np.nonzero(np.isfinite(granted))
    w_person, w_channel = np.nonzero(np.isfinite(withdrawn))
    all_person = np.concatenate([person, w_person])
    all_channel = np.concatenate([channel, w_channel])
    status = np.concatenate([np.zeros(len(person), int), np.ones(len(w_person), int)])
    day = np.concatenate([granted[person, channel], withdrawn[w_person, w_channel]])
    order = np.lexsort((day, all_person))
    all_person, all_channel, status, day = (
        a[order] for a in (all_person, all_channel, status, day)
    )
    m = len(all_person)
    by_email = rng.random(m) < 0.2
    ref = pc.if_else(
        pa.array(by_email),
        contact.email_at(persons, all_person, day, tag_modulus),
        presence.crm_key.take(pa.array(crm_row[all_person])),
    )
    cols = {
        "consent_id": keys("CS", chunk_seq(chunk, np.arange(m)), 51),
        "customer_ref": ref,
        "channel": take(pa.array(CONSENT_CHANNELS), all_channel),
        "status": take(pa.array(["granted", "withdrawn"]), status),
        "recorded_at": format_datetime(
            (day * MS_PER_DAY).astype(np.int64), "YYYY-MM-DDThh:mm:ss.fffZ"
        ),
        "source_system": take(_SOURCES, rng.integers(0, len(_SOURCES), m)),
    }
    picks = choose_defects(rng, m, ("duplicate_row",))
    log = DefectLog()
    cols, origin = log.duplicate_rows(cols, picks["duplicate_row"])
    file_chunk = FileChunk(
        FILES["sources/consents/consents.csv"],
        all_person[origin],
        cols,
        keys=[("consent", cols["consent_id"])],
        defects=log,
    )
    return file_chunk, Consents(granted, withdrawn)


def members_chunk(
    rng: np.random.Generator,
    persons: Persons,
    presence: Presence,
    txns: Transactions,
    alive: np.ndarray,
    consents: Consents,
    ids: pa.Array,
) -> tuple[FileChunk, dict[str, pa.Array]]:
    """Campaign membership (treatment/control) and responses, with the true probabilities."""
    crm_row = _crm_primary(persons, presence)
    death = np.full(persons.n, np.inf)
    last_seen = np.full(persons.n, -np.inf)
    np.maximum.at(last_seen, txns.person, txns.day)
    death[~alive] = last_seen[~alive]
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("person", "campaign", "treated", "p0", "p1", "responded", "rday")
    }
    for c, campaign in enumerate(CAMPAIGNS):
        send = float(day_number(campaign.send_date))
        ch = CONSENT_CHANNELS.index(campaign.channel)
        eligible = (
            (crm_row >= 0)
            & (persons.t0 < send)
            & (consents.granted[:, ch] <= send)
            & (consents.withdrawn[:, ch] > send)
        )
        eligible &= rng.random(persons.n) < campaign.target_share
        who = np.flatnonzero(eligible)
        treated = rng.random(len(who)) >= campaign.control_share
        damp = np.where(death[who] < send, DEAD_RESPONSE_FACTOR, 1.0)
        p0 = np.clip(persons.base_response[who] * campaign.strength * damp, 0, 1)
        p1 = np.clip(p0 + persons.uplift[who] * campaign.strength * damp, 0, 1)
        responded = rng.random(len(who)) < np.where(treated, p1, p0)
        parts["person"].append(who)
        parts["campaign"].append(np.full(len(who), c))
        parts["treated"].append(treated)
        parts["p0"].append(p0)
        parts["p1"].append(p1)
        parts["responded"].append(responded)
        parts["rday"].append(send + 1 + rng.geometric(0.25, len(who)))
    a = {k: np.concatenate(v) for k, v in parts.items()}
    order = np.lexsort((a["person"], a["campaign"]))
    a = {k: v[order] for k, v in a.items()}
    n = len(a["person"])
    send_day = np.array([day_number(c.send_date) for c in CAMPAIGNS])[a["campaign"]]
    # Link a response to the person's first purchase in the 30 days after the send, if any.
    key = txns.person * 1_000_000.0 + txns.day
    first_after = np.searchsorted(key, a["person"] * 1_000_000.0 + send_day)
    first_after = np.minimum(first_after, max(txns.n - 1, 0))
    linked = (
        a["responded"]
        & (txns.person[first_after] == a["person"])
        & (txns.day[first_after] < send_day + 30)
    )
    nulls = pa.nulls(n, pa.string())
    responded_at = np.where(linked, np.floor(txns.day[first_after]), a["rday"])
    cols = {
        "campaign_id": take(pa.array([c.campaign_id for c in CAMPAIGNS]), a["campaign"]),
        "customer_no": presence.crm_key.take(pa.array(crm_row[a["person"]])),
        "group": pa.array(np.where(a["treated"], "treatment", "control")),
        "sent_date": pc.if_else(
            pa.array(a["treated"]), format_datetime(send_day * MS_PER_DAY, "YYYY-MM-DD"), nulls
        ),
        "responded": pa.array(np.where(a["responded"], "1", "0")),
        "response_date": pc.if_else(
            pa.array(a["responded"]),
            format_datetime((responded_at * MS_PER_DAY).astype(np.int64), "YYYY-MM-DD"),
            nulls,
        ),
        "response_order_id": pc.if_else(pa.array(linked), ids.take(pa.array(first_after)), nulls),
    }
    truth = {
        "campaign_id": cols["campaign_id"],
        "customer_no": cols["customer_no"],
        "person": pa.array(a["person"]),
        "treated": pa.array(a["treated"]),
        "p_control": pa.array(np.round(a["p0"], 5)),
        "p_treatment": pa.array(np.round(a["p1"], 5)),
        "uplift_segment": take(
            pa.array(list(UPLIFT_SEGMENTS)), persons.uplift_segment[a["person"]]
        ),
        "responded": pa.array(a["responded"]),
    }
    picks = choose_defects(rng, n, ("duplicate_row",))
    log = DefectLog()
    cols, origin = log.duplicate_rows(cols, picks["duplicate_row"])
    chunk = FileChunk(
        FILES["sources/campaigns/members.csv"], a["person"][origin], cols, defects=log
    )
    return chunk, truth
