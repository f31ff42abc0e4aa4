"""The contact centre: why people get in touch, how agents record it, whether it gets solved.

Every interaction has a true reason. Late deliveries and returns trigger contacts; the rest arrive
at a persona-specific rate while the person is active. Agents record a reason code that is often
right, sometimes "OTHER" and sometimes wrong, and write a note in the customer's language.
Contacts about the purchase after which a person drops out stay unresolved far more often: that
is the planted link between unresolved contacts and churn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.demo import contact, geo
from insightloop.demo.baskets import Baskets
from insightloop.demo.catalogue import Catalogue
from insightloop.demo.defects import (
    DefectLog,
    choose_defects,
    impossible_dates,
    replace_rows,
)
from insightloop.demo.fmt import chunk_seq, format_datetime, int_str, keys, take
from insightloop.demo.output import FILES, FileChunk
from insightloop.demo.params import CHURN_DRIVERS, COUNTRIES, PERSONAS
from insightloop.demo.population import Persons
from insightloop.demo.purchases import END_DAY, Transactions
from insightloop.demo.systems import Presence
from insightloop.demo.texts import NOTES, REASONS, all_templates, choose, fill

__all__ = ["Interactions", "ServiceContext", "interactions_chunk", "simulate_interactions"]

MS_PER_DAY = 86_400_000
CODES = ("DELIVERY", "RETURN", "PRODUCT", "BILLING", "ACCOUNT", "LOYALTY", "COMPLAINT", "OTHER")
CHANNELS = ("phone", "email", "chat")
_BASELINE_MIX = np.array([0.0, 0.0, 0.4, 0.15, 0.15, 0.15, 0.15])
AGENTS_PER_TEAM = 24
_TEMPLATES = all_templates(NOTES)


@dataclass(frozen=True)
class ServiceContext:
    """Inputs of the contact-centre simulation."""

    chunk: int
    persons: Persons
    presence: Presence
    txns: Transactions
    baskets: Baskets
    catalogue: Catalogue
    order_ids: pa.Array
    tag_modulus: int


@dataclass
class Interactions:
    """One chunk's contacts (sorted by person, then time)."""

    person: np.ndarray
    day: np.ndarray
    reason: np.ndarray  # index into REASONS (true reason)
    txn: np.ndarray  # related transaction, -1 none
    line: np.ndarray  # related basket line (product), -1 none
    channel: np.ndarray
    resolved: np.ndarray
    recorded: np.ndarray  # index into CODES
    agent: np.ndarray
    dropout_related: np.ndarray
    ids: pa.Array

    @property
    def n(self) -> int:
        """Number of interactions."""
        return len(self.person)


