"""The profile store in Redis, for servers on several machines: what the SQLite
:class:`~insightloop.profile.store.ProfileStore` offers (the same interface and semantics, so the
server can use either), in a Redis server that every node reaches. Plain Redis commands only.

Keys, ``P`` being the workspace's prefix (workspaces share a Redis) and ``G`` a generation
(``g<time_ns>-<pid>``, one complete copy of the store):

- ``P current``: the generation in use; ``P generations``: every generation written (the next
  rebuild removes what a writer that died half-way left).
- ``P G:meta`` (hash): layout ``version``, ``built_at``, ``updated_at``, ``updated_by`` and
  ``bytes`` (documents and summaries as stored: the approximate size).
- ``P G:docs``, ``P G:summaries``, ``P G:entries`` (hashes by customer id): the zlib-compressed
  JSON document; the search hit; the customer's identifiers and search words (to remove them when
  the customer is rewritten, and to check search candidates).
- Sorted sets of members with score 0, read by prefix with ZRANGEBYLEX: ``P G:lookup``
  (``value\\0type\\0customer id``), ``P G:bytype`` (``type\\0value\\0customer id``) and
  ``P G:search`` (``column:word\\0customer id``; ``n`` names, ``c`` contacts, ``i`` identifiers,
  the three texts of the SQLite store's search); ``P G:types`` (hash): values per type.

Search reads words as SQLite's ``unicode61 remove_diacritics 2`` tokenizer does, and needs every
word of the query to start a word of the customer's text. Hits are ranked by how many query words
equal a whole word (not BM25), then by customer id. A query word with an inner ``_``, a phrase to
SQLite, needs each of its parts, adjacent or not.

:meth:`~RedisProfileStore.replace_all` writes a new generation, points ``current`` at it (one SET:
readers never see half a store), and removes the ones before once readers elsewhere have moved
(within :data:`RECHECK_SECONDS`). Upsert and delete are MULTI/EXEC transactions watching
``current`` and the entries: a rebuild or another writer in between makes them start over. One
process writes at a time (it holds the workspace database); any number of processes read.
"""

from __future__ import annotations

import functools
import os
import re
import time
import unicodedata
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

import orjson
import redis
from redis.client import Pipeline
from redis.typing import EncodableT

from insightloop.privacy.masking import PERSONAL_ID_TYPES
from insightloop.profile.store import (
    BUILD_HINT,
    RECHECK_SECONDS,
    ProfileStoreError,
    SearchPage,
    identifier_text,
    match_query,
    one_customer,
    search_text,
    summary_of,
)
from insightloop.profile.timeline import ProfileQueryError
from insightloop.profile.view import lookup_values

__all__ = ["RedisProfileStore", "redact_url"]

#: The layout version of a generation (``version`` in its meta hash).
STORE_VERSION = 1
#: Documents per pipelined write (and per transaction of upsert and delete).
BATCH = 500
#: How long a rebuild keeps the generation before it: readers in other processes move within
#: :data:`RECHECK_SECONDS`, and a read that began just before finishes in milliseconds.
RETIRE_SECONDS = 2 * RECHECK_SECONDS
_ATTEMPTS = 5  # transactions started over when another writer changed what they watch
_COLUMNS = ("n", "c", "i")  # names, contacts, identifiers: the three texts of search_text
_HASHES = ("docs", "summaries", "entries")  # by customer id
_GEN_KEYS = ("meta", *_HASHES, "lookup", "bytype", "types", "search")
_WORD = re.compile(r"[^\W_]+")
_REDIS_HINT = (
    "Check that Redis is running and reachable from this machine, and the `[profiles] redis_url` "
    "setting (host, port, database number and password)."
)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def redact_url(url: str) -> str:
    """``url`` with its password, in the user part or a ``password=`` parameter, as ``***``."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            user, _, host = netloc.rpartition("@")
            netloc = f"{user.partition(':')[0]}:***@{host}"
        query = "&".join(
            "password=***" if p.partition("=")[0].lower() == "password" else p
            for p in parts.query.split("&")
        )
        return urlunsplit(parts._replace(netloc=netloc, query=query if parts.query else ""))
    except ValueError:
        return "the Redis URL"


def _secrets(url: str) -> list[str]:
    """The password of ``url`` as written and decoded, to scrub from Redis's error messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [parts.password or ""]
    found += [p.partition("=")[2] for p in parts.query.split("&") if p.startswith("password=")]
    return [s for f in found if f for s in {f, unquote(f)}]


