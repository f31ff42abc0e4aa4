"""The :class:`Connection` every backend implements, and the failure it raises.

A backend loads its driver lazily (a missing driver is a :class:`ReadError` with the install
command), connects read-only where the database allows it, and turns every driver exception
into a :class:`DatabaseFailure` carrying a classified :class:`~.failures.Failure`: drivers stay
inside their backend module, and the messages are written in :mod:`.failures`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from insightloop.ingest.databases.failures import Failure
from insightloop.ingest.databases.sql import Dialect, Relation, Statement
from insightloop.ingest.databases.url import DatabaseUrl
from insightloop.ingest.databases.values import WatermarkKind

__all__ = ["CONNECT_TIMEOUT_SECONDS", "Column", "Connection", "DatabaseFailure", "Row"]

#: How long to wait for a server to answer a connection attempt, unless the URL says otherwise.
CONNECT_TIMEOUT_SECONDS = 5

Row = tuple[Any, ...]


class DatabaseFailure(Exception):
    """A driver error, classified; :mod:`.connect` turns it into a ``ReadError``."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.detail)
        self.failure = failure


@dataclass(frozen=True)
class Column:
    """A result column: its name in the database and how it compares as a watermark."""

    name: str
    kind: WatermarkKind


class Connection(ABC):
    """An open connection to one database, for one read.

    Subclasses set :attr:`dialect`, connect in :meth:`connect`, and wrap every driver call in
    ``with self.guard():`` so that driver errors leave as :class:`DatabaseFailure`.
    """

    dialect: ClassVar[Dialect]

    def __init__(self, url: DatabaseUrl, errors: tuple[type[Exception], ...]) -> None:
        self.url = url
        self._errors = errors

    @classmethod
    @abstractmethod
    def connect(cls, url: DatabaseUrl) -> Connection:
        """Connect to ``url``.

        Raises
        ------
        ReadError
            When the driver is not installed, or the URL's options are not valid.
        DatabaseFailure
            When the database cannot be reached or refuses the login.
        """

    @abstractmethod
    def classify(self, error: Exception) -> Failure:
        """What a driver error means."""

    @abstractmethod
    def columns(self, statement: Statement) -> list[Column]:
        """The result columns of ``statement`` (a probe that reads no rows)."""

    def watermark_kind(self, column: Column, relation: Relation) -> WatermarkKind:
        """How to bind a watermark for ``column``; by default its declared type."""
        return column.kind

    @abstractmethod
    def primary_key(self, parts: tuple[str, ...]) -> list[str]:
        """The primary-key columns of a table, in key order; empty when it has none."""

    @abstractmethod
    def stream(self, statement: Statement, rows_per_batch: int) -> Generator[list[Row], None, None]:
        """Run ``statement`` and yield its rows, at most ``rows_per_batch`` at a time.

        The rows are fetched from the server batch by batch, never all at once. Closing the
        generator early releases the cursor.
        """

    @abstractmethod
    def close(self) -> None:
        """Close the connection; calling it twice is harmless."""

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Turn the driver's errors raised inside the block into :class:`DatabaseFailure`."""
        try:
            yield
        except self._errors as error:
            raise DatabaseFailure(self.classify(error)) from None


def error_name(error: BaseException, code: object = None, label: str = "SQLSTATE") -> str:
    """A safe description of a driver error: its class, and its code if it has one.

    Examples
    --------
    >>> error_name(ValueError("a value"), "42601")
    'ValueError, SQLSTATE 42601'
    """
    return type(error).__name__ + (f", {label} {code}" if code else "")
