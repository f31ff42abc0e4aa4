"""The profile store: materialised profile documents in an embedded key-value store, for serving.

``<workspace>/profiles/`` holds one JSON document per customer
(:mod:`insightloop.profile.documents`), the identifier values that find each customer, and a
full-text index of names, contact details and identifiers for search. SQLite in WAL mode lets
every worker process of the server read while one process writes, and a look-up costs tens of
microseconds instead of the millisecond of an analytical query.

Two ways of writing, both by a process that holds the workspace database (so never two at once):

- :meth:`ProfileStore.replace_all` (the pipeline's ``profiles`` step) writes every document into
  a new generation file, then points ``CURRENT`` at it (an atomic rename); readers move to it
  within :data:`RECHECK_SECONDS`. A file is never renamed or replaced under an open connection,
  so SQLite's write-ahead log always belongs to its database file.
- :meth:`ProfileStore.upsert` (the loader of received events) rewrites some customers' documents
  in one transaction.

Examples
--------
>>> import tempfile, pathlib
>>> store = ProfileStore(pathlib.Path(tempfile.mkdtemp()) / "profiles")
>>> doc = {"customer_id": "c1", "golden": {"first_name": "Anna", "last_name": "Berg",
...        "email": "anna@x.se"}, "identifiers": [{"type": "email", "value": "anna@x.se"}]}
>>> store.replace_all([[doc]])
1
>>> store.find("Anna@X.se")
'c1'
>>> [hit["customer_id"] for hit in store.search("ann ber").data]
['c1']
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from insightloop.errors import InsightloopError
from insightloop.ingest.normalise import normalise_phone
from insightloop.privacy import PERSONAL_ID_TYPES
from insightloop.profile.timeline import ProfileQueryError
from insightloop.profile.view import AmbiguousIdentifierError, lookup_values

__all__ = ["SUMMARY_FIELDS", "ProfileStore", "ProfileStoreError", "SearchPage"]

#: The store's layout version (``PRAGMA user_version``).
STORE_VERSION = 1
#: Golden-record fields of a search hit.
SUMMARY_FIELDS = ("first_name", "last_name", "email", "phone", "city", "country")
BUSY_TIMEOUT_MS = 10_000
#: How often a reader looks whether the store was rebuilt (a new file) by another process.
RECHECK_SECONDS = 0.5
BUILD_HINT = "Build it: `insightloop run` (or `insightloop run profiles` for the store alone)."

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS profiles (
        n INTEGER PRIMARY KEY,
        customer_id TEXT NOT NULL UNIQUE,
        doc BLOB NOT NULL,  -- JSON, zlib-compressed (a quarter of the size)
        summary BLOB NOT NULL,
        written_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS lookup (
        id_type TEXT NOT NULL,
        value TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (id_type, value, n)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS lookup_n ON lookup (n)",
    "CREATE INDEX IF NOT EXISTS lookup_value ON lookup (value)",
    # The text of a customer by profiles.n (its rowid): names, contact details, identifiers.
    """CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5 (
        names, contacts, identifiers, tokenize = 'unicode61 remove_diacritics 2'
    )""",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


class ProfileStoreError(InsightloopError):
    """The profile store is missing, from another version, or cannot be written."""

    code = "profile_store_unavailable"


@dataclass(frozen=True)
class SearchPage:
    """One page of search hits (best first), and the offset of the next page if there is one."""

    data: list[dict[str, Any]]
    limit: int
    offset: int
    next_offset: int | None = None
    query: str = ""
    terms: list[str] = field(default_factory=list)


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_TOKEN = re.compile(r"\w+", re.UNICODE)


def search_text(doc: dict[str, Any]) -> tuple[str, str, str]:
    golden = doc.get("golden") or {}
    names: list[str] = []
    contacts: list[str] = []
    pairs = [(golden.get("first_name"), golden.get("last_name"))]
    for record in doc.get("records") or []:
        fields = record.get("fields") or {}
        pairs.append((fields.get("first_name"), fields.get("last_name")))
        contacts += [fields.get("email") or "", fields.get("phone") or ""]
    for first, last in pairs:
        names += [first or "", last or ""]
        if first and last and (_CJK.search(first) or _CJK.search(last)):
            # Han names are written without a space, family name first.
            names += [f"{last}{first}", f"{first}{last}"]
    contacts += [golden.get("email") or "", golden.get("phone") or ""]
    ids = [doc["customer_id"]]
    for ident in doc.get("identifiers") or []:
        if ident.get("type") in ("email", "phone"):
            contacts.append(ident.get("value") or "")
        elif ident.get("type") != "anonymous_id":
            ids.append(ident.get("value") or "")
    return (
        " ".join(dict.fromkeys(n for n in names if n)),
        " ".join(dict.fromkeys(c for c in contacts if c)),
        " ".join(dict.fromkeys(i for i in ids if i)),
    )


def match_query(text: str) -> tuple[str, list[str]]:
    """An FTS5 query: every word of ``text`` as a prefix, all required; phone numbers as one
    word in E.164 digits. Words are quoted, so no FTS5 syntax from the user reaches SQLite."""
    text = unicodedata.normalize("NFKC", text).strip()
    phone = normalise_phone(text).value if re.fullmatch(r"[+\d][\d\s().-]{5,}", text) else None
    words = [phone.lstrip("+")] if phone else _TOKEN.findall(text.lower())
    words = [w for w in words if w]
    return " AND ".join(f'"{w}"*' for w in words), words


def identifier_text(identifier: str) -> str:
    """``identifier`` without surrounding space; refused when nothing is left."""
    text = identifier.strip()
    if not text:
        raise ProfileQueryError(
            "The identifier is empty.",
            hint="Give a customer id, an e-mail, a phone number or another identifier.",
        )
    return text


def one_customer(hits: dict[str, set[str]]) -> str | None:
    """The one customer the identifier found (customer ids by the identifier type that found
    them), ``None`` for none.

    Raises
    ------
    AmbiguousIdentifierError
        When it found several customers, as different types.
    """
    customers = set().union(*hits.values()) if hits else set()
    if len(customers) > 1:
        kinds = sorted(hits)
        raise AmbiguousIdentifierError(
            f"The identifier belongs to {len(customers)} customers, as {', '.join(kinds)}.",
            hint="Say which kind of identifier it is: " + " or ".join(kinds) + ".",
        )
    return customers.pop() if customers else None


def _fsync(path: Path) -> None:
    """Flush a file or a folder (a rename's new entry) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def summary_of(doc: dict[str, Any]) -> bytes:
    golden = doc.get("golden") or {}
    summary = {"customer_id": doc["customer_id"], **{f: golden.get(f) for f in SUMMARY_FIELDS}}
    return orjson.dumps(summary)


class ProfileStore:
    """Profile documents by customer id and by identifier, and search (see the module docs).

    Safe to share between threads: each thread reads through its own connection.

    Parameters
    ----------
    path
        The store's folder (``<workspace>/profiles``): generations of the store as SQLite files,
        and ``CURRENT``, the name of the one in use.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._gen = 0  # bumped by replace_all here, so this process's readers look at once

    @classmethod
    def for_workspace(cls, root: str | Path) -> ProfileStore:
        return cls(Path(root) / "profiles")

    # -- files -----------------------------------------------------------------------------

    @property
    def _pointer(self) -> Path:
        return self.path / "CURRENT"

    def current_file(self) -> Path:
        """The SQLite file of the generation in use.

        Raises
        ------
        ProfileStoreError
            When the store has not been built.
        """
        try:
            name = self._pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise ProfileStoreError(
                "The profile store has not been built yet.",
                hint=BUILD_HINT,
            ) from None
        return self.path / name

    @staticmethod
    def _files(db: Path) -> tuple[Path, Path, Path]:
        return db, Path(f"{db}-wal"), Path(f"{db}-shm")

    def _retire_old(self, keep: set[str]) -> None:
        """Delete generations other than ``keep``: a reader still on the one before had its
        file open already (an open file outlives its name), and looks at CURRENT again within
        :data:`RECHECK_SECONDS`."""
        for db in self.path.glob("gen-*.sqlite"):
            if db.name not in keep:
                for f in self._files(db):
                    f.unlink(missing_ok=True)

    # -- connections -----------------------------------------------------------------------

    @staticmethod
    def _open(path: Path, *, create: bool = False) -> sqlite3.Connection:
        # mode=rw never creates a file: a generation deleted meanwhile fails instead of
        # appearing empty.
        uri = f"{path.as_uri()}?mode={'rwc' if create else 'rw'}"
        conn = sqlite3.connect(
            uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return conn

    def _checked(self, db: Path) -> sqlite3.Connection:
        try:
            conn = self._open(db)
        except sqlite3.OperationalError:
            raise ProfileStoreError(
                "The profile store's current file is missing.", hint=BUILD_HINT
            ) from None
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError:  # not an SQLite file at all
            conn.close()
            raise ProfileStoreError(f"{db.name} is not a profile store.", hint=BUILD_HINT) from None
        if version != STORE_VERSION:
            conn.close()
            raise ProfileStoreError(
                f"The profile store has layout version {version}; this release reads "
                f"version {STORE_VERSION}.",
                hint=BUILD_HINT,
            )
        return conn

    def _reader(self) -> sqlite3.Connection:
        """This thread's connection, moved to the current generation when the store was
        rebuilt (CURRENT is read every :data:`RECHECK_SECONDS` at most)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        now = time.monotonic()
        if conn is not None and now < self._local.recheck_at and self._local.gen == self._gen:
            return conn
        for attempt in range(3):
            db = self.current_file()
            if conn is not None and self._local.db == db:
                break
            if conn is not None:
                conn.close()
                self._local.conn = conn = None  # never handed out again if the next one fails
            try:
                conn = self._checked(db)
            except ProfileStoreError:
                if attempt == 2 or db.exists():
                    raise
                continue  # replaced between reading CURRENT and opening: read it again
            self._local.conn, self._local.db = conn, db
            break
        assert conn is not None
        self._local.recheck_at, self._local.gen = now + RECHECK_SECONDS, self._gen
        return conn

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def _writing(self, db: Path, *, create: bool = False) -> Iterator[sqlite3.Connection]:
        with closing(self._open(db, create=create)) as conn:
            # A new generation is invisible until CURRENT names it, and removed if writing
            # fails: it needs no journal (half the writing); the live one is in WAL mode.
            conn.execute(f"PRAGMA journal_mode = {'OFF' if create else 'WAL'}")
            if create:
                conn.execute("PRAGMA synchronous = OFF")
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {STORE_VERSION}")
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    # -- writing ---------------------------------------------------------------------------

    @staticmethod
    def _remove(conn: sqlite3.Connection, customer_id: str) -> bool:
        """Delete a customer's document with its look-up and search rows; whether it had one."""
        row = conn.execute("SELECT n FROM profiles WHERE customer_id = ?", (customer_id,))
        found = row.fetchone()
        if found is None:
            return False
        conn.execute("DELETE FROM lookup WHERE n = ?", found)
        conn.execute("DELETE FROM search WHERE rowid = ?", found)
        conn.execute("DELETE FROM profiles WHERE n = ?", found)
        return True

    @staticmethod
    def _write(conn: sqlite3.Connection, docs: Iterable[dict[str, Any]], at: str) -> int:
        written = 0
        for doc in docs:
            cid = doc["customer_id"]
            ProfileStore._remove(conn, cid)
            n = conn.execute(
                "INSERT INTO profiles (customer_id, doc, summary, written_at) VALUES (?, ?, ?, ?)",
                (cid, zlib.compress(orjson.dumps(doc, default=str), 3), summary_of(doc), at),
            ).lastrowid
            ids = {(i["type"], i["value"]) for i in doc.get("identifiers") or [] if i.get("value")}
            conn.executemany(
                "INSERT OR IGNORE INTO lookup (id_type, value, n) VALUES (?, ?, ?)",
                [(kind, value, n) for kind, value in sorted(ids)],
            )
            conn.execute(
                "INSERT INTO search (rowid, names, contacts, identifiers) VALUES (?, ?, ?, ?)",
                (n, *search_text(doc)),
            )
            written += 1
        return written

    def replace_all(
        self, chunks: Iterable[list[dict[str, Any]]], *, run_id: str | None = None
    ) -> int:
        """Write these documents as the whole store: a new generation file, made current by
        renaming ``CURRENT`` over the old pointer once it is complete and on disk.

        Returns the number of documents written. Nothing changes if writing fails.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        db = self.path / f"gen-{time.time_ns()}-{os.getpid()}.sqlite"
        at = datetime.now(UTC).isoformat()
        written = 0
        try:
            with self._writing(db, create=True) as conn:
                for chunk in chunks:
                    written += self._write(conn, chunk, at)
                self._set_meta(conn, at, run_id, written)
            with closing(self._open(db)) as conn:
                conn.execute("PRAGMA journal_mode = WAL")  # for readers beside the loader
            _fsync(db)
            previous = self._pointer.read_text().strip() if self._pointer.exists() else ""
            tmp = self.path / f"CURRENT.{os.getpid()}.tmp"
            tmp.write_text(db.name + "\n", encoding="utf-8")
            _fsync(tmp)
            os.replace(tmp, self._pointer)
            _fsync(self.path)
        except BaseException:
            for f in self._files(db):
                f.unlink(missing_ok=True)
            raise
        self._gen += 1
        self._retire_old({db.name, previous})
        return written

    def upsert(self, docs: Iterable[dict[str, Any]], *, run_id: str | None = None) -> int:
        """Write these customers' documents over their old ones, in one transaction."""
        if not self.exists():
            return self.replace_all([list(docs)], run_id=run_id)
        self._reader()  # refuses a store of another layout instead of writing into it
        at = datetime.now(UTC).isoformat()
        with self._writing(self.current_file()) as conn:
            written = self._write(conn, docs, at)
            total = conn.execute("SELECT count(*) FROM profiles").fetchone()[0]
            self._set_meta(conn, at, run_id, total, full=False)
        return written

    def delete(self, customer_ids: Iterable[str], *, run_id: str | None = None) -> int:
        """Remove these customers' documents (customers merged away); returns how many were."""
        if not self.exists():
            return 0
        self._reader()
        at = datetime.now(UTC).isoformat()
        with self._writing(self.current_file()) as conn:
            removed = sum(self._remove(conn, cid) for cid in customer_ids)
            total = conn.execute("SELECT count(*) FROM profiles").fetchone()[0]
            self._set_meta(conn, at, run_id, total, full=False)
        return removed

    @staticmethod
    def _set_meta(
        conn: sqlite3.Connection, at: str, run_id: str | None, customers: int, *, full: bool = True
    ) -> None:
        values = {"updated_at": at, "customers": str(customers), "updated_by": run_id or ""}
        if full:
            values["built_at"] = at
        conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            sorted(values.items()),
        )

    # -- reading ---------------------------------------------------------------------------

    def exists(self) -> bool:
        """Whether the store has been built."""
        return self._pointer.exists()

    def info(self) -> dict[str, Any]:
        """When the store was built and last updated, and how many customers it holds."""
        meta = dict(self._reader().execute("SELECT key, value FROM meta").fetchall())
        return {
            "path": str(self.path),
            "file": self.current_file().name,
            "customers": int(meta.get("customers", 0)),
            "built_at": meta.get("built_at"),
            "updated_at": meta.get("updated_at"),
            "updated_by": meta.get("updated_by") or None,
            "bytes": sum(f.stat().st_size for f in self._files(self.current_file()) if f.exists()),
        }

    def get(self, customer_id: str) -> bytes | None:
        """The document of ``customer_id`` as JSON bytes, or ``None``."""
        row = (
            self._reader()
            .execute("SELECT doc FROM profiles WHERE customer_id = ?", (customer_id,))
            .fetchone()
        )
        return zlib.decompress(row[0]) if row else None

    def find(
        self, identifier: str, id_type: str | None = None, *, personal: bool = True
    ) -> str | None:
        """The customer id of ``identifier`` (as :meth:`ProfileReader.find` finds it).

        With ``personal=False`` (a reader without ``pii:read``), contact details
        (:data:`~insightloop.privacy.PERSONAL_ID_TYPES`) are not looked up: a hit would confirm
        whose address or number it is.

        Raises
        ------
        AmbiguousIdentifierError
            When the identifier names different customers as different types.
        ProfileQueryError
            When the identifier is empty.
        """
        text = identifier_text(identifier)
        conn = self._reader()
        hits: dict[str, set[str]] = {}
        if not personal and id_type in PERSONAL_ID_TYPES:
            return None
        if id_type in (None, "customer_id"):
            row = conn.execute(
                "SELECT customer_id FROM profiles WHERE customer_id = ?", (text,)
            ).fetchone()
            if row:
                hits["customer_id"] = {row[0]}
        if id_type != "customer_id":
            for kind, value in lookup_values(text, id_type):
                sql = (
                    "SELECT l.id_type, p.customer_id FROM lookup l JOIN profiles p USING (n) "
                    "WHERE l.value = ?"
                )
                args: tuple[str, ...] = (value,)
                if kind:
                    sql = sql.replace("WHERE", "WHERE l.id_type = ? AND")
                    args = (kind, value)
                for found_type, cid in conn.execute(sql, args):
                    if personal or found_type not in PERSONAL_ID_TYPES:
                        hits.setdefault(found_type, set()).add(cid)
        return one_customer(hits)

    def identifiers(self, id_type: str) -> list[tuple[str, str]]:
        """Every ``(value, customer_id)`` of identifier type ``id_type``, sorted."""
        rows = self._reader().execute(
            "SELECT l.value, p.customer_id FROM lookup l JOIN profiles p USING (n) "
            "WHERE l.id_type = ? ORDER BY l.value, p.customer_id",
            (id_type,),
        )
        return [(str(v), str(c)) for v, c in rows]

    def id_types(self) -> list[str]:
        """The identifier types the store holds values of."""
        rows = self._reader().execute("SELECT DISTINCT id_type FROM lookup ORDER BY 1")
        return [r[0] for r in rows]

    def search(
        self, query: str, *, limit: int = 20, offset: int = 0, personal: bool = True
    ) -> SearchPage:
        """Customers whose name, e-mail, phone or identifier starts with every word of
        ``query``, best match first (BM25), ``limit`` from ``offset``.

        With ``personal=False`` (a reader without ``pii:read``) only the customer id and the
        identifiers that are not contact details are searched, never names, e-mails or phones.

        Raises
        ------
        ProfileQueryError
            When the query has no word of letters or digits.
        """
        match, words = match_query(query)
        if words and not personal:
            match = f"identifiers : ({match})"
        if not words:
            raise ProfileQueryError(
                "The search has no words to look for.",
                hint="Search by name, e-mail, phone number, customer id or another identifier.",
            )
        rows = (
            self._reader()
            .execute(
                "SELECT p.summary FROM search JOIN profiles p ON p.n = search.rowid "
                "WHERE search MATCH ? ORDER BY rank, p.customer_id LIMIT ? OFFSET ?",
                (match, limit + 1, offset),
            )
            .fetchall()
        )
        data = [orjson.loads(r[0]) for r in rows[:limit]]
        more = offset + limit if len(rows) > limit else None
        return SearchPage(data, limit, offset, more, query, words)
