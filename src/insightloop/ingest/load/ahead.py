"""Work one step ahead of the consumer: read, map and check the next chunk while this one is
written.

A batch's chunks go through two halves: reading, mapping and checking against the contract (pure
Arrow work, no engine) and writing (comparing with the loaded rows, inserting, measuring).
:func:`ahead` runs the first half of chunk *n + 1* in a second thread while the caller writes
chunk *n*. Arrow's kernels, DuckDB's reader and its inserts release the GIL, so the two halves
overlap on a machine with two cores.
Results come back in order; an error in the second thread is raised in the caller at the chunk
where it happened, and a caller that stops early stops the thread before it returns.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable
from typing import TypeVar

__all__ = ["ahead"]

T = TypeVar("T")
U = TypeVar("U")

_POLL = 0.05  # seconds between checks whether the consumer has gone


class _End:
    """Marks the end of the items."""


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def ahead(
    items: Iterable[T], work: Callable[[T], U], *, depth: int = 1
) -> Generator[U, None, None]:
    """``work(item)`` for each of ``items`` in order, computed up to ``depth`` items ahead.

    ``items`` is iterated in the second thread too, so a reader's own work (parsing a file)
    overlaps with the caller's as well. Use the result in a ``with contextlib.closing(...)``
    or iterate it to the end: closing it stops the thread and waits for it.

    Examples
    --------
    >>> list(ahead(range(5), lambda x: x * x))
    [0, 1, 4, 9, 16]
    >>> def broken():
    ...     yield 1
    ...     raise ValueError("line 2 is not JSON")
    >>> next_values = ahead(broken(), str)
    >>> next(next_values)
    '1'
    >>> next(next_values)
    Traceback (most recent call last):
    ...
    ValueError: line 2 is not JSON
    """
    results: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                results.put(value, timeout=_POLL)
            except queue.Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set() or not put(work(item)):
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, re-raised there
            put(_Failed(error))
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # a generator's clean-up (a reader's connection) runs in its thread
        put(_End())

    thread = threading.Thread(target=produce, name="insightloop-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            value = results.get()
            if isinstance(value, _End):
                return
            if isinstance(value, _Failed):
                raise value.error
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
