"""Completeness, validity and uniqueness of one batch, from the batch and its contract verdict.

Pure and vectorised with ``pyarrow.compute``: the loader calls :func:`batch_metrics` after
:func:`~insightloop.quality.contracts.evaluate` and inserts the rows it returns into
``quality_metrics``. Shares are computed over these rows:

- completeness: every row read (exact copies included: they were delivered);
- validity and uniqueness: validity over the rows *judged* (exact copies carry no verdict and are
  left out); uniqueness over every row read (exact copies are what it measures).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.quality.contracts import (
    REASON_SUFFIX,
    AllowedValuesRule,
    Contract,
    ContractResult,
    PatternRule,
    RangeRule,
    RequiredRule,
    Rule,
    UniqueKeyRule,
    default_contract,
)
from insightloop.quality.contracts.reasons import qualified
from insightloop.quality.scorecard.thresholds import QualityThresholds, measure_table
from insightloop.store.schema import ENTITY_TABLES, table_spec

__all__ = ["NOT_MEASURED", "batch_metrics", "measured_columns"]

NOT_MEASURED = frozenset(
    {"_source", "_batch_id", "_loaded_at", "valid_from", "valid_to", "is_current"}
)
"""Canonical columns that completeness skips: lineage, and the validity interval of reference
records, which the loader sets (``valid_to`` is empty for every current record by design)."""


def measured_columns(entity: str) -> list[str]:
    """The canonical columns of ``entity`` whose completeness is measured, in schema order.

    Examples
    --------
    >>> measured_columns("consents")
    ['source_customer_key', 'channel', 'purpose', 'status', 'recorded_at']
    """
    spec = table_spec(ENTITY_TABLES[entity])
    return [c.name for c in spec.columns if c.name not in NOT_MEASURED]


def batch_metrics(
    batch: pa.Table,
    result: ContractResult,
    *,
    source: str,
    entity: str,
    batch_id: str,
    run_id: str,
    measured_at: datetime,
    contract: Contract | None = None,
    previous: Mapping[str, float | None] | None = None,
    thresholds: QualityThresholds | None = None,
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """The completeness, validity and uniqueness measures of one batch, as ``quality_metrics`` rows.

    Parameters
    ----------
    batch
        The mapped batch that was evaluated: canonical columns plus ``<column>__reason`` columns
        (location and lineage columns are ignored).
    result
        ``evaluate(contract, batch, ...)``.
    source, entity, batch_id, run_id, measured_at
        Stamped on every row (``measured_at`` in UTC; an aware time is converted).
    contract
        The contract ``result`` came from (default: ``default_contract(entity)``): its
        ``required`` rules say which columns must be complete, its ``unique_key`` rules name the
        keys of the uniqueness measure, its value rules count against a column's validity.
    previous
        Completeness per column of the source's previous batch (see
        :func:`~insightloop.quality.scorecard.previous_completeness`); a drop of more than
        ``thresholds.max_completeness_drop`` is flagged.
    thresholds
        When a measure is flagged (default: :class:`QualityThresholds` defaults).
    columns
        The canonical columns to measure (default: every canonical column in the batch, unmapped
        ones included); pass the mapped columns to leave unmapped ones out of the scorecard.

    Examples
    --------
    >>> from datetime import datetime
    >>> from insightloop.quality.contracts import evaluate
    >>> batch = pa.table({"response_id": ["a", "b", "b", None], "nps": [9, 11, 11, 7]})
    >>> contract = default_contract("feedback")
    >>> out = batch_metrics(batch, evaluate(contract, batch), source="survey", entity="feedback",
    ...     batch_id="b1", run_id="r1", measured_at=datetime(2025, 1, 1), columns=["nps"])
    >>> [(r["metric"], r["field"], r["value"], r["flagged"]) for r in out.to_pylist()]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('completeness', 'nps', 1.0, False),
     ('validity', 'nps', 0.6666666666666666, True),
     ('validity', '', 0.3333333333333333, True),
     ('uniqueness', 'response_id', 0.75, True)]
    """
    contract = contract if contract is not None else default_contract(entity)
    thresholds = thresholds if thresholds is not None else QualityThresholds()
    _check_inputs(batch, result, entity, contract)
    codes = _Codes(result)
    judged = pc.invert(result.exact_duplicate).to_numpy(zero_copy_only=False)
    measures: list[dict[str, Any]] = []
    canonical = measured_columns(entity)
    wanted = canonical if columns is None else _chosen(canonical, columns)
    required = {r.column for r in contract.rules if isinstance(r, RequiredRule)}
    for column in wanted:
        if column in batch.column_names:
            measures.append(_completeness(batch, column, column in required, previous, thresholds))
    for column in _validity_columns(batch, contract, wanted):
        measure = _column_validity(batch, column, contract, codes, judged, thresholds)
        if measure is not None:
            measures.append(measure)
    measures.append(_batch_validity(result, thresholds))
    measures.extend(_uniqueness(result, contract, codes, thresholds))
    return measure_table(
        measures,
        batch_id=batch_id,
        run_id=run_id,
        source=source,
        entity=entity,
        measured_at=measured_at,
    )


def _check_inputs(batch: pa.Table, result: ContractResult, entity: str, contract: Contract) -> None:
    if entity not in ENTITY_TABLES:
        raise ValueError(f"unknown entity {entity!r}; use one of {', '.join(ENTITY_TABLES)}")
    if result.entity != entity or contract.entity != entity:
        raise ValueError(
            f"the contract verdict is for {result.entity!r} and the contract for "
            f"{contract.entity!r}, but the batch is measured as {entity!r}"
        )
    if result.rows_read != batch.num_rows:
        raise ValueError(
            f"the contract verdict covers {result.rows_read} rows, the batch has {batch.num_rows}: "
            "pass the batch that was evaluated"
        )


def _chosen(canonical: list[str], columns: Sequence[str]) -> list[str]:
    unknown = sorted(set(columns) - set(canonical))
    if unknown:
        raise ValueError(
            f"not measurable column(s) {', '.join(unknown)}; use canonical columns of the entity: "
            + ", ".join(canonical)
        )
    return [c for c in canonical if c in set(columns)]


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _present(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Rows with a value: non-null and, for text, not blank (as the ``required`` rule sees it)."""
    mask = pc.is_valid(values)
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        # Blank: empty, or white space only (cheaper than trimming every value).
        blank = pc.or_(pc.equal(pc.binary_length(values), 0), pc.utf8_is_space(values))
        mask = pc.and_(mask, pc.invert(pc.fill_null(blank, False)))
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


