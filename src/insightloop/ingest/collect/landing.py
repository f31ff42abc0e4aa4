"""The landing log: accepted requests, appended and fsynced before they are acknowledged.

Each server process writes its own segment files, ``landing/seg-<ns>-<pid>.log``, so processes
never share a file. A record is one accepted request::

    b"IL" | u32 length | u32 crc32 | u16 header length | header (JSON) | body

little-endian, where ``length`` counts the bytes after the CRC and the CRC covers them. Writes
go through one thread per process that takes every record waiting, writes them with one
``write`` and makes them durable with one ``fdatasync`` (group commit): under load many
requests share a sync, and no request is answered before its record is on disk. Requests of
one event loop are handed to that thread together, once per turn of the loop, and are told
together when their sync returns: one hand-over between the threads per group, not per
request.

A writer holds an exclusive ``flock`` on its open segment. A reader that can take the lock
knows the writer is gone (closed, rotated, or crashed): the segment will not grow, and a torn
record at its end was never acknowledged, because its sync never returned.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import queue
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

__all__ = ["LandingLog", "LandingRecord", "read_records", "segment_is_live", "segments"]

log = logging.getLogger(__name__)

_MAGIC = b"IL"
_HEAD = struct.Struct("<2sII")  # magic, length, crc32
_HEADER_LEN = struct.Struct("<H")
PREFIX = "seg-"
SUFFIX = ".log"


@dataclass(frozen=True)
class LandingRecord:
    """One accepted request as the landing log holds it."""

    segment: str
    offset: int
    end: int
    header: dict[str, Any]
    body: bytes


def frame(header: dict[str, Any], body: bytes) -> bytes:
    """The bytes of one record."""
    head = orjson.dumps(header)
    payload = _HEADER_LEN.pack(len(head)) + head + body
    return _HEAD.pack(_MAGIC, len(payload), zlib.crc32(payload)) + payload


class LandingLog:
    """The appending side of the landing log, for one process.

    Parameters
    ----------
    directory
        The workspace's ``landing`` folder.
    segment_bytes
        Size at which the current segment is closed and a new one begun.
    sync
        Whether to ``fdatasync`` before acknowledging (always, outside tests of the log itself).
    """

    def __init__(self, directory: Path, *, segment_bytes: int = 64 << 20, sync: bool = True):
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.sync = sync
        self._queue: queue.SimpleQueue[tuple[list[bytes], Any] | None] = queue.SimpleQueue()
        # Records of each event loop waiting for its next turn, with the futures to settle.
        self._pending: dict[asyncio.AbstractEventLoop, tuple[list[bytes], list[Any]]] = {}
        self._fd: int | None = None
        self._path: Path | None = None
        self._size = 0
        self._pid = os.getpid()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.records_written = 0
        self.syncs = 0

    # -- appending ---------------------------------------------------------------------------

    async def append(self, header: dict[str, Any], body: bytes) -> None:
        """Append one record; returns once it is durable (raises ``OSError`` if it is not)."""
        if self._closed:
            raise OSError("the landing log is closed")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        group = self._pending.get(loop)
        if group is None:
            group = self._pending[loop] = ([], [])
            loop.call_soon(self._hand_over, loop)
        group[0].append(frame(header, body))
        group[1].append(done)
        await done

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        """Give the records this loop gathered in one turn to the writer thread."""
        chunks, futures = self._pending.pop(loop)
        try:
            self._submit(chunks, (loop, futures))
        except OSError as error:
            _settle(futures, error)

    def append_sync(self, header: dict[str, Any], body: bytes) -> None:
        """Append one record from synchronous code; returns once it is durable."""
        done = threading.Event()
        failure: list[BaseException] = []
        self._submit([frame(header, body)], (done, failure))
        done.wait()
        if failure:
            raise failure[0]

    def _submit(self, chunks: list[bytes], waiter: Any) -> None:
        if self._closed:
            raise OSError("the landing log is closed")
        self._ensure_thread()
        self._queue.put((chunks, waiter))

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid():
                # After a fork the parent's thread and file are not ours: start afresh.
                self._pid, self._fd, self._path, self._size = os.getpid(), None, None, 0
                self._thread = threading.Thread(
                    target=self._run, name="insightloop-landing", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            items = [item]
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            work = [i for i in items if i is not None]
            if work:
                self._write([data for chunks, _ in work for data in chunks], [w for _, w in work])
            if None in items:
                self._close_segment()
                return

    def _write(self, chunks: list[bytes], waiters: list[Any]) -> None:
        error: BaseException | None = None
        try:
            fd = self._segment()
            data = b"".join(chunks)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if self.sync:
                os.fdatasync(fd)
                self.syncs += 1
            self._size += len(data)
            self.records_written += len(chunks)
        except OSError as failure:
            log.error("landing log write failed: %s", type(failure).__name__)
            error = failure
            # A partial write leaves a torn record: continue in a fresh segment.
            self._close_segment()
        for waiter in waiters:
            _notify(waiter, error)
        if error is None and self._size >= self.segment_bytes:
            self._close_segment()

    def _segment(self) -> int:
        if self._fd is not None:
            return self._fd
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{PREFIX}{time.time_ns():020d}-{os.getpid()}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        _sync_directory(self.directory)  # the new file's name is durable too
        self._fd, self._path, self._size = fd, path, 0
        return fd

    def _close_segment(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the flock: readers see the segment as complete
        self._fd, self._path, self._size = None, None, 0

    def close(self) -> None:
        """Write what is queued, close the segment and stop the writer thread."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None and self._pid == os.getpid():
            self._queue.put(None)
            self._thread.join()
        self._thread = None


def _notify(waiter: Any, error: BaseException | None) -> None:
    first, second = waiter
    if isinstance(first, asyncio.AbstractEventLoop):
        first.call_soon_threadsafe(_settle, second, error)
    else:
        if error is not None:
            second.append(error)
        first.set()


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():  # the request was cancelled (client gone); the record is kept anyway
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- reading ----------------------------------------------------------------------------------


def segments(directory: Path) -> list[Path]:
    """The segment files, oldest first."""
    if not directory.is_dir():
        return []
    return sorted(directory.glob(f"{PREFIX}*{SUFFIX}"))


def segment_is_live(path: Path) -> bool:
    """Whether a writer still has ``path`` open (it may grow)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock we took
    return False


def read_records(
    path: Path, start: int = 0, *, max_bytes: int | None = None
) -> Iterator[LandingRecord]:
    """The complete records of a segment from byte ``start``.

    Stops at the end, at a record not yet (or never) completely written, or after about
    ``max_bytes``. A record that is complete but fails its CRC also stops the reading: the
    caller decides (a live segment is read again later; a dead one is damaged there).
    """
    with path.open("rb") as f:
        f.seek(start)
        offset = start
        while max_bytes is None or offset - start < max_bytes:
            head = f.read(_HEAD.size)
            if len(head) < _HEAD.size:
                return
            magic, length, crc = _HEAD.unpack(head)
            if magic != _MAGIC:
                return
            payload = f.read(length)
            if len(payload) < length or zlib.crc32(payload) != crc:
                return
            (head_len,) = _HEADER_LEN.unpack_from(payload)
            header = orjson.loads(payload[2 : 2 + head_len])
            end = offset + _HEAD.size + length
            yield LandingRecord(path.name, offset, end, header, payload[2 + head_len :])
            offset = end
