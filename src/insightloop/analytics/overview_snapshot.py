"""The dashboard's figures computed ahead by each pipeline run (step ``dashboard``).

The overview without filters is the first page every user opens, and the value tiers are a
page without filters at all; on a large workspace their figures take seconds (the overview) or
a third of a second (the tiers: one query joining three tables of a million rows) to aggregate,
and they change only with a pipeline run. The ``dashboard`` step computes them once per run —
for roles that see every figure and for those that see small cells hidden — and writes them as
JSON under ``<workspace>/dashboard/``. A page uses a snapshot only while it belongs to the
workspace's latest run (and, for the tiers, to the analytics settings it was computed under);
filtered overviews are computed when asked for.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from insightloop.analytics.config import AnalyticsConfig
from insightloop.analytics.cube import DEFAULT_MIN_GROUP_SIZE, CubeSources
from insightloop.analytics.overview import Overview, OverviewFilters, overview, overview_options
from insightloop.analytics.value_report import StageCell, TierFigures, TierReport, tier_report
from insightloop.identity.config import IdentityConfig
from insightloop.store import Engine

__all__ = ["Snapshot", "load_snapshot", "load_value_snapshot", "write_snapshots"]

#: Bumped when the stored shape changes: older files are ignored.
_FORMAT = 1


class Snapshot:
    """The unfiltered overview as of one pipeline run, and the filter choices to offer."""

    def __init__(self, run_id: str, found: Overview, options: dict[str, list[str]]) -> None:
        self.run_id = run_id
        self.overview = found
        self.options = options


def _path(folder: Path, min_group_size: int) -> Path:
    return folder / f"overview-{min_group_size}.json"


def _value_path(folder: Path, min_group_size: int) -> Path:
    return folder / f"value-{min_group_size}.json"


def _settings_digest(config: AnalyticsConfig) -> str:
    """What the tier report reads from the settings (tier names and order, measure, currency)."""
    text = orjson.dumps(config.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha1(text).hexdigest()[:16]


def _write(target: Path, body: dict[str, Any]) -> None:
    partial = target.with_suffix(".tmp")
    partial.write_bytes(orjson.dumps(body, default=_plain))
    os.replace(partial, target)


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def write_snapshots(
    engine: Engine,
    identity: IdentityConfig,
    config: AnalyticsConfig,
    folder: Path,
    *,
    run_id: str,
) -> dict[str, Any]:
    """Compute the unfiltered overview (all figures, and with small cells hidden) and write both
    snapshots atomically; returns a summary for the run record."""
    folder.mkdir(parents=True, exist_ok=True)
    options = overview_options(CubeSources(engine, identity, config))
    written = []
    for size in (0, DEFAULT_MIN_GROUP_SIZE):
        found = overview(engine, identity, config, OverviewFilters(), min_group_size=size)
        body = {
            "format": _FORMAT,
            "run_id": run_id,
            "overview": {k: v for k, v in asdict(found).items() if k != "filters"},
            "options": options,
        }
        _write(_path(folder, size), body)
        written.append(_path(folder, size).name)
        report = tier_report(engine, config, min_group_size=size)
        if report is not None:
            value = {
                "format": _FORMAT,
                "run_id": run_id,
                "settings": _settings_digest(config),
                "report": asdict(report),
            }
            _write(_value_path(folder, size), value)
            written.append(_value_path(folder, size).name)
    return {"files": written, "customers": found.kpis.get("customers")}


def _read(path: Path, run_id: str | None) -> dict[str, Any] | None:
    """A snapshot file's body if it is of this format and was written by the run ``run_id``."""
    try:
        body = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if body.get("format") != _FORMAT or run_id is None or body.get("run_id") != run_id:
        return None
    return dict(body)


def load_snapshot(folder: Path, min_group_size: int, run_id: str | None) -> Snapshot | None:
    """The snapshot for ``min_group_size`` if it was written by the run ``run_id``, else None."""
    body = _read(_path(folder, min_group_size), run_id)
    if body is None:
        return None
    fields = dict(body["overview"])
    if fields.get("as_of"):
        fields["as_of"] = date.fromisoformat(fields["as_of"])
    for month in fields.get("months", []):
        month["period"] = date.fromisoformat(month["period"])
    found = Overview(filters=OverviewFilters(), **fields)
    return Snapshot(body["run_id"], found, body["options"])


def load_value_snapshot(
    folder: Path, config: AnalyticsConfig, min_group_size: int, run_id: str | None
) -> TierReport | None:
    """The value tiers for ``min_group_size`` if the run ``run_id`` wrote them under the
    analytics settings ``config``, else None (compute them live)."""
    body = _read(_value_path(folder, min_group_size), run_id)
    if body is None or body.get("settings") != _settings_digest(config):
        return None
    fields = dict(body["report"])
    as_of = fields.get("as_of")
    return TierReport(
        **{
            **fields,
            "tiers": tuple(TierFigures(**t) for t in fields["tiers"]),
            "totals": TierFigures(**fields["totals"]),
            "as_of": date.fromisoformat(as_of) if as_of else None,
            "stages": tuple(fields["stages"]),
            "mix": tuple(StageCell(**c) for c in fields["mix"]),
        }
    )