def _completeness(
    batch: pa.Table,
    column: str,
    required: bool,
    previous: Mapping[str, float | None] | None,
    thresholds: QualityThresholds,
) -> dict[str, Any]:
    rows = batch.num_rows
    present = int(_present(batch.column(column)).sum())
    value = _share(present, rows)
    detail: dict[str, Any] = {"rows": rows, "present": present}
    flagged = False
    if required:
        detail["required"] = True
        detail["threshold"] = thresholds.min_required_completeness
        flagged = value is not None and value < thresholds.min_required_completeness
    before = (previous or {}).get(column)
    if before is not None and value is not None:
        # Rounded: 0.9 - 0.7 is 0.20000000000000007 in binary floating point, not a drop of more
        # than 20 points.
        drop = round(before - value, 9)
        detail["previous"] = before
        detail["max_drop"] = thresholds.max_completeness_drop
        if drop > thresholds.max_completeness_drop:
            flagged = True
            detail["dropped_by"] = drop
    return {
        "metric": "completeness",
        "field": column,
        "value": value,
        "flagged": flagged,
        "detail": detail,
    }


class _Codes:
    """The reject and warn codes of a verdict, flattened once, with the row each belongs to."""

    def __init__(self, result: ContractResult) -> None:
        lists = (result.reject_codes, result.warn_codes)
        self.rows = result.rows_read
        self.codes = pa.concat_arrays([pc.list_flatten(x).cast(pa.string()) for x in lists])
        self.parents = np.concatenate(
            [np.asarray(pc.list_parent_indices(x), dtype=np.int64) for x in lists]
        )

    def rows_with(self, codes: set[str]) -> np.ndarray:
        """A mask of the rows that carry any of ``codes``."""
        mask = np.zeros(self.rows, dtype=bool)
        if codes and len(self.codes):
            hit = pc.is_in(self.codes, value_set=pa.array(sorted(codes), pa.string()))
            mask[self.parents[np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)]] = True
        return mask


def _value_codes(contract: Contract, column: str) -> set[str]:
    """The codes by which the contract's value rules report a bad value of ``column``."""
    return {
        qualified(code, [column])
        for rule in contract.rules
        if (code := _value_code(rule)) is not None and rule.columns_checked == (column,)
    }


