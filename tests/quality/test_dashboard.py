"""The data-quality dashboard's queries: the summary for the overview, the scorecard per load,
and the load history with its account. Expected values are worked out by hand from the rows
each test writes (the demo workspace's figures are checked in tests/ui/test_quality.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from insightloop.quality.dashboard import load_history, quality_summary, scorecard_trends
from insightloop.store import Engine, migrate


def _batch(
    batch_id: str, source: str, day: int, counts: tuple[int, ...] = (), status: str = "loaded"
) -> list[dict[str, Any]]:
    """A batch as the loader records it: a ``started`` row, then its final row with the counts
    (read, loaded, quarantined, duplicates)."""
    started = datetime(2025, 1, day)
    row: dict[str, Any] = {"batch_id": batch_id, "source": source, "entity": "orders",
                           "location": f"{source}/{day}.csv", "started_at": started}  # fmt: skip
    if status == "started":
        return [{**row, "status": "started"}]
    names = ("rows_read", "rows_loaded", "rows_quarantined", "duplicates_skipped")
    final = {**row, "status": status, "finished_at": started.replace(hour=1)}
    return [{**row, "status": "started"}, {**final, **dict(zip(names, counts, strict=True))}]


def test_quality_summary_names_broken_invariants_volume_anomalies_and_failures() -> None:
    engine = Engine.in_memory()
    migrate(engine)
    ok = (10, 8, 1, 1)
    batches = [
        *_batch("a1", "shop", 1, ok),
        *_batch("a2", "shop", 2, (10, 8, 1, 0)),  # the last batch of `shop` lost a row
        *_batch("b1", "pos", 1, ok),
        *_batch("b2", "pos", 2, ok),
        *_batch("c1", "erp", 1, ok),
        *_batch("c2", "erp", 2, (7, 0, 0, 0), "failed"),
        *_batch("d1", "web", 3, status="started"),  # still running: no account yet
    ]
    engine.insert("load_batches", batches)
    volume = {
        "entity": "orders",
        "metric": "volume",
        "field": "",
        "measured_at": datetime(2025, 1, 2),
    }
    engine.insert(
        "quality_metrics",
        [
            {**volume, "batch_id": "b2", "source": "pos", "value": 0.4, "flagged": True,
             "detail": '{"median_rows":25.0}'},
            {**volume, "batch_id": "a2", "source": "shop", "value": 1.0, "flagged": False,
             "detail": '{"earlier_batches":1,"reason":"not enough history"}'},
        ],
    )  # fmt: skip
    engine.insert(
        "quarantine",
        [
            {"quarantine_id": "q1", "source": "shop", "entity": "orders", "resolved": False},
            {"quarantine_id": "q2", "source": "shop", "entity": "orders", "resolved": True},
            {"quarantine_id": "q3", "source": "pos", "entity": "orders", "resolved": None},
        ],
    )
    summary = quality_summary(engine)
    # completed batches only: a1, a2, b1, b2, c1 (the failed c2 kept nothing; d1 never finished)
    assert (summary.rows_read, summary.rows_loaded) == (50, 40)
    assert (summary.rows_quarantined, summary.duplicates_skipped) == (5, 4)
    assert not summary.balanced  # a2 lost a row
    assert (summary.batches, summary.failed_batches, summary.unresolved_quarantined) == (7, 1, 2)
    by_source = {s.source: s for s in summary.sources}
    assert [s.source for s in summary.broke_invariant] == ["shop"]
    assert by_source["shop"].difference == 1
    assert by_source["shop"].volume_ratio is None
    assert [s.source for s in summary.volume_anomalies] == ["pos"]
    assert by_source["pos"].volume_ratio == 0.4
    assert [s.source for s in summary.failed] == ["erp"]
    assert by_source["erp"].balanced
    assert [s.source for s in summary.attention] == ["pos", "shop"]
    web = by_source["web"]
    assert (web.last_status, web.balanced, web.batches) == ("started", None, 1)
    assert by_source["shop"].batches == 2
    assert by_source["shop"].last_batch_id == "a2"


def _measure(batch: str, day: int, metric: str, field: str, value: float, flagged: bool = False,
             detail: str = "{}") -> dict[str, Any]:  # fmt: skip
    return {"batch_id": batch, "source": "shop", "entity": "orders", "metric": metric,
            "field": field, "value": value, "flagged": flagged, "detail": detail,
            "measured_at": datetime(2025, 1, day)}  # fmt: skip


def test_scorecard_trends_and_the_load_history_per_load() -> None:
    engine = Engine.in_memory()
    migrate(engine)
    loads = [
        _batch("a1", "shop", 1, (10, 8, 1, 1)),
        _batch("a2", "shop", 2, (10, 8, 1, 0)),
        _batch("a3", "shop", 3, (4, 0, 0, 0), "failed"),
        _batch("a4", "shop", 4, status="started"),
    ]
    engine.insert("load_batches", [row for rows in loads for row in rows])
    required = '{"required":true}'  # as detail_json writes it
    engine.insert("quality_metrics", [
        _measure("a1", 1, "completeness", "order_id", 1.0, detail=required),
        _measure("a1", 1, "completeness", "email", 0.2),  # not required: not in the line
        _measure("a1", 1, "validity", "", 0.9, True),
        _measure("a1", 1, "validity", "nps", 0.5, True),  # a column's, not the batch's
        _measure("a1", 1, "uniqueness", "order_id", 1.0),
        _measure("a1", 1, "volume", "", 1.0, detail='{"reason":"not enough history"}'),
        _measure("a2", 2, "completeness", "order_id", 0.8, True, required),
        _measure("a2", 2, "validity", "", 1.0),
        _measure("a2", 2, "uniqueness", "order_id", 0.95, True),
        _measure("a2", 2, "volume", "", 0.4, True),
        _measure("", 2, "freshness", "", 30.0, True),  # about the source, not a load
    ])  # fmt: skip
    points = scorecard_trends(engine)[("shop", "orders")]
    got = [
        (p.batch_id, p.completeness, p.validity, p.uniqueness, p.volume, p.flagged) for p in points
    ]
    assert got == [("a1", 1.0, 0.9, 1.0, None, 2), ("a2", 0.8, 1.0, 0.95, 0.4, 3)]
    assert [p.volume_flagged for p in points] == [False, True]
    assert [p.batch_id for p in scorecard_trends(engine, history=1)[("shop", "orders")]] == ["a2"]
    page = load_history(engine, limit=2)
    assert page.total == 4
    assert [(b.batch_id, b.balanced) for b in page.batches] == [("a4", None), ("a3", True)]
    t = page.totals
    assert (t.completed, t.failed, t.running, t.rows_read, t.rows_read_failed) == (2, 1, 1, 20, 4)
    assert (t.difference, t.unbalanced, t.balanced) == (1, 1, False)
    rest = load_history(engine, offset=2, limit=2).batches
    assert [(b.batch_id, b.difference, b.balanced) for b in rest] == [
        ("a2", 1, False),
        ("a1", 0, True),
    ]