def simulate_interactions(rng: np.random.Generator, ctx: ServiceContext) -> Interactions:
    """Draw every contact of the chunk's persons in the calibration window."""
    persons, txns, b = ctx.persons, ctx.txns, ctx.baskets
    drivers = CHURN_DRIVERS
    late = np.flatnonzero(
        (b.late_days > 0) & (rng.random(txns.n) < drivers["contact_after_late_delivery"])
    )
    late_day = b.promised_day[late] + 0.3 + rng.random(len(late)) * 2.2
    returned_txn = np.unique(b.line_txn[b.line_returned])
    ret = returned_txn[rng.random(len(returned_txn)) < drivers["contact_after_return"]]
    ret_line = np.searchsorted(b.line_txn, ret) + 0
    ret_line = ret_line + np.argmax(
        b.line_returned[np.minimum(ret_line[:, None] + np.arange(8), b.n_lines - 1)], axis=1
    )
    ret_day = b.line_return_day[ret_line] + 3 + rng.random(len(ret)) * 11
    leavers = np.flatnonzero(
        txns.is_dropout
        & (txns.channel == 0)
        & (rng.random(txns.n) < drivers["complaint_after_dropout_store_visit"])
    )
    leave_day = txns.day[leavers] + rng.random(len(leavers)) * 3

    rate = np.array([pp.contacts_per_year for pp in PERSONAS])[persons.persona]
    last_seen = np.full(persons.n, -np.inf)
    np.maximum.at(last_seen, txns.person, txns.day)
    active = np.maximum(last_seen - persons.t0, 0) + 30
    base_count = rng.poisson(rate * active / 365.25)
    base_person = np.repeat(np.arange(persons.n), base_count)
    base_day = persons.t0[base_person] + rng.random(len(base_person)) * active[base_person]
    base_reason = (rng.random(len(base_person))[:, None] > np.cumsum(_BASELINE_MIX)).sum(axis=1)
    base_line = np.full(len(base_person), -1)
    first_txn = np.searchsorted(txns.person, np.arange(persons.n))
    product_line = b.first_line[first_txn[base_person]]
    base_line = np.where(np.isin(base_reason, [2, 6]), product_line, base_line)

    person = np.concatenate(
        [txns.person[late], txns.person[ret], txns.person[leavers], base_person]
    )
    day = np.concatenate([late_day, ret_day, leave_day, base_day])
    reason = np.concatenate(
        [np.zeros(len(late), int), np.ones(len(ret), int), np.full(len(leavers), 6), base_reason]
    )
    txn = np.concatenate([late, ret, leavers, np.full(len(base_person), -1)])
    line = np.concatenate([b.first_line[late], ret_line, b.first_line[leavers], base_line])
    dropout = np.concatenate(
        [
            txns.is_dropout[late],
            txns.is_dropout[ret],
            np.ones(len(leavers), bool),
            np.zeros(len(base_person), bool),
        ]
    )
    keep = day < END_DAY
    person, day, reason, txn, line, dropout = (
        a[keep] for a in (person, day, reason, txn, line, dropout)
    )
    unresolved_p = np.where(
        dropout,
        drivers["unresolved_rate_on_dropout_purchase"],
        drivers["unresolved_rate_on_surviving_purchase"],
    )
    resolved = rng.random(len(person)) >= unresolved_p
    # An unresolved contact is often followed up a few days later.
    again = np.flatnonzero(~resolved & (rng.random(len(person)) < 0.5))
    follow_day = day[again] + 1 + rng.random(len(again)) * 6
    ok = follow_day < END_DAY
    again, follow_day = again[ok], follow_day[ok]
    person = np.concatenate([person, person[again]])
    day = np.concatenate([day, follow_day])
    reason = np.concatenate([reason, reason[again]])
    txn = np.concatenate([txn, txn[again]])
    line = np.concatenate([line, line[again]])
    dropout = np.concatenate([dropout, dropout[again]])
    resolved = np.concatenate([resolved, rng.random(len(again)) < 0.7])
    order = np.lexsort((day, person))
    person, day, reason, txn, line, dropout, resolved = (
        a[order] for a in (person, day, reason, txn, line, dropout, resolved)
    )

    n = len(person)
    digital = persons.persona[person] == 1
    channel = np.where(
        rng.random(n) < np.where(digital, 0.3, 0.55), 0, np.where(rng.random(n) < 0.5, 1, 2)
    )
    language = persons.language[person]
    team = np.select([language == "sv", language == "en"], [0, 1], 2)
    agent = team * AGENTS_PER_TEAM + rng.integers(0, AGENTS_PER_TEAM, n)
    accuracy = 0.62 + 0.33 * ((agent * 7919) % 100) / 100.0
    correct = rng.random(n) < accuracy
    wrong = (reason + 1 + rng.integers(0, len(REASONS) - 1, n)) % len(REASONS)
    recorded = np.where(correct, reason, np.where(rng.random(n) < 0.6, len(CODES) - 1, wrong))
    ids = keys("INT", chunk_seq(ctx.chunk, np.arange(n)), 31)
    return Interactions(
        person, day, reason, txn, line, channel, resolved, recorded, agent, dropout, ids
    )