def _text(value: object) -> str:
    """A string Redis returned (as bytes: the client does not decode)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _tokens(text: str) -> list[str]:
    """The words of ``text`` as SQLite's ``unicode61 remove_diacritics 2`` tokenizer reads them:
    letters and digits, lower case, without the accents of Latin letters."""
    kept: list[str] = []
    base = "a"
    for char in unicodedata.normalize("NFD", text):
        if not unicodedata.combining(char):
            base = char
        elif ord(base) < 0x250 or 0x1E00 <= ord(base) < 0x1F00:  # a Latin letter
            continue
        kept.append(char)
    # SQLite folds the final sigma into the plain one.
    folded = unicodedata.normalize("NFC", "".join(kept)).lower().replace("\u03c2", "\u03c3")
    return _WORD.findall(folded)


def _prefix_range(prefix: bytes) -> tuple[bytes, bytes]:
    """ZRANGEBYLEX bounds of the members starting with ``prefix`` (0xff never occurs in UTF-8)."""
    return b"[" + prefix, b"(" + prefix + b"\xff"


def _batches(items: Iterable[Any]) -> Iterator[list[Any]]:
    it = iter(items)
    while batch := list(islice(it, BATCH)):
        yield batch


@dataclass(frozen=True)
class _Doc:
    """A document as stored: its entries, and its fields in the hashes of :data:`_HASHES`."""

    customer_id: str
    entries: dict[str, Any]
    fields: dict[str, bytes]

    @classmethod
    def of(cls, doc: dict[str, Any]) -> _Doc:
        cid = doc["customer_id"]
        blob = zlib.compress(orjson.dumps(doc, default=str), 3)
        summary = summary_of(doc)
        idents = doc.get("identifiers") or []
        ids = {(str(i["type"]), str(i["value"])) for i in idents if i.get("value")}
        entries: dict[str, Any] = {"b": len(blob) + len(summary), "l": sorted(ids)}
        for column, text in zip(_COLUMNS, search_text(doc), strict=True):
            entries[column] = list(dict.fromkeys(_tokens(text)))
        fields = {"docs": blob, "summaries": summary, "entries": orjson.dumps(entries)}
        return cls(cid, entries, fields)


def _index(entries: dict[str, dict[str, Any]]) -> tuple[dict[str, list[bytes]], Counter[str]]:
    """The search, lookup and by-type members of these customers' entries (by customer id), and
    how many identifier values of each type they have."""
    members: dict[str, list[bytes]] = {"search": [], "lookup": [], "bytype": []}
    types: Counter[str] = Counter()
    for cid, e in entries.items():
        members["search"] += [f"{c}:{word}\0{cid}".encode() for c in _COLUMNS for word in e[c]]
        members["lookup"] += [f"{value}\0{kind}\0{cid}".encode() for kind, value in e["l"]]
        members["bytype"] += [f"{kind}\0{value}\0{cid}".encode() for kind, value in e["l"]]
        types.update(kind for kind, _ in e["l"])
    return members, types


def _term_match(term: Sequence[str], words: set[str]) -> int:
    """0 if a customer with these words does not match a query word (its ``term``: parts), 1 if it
    does as a prefix, 2 if as a whole word."""
    if any(part not in words for part in term[:-1]):
        return 0
    if term[-1] in words:
        return 2
    return 1 if any(w.startswith(term[-1]) for w in words) else 0


def _talks_to_redis(
    method: Callable[Concatenate[RedisProfileStore, _P], _R],
) -> Callable[Concatenate[RedisProfileStore, _P], _R]:
    """Report a failure of Redis as a :class:`ProfileStoreError` (never with the password)."""

    @functools.wraps(method)
    def wrapper(self: RedisProfileStore, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except redis.exceptions.RedisError as exc:
            raise self._unavailable(exc) from None

    return wrapper


class RedisProfileStore:
    """Profile documents by customer id and by identifier, and search, in Redis (see the module
    docs). Safe to share between threads (redis-py pools connections) and between processes.

    Parameters
    ----------
    url
        The Redis server: ``redis://[[user]:password@]host[:port][/database]``, ``rediss://``
        (TLS) or ``unix://``. Never shown with its password.
    prefix
        Put before every key of this store, so that several workspaces share a Redis
        (``insightloop:<workspace>:``).
    """

    def __init__(self, url: str, *, prefix: str) -> None:
        self.url = redact_url(url)
        self.prefix = prefix
        self._secrets = _secrets(url)
        if not prefix:
            raise ProfileStoreError(
                "The Redis profile store needs a key prefix.",
                hint="Give each workspace its own prefix, such as `insightloop:<workspace>:`.",
            )
        try:
            self._client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=60)
        except ValueError as exc:
            raise ProfileStoreError(
                f"{self.url} is not a Redis URL: {self._scrub(exc)}", hint=_REDIS_HINT
            ) from None
        self._current = f"{prefix}current"
        self._generations = f"{prefix}generations"
        # (generation, when to read `current` again): replaced whole, never seen half-updated.
        self._cached: tuple[str, float] | None = None

    def _scrub(self, exc: BaseException) -> str:
        text = str(exc)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _unavailable(self, exc: redis.exceptions.RedisError) -> ProfileStoreError:
        return ProfileStoreError(
            f"The profile store cannot use Redis at {self.url}: {self._scrub(exc)}",
            hint=_REDIS_HINT,
        )

    def _key(self, gen: str, name: str) -> str:
        return f"{self.prefix}{gen}:{name}"

    # -- generations -----------------------------------------------------------------------

    def _pointer(self, client: Any) -> str:
        """The generation ``current`` names (``client``: the client, or a watching pipeline)."""
        gen = client.get(self._current)
        if gen is None:
            raise ProfileStoreError("The profile store has not been built yet.", hint=BUILD_HINT)
        return _text(gen)

    def _check(self, client: Any, gen: str) -> None:
        """Refuse a generation that is gone, or of another layout version."""
        version = client.hget(self._key(gen, "meta"), "version")
        if version is None:
            raise ProfileStoreError(
                "The profile store's current generation is missing.", hint=BUILD_HINT
            )
        if not _text(version).isdigit():  # not written by a profile store
            raise ProfileStoreError(f"{gen} is not a profile store.", hint=BUILD_HINT)
        if int(version) != STORE_VERSION:
            raise ProfileStoreError(
                f"The profile store has layout version {_text(version)}; this release reads "
                f"version {STORE_VERSION}.",
                hint=BUILD_HINT,
            )

    def _generation(self) -> str:
        """The generation in use: ``current`` is read every :data:`RECHECK_SECONDS` at most (one
        round trip), the layout version when it names another generation than before."""
        cached, now = self._cached, time.monotonic()
        if cached is not None and now < cached[1]:
            return cached[0]
        gen = self._pointer(self._client)
        if cached is None or gen != cached[0]:
            self._check(self._client, gen)  # raises every time: nothing is cached
        self._cached = (gen, now + RECHECK_SECONDS)
        return gen

    def _drop(self, gen: str) -> None:
        """Remove a generation (UNLINK frees memory in the background, however large)."""
        with self._client.pipeline(transaction=False) as pipe:
            pipe.unlink(*(self._key(gen, name) for name in _GEN_KEYS))
            pipe.srem(self._generations, gen)
            pipe.execute()

    # -- writing ---------------------------------------------------------------------------

    def _queue(
        self, pipe: Pipeline, gen: str, old: dict[str, dict[str, Any]], docs: list[_Doc]
    ) -> int:
        """Queue writing ``docs`` over the customers of ``old`` (their entries by customer id),
        deleting those not in ``docs``; returns the change in bytes."""
        latest = {d.customer_id: d for d in docs}  # the last of a customer written twice
        dropped, dropped_types = _index(old)
        for name, members in dropped.items():
            if members:
                pipe.zrem(self._key(gen, name), *members)
        added, types = _index({cid: d.entries for cid, d in latest.items()})
        for name, members in added.items():
            if members:
                pipe.zadd(self._key(gen, name), dict.fromkeys(members, 0))
        types.subtract(dropped_types)
        for kind, n in types.items():
            if n:
                pipe.hincrby(self._key(gen, "types"), kind, n)
        for name in _HASHES if latest else ():
            values: dict[EncodableT, EncodableT] = {c: d.fields[name] for c, d in latest.items()}
            pipe.hset(self._key(gen, name), mapping=values)
        for name in _HASHES if (gone := [cid for cid in old if cid not in latest]) else ():
            pipe.hdel(self._key(gen, name), *gone)
        return sum(d.entries["b"] for d in latest.values()) - sum(e["b"] for e in old.values())

    def _old_entries(self, client: Any, gen: str, cids: list[str]) -> dict[str, dict[str, Any]]:
        raw = client.hmget(self._key(gen, "entries"), cids) if cids else []
        return {cid: orjson.loads(r) for cid, r in zip(cids, raw, strict=True) if r is not None}

    def _transaction(
        self, cids: list[str], queue: Callable[[Pipeline, str, dict[str, Any]], None]
    ) -> dict[str, Any]:
        """Run ``queue(pipe, generation, old entries of cids)`` in a MULTI/EXEC transaction on
        the current generation, started over if a rebuild or another writer came between;
        returns the old entries it was run with."""
        with self._client.pipeline() as pipe:
            for _ in range(_ATTEMPTS):
                try:
                    pipe.watch(self._current)
                    gen = self._pointer(pipe)
                    self._check(pipe, gen)  # never writes into a store of another layout
                    pipe.watch(self._key(gen, "entries"))
                    old = self._old_entries(pipe, gen, cids)
                    pipe.multi()
                    queue(pipe, gen, old)
                    pipe.execute()
                    return old
                except redis.exceptions.WatchError:
                    continue
        raise ProfileStoreError(
            "The profile store kept changing while these customers were written.",
            hint="Another process writes the same store: run one writer at a time, then retry.",
        )

    @_talks_to_redis
    def replace_all(
        self, chunks: Iterable[list[dict[str, Any]]], *, run_id: str | None = None
    ) -> int:
        """Write these documents as the whole store: a new generation, made current once it is
        complete; the generations before are removed after :data:`RETIRE_SECONDS`.

        Returns the number of documents written. Nothing changes if writing fails.
        """
        gen = f"g{time.time_ns()}-{os.getpid()}"
        at = datetime.now(UTC).isoformat()
        written = 0
        self._client.sadd(self._generations, gen)  # first, so a crash leaves no unknown keys
        try:
            meta: dict[EncodableT, EncodableT] = {"version": STORE_VERSION, "built_at": at}
            meta |= {"updated_at": at, "updated_by": run_id or ""}
            self._client.hset(self._key(gen, "meta"), mapping=meta)
            size = 0
            for chunk in chunks:
                for batch in _batches(chunk):
                    docs = [_Doc.of(d) for d in batch]
                    with self._client.pipeline(transaction=False) as pipe:
                        # Read before writing: a customer may come again in a later batch.
                        old = self._old_entries(self._client, gen, [d.customer_id for d in docs])
                        size += self._queue(pipe, gen, old, docs)
                        pipe.execute()
                    written += len(docs)
            self._client.hset(self._key(gen, "meta"), "bytes", size)
            self._client.set(self._current, gen)
        except BaseException:
            with suppress(redis.exceptions.RedisError):  # the first error is the one to report
                if self._client.get(self._current) != gen.encode():
                    self._drop(gen)
            raise
        self._cached = (gen, time.monotonic() + RECHECK_SECONDS)
        older = [_text(g) for g in self._client.smembers(self._generations) if _text(g) != gen]
        if older:
            time.sleep(RETIRE_SECONDS)
            with suppress(redis.exceptions.RedisError):  # built all the same; the next rebuild
                for old_gen in older:  # removes what is left
                    self._drop(old_gen)
        return written

    @_talks_to_redis
    def upsert(self, docs: Iterable[dict[str, Any]], *, run_id: str | None = None) -> int:
        """Write these customers' documents over their old ones, in a transaction per
        :data:`BATCH` documents (every document is encoded first: a bad one writes nothing)."""
        if not self.exists():
            return self.replace_all([list(docs)], run_id=run_id)
        encoded = [_Doc.of(d) for d in docs]
        for batch in list(_batches(encoded)) or [[]]:
            cids = list(dict.fromkeys(d.customer_id for d in batch))
            self._transaction(cids, functools.partial(self._apply, batch, run_id))
        return len(encoded)

    def _apply(
        self, docs: list[_Doc], run_id: str | None, pipe: Pipeline, gen: str, old: dict[str, Any]
    ) -> None:
        meta = self._key(gen, "meta")
        pipe.hincrby(meta, "bytes", self._queue(pipe, gen, old, docs))
        at = datetime.now(UTC).isoformat()
        pipe.hset(meta, mapping={"updated_at": at, "updated_by": run_id or ""})

    @_talks_to_redis
    def delete(self, customer_ids: Iterable[str], *, run_id: str | None = None) -> int:
        """Remove these customers' documents (customers merged away); returns how many were."""
        if not self.exists():
            return 0
        removed = 0
        for batch in list(_batches(dict.fromkeys(customer_ids))) or [[]]:
            removed += len(self._transaction(batch, functools.partial(self._apply, [], run_id)))
        return removed

    def close(self) -> None:
        """Close the idle connections (the store opens new ones when it is used again)."""
        self._client.connection_pool.disconnect(inuse_connections=False)

    # -- reading ---------------------------------------------------------------------------

    @_talks_to_redis
    def exists(self) -> bool:
        """Whether the store has been built."""
        return bool(self._client.exists(self._current))

    @_talks_to_redis
    def info(self) -> dict[str, Any]:
        """When the store was built and last updated, and how many customers it holds."""
        gen = self._generation()
        with self._client.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._key(gen, "meta"))
            pipe.hlen(self._key(gen, "docs"))
            raw, customers = pipe.execute()
        meta = {k.decode(): v.decode() for k, v in raw.items()}
        return {
            "path": f"{self.url} {self.prefix}*",
            "file": gen,
            "customers": int(customers),
            "built_at": meta.get("built_at"),
            "updated_at": meta.get("updated_at"),
            "updated_by": meta.get("updated_by") or None,
            "bytes": int(meta.get("bytes", 0)),
        }

    @_talks_to_redis
    def get(self, customer_id: str) -> bytes | None:
        """The document of ``customer_id`` as JSON bytes, or ``None``."""
        blob = self._client.hget(self._key(self._generation(), "docs"), customer_id)
        return zlib.decompress(blob) if isinstance(blob, bytes) else None

    @_talks_to_redis
    def find(
        self, identifier: str, id_type: str | None = None, *, personal: bool = True
    ) -> str | None:
        """The customer id of ``identifier`` (as :meth:`ProfileReader.find` finds it).

        With ``personal=False`` (a reader without ``pii:read``), contact details
        (:data:`~insightloop.privacy.masking.PERSONAL_ID_TYPES`) are not looked up: a hit would
        confirm whose address or number it is.

        Raises
        ------
        AmbiguousIdentifierError
            When the identifier names different customers as different types.
        ProfileQueryError
            When the identifier is empty.
        """
        text = identifier_text(identifier)
        gen = self._generation()
        if not personal and id_type in PERSONAL_ID_TYPES:
            return None
        prefixes = []
        if id_type != "customer_id":
            prefixes = [f"{v}\0{k}\0" if k else f"{v}\0" for k, v in lookup_values(text, id_type)]
        with self._client.pipeline(transaction=False) as pipe:
            pipe.hexists(self._key(gen, "docs"), text)
            for prefix in prefixes:
                pipe.zrangebylex(self._key(gen, "lookup"), *_prefix_range(prefix.encode()))
            is_customer, *found = pipe.execute()
        hits: dict[str, set[str]] = {}
        if id_type in (None, "customer_id") and is_customer:
            hits["customer_id"] = {text}
        for prefix, members in zip(prefixes, found, strict=True):
            value = prefix.partition("\0")[0]
            for member in members:
                kind, _, cid = member.decode()[len(value) + 1 :].partition("\0")
                if personal or kind not in PERSONAL_ID_TYPES:
                    hits.setdefault(kind, set()).add(cid)
        return one_customer(hits)

    @_talks_to_redis
    def identifiers(self, id_type: str) -> list[tuple[str, str]]:
        """Every ``(value, customer_id)`` of identifier type ``id_type``, sorted."""
        prefix = f"{id_type}\0".encode()
        members = self._client.zrangebylex(
            self._key(self._generation(), "bytype"), *_prefix_range(prefix)
        )
        pairs = [_text(m)[len(id_type) + 1 :].partition("\0") for m in members]
        return [(value, cid) for value, _, cid in pairs]

    @_talks_to_redis
    def id_types(self) -> list[str]:
        """The identifier types the store holds values of."""
        counts = self._client.hgetall(self._key(self._generation(), "types"))
        return sorted(_text(k) for k, n in counts.items() if int(n) > 0)

    @_talks_to_redis
    def search(
        self, query: str, *, limit: int = 20, offset: int = 0, personal: bool = True
    ) -> SearchPage:
        """Customers whose name, e-mail, phone or identifier starts with every word of
        ``query``, ``limit`` from ``offset``: first those with the most query words matching a
        whole word, then by customer id.

        With ``personal=False`` (a reader without ``pii:read``) only the customer id and the
        identifiers that are not contact details are searched, never names, e-mails or phones.

        Raises
        ------
        ProfileQueryError
            When the query has no word of letters or digits.
        """
        _, words = match_query(query)
        if not words:
            raise ProfileQueryError(
                "The search has no words to look for.",
                hint="Search by name, e-mail, phone number, customer id or another identifier.",
            )
        gen = self._generation()
        limit, offset = max(limit, 0), max(offset, 0)
        terms = [_tokens(word) for word in words]
        columns = _COLUMNS if personal else ("i",)
        ranked = self._ranked(gen, terms, columns) if all(terms) else []
        page = ranked[offset : offset + limit]
        raw = self._client.hmget(self._key(gen, "summaries"), page) if page else []
        data = [orjson.loads(r) for r in raw if r is not None]
        more = offset + limit if len(ranked) > offset + limit else None
        return SearchPage(data, limit, offset, more, query, words)

    def _ranked(self, gen: str, terms: list[list[str]], columns: Sequence[str]) -> list[str]:
        """Every customer matching every term, best first: the candidates of the rarest term's
        last word (ZLEXCOUNT tells which), checked against their entries."""
        key, n = self._key(gen, "search"), len(columns)
        bounds = [_prefix_range(f"{c}:{t[-1]}".encode()) for t in terms for c in columns]
        with self._client.pipeline(transaction=False) as pipe:
            for lo, hi in bounds:
                pipe.zlexcount(key, lo, hi)
            counts = pipe.execute()
        totals = [sum(counts[i : i + n]) for i in range(0, len(counts), n)]
        rarest = totals.index(min(totals))
        if not totals[rarest]:
            return []
        with self._client.pipeline(transaction=False) as pipe:
            for lo, hi in bounds[rarest * n : (rarest + 1) * n]:
                pipe.zrangebylex(key, lo, hi)
            found = pipe.execute()
        candidates = list(dict.fromkeys(m.partition(b"\0")[2] for ms in found for m in ms))
        with self._client.pipeline(transaction=False) as pipe:
            for batch in _batches(candidates):
                pipe.hmget(self._key(gen, "entries"), batch)
            entries = [raw for rows in pipe.execute() for raw in rows]
        scored: list[tuple[int, str]] = []
        for cid, raw in zip(candidates, entries, strict=True):
            if raw is not None:  # else deleted meanwhile
                words = {w for c in columns for w in orjson.loads(raw)[c]}
                matches = [_term_match(term, words) for term in terms]
                if all(matches):
                    scored.append((-matches.count(2), cid.decode()))
        return [cid for _, cid in sorted(scored)]
