"""The landing log: records are durable, framed, read back exactly, torn tails are never read."""

from __future__ import annotations

import asyncio
import itertools
import threading
from pathlib import Path

import pytest

from insightloop.ingest.collect.landing import (
    LandingLog,
    frame,
    read_records,
    segment_is_live,
    segments,
)


def _header(i: int) -> dict[str, object]:
    return {"r": "2026-12-06T00:00:00+00:00", "s": "web", "k": "k", "t": "batch", "i": i}


def test_records_are_read_back_in_order_with_their_offsets(tmp_path: Path) -> None:
    log = LandingLog(tmp_path)
    for i in range(5):
        log.append_sync(_header(i), b'{"batch": []}' * (i + 1))
    (segment,) = segments(tmp_path)
    assert segment_is_live(segment)  # the writer still holds it
    log.close()
    assert not segment_is_live(segment)
    records = list(read_records(segment))
    assert [r.header["i"] for r in records] == list(range(5))
    assert records[2].body == b'{"batch": []}' * 3
    assert records[0].offset == 0
    assert all(a.end == b.offset for a, b in itertools.pairwise(records))
    assert records[-1].end == segment.stat().st_size
    # Reading from an offset continues there.
    assert [r.header["i"] for r in read_records(segment, records[3].offset)] == [3, 4]


def test_a_torn_or_damaged_tail_is_not_read(tmp_path: Path) -> None:
    log = LandingLog(tmp_path)
    log.append_sync(_header(0), b"first")
    log.close()
    (segment,) = segments(tmp_path)
    whole = frame(_header(1), b"second")
    with segment.open("ab") as f:
        f.write(whole[: len(whole) // 2])  # a crash in the middle of a write
    assert [r.body for r in read_records(segment)] == [b"first"]
    damaged = bytearray(frame(_header(2), b"third"))
    damaged[-1] ^= 0xFF
    other = tmp_path / "seg-00000000000000000001-1.log"
    other.write_bytes(frame(_header(0), b"ok") + bytes(damaged))
    assert [r.body for r in read_records(other)] == [b"ok"]


def test_segments_rotate_at_their_size(tmp_path: Path) -> None:
    log = LandingLog(tmp_path, segment_bytes=200)
    for i in range(10):
        log.append_sync(_header(i), b"x" * 100)
    log.close()
    files = segments(tmp_path)
    assert len(files) >= 5
    got = [r.header["i"] for f in files for r in read_records(f)]
    assert got == list(range(10))


def test_concurrent_appends_share_syncs_and_none_is_lost(tmp_path: Path) -> None:
    log = LandingLog(tmp_path)

    async def main() -> None:
        await asyncio.gather(*(log.append(_header(i), b"{}") for i in range(500)))

    threads = [threading.Thread(target=asyncio.run, args=(main(),)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    records = [r for f in segments(tmp_path) for r in read_records(f)]
    assert len(records) == 2000
    assert log.records_written == 2000
    assert log.syncs < 2000  # group commit: many requests per fdatasync


def test_a_write_failure_is_reported_to_the_waiting_request(tmp_path: Path) -> None:
    blocked = tmp_path / "landing"
    blocked.write_text("a file where the folder should be")
    log = LandingLog(blocked)
    with pytest.raises(FileExistsError):
        log.append_sync(_header(0), b"{}")
    blocked.unlink()  # the disk is usable again: the next request succeeds
    log.append_sync(_header(1), b"{}")
    log.close()
    assert [r.header["i"] for r in read_records(segments(blocked)[0])] == [1]
