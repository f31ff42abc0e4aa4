"""The data-quality scorecard: batch measures, volume anomalies, freshness and the report.

Expected values are worked out by hand in each test from the rows it builds.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from insightloop import Workspace
from insightloop.errors import ConfigError
from insightloop.quality import (
    QualityThresholds,
    batch_metrics,
    default_contract,
    evaluate,
    freshness_metrics,
    previous_completeness,
    quality_metrics_schema,
    record_metrics,
    scorecard,
    volume_metric,
)
from insightloop.quality.contracts import contract_from_config
from insightloop.store import Engine
from tests.decorator import mark_with_all_backends

NOW = datetime(2025, 6, 1, 12, 0)
SECRET = "ada.lovelace@example.org"


# -- helpers ---------------------------------------------------------------------------------


def _measure(
    batch: pa.Table, entity: str, contract: Any = None, **kwargs: Any
) -> dict[tuple[str, str], dict[str, Any]]:
    """``batch_metrics`` of ``batch`` by (metric, field), with the detail parsed."""
    contract = contract or default_contract(entity)
    table = batch_metrics(
        batch,
        evaluate(contract, batch),
        source="crm",
        entity=entity,
        batch_id="b9",
        run_id="r9",
        measured_at=NOW,
        contract=contract,
        **kwargs,
    )
    assert table.schema == quality_metrics_schema()
    out = {}
    for row in table.to_pylist():
        row["detail"] = json.loads(row["detail"])
        out[(row["metric"], row["field"])] = row
    return out


def _customers(emails: list[str | None], **columns: list[Any]) -> pa.Table:
    n = len(emails)
    data: dict[str, Any] = {
        "source_key": [f"k{i}" for i in range(n)],
        "email": emails,
        "gender": pa.nulls(n, pa.string()),
        "valid_to": pa.nulls(n, pa.timestamp("us")),
        "_source": ["crm"] * n,
        "_record": list(range(n)),
        "_line": list(range(2, n + 2)),
    }
    data.update(columns)
    return pa.table(data)


def _batch_row(source: str, entity: str, i: int, rows: int, **extra: Any) -> dict[str, Any]:
    started = NOW - timedelta(days=30 - i)
    return {"batch_id": f"{source}-{i:03d}", "run_id": f"r{i}", "source": source,
            "entity": entity, "started_at": started, "finished_at": started + timedelta(minutes=1),
            "status": "loaded", "rows_read": rows, **extra}  # fmt: skip


def _volume(engine: Engine, rows_read: int, **kwargs: Any) -> dict[str, Any]:
    table = volume_metric(
        engine,
        source="shop",
        entity="orders",
        rows_read=rows_read,
        batch_id="shop-now",
        run_id="r-now",
        measured_at=NOW,
        **kwargs,
    )
    assert table.schema == quality_metrics_schema()
    (row,) = table.to_pylist()
    row["detail"] = json.loads(row["detail"])
    return row


@pytest.fixture
def engine(duckdb_workspace: Workspace) -> Engine:
    return duckdb_workspace.engine


# -- completeness ------------------------------------------------------------------------------


def test_completeness_is_the_share_of_rows_read_with_a_value() -> None:
    # 10 rows, 3 null e-mails: 7/10. Blank text counts as missing, as for the `required` rule.
    emails = [*(f"p{i}@x.io" for i in range(7)), None, None, None]
    out = _measure(_customers(emails), "customers")
    email = out[("completeness", "email")]
    assert email["value"] == pytest.approx(0.7)
    assert email["detail"] == {"rows": 10, "present": 7}
    assert email["flagged"] is False  # not required by the contract
    blanks = _measure(_customers(["a@x.io", "  ", "", None]), "customers")
    assert blanks[("completeness", "email")]["value"] == pytest.approx(0.25)


def test_completeness_covers_canonical_columns_only() -> None:
    out = _measure(_customers(["a@x.io", None]), "customers")
    fields = {f for m, f in out if m == "completeness"}
    # Unmapped canonical columns are measured (all null: 0.0), lineage, location, reason
    # columns and the loader's validity interval are not.
    assert fields == {"source_key", "email", "gender"}
    assert out[("completeness", "gender")]["value"] == 0.0
    assert out[("completeness", "gender")]["flagged"] is False
    only = _measure(_customers(["a@x.io", None]), "customers", columns=["email"])
    assert {f for m, f in only if m == "completeness"} == {"email"}
    with pytest.raises(ValueError, match="_line, e_mail"):
        _measure(_customers(["a@x.io"]), "customers", columns=["e_mail", "_line"])


def test_completeness_of_a_required_column_is_flagged_below_its_threshold() -> None:
    keys = ["k0", None, *(f"k{i}" for i in range(2, 10))]
    batch = _customers(["a@x.io"] * 10, source_key=keys)
    key = _measure(batch, "customers")[("completeness", "source_key")]
    assert key["value"] == pytest.approx(0.9)
    assert key["flagged"] is True
    assert key["detail"]["required"] is True
    lenient = QualityThresholds(min_required_completeness=0.9)
    key = _measure(batch, "customers", thresholds=lenient)[("completeness", "source_key")]
    assert key["flagged"] is False


def test_a_drop_of_more_than_twenty_points_against_the_previous_batch_is_flagged() -> None:
    batch = _customers([*(f"p{i}@x.io" for i in range(7)), None, None, None])  # 0.7
    dropped = _measure(batch, "customers", previous={"email": 0.95})[("completeness", "email")]
    assert dropped["flagged"] is True
    assert dropped["detail"]["previous"] == 0.95
    assert dropped["detail"]["dropped_by"] == pytest.approx(0.25)
    # Exactly 20 points (0.9 -> 0.7) is not more than 20, floating-point noise notwithstanding.
    edge = _measure(batch, "customers", previous={"email": 0.9})[("completeness", "email")]
    assert edge["flagged"] is False
    assert "dropped_by" not in edge["detail"]
    rising = _measure(batch, "customers", previous={"email": 0.2})[("completeness", "email")]
    assert rising["flagged"] is False
    custom = QualityThresholds(max_completeness_drop=0.1)
    edge = _measure(batch, "customers", previous={"email": 0.9}, thresholds=custom)
    assert edge[("completeness", "email")]["flagged"] is True


# -- validity ----------------------------------------------------------------------------------


def test_validity_per_column_is_the_share_of_received_values_without_a_reason() -> None:
    # 6 good, 2 refused by the normaliser (null value with a reason), 1 placeholder (kept with a
    # warning reason), 1 missing: 9 received, 3 with a reason -> 6/9.
    emails = [*(f"p{i}@x.io" for i in range(6)), None, None, "noemail@x.io", None]
    reasons = [*([None] * 6), "email_invalid_syntax", "email_invalid_syntax", "email_placeholder"]
    batch = _customers(emails, email__reason=[*reasons, None])
    out = _measure(batch, "customers")
    email = out[("validity", "email")]
    assert email["value"] == pytest.approx(6 / 9)
    assert email["flagged"] is True
    assert email["detail"]["rows"] == 9
    assert email["detail"]["invalid"] == 3
    assert email["detail"]["reasons"] == {"email_invalid_syntax": 2, "email_placeholder": 1}
    # The batch: the two invalid e-mails are rejected, the placeholder only warns: 8/10.
    overall = out[("validity", "")]
    assert overall["value"] == pytest.approx(0.8)
    assert overall["detail"] == {
        "rows": 10,
        "rejected": 2,
        "exact_duplicates": 0,
        "threshold": 0.95,
    }
    assert overall["flagged"] is True
    relaxed = _measure(batch, "customers", thresholds=QualityThresholds(min_validity=0.6))
    assert not relaxed[("validity", "email")]["flagged"]
    assert not relaxed[("validity", "")]["flagged"]


def test_validity_counts_value_rules_and_leaves_exact_copies_out() -> None:
    # nps: 9, 11 (out of range), 11 (exact copy of the row before), 7, null.
    batch = pa.table(
        {
            "response_id": ["a", "b", "b", "c", "d"],
            "nps": pa.array([9, 11, 11, 7, None], pa.int64()),
            "csat": pa.array([5, 4, 4, 3, 2], pa.int64()),
        }
    )
    out = _measure(batch, "feedback")
    nps = out[("validity", "nps")]
    assert nps["value"] == pytest.approx(2 / 3)  # 3 values judged, one out of range
    assert nps["detail"]["reasons"] == {"out_of_range:nps": 1}
    assert out[("validity", "csat")]["value"] == 1.0
    # No values to judge: ces is absent, and an unmapped (all-null) column has no validity.
    assert ("validity", "ces") not in out
    unmapped = _measure(batch.append_column("ces", pa.nulls(5, pa.int64())), "feedback")
    assert ("validity", "ces") not in unmapped
    assert unmapped[("completeness", "ces")]["value"] == 0.0
    overall = out[("validity", "")]
    assert overall["value"] == pytest.approx(3 / 4)
    assert overall["detail"]["exact_duplicates"] == 1


# -- uniqueness --------------------------------------------------------------------------------


def test_uniqueness_counts_exact_copies_and_duplicate_keys() -> None:
    # 10 orders: o1 delivered twice identically, o2 twice with different amounts.
    ids = ["o1", "o1", "o2", "o2", *(f"o{i}" for i in range(3, 9))]
    amounts = [Decimal("10"), Decimal("10"), Decimal("5"), Decimal("6"), *[Decimal("1")] * 6]
    batch = pa.table({"order_id": ids, "ordered_at": [NOW] * 10, "total_amount": amounts})
    out = _measure(batch, "orders")
    unique = out[("uniqueness", "order_id")]
    assert unique["value"] == pytest.approx(0.8)
    assert unique["detail"] == {
        "rows": 10,
        "exact_duplicates": 1,
        "duplicate_keys": 1,
        "threshold": 0.99,
    }
    assert unique["flagged"] is True
    assert not _measure(batch, "orders", thresholds=QualityThresholds(min_uniqueness=0.8))[
        ("uniqueness", "order_id")
    ]["flagged"]


def test_uniqueness_of_a_composite_key_and_of_a_contract_without_one() -> None:
    batch = pa.table(
        {
            "order_id": ["o1", "o1", "o1", "o2"],
            "line_number": pa.array([1, 2, 2, 1], pa.int64()),
            "sku": ["s1", "s2", "s3", "s1"],
        }
    )
    out = _measure(batch, "order_items")
    assert out[("uniqueness", "order_id,line_number")]["value"] == pytest.approx(0.75)
    keyless = contract_from_config(
        "order_items", {"replace_defaults": True, "rules": [{"kind": "required", "column": "sku"}]}
    )
    out = _measure(batch, "order_items", contract=keyless)
    assert out[("uniqueness", "")]["value"] == 1.0
    assert out[("uniqueness", "")]["detail"]["duplicate_keys"] == 0


# -- batch_metrics in general ----------------------------------------------------------------


def test_an_empty_batch_has_no_shares_and_nothing_flagged() -> None:
    out = _measure(_customers([]), "customers")
    assert {r["value"] for r in out.values()} == {None}
    assert not any(r["flagged"] for r in out.values())


def test_the_detail_never_contains_a_value_of_the_data() -> None:
    batch = _customers([SECRET, None, SECRET], email__reason=[None, None, "email_placeholder"])
    table = batch_metrics(
        batch,
        evaluate(default_contract("customers"), batch),
        source="crm",
        entity="customers",
        batch_id="b1",
        run_id="r1",
        measured_at=datetime(2025, 6, 1, 14, tzinfo=timezone(timedelta(hours=2))),
    )
    assert all(SECRET not in d for d in table.column("detail").to_pylist())
    assert all(k not in d for d in table.column("detail").to_pylist() for k in ("k0", "k1"))
    assert set(table.column("measured_at").to_pylist()) == {NOW}  # 14:00+02:00 is 12:00 UTC


def test_a_verdict_of_another_batch_or_entity_is_refused() -> None:
    batch = _customers(["a@x.io", None])
    result = evaluate(default_contract("customers"), batch)
    common = {"source": "crm", "batch_id": "b", "run_id": "r", "measured_at": NOW}
    with pytest.raises(ValueError, match="covers 2 rows"):
        batch_metrics(batch.slice(0, 1), result, entity="customers", **common)
    with pytest.raises(ValueError, match="measured as 'orders'"):
        batch_metrics(batch, result, entity="orders", **common)


def test_thresholds_from_configuration_report_every_problem() -> None:
    merged = QualityThresholds.from_config({"min_validity": 0.9}, {"min_validity": 0.8}, None)
    assert merged.min_validity == 0.8
    with pytest.raises(ConfigError) as info:
        QualityThresholds.from_config({"min_validity": 1.5, "volume_low": 0, "typo": 1})
    message = str(info.value)
    assert all(word in message for word in ("3 problem(s)", "min_validity", "volume_low", "typo"))
    with pytest.raises(ConfigError, match="volume_min_history"):
        QualityThresholds.from_config({"volume_history": 2})


# -- volume ------------------------------------------------------------------------------------


@mark_with_all_backends
def test_volume_is_the_ratio_to_the_median_of_earlier_loaded_batches(workspace: Workspace) -> None:
    engine = workspace.engine
    engine.insert(
        "load_batches",
        [
            *(_batch_row("shop", "orders", i, n) for i, n in enumerate([100, 110, 90, 105])),
            # Neither counts: a failed batch, and another source.
            _batch_row("shop", "orders", 5, 1000, status="failed"),
            _batch_row("pos", "orders", 6, 7),
        ],
    )
    table = volume_metric(
        engine, source="shop", entity="orders", rows_read=50, batch_id="shop-now",
        run_id="r-now", measured_at=NOW,
    )  # fmt: skip
    assert record_metrics(engine, table) == 1
    (half,) = engine.records(engine.table("quality_metrics"))
    # Median of 90, 100, 105, 110 is 102.5; 50 / 102.5 < 0.5.
    assert half["value"] == pytest.approx(50 / 102.5)
    assert half["flagged"] is True
    assert (half["metric"], half["field"], half["source"]) == ("volume", "", "shop")
    detail = json.loads(half["detail"])
    assert detail["median_rows"] == pytest.approx(102.5)
    assert detail["earlier_batches"] == 4


def test_volume_without_enough_history_is_not_judged(engine: Engine) -> None:
    engine.insert("load_batches", [_batch_row("shop", "orders", i, 100) for i in range(2)])
    row = _volume(engine, 5)
    assert row["value"] == 1.0
    assert row["flagged"] is False
    assert row["detail"]["reason"] == "not enough history"
    assert row["detail"]["earlier_batches"] == 2
    assert _volume(engine, 5, min_history=2)["flagged"] is True


def test_volume_uses_only_the_last_batches_and_configured_bounds(engine: Engine) -> None:
    # Ten old batches of 1000 rows, then three of 100: with history=3 the usual volume is 100.
    sizes = [1000] * 10 + [100, 100, 100]
    engine.insert("load_batches", [_batch_row("shop", "orders", i, n) for i, n in enumerate(sizes)])
    assert _volume(engine, 120, history=3)["value"] == pytest.approx(1.2)
    assert _volume(engine, 49, history=3)["flagged"] is True  # 0.49 < 0.5
    assert _volume(engine, 120, history=3)["flagged"] is False
    assert _volume(engine, 120, history=13)["detail"]["median_rows"] == 1000
    assert _volume(engine, 250, history=3)["flagged"] is True  # 2.5 > 2.0
    assert _volume(engine, 50, history=3)["flagged"] is True  # exactly half
    assert _volume(engine, 51, history=3)["flagged"] is False
    assert _volume(engine, 250, history=3, high=3.0)["flagged"] is False
    # The batch being measured never counts, should it already be recorded.
    engine.insert("load_batches", [{**_batch_row("shop", "orders", 20, 1), "batch_id": "shop-now"}])
    assert _volume(engine, 100, history=3)["detail"]["median_rows"] == 100
    with pytest.raises(ConfigError, match="volume_low"):
        _volume(engine, 100, low=1.5)


def test_volume_against_a_usual_volume_of_zero(engine: Engine) -> None:
    engine.insert("load_batches", [_batch_row("shop", "orders", i, 0) for i in range(3)])
    assert _volume(engine, 0)["value"] == 1.0
    anomaly = _volume(engine, 40)
    assert anomaly["value"] is None
    assert anomaly["flagged"] is True
    assert anomaly["detail"]["reason"] == "usual volume is zero"


# -- freshness ---------------------------------------------------------------------------------


def _freshness_fixture(engine: Engine) -> None:
    def at(hours: float) -> datetime:
        return NOW - timedelta(hours=hours)

    def load(source: str, entity: str, batch: str, finished: float, status: str) -> dict[str, Any]:
        return {"batch_id": batch, "source": source, "entity": entity, "status": status,
                "started_at": at(finished + 0.5), "finished_at": at(finished)}  # fmt: skip

    engine.insert(
        "load_batches",
        [
            load("crm", "customers", "c1", 5, "loaded"),
            load("crm", "customers", "c2", 2, "unchanged"),  # the last success
            load("crm", "customers", "c3", 1, "failed"),  # later, but failed
            load("shop", "orders", "s1", 10, "loaded"),
            load("catalogue", "products", "p1", 3, "loaded"),  # no event time
            load("legacy", "orders", "l1", 1, "failed"),  # never loaded
        ],
    )
    engine.insert(
        "src_customers",
        [
            {"source_key": "a", "_source": "crm", "updated_at": at(30)},
            {"source_key": "b", "_source": "crm", "updated_at": at(50)},
        ],
    )
    engine.insert(
        "orders",
        [
            {"order_id": "1", "_source": "shop", "ordered_at": at(12)},
            {"order_id": "2", "_source": "shop", "ordered_at": at(48)},
            {"order_id": "3", "_source": "pos", "ordered_at": at(0.5)},  # another source
        ],
    )


@mark_with_all_backends
def test_freshness_of_loads_and_of_the_newest_records(workspace: Workspace) -> None:
    engine = workspace.engine
    _freshness_fixture(engine)
    table = freshness_metrics(engine, now=NOW, run_id="r1", max_age_hours={"crm": 24, "legacy": 6})
    assert table.schema == quality_metrics_schema()
    rows = {(r["source"], r["field"]): r for r in table.to_pylist()}
    expected = {
        ("crm", ""): (2.0, False),
        ("crm", "updated_at"): (30.0, True),  # older than crm's 24 hours
        ("shop", ""): (10.0, False),  # no limit for shop: reported only
        ("shop", "ordered_at"): (12.0, False),
        ("catalogue", ""): (3.0, False),
        ("legacy", ""): (None, True),  # never loaded, and it has a limit
        ("legacy", "ordered_at"): (None, True),
    }
    assert set(rows) == set(expected)
    assert {(r["metric"], r["batch_id"]) for r in rows.values()} == {("freshness", "")}
    for key, (hours, flagged) in expected.items():
        assert rows[key]["value"] == (None if hours is None else pytest.approx(hours)), key
        assert rows[key]["flagged"] is flagged, key
    crm = json.loads(rows[("crm", "")]["detail"])
    assert crm["last_batch_id"] == "c2"
    assert crm["last_loaded_at"] == "2025-06-01T10:00:00"
    assert json.loads(rows[("legacy", "")]["detail"])["reason"] == "never loaded successfully"
    assert rows[("crm", "updated_at")]["entity"] == "customers"


def test_freshness_with_one_limit_for_all_and_an_aware_now(engine: Engine) -> None:
    _freshness_fixture(engine)
    aware = NOW.replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=-5)))
    table = freshness_metrics(engine, now=aware, run_id="r1", max_age_hours=11)
    flagged = {(r["source"], r["field"]) for r in table.to_pylist() if r["flagged"]}
    assert flagged == {("crm", "updated_at"), ("shop", "ordered_at"), ("legacy", ""),
                       ("legacy", "ordered_at")}  # fmt: skip
    unflagged = freshness_metrics(engine, now=NOW, run_id="r1")
    assert not any(unflagged.column("flagged").to_pylist())


def test_freshness_of_an_empty_workspace_is_empty(engine: Engine) -> None:
    assert freshness_metrics(engine, now=NOW, run_id="r1").num_rows == 0
    with pytest.raises(ConfigError, match="max_age_hours"):
        freshness_metrics(engine, now=NOW, run_id="r1", max_age_hours={"crm": -1})


# -- the scorecard -----------------------------------------------------------------------------


def _metric(
    source: str, metric: str, field: str, value: float | None, hours_ago: float, **extra: Any
) -> dict[str, Any]:
    entity = {"crm": "customers", "shop": "orders"}[source]
    return {"batch_id": f"{source}-{hours_ago}", "run_id": "r", "source": source,
            "entity": entity, "metric": metric, "field": field, "value": value, "flagged": False,
            "detail": json.dumps({"rows": 10}), "measured_at": NOW - timedelta(hours=hours_ago),
            **extra}  # fmt: skip


@mark_with_all_backends
def test_the_scorecard_has_latest_and_previous_values_and_trends(workspace: Workspace) -> None:
    engine = workspace.engine
    engine.insert(
        "quality_metrics",
        [
            _metric("crm", "completeness", "email", 0.9, 72),
            _metric("crm", "completeness", "email", 0.95, 48),
            _metric("crm", "completeness", "email", 0.6, 24, flagged=True),
            _metric("crm", "validity", "", 0.99, 48),
            _metric("crm", "validity", "", 0.99, 24),
            _metric("crm", "volume", "", 0.4, 24, flagged=True),
            _metric("shop", "uniqueness", "order_id", 1.0, 5),
        ],
    )
    card = scorecard(engine)
    assert [(m.source, m.metric, m.field) for m in card.measures] == [
        ("crm", "completeness", "email"),
        ("crm", "validity", ""),
        ("crm", "volume", ""),
        ("shop", "uniqueness", "order_id"),
    ]
    email = card.measures[0]
    assert (email.value, email.previous, email.flagged) == (0.6, 0.95, True)
    assert email.change == pytest.approx(-0.35)
    assert email.trend == "down"
    assert email.detail == {"rows": 10}
    assert email.measured_at == NOW - timedelta(hours=24)
    assert card.measures[1].trend == "flat"
    assert card.measures[2].previous is None
    assert card.measures[2].trend is None
    assert card.flagged == 2
    assert card.flagged_by("source") == {"crm": 2}
    assert card.history("crm", "completeness", "email") == [
        (NOW - timedelta(hours=72), 0.9),
        (NOW - timedelta(hours=48), 0.95),
        (NOW - timedelta(hours=24), 0.6),
    ]
    short = scorecard(engine, history=2)
    assert len(short.history("crm", "completeness", "email")) == 2
    assert short.measures[0].previous == 0.95
    latest = previous_completeness(engine, source="crm", entity="customers")
    assert latest == {"email": 0.6}


def test_the_scorecard_serialises_and_formats(engine: Engine) -> None:
    engine.insert(
        "quality_metrics",
        [
            _metric("crm", "completeness", "email", 0.5, 48),
            _metric("crm", "completeness", "email", 0.7, 24),
            _metric("crm", "freshness", "", 5.25, 1, batch_id=""),
            _metric("crm", "volume", "", 0.4878, 24, flagged=True),
            _metric("shop", "validity", "", None, 24, detail=None),
        ],
    )
    card = scorecard(engine)
    data = card.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert (data["total"], data["flagged"]) == (4, 1)
    assert data["flagged_by_metric"] == {"volume": 1}
    email = data["measures"][0]
    assert email["history"] == [["2025-05-30T12:00:00", 0.5], ["2025-05-31T12:00:00", 0.7]]
    assert email["trend"] == "up"
    assert email["previous_measured_at"] == "2025-05-30T12:00:00"
    rows = card.rows()
    assert all(len(r) == len(card.HEADERS) for r in rows)
    assert rows[0][3:8] == ("email", "70.0%", "50.0%", "↑", "")
    assert rows[1][3:5] == ("(all)", "5.2 h")
    assert rows[2][4] == "0.49x"
    assert rows[2][7] == "yes"
    assert rows[3][4] == "-"
    assert card.rows(flagged_only=True) == [rows[2]]
    assert [m.source for m in scorecard(engine, source="shop").measures] == ["shop"]
    assert scorecard(engine, entity="customers").flagged == 1
    assert scorecard(engine, source="nobody").to_dict()["measures"] == []
    with pytest.raises(ValueError, match="history"):
        scorecard(engine, history=0)


def test_batches_measured_in_turn_flag_a_completeness_drop(engine: Engine) -> None:
    contract = default_contract("customers")

    def measure(batch_id: str, emails: list[str | None]) -> pa.Table:
        batch = _customers(emails)
        previous = previous_completeness(
            engine, source="crm", entity="customers", before_batch=batch_id
        )
        table = batch_metrics(
            batch,
            evaluate(contract, batch),
            source="crm",
            entity="customers",
            batch_id=batch_id,
            run_id="r",
            measured_at=NOW + timedelta(days=int(batch_id[1:])),
            previous=previous,
        )
        record_metrics(engine, table)
        return table

    assert previous_completeness(engine, source="crm", entity="customers") == {}
    measure("b1", ["a@x.io"] * 10)
    expected = {"source_key": 1.0, "email": 1.0, "gender": 0.0}
    assert previous_completeness(engine, source="crm", entity="customers") == expected
    measure("b2", ["a@x.io"] * 7 + [None] * 3)  # 1.0 -> 0.7: flagged
    measure("b3", ["a@x.io"] * 6 + [None] * 4)  # 0.7 -> 0.6: not flagged
    assert previous_completeness(engine, source="crm", entity="customers", before_batch="b3")[
        "email"
    ] == pytest.approx(0.7)
    t = engine.table("quality_metrics")
    flags = engine.records(
        t.filter((t.metric == "completeness") & (t.field == "email"))
        .order_by("measured_at")
        .select("batch_id", "flagged")
    )
    assert [(r["batch_id"], r["flagged"]) for r in flags] == [("b1", 0), ("b2", 1), ("b3", 0)]
    card = scorecard(engine, source="crm")
    email = next(m for m in card.measures if m.field == "email" and m.metric == "completeness")
    assert (email.value, email.previous, email.flagged) == (0.6, 0.7, False)
    history = card.history("crm", "completeness", "email")
    assert [v for _, v in history] == [1.0, 0.7, 0.6]
