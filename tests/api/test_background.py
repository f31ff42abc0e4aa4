"""The server's background loader: what lands while a pass runs is loaded by the next pass."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

import insightloop.api.background as background
from insightloop import Workspace
from insightloop.api.background import BackgroundLoader
from insightloop.ingest.collect import LandingLog


def _land(log: LandingLog, message_id: str) -> None:
    body = orjson.dumps(
        {"type": "track", "event": "Opened App", "userId": "u1", "messageId": message_id}
    )
    header = {"r": datetime.now(UTC).isoformat(), "s": "web", "k": "wk_test", "t": "track"}
    log.append_sync(header, body)


def _stored(root: Path) -> set[str]:
    with Workspace.open(root, read_only=True) as ws:
        t = ws.engine.table("events")
        return {r["message_id"] for r in ws.engine.records(t.select("message_id"))}


def test_an_event_landed_during_a_pass_is_loaded_by_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        layout, settings = ws.layout, ws.settings
    log = LandingLog(layout.landing_dir)
    _land(log, "before")
    real_drain = background.drain_landing

    def drain_then_a_request_arrives(*args: Any, **kwargs: Any) -> Any:
        report = real_drain(*args, **kwargs)
        _land(log, "during")  # acknowledged after the pass read the log, before it ended
        return report

    monkeypatch.setattr(background, "drain_landing", drain_then_a_request_arrives)
    loader = BackgroundLoader(layout, settings)
    assert loader.run_once()
    assert _stored(layout.root) == {"before"}

    monkeypatch.setattr(background, "drain_landing", real_drain)
    assert loader.run_once(), "the next pass must look again: the log grew during the last one"
    assert _stored(layout.root) == {"before", "during"}
    log.close()
