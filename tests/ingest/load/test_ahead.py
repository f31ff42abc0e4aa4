"""Reading and mapping one chunk ahead: order, errors, early stops and the second thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import closing

import pytest

from insightloop.ingest.load.ahead import ahead


def test_results_come_in_order_and_the_work_runs_in_a_second_thread() -> None:
    threads: set[str] = set()

    def work(x: int) -> int:
        threads.add(threading.current_thread().name)
        return x * 2

    assert list(ahead(range(50), work)) == list(range(0, 100, 2))
    assert threads == {"insightloop-read-ahead"}


def test_an_error_in_the_items_is_raised_at_its_place() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("disk gone at line 3")

    got: list[int] = []

    def consume() -> None:
        for value in ahead(items(), lambda x: x):
            got.append(value)

    with pytest.raises(OSError, match="line 3"):
        consume()
    assert got == [1, 2]


def test_an_error_in_the_work_is_raised_in_the_caller() -> None:
    def work(x: int) -> int:
        if x == 3:
            raise ValueError("chunk 3 cannot be mapped")
        return x

    with pytest.raises(ValueError, match="chunk 3"):
        list(ahead(range(10), work))


def test_stopping_early_stops_the_thread_and_closes_the_items() -> None:
    closed = threading.Event()
    produced: list[int] = []

    def items() -> Iterator[int]:
        try:
            for i in range(1_000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    with closing(ahead(items(), lambda x: x, depth=2)) as values:
        assert next(values) == 0
    assert closed.is_set()
    assert len(produced) <= 5  # one being consumed, two queued, one in the work: no more
    assert not any(t.name == "insightloop-read-ahead" for t in threading.enumerate())


def test_an_error_in_the_consumer_stops_the_thread() -> None:
    def consume() -> None:
        with closing(ahead(range(1_000_000), lambda x: x)) as values:
            for value in values:
                if value == 2:
                    raise RuntimeError("write failed")

    with pytest.raises(RuntimeError, match="write failed"):
        consume()
    assert not any(t.name == "insightloop-read-ahead" for t in threading.enumerate())
