"""Probabilistic links between person records, through the automatic Splink model: the pieces
that :func:`insightloop.identity.incremental.model_link_finder` puts together.

The person records (:func:`~insightloop.identity.records.person_records`, junk values already
removed) are matched as one deduplication job on the workspace's engine: the model is configured
from the canonical fields (names, birth date, e-mail, phone, one address comparison), trained
(u by sampling, m by capped EM) and applied; pairs at or above ``[identity] link_threshold``
that no household guard vetoes become links, pairs in the review band go to the review queue.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.identity.config import IdentityConfig
from insightloop.identity.consistency import consistent_links, links_touching
from insightloop.identity.resolve import ProbabilisticLinks
from insightloop.identity.splink_settings import MatchSettings

__all__ = ["ROLES", "decide", "match_settings", "record_table", "split_ids"]

#: Which column of a person record plays which role in matching.
ROLES = {
    "first_name": "first_name",
    "last_name": "last_name",
    "birth_date": "birth_date",
    "email": "email",
    "phone": "phone",
    "street": "street",
    "postcode": "postcode",
    "city": "city",
    "country": "country",
}

#: Junk values are removed before matching (insightloop.identity.stitch); the model's own junk
#: check only needs to catch what slipped through, so it allows a person's many records.
_MODEL_JUNK_LIMIT = 50
_SEP = "|"


def split_ids(ids: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array]:
    """Source and key of record ids (``source|key``)."""
    parts = pc.split_pattern(ids, _SEP, max_splits=1)
    return pc.list_element(parts, 0), pc.list_element(parts, 1)


def _pairs(table: pa.Table) -> pa.Table:
    left_source, left_key = split_ids(table["left_id"])
    right_source, right_key = split_ids(table["right_id"])
    return pa.table(
        {
            "left_source": left_source,
            "left_key": left_key,
            "right_source": right_source,
            "right_key": right_key,
            "score": table["match_probability"].cast(pa.float64()),
            "evidence": table["evidence"],
        }
    )


def record_table(records: pa.Table) -> pa.Table:
    """Person records with a ``record_id`` (``source|key``), those with something to match on."""
    ids = pc.binary_join_element_wise(records["record_source"], records["record_key"], _SEP)
    table = records.append_column("record_id", ids)
    usable = pc.or_(
        pc.or_(pc.is_valid(table["last_name"]), pc.is_valid(table["email"])),
        pc.is_valid(table["phone"]),
    )
    # Filtering copies every column (0.4 s at a million records): only when something goes.
    return table if pc.all(usable).as_py() else table.filter(usable)


def match_settings(config: IdentityConfig) -> MatchSettings:
    """The automatic model's settings in a workspace: the configured thresholds, strict
    household guards."""
    return MatchSettings(
        link_threshold=config.link_threshold,
        review_threshold=config.review_threshold,
        junk_value_max_records=_MODEL_JUNK_LIMIT,
        strict_guards=True,
    )


def decide(
    scored: pd.DataFrame,
    table: pa.Table,
    summary: dict[str, Any],
    *,
    changed: pa.Array | None = None,
) -> ProbabilisticLinks:
    """Links and review pairs from scored pairs, after the cluster check.

    With ``changed`` (the ids of the records new or changed since the last run, whose other
    links were kept from it), only the clusters holding one of them are checked
    (:func:`~insightloop.identity.consistency.links_touching`)."""
    if scored.empty:
        scored = pd.DataFrame(
            {c: pd.Series(dtype="object") for c in ("left_id", "right_id", "evidence", "decision")}
        ).assign(
            match_probability=pd.Series(dtype="float64"), match_weight=pd.Series(dtype="float64")
        )
    linked = scored[scored["decision"] == "link"]
    fields = [c for c in ("record_id", "birth_date", "email", "phone") if c in table.column_names]
    records = table.select(fields)
    checked_links = linked
    if changed is not None:
        checked_links = linked[links_touching(linked, changed.to_pylist())]
        ends = checked_links[["left_id", "right_id"]].to_numpy().ravel()
        ids = pa.array(pd.unique(ends), pa.string())
        records = records.filter(pc.is_in(records["record_id"], value_set=ids))
    _, withdrawn, checked = consistent_links(checked_links, records.to_pandas())
    kept = linked[~linked.index.isin(withdrawn.index)]
    withdrawn = withdrawn.assign(
        evidence=withdrawn["evidence"].str.replace(
            '"guard": null', '"guard": "cluster conflict"', regex=False
        )
    )
    review = pd.concat([scored[scored["decision"] == "review"], withdrawn], ignore_index=True)
    summary = {
        **summary,
        "guarded_pairs": int((scored["decision"] == "guarded").sum()),
        "consistency": checked.to_dict(),
    }
    return ProbabilisticLinks(_frame_pairs(kept), _frame_pairs(review), summary)


def _frame_pairs(frame: pd.DataFrame) -> pa.Table:
    columns = {
        "left_id": pa.array(frame["left_id"].astype(object), pa.string()),
        "right_id": pa.array(frame["right_id"].astype(object), pa.string()),
        "match_probability": pa.array(frame["match_probability"].astype(float), pa.float64()),
        "evidence": pa.array(frame["evidence"].astype(object), pa.string()),
    }
    return _pairs(pa.table(columns))
