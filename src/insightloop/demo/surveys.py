"""Survey responses: NPS, CSAT and CES, driven by the planted experience drivers.

Post-purchase surveys follow some delivered web orders, post-contact surveys follow some
interactions, and a relationship NPS survey goes out once a year. Every score is cut from one
latent satisfaction: the persona's baseline plus ``NPS_DRIVERS`` times days of delivery delay,
returned items and unresolved (or resolved) contacts, plus noise. Comments, in the person's
language, talk about what drove the score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.demo import contact
from insightloop.demo.defects import (
    DefectLog,
    choose_defects,
    impossible_dates,
    replace_rows,
)
from insightloop.demo.fmt import chunk_seq, format_datetime, int_str, keys
from insightloop.demo.output import FILES, FileChunk
from insightloop.demo.params import DATA_END, NPS_DRIVERS, PERIOD_START, PERSONAS, day_number
from insightloop.demo.purchases import END_DAY
from insightloop.demo.service import Interactions, ServiceContext
from insightloop.demo.texts import COMMENTS, all_templates, choose, fill

__all__ = ["survey_chunk"]

MS_PER_DAY = 86_400_000
_TEMPLATES = all_templates(COMMENTS)
_TYPES = ("post_purchase", "post_contact", "relationship")


@dataclass
class _Responses:
    person: np.ndarray
    kind: np.ndarray
    sent: np.ndarray
    txn: np.ndarray
    interaction: np.ndarray
    delay: np.ndarray
    returned: np.ndarray
    unresolved: np.ndarray
    resolved: np.ndarray


def _count_before(
    person: np.ndarray, day: np.ndarray, who: np.ndarray, when: np.ndarray
) -> np.ndarray:
    """How many events (sorted by person, then day) each ``who`` had before ``when``."""
    key = person * 1_000_000.0 + day
    return np.searchsorted(key, who * 1_000_000.0 + when) - np.searchsorted(key, who * 1_000_000.0)


def _draw(rng: np.random.Generator, ctx: ServiceContext, it: Interactions) -> _Responses:
    b, txns, persons = ctx.baskets, ctx.txns, ctx.persons
    delivered = np.flatnonzero(b.delivered_ms >= 0)
    asked = delivered[rng.random(len(delivered)) < 0.12 * 0.35]
    sent_order = b.delivered_ms[asked] / MS_PER_DAY + 1
    any_return = np.zeros(txns.n, dtype=bool)
    any_return[b.line_txn[b.line_returned]] = True
    contacted = np.flatnonzero(rng.random(it.n) < 0.3 * 0.4)
    sent_contact = it.day[contacted] + 0.5
    years = np.arange(PERIOD_START.year, DATA_END.year)
    yearly = rng.random((persons.n, len(years))) < 0.1 * 0.3
    rel_person, rel_year = np.nonzero(yearly)
    rel_sent = np.array([day_number(PERIOD_START.replace(year=int(y))) for y in years])[rel_year]
    rel_sent = rel_sent + 60 + rng.random(len(rel_person)) * 240
    rel_keep = rel_sent > persons.t0[rel_person]
    rel_person, rel_sent = rel_person[rel_keep], rel_sent[rel_keep]
    # Relationship scores carry the person's late deliveries and unresolved contacts so far.
    late = b.late_days > 0
    late_count = _count_before(txns.person[late], txns.day[late], rel_person, rel_sent)
    unresolved_count = _count_before(
        it.person[~it.resolved], it.day[~it.resolved], rel_person, rel_sent
    )

    n1, n2, n3 = len(asked), len(contacted), len(rel_person)
    return _Responses(
        person=np.concatenate([txns.person[asked], it.person[contacted], rel_person]),
        kind=np.repeat([0, 1, 2], [n1, n2, n3]),
        sent=np.concatenate([sent_order, sent_contact, rel_sent]),
        txn=np.concatenate([asked, np.full(n2 + n3, -1)]),
        interaction=np.concatenate([np.full(n1, -1), contacted, np.full(n3, -1)]),
        delay=np.concatenate([b.late_days[asked], np.zeros(n2, int), np.minimum(late_count, 3)]),
        returned=np.concatenate([any_return[asked], np.zeros(n2 + n3, bool)]),
        unresolved=np.concatenate(
            [np.zeros(n1, bool), ~it.resolved[contacted], unresolved_count > 0]
        ),
        resolved=np.concatenate([np.zeros(n1, bool), it.resolved[contacted], np.zeros(n3, bool)]),
    )


def survey_chunk(
    rng: np.random.Generator, ctx: ServiceContext, it: Interactions
) -> tuple[FileChunk, dict[str, pa.Array]]:
    """The survey tool's response export and the latent scores behind it."""
    persons, presence = ctx.persons, ctx.presence
    r = _draw(rng, ctx, it)
    keep = r.sent + 3 < END_DAY
    r = _Responses(*(getattr(r, f)[keep] for f in r.__dataclass_fields__))
    order = np.lexsort((r.sent, r.person))
    r = _Responses(*(getattr(r, f)[order] for f in r.__dataclass_fields__))
    n = len(r.person)
    d = NPS_DRIVERS
    latent = (
        np.array([pp.nps_base for pp in PERSONAS])[persons.persona[r.person]]
        + d["delay_day"] * np.minimum(r.delay, d["delay_cap_days"])
        + d["returned_item"] * r.returned
        + d["unresolved_contact"] * r.unresolved
        + d["resolved_contact"] * r.resolved
        + rng.normal(0, d["noise_sd"], n)
    )
    nps = np.clip(np.round(latent), 0, 10).astype(np.int64)
    csat = np.clip(np.round(1 + latent / 10 * 4 + rng.normal(0, 0.4, n)), 1, 5).astype(np.int64)
    ces = np.clip(np.round(1 + latent / 10 * 6 + rng.normal(0, 0.6, n)), 1, 7).astype(np.int64)
    theme = np.where(latent >= 8.5, "praise", np.where(latent >= 6.5, "neutral", "negative"))
    theme = np.where((latent < 6.5) & (r.delay > 0), "late", theme)
    theme = np.where((latent < 6.5) & r.unresolved, "unresolved", theme)
    language = persons.language[r.person]
    comment = fill(
        _TEMPLATES,
        choose(rng, COMMENTS, language, theme),
        {"days": int_str(np.maximum(r.delay, 1))},
    )
    comment = pc.if_else(pa.array(rng.random(n) < 0.45), comment, pa.nulls(n, pa.string()))
    responded = r.sent + rng.random(n) * 3

    crm_first = np.full(persons.n, -1, dtype=np.int64)
    primary = ~presence.crm_duplicate
    crm_first[presence.crm_person[primary]] = np.flatnonzero(primary)
    crm_row = crm_first[r.person]
    nulls = pa.nulls(n, pa.string())
    ids = keys("SR", chunk_seq(ctx.chunk, np.arange(n)), 41)
    kind = r.kind
    cols = {
        "response_id": ids,
        "survey_type": pa.array(np.asarray(_TYPES)[kind]),
        "sent_at": format_datetime((r.sent * MS_PER_DAY).astype(np.int64), "YYYY-MM-DD hh:mm"),
        "responded_at": format_datetime(
            (responded * MS_PER_DAY).astype(np.int64), "YYYY-MM-DD hh:mm"
        ),
        "customer_no": pc.if_else(
            pa.array(crm_row >= 0), presence.crm_key.take(pa.array(np.maximum(crm_row, 0))), nulls
        ),
        "respondent_email": contact.email_at(persons, r.person, r.sent, ctx.tag_modulus),
        "order_id": pc.if_else(
            pa.array(r.txn >= 0), ctx.order_ids.take(pa.array(np.maximum(r.txn, 0))), nulls
        ),
        "interaction_id": pc.if_else(
            pa.array(r.interaction >= 0), it.ids.take(pa.array(np.maximum(r.interaction, 0))), nulls
        ),
        "nps": pc.if_else(pa.array(kind != 1), int_str(nps), nulls),
        "csat": pc.if_else(pa.array(kind != 2), int_str(csat), nulls),
        "ces": pc.if_else(pa.array(kind == 1), int_str(ces), nulls),
        "comment": comment,
        "language": pa.array(language),
    }
    picks = choose_defects(
        rng, n, ("missing_key", "out_of_range", "impossible_date", "duplicate_row")
    )
    log = DefectLog()
    gone = picks["missing_key"]
    cols["response_id"] = replace_rows(cols["response_id"], gone, pa.nulls(len(gone), pa.string()))
    log.add(gone, "missing_key", "response_id")
    wild = picks["out_of_range"]
    nps_rows = wild[kind[wild] != 1]
    cols["nps"] = replace_rows(
        cols["nps"], nps_rows, pa.array(np.where(rng.random(len(nps_rows)) < 0.5, "11", "-1"))
    )
    log.add(nps_rows, "out_of_range", "nps")
    ces_rows = wild[kind[wild] == 1]
    cols["ces"] = replace_rows(cols["ces"], ces_rows, pa.repeat(pa.scalar("9"), len(ces_rows)))
    log.add(ces_rows, "out_of_range", "ces")
    when = picks["impossible_date"]
    cols["responded_at"] = replace_rows(
        cols["responded_at"],
        when,
        impossible_dates(rng, len(when), "YYYY-MM-DD hh:mm", (2022, 2024)),
    )
    log.add(when, "impossible_date", "responded_at")
    truth = {
        "response_id": ids,
        "person": pa.array(r.person),
        "survey_type": cols["survey_type"],
        "latent_score": pa.array(np.round(latent, 3)),
        "delay_days": pa.array(r.delay),
        "returned_item": pa.array(r.returned),
        "unresolved_contact": pa.array(r.unresolved),
        "resolved_contact": pa.array(r.resolved),
        "comment_theme": pa.array(theme),
    }
    cols, origin = log.duplicate_rows(cols, picks["duplicate_row"])
    chunk = FileChunk(
        FILES["sources/surveys/responses.csv"],
        r.person[origin],
        cols,
        keys=[("response", cols["response_id"])],
        defects=log,
    )
    return chunk, truth