def interactions_chunk(
    rng: np.random.Generator, ctx: ServiceContext, it: Interactions
) -> FileChunk:
    """The contact centre's interaction export (UTF-8, comma, multi-line notes quoted)."""
    persons, presence = ctx.persons, ctx.presence
    n = it.n
    crm_first = np.full(persons.n, -1, dtype=np.int64)
    primary = ~presence.crm_duplicate
    crm_first[presence.crm_person[primary]] = np.flatnonzero(primary)
    crm_row = crm_first[it.person]
    looked_up = (crm_row >= 0) & (rng.random(n) < 0.75)
    customer_no = pc.if_else(
        pa.array(looked_up),
        presence.crm_key.take(pa.array(np.maximum(crm_row, 0))),
        pa.nulls(n, pa.string()),
    )
    phone = pc.if_else(
        pa.array((it.channel == 0) & (rng.random(n) < 0.9)),
        contact.mobile_of(persons, it.person, np.ones(n, dtype=np.int64)),
        pa.nulls(n, pa.string()),
    )
    email = pc.if_else(
        pa.array(it.channel > 0),
        contact.email_at(persons, it.person, it.day, ctx.tag_modulus),
        pa.nulls(n, pa.string()),
    )
    offset = np.array([c.utc_offset_hours for c in COUNTRIES])
    codes = [c.code for c in COUNTRIES]
    shift = offset[np.select([persons.country[it.person] == c for c in codes], range(5))]
    day_int = np.floor(it.day).astype(np.int64)
    local_ms = day_int * MS_PER_DAY + ((8 + (it.day - day_int) * 12) * 3_600_000).astype(np.int64)
    started = local_ms - shift * 3_600_000
    base = np.array([420.0, 900.0, 600.0])[it.channel]
    duration = (base * rng.lognormal(0, 0.5, n) * np.where(it.resolved, 1.0, 1.4)).astype(int)

    txn = np.maximum(it.txn, 0)
    line = np.maximum(it.line, 0)
    slots = {
        "order": pc.if_else(pa.array(it.txn >= 0), ctx.order_ids.take(pa.array(txn)), "-"),
        "days": int_str(ctx.baskets.late_days[txn]),
        "product": take(ctx.catalogue.name, ctx.baskets.line_sku[line]),
        "store": take(geo.STORE_ID, np.maximum(ctx.presence.home_store[it.person], 0)),
    }
    themes = np.asarray(REASONS)[it.reason]
    notes = fill(_TEMPLATES, choose(rng, NOTES, persons.language[it.person], themes), slots)
    team_code = take(pa.array(["SE", "EN", "CN"]), it.agent // AGENTS_PER_TEAM)
    cols = {
        "interaction_id": it.ids,
        "started_at": format_datetime(started, "YYYY-MM-DDThh:mm:ssZ"),
        "channel": take(pa.array(CHANNELS), it.channel),
        "customer_no": customer_no,
        "phone": phone,
        "email": email,
        "agent_id": pc.binary_join_element_wise(
            "AGT", team_code, int_str(100 + it.agent % AGENTS_PER_TEAM), "-"
        ),
        "reason_code": take(pa.array(CODES), it.recorded),
        "duration_sec": int_str(duration),
        "resolved": pa.array(np.where(it.resolved, "Y", "N")),
        "notes": notes,
    }
    picks = choose_defects(rng, n, ("missing_key", "impossible_date", "duplicate_row"))
    log = DefectLog()
    gone = picks["missing_key"]
    cols["interaction_id"] = replace_rows(
        cols["interaction_id"], gone, pa.nulls(len(gone), pa.string())
    )
    log.add(gone, "missing_key", "interaction_id")
    when = picks["impossible_date"]
    cols["started_at"] = replace_rows(
        cols["started_at"],
        when,
        impossible_dates(rng, len(when), "YYYY-MM-DDThh:mm:ssZ", (2022, 2024)),
    )
    log.add(when, "impossible_date", "started_at")
    cols, origin = log.duplicate_rows(cols, picks["duplicate_row"])
    return FileChunk(
        FILES["sources/contact_centre/interactions.csv"],
        it.person[origin],
        cols,
        keys=[("interaction", cols["interaction_id"])],
        defects=log,
    )