def _value_code(rule: Rule) -> str | None:
    # Only rules that judge one column's value: `required_missing` is completeness's business and
    # `reference_missing` is about another entity, so neither counts against validity.
    if isinstance(rule, AllowedValuesRule):
        return "value_not_allowed"
    if isinstance(rule, RangeRule):
        return "out_of_range"
    if isinstance(rule, PatternRule):
        return "pattern_mismatch"
    return None


def _validity_columns(batch: pa.Table, contract: Contract, columns: list[str]) -> list[str]:
    """Of ``columns``, those with a reason column in the batch or judged by a value rule."""
    reasons = {c[: -len(REASON_SUFFIX)] for c in batch.column_names if c.endswith(REASON_SUFFIX)}
    return [
        c
        for c in columns
        if c in reasons or (c in batch.column_names and _value_codes(contract, c))
    ]


def _column_validity(
    batch: pa.Table,
    column: str,
    contract: Contract,
    codes: _Codes,
    judged: np.ndarray,
    thresholds: QualityThresholds,
) -> dict[str, Any] | None:
    """Share of the values received that no normaliser and no value rule found fault with.

    A value the normaliser refused is null with a reason: it was received, and it is invalid.
    ``None`` for a column without a reason column and without values: there is nothing to judge
    (an unmapped column that a contract rule would check).
    """
    n = batch.num_rows
    has_value = (
        _present(batch.column(column)) if column in batch.column_names else np.zeros(n, bool)
    )
    reason_name = column + REASON_SUFFIX
    has_reason = np.zeros(n, dtype=bool)
    reason_counts: Counter[str] = Counter()
    if reason_name in batch.column_names:
        reasons = batch.column(reason_name).combine_chunks().cast(pa.string())
        has_reason = np.asarray(reasons.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        judged_reasons = reasons.filter(pa.array(judged & has_reason))
        for item in pc.value_counts(judged_reasons).to_pylist():
            reason_counts[item["values"]] = item["counts"]
    rule_codes = _value_codes(contract, column)
    broke_rule = codes.rows_with(rule_codes)
    for code in sorted(rule_codes):
        hits = int((codes.rows_with({code}) & judged).sum())
        if hits:
            reason_counts[code] = hits
    received = (has_value | has_reason) & judged
    if reason_name not in batch.column_names and not received.any():
        return None
    invalid = (has_reason | broke_rule) & received
    rows, bad = int(received.sum()), int(invalid.sum())
    value = _share(rows - bad, rows)
    detail = {
        "rows": rows,
        "invalid": bad,
        "reasons": dict(sorted(reason_counts.items())),
        "threshold": thresholds.min_validity,
    }
    flagged = value is not None and value < thresholds.min_validity
    return {
        "metric": "validity",
        "field": column,
        "value": value,
        "flagged": flagged,
        "detail": detail,
    }


def _batch_validity(result: ContractResult, thresholds: QualityThresholds) -> dict[str, Any]:
    """Share of the rows judged (exact copies left out) that were not rejected."""
    rows = result.rows_read - result.exact_duplicates
    rejected = result.rows_rejected
    value = _share(rows - rejected, rows)
    detail = {
        "rows": rows,
        "rejected": rejected,
        "exact_duplicates": result.exact_duplicates,
        "threshold": thresholds.min_validity,
    }
    flagged = value is not None and value < thresholds.min_validity
    return {"metric": "validity", "field": "", "value": value, "flagged": flagged, "detail": detail}


def _uniqueness(
    result: ContractResult, contract: Contract, codes: _Codes, thresholds: QualityThresholds
) -> list[dict[str, Any]]:
    """Per key of the contract: share of rows that are neither exact copies nor key duplicates.

    Without a ``unique_key`` rule, one measure (field ``""``) counts exact copies alone.
    """
    rows = result.rows_read
    exact = np.asarray(result.exact_duplicate.to_numpy(zero_copy_only=False), dtype=bool)
    keys = [r.columns for r in contract.rules if isinstance(r, UniqueKeyRule)] or [()]
    out = []
    for key in keys:
        dup_key = (
            codes.rows_with({qualified("duplicate_key", key)}) if key else np.zeros_like(exact)
        )
        unique = rows - int((exact | dup_key).sum())
        value = _share(unique, rows)
        detail = {
            "rows": rows,
            "exact_duplicates": int(exact.sum()),
            "duplicate_keys": int(dup_key.sum()),
            "threshold": thresholds.min_uniqueness,
        }
        flagged = value is not None and value < thresholds.min_uniqueness
        out.append(
            {
                "metric": "uniqueness",
                "field": ",".join(key),
                "value": value,
                "flagged": flagged,
                "detail": detail,
            }
        )
    return out
