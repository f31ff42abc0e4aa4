"""The Redis profile store (insightloop.profile.redis_store) against a real Redis server: the
behaviours of tests/profile/test_store.py, reading without personal data, and the same answers as
the SQLite store for the same documents.

Redis is expected at 127.0.0.1:6379 without a password; when it is not there the tests are
skipped locally and fail under CI (``CI=true``), where the server is part of the environment.
Every test writes under its own random key prefix and removes its keys afterwards.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from insightloop.profile import AmbiguousIdentifierError, ProfileQueryError, redis_store
from insightloop.profile.redis_store import STORE_VERSION, RedisProfileStore, redact_url
from insightloop.profile.store import (
    RECHECK_SECONDS,
    SUMMARY_FIELDS,
    ProfileStore,
    ProfileStoreError,
)
from tests.conftest import REDIS_URL
from tests.profile.test_store import FIND, PEOPLE, doc, outcome

URL = REDIS_URL
#: Put into URLs to check that no message ever shows it.
PASSWORD = "s3cret-pw"


@pytest.fixture(scope="module")
def client(redis_server: redis.Redis) -> redis.Redis:
    """A plain client, to look at and tamper with the keys the store writes."""
    return redis_server


@pytest.fixture
def prefix(client: redis.Redis) -> Iterator[str]:
    """A key prefix of this test alone; its keys are removed afterwards."""
    name = f"insightloop-test:{uuid.uuid4().hex}:"
    yield name
    for key in list(client.scan_iter(match=f"{name}*")):
        client.unlink(key)


def keys(client: redis.Redis, prefix: str) -> list[str]:
    return sorted(k.decode() for k in client.scan_iter(match=f"{prefix}*"))


def current(client: redis.Redis, prefix: str) -> str:
    return bytes(client.get(f"{prefix}current") or b"").decode()


@pytest.fixture
def store(prefix: str) -> Iterator[RedisProfileStore]:
    """A store of PEOPLE, alone under its prefix."""
    s = RedisProfileStore(URL, prefix=prefix)
    assert s.replace_all([PEOPLE[:3], PEOPLE[3:]], run_id="run-1") == len(PEOPLE)
    yield s
    s.close()


def hits(store: Any, query: str, **options: Any) -> list[str]:
    return [h["customer_id"] for h in store.search(query, **options).data]


def loaded(store: RedisProfileStore, customer_id: str) -> Any:
    raw = store.get(customer_id)
    return None if raw is None else orjson.loads(raw)


# -- documents and finding ----------------------------------------------------------------------


def test_documents_come_back_as_written(
    store: RedisProfileStore, client: redis.Redis, prefix: str
) -> None:
    for person in PEOPLE:
        assert loaded(store, person["customer_id"]) == person
    assert store.get("c-nobody") is None
    info = store.info()
    assert (info["customers"], info["updated_by"]) == (len(PEOPLE), "run-1")
    assert info["built_at"] == info["updated_at"]
    assert info["bytes"] > 0
    assert info["file"] == current(client, prefix)
    assert info["path"] == f"{URL} {prefix}*"
    assert store.id_types() == [
        "anonymous_id", "customer_key", "email", "loyalty_number", "phone", "user_id",
    ]  # fmt: skip
    assert store.identifiers("customer_key") == [("12345", "c-carl"), ("CRM-1", "c-anna")]


@pytest.mark.parametrize(
    ("identifier", "customer_id"),
    [
        ("c-anna", "c-anna"),
        ("ANNA@Example.SE ", "c-anna"),
        ("+46 70-123 45 67", "c-anna"),
        ("+46 (0)70-123 45 67", "c-anna"),
        ("+46701234567", "c-anna"),
        ("070-123 45 67", None),  # a national number names no country: not a phone
        ("+1 (202) 555-0123", "c-john"),
        ("+358 40 123 4567", "c-maija"),
        ("CRM-1", "c-anna"),
        ("L-100", "c-anna"),
        ("u-anna", "c-anna"),
        ("dev-anna", "c-anna"),
        ("nobody@example.se", None),
    ],
)
def test_find_by_any_identifier(
    store: RedisProfileStore, identifier: str, customer_id: str
) -> None:
    assert store.find(identifier) == customer_id


def test_find_with_a_type_looks_only_at_that_type(store: RedisProfileStore) -> None:
    assert store.find("12345", "user_id") == "c-bo"
    assert store.find("12345", "customer_key") == "c-carl"
    assert store.find("Anna@Example.se", "email") == "c-anna"
    assert store.find("+46 70 123 45 67", "phone") == "c-anna"
    assert store.find("c-bo", "customer_id") == "c-bo"
    assert store.find("u-anna", "customer_key") is None
    assert store.find("anna@example.se", "phone") is None
    assert store.find("c-anna", "user_id") is None


def test_an_ambiguous_or_empty_identifier_is_refused(store: RedisProfileStore) -> None:
    with pytest.raises(AmbiguousIdentifierError) as caught:
        store.find("12345")
    assert caught.value.message == (
        "The identifier belongs to 2 customers, as customer_key, user_id."
    )
    assert "customer_key or user_id" in (caught.value.hint or "")
    assert "12345" not in str(caught.value)
    with pytest.raises(ProfileQueryError, match="empty"):
        store.find(" \t")


def test_without_personal_data_contact_details_find_no_one(store: RedisProfileStore) -> None:
    store.upsert([doc("c-eve", "Eve", "Ek", None, None, ("user_id", "bo@example.se"))])
    for identifier, id_type in [("anna@example.se", None), ("anna@example.se", "email"),
                                ("+46 70 123 45 67", None), ("+46701234567", "phone")]:  # fmt: skip
        assert store.find(identifier, id_type) == "c-anna"
        assert store.find(identifier, id_type, personal=False) is None
    for identifier in ("c-anna", "CRM-1", "L-100", "u-anna", "dev-anna"):
        assert store.find(identifier, personal=False) == "c-anna"
    assert store.find("12345", "user_id", personal=False) == "c-bo"
    # Bo's e-mail is Eve's user id: without personal data it is only Eve's.
    with pytest.raises(AmbiguousIdentifierError, match="as email, user_id"):
        store.find("bo@example.se")
    assert store.find("bo@example.se", personal=False) == "c-eve"


# -- search -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("anna", ["c-anna"]),
        ("ann sve", ["c-anna"]),
        ("Svensson ANNA", ["c-anna"]),
        ("anna berg", []),
        ("Jorgen Muller", ["c-jorgen"]),
        ("jörgen müller", ["c-jorgen"]),
        ("JÖRG", ["c-jorgen"]),
        ("王芳", ["c-wang"]),
        ("王", ["c-wang"]),
        ("芳", ["c-wang"]),
        ("anna@example.se", ["c-anna"]),
        ("john@example.com", ["c-john"]),
        ("+46 70-123 45 67", ["c-anna"]),
        ("46701234567", ["c-anna"]),
        ("4670123", ["c-anna"]),
        ("+358 40 123 4567", ["c-maija"]),
        ("+1 202 555 0123", ["c-john"]),
        ("L-100", ["c-anna"]),
        ("c-carl", ["c-carl"]),
        ("dev-anna", []),
        ("zelda", []),
    ],
)
def test_search_finds_customers_by_name_contact_and_identifier(
    store: RedisProfileStore, query: str, found: list[str]
) -> None:
    assert hits(store, query) == found


def test_without_personal_data_search_looks_at_identifiers_only(
    store: RedisProfileStore,
) -> None:
    for query in ("svensson", "müller", "anna@example.se", "example", "46701234567", "王"):
        assert hits(store, query)
        assert hits(store, query, personal=False) == []
    assert hits(store, "anna", personal=False) == ["c-anna"]  # c-anna, u-anna
    assert hits(store, "L-100", personal=False) == ["c-anna"]
    assert hits(store, "crm", personal=False) == ["c-anna"]
    assert hits(store, "c-carl", personal=False) == ["c-carl"]
    assert hits(store, "12345", personal=False) == ["c-bo", "c-carl"]
    assert hits(store, "dev-anna", personal=False) == []


def test_a_search_hit_is_the_customers_summary(store: RedisProfileStore) -> None:
    page = store.search("+46 70 123 45 67")
    assert page.data == [
        {"customer_id": "c-anna", "first_name": "Anna", "last_name": "Svensson",
         "email": "anna@example.se", "phone": "+46701234567", "city": None, "country": "SE"},
    ]  # fmt: skip
    assert list(page.data[0])[1:] == list(SUMMARY_FIELDS)
    assert (page.terms, page.limit, page.offset, page.next_offset) == (["46701234567"], 20, 0, None)
    assert hits(store, "example se") == ["c-anna", "c-bo", "c-carl"]


def test_whole_words_rank_before_prefixes_then_customer_ids(prefix: str) -> None:
    store = RedisProfileStore(URL, prefix=prefix)
    store.replace_all([[doc("c-3", "Annika", "Lund"), doc("c-1", "Anna", "Lund"),
                        doc("c-2", "Ann", "Lund"), doc("c-0", "Ann", "Lundberg")]])  # fmt: skip
    assert hits(store, "ann lund") == ["c-2", "c-0", "c-1", "c-3"]
    assert hits(store, "lund") == ["c-1", "c-2", "c-3", "c-0"]
    assert hits(store, "annik") == ["c-3"]
    store.close()


def test_search_pages_through_every_hit_once(prefix: str) -> None:
    store = RedisProfileStore(URL, prefix=prefix)
    store.replace_all([[doc(f"c-{i:02}", "Anna", f"Name{i}") for i in range(25)], PEOPLE])
    pages = []
    offset: int | None = 0
    while offset is not None:
        page = store.search("anna", limit=10, offset=offset)
        pages.append([h["customer_id"] for h in page.data])
        offset = page.next_offset
    assert [len(p) for p in pages] == [10, 10, 6]
    found = [cid for page in pages for cid in page]
    assert sorted(found) == sorted([f"c-{i:02}" for i in range(25)] + ["c-anna"])
    assert found == hits(store, "anna", limit=100)  # pages of one order
    assert hits(store, "anna", limit=10, offset=30) == []
    store.close()


SYNTAX_FINDING_ANNA = ['anna"', '"anna', '"anna"', "anna*", "(anna", "anna)", "-anna", "^anna"]
SYNTAX_FINDING_NO_ONE = ["AND", "anna AND", "OR anna", "NOT anna", "NEAR(anna bo)", "anna + bo",
                         "names:anna", "{names}: anna", "'; DROP TABLE profiles; --",
                         "a\x00nna", "*\xff", "_"]  # fmt: skip


@pytest.mark.parametrize(
    ("query", "found"),
    [(q, ["c-anna"]) for q in SYNTAX_FINDING_ANNA] + [(q, []) for q in SYNTAX_FINDING_NO_ONE],
)
def test_search_syntax_in_the_query_is_taken_as_text(
    store: RedisProfileStore, query: str, found: list[str]
) -> None:
    assert hits(store, query) == found
    assert store.info()["customers"] == len(PEOPLE)


@pytest.mark.parametrize("query", ["", "  ", '"', "*", "(", ")", "--", "‿"])
def test_a_search_without_words_is_refused(store: RedisProfileStore, query: str) -> None:
    with pytest.raises(ProfileQueryError, match="no words"):
        store.search(query)


# -- writing ------------------------------------------------------------------------------------


def test_upsert_replaces_a_document_with_its_identifiers_and_search_text(
    store: RedisProfileStore,
) -> None:
    moved = doc("c-anna", "Anna", "Lind", "anna.lind@example.org", None, ("user_id", "u-anna"))
    newcomer = doc("c-dora", "Dora", "Ek", "dora@example.se")
    assert store.upsert([moved, newcomer], run_id="load-1") == 2
    assert loaded(store, "c-anna") == moved
    assert store.find("anna@example.se") is None
    assert store.find("+46701234567") is None
    assert store.find("CRM-1") is None
    assert store.find("Anna.Lind@example.org") == "c-anna"
    assert store.find("u-anna") == "c-anna"
    assert hits(store, "svensson") == []
    assert hits(store, "anna lind") == ["c-anna"]
    assert hits(store, "dora") == ["c-dora"]
    assert hits(store, "example se") == ["c-bo", "c-carl", "c-dora"]
    assert "loyalty_number" not in store.id_types()  # Anna's was the only one
    info = store.info()
    assert (info["customers"], info["updated_by"]) == (len(PEOPLE) + 1, "load-1")
    assert info["built_at"] < info["updated_at"]


def test_upsert_without_a_store_builds_one(prefix: str) -> None:
    store = RedisProfileStore(URL, prefix=prefix)
    assert store.upsert(iter(PEOPLE[:2])) == 2
    assert store.info()["customers"] == 2
    assert store.find("bo@example.se") == "c-bo"
    store.close()


def test_delete_removes_documents_identifiers_and_search_text(store: RedisProfileStore) -> None:
    size = store.info()["bytes"]
    assert store.delete(["c-anna", "c-nobody", "c-anna"], run_id="load-2") == 1
    assert store.get("c-anna") is None
    assert store.find("CRM-1") is None
    assert store.find("12345", "user_id") == "c-bo"  # the others keep theirs
    assert hits(store, "anna") == []
    assert ("CRM-1", "c-anna") not in store.identifiers("customer_key")
    assert {"anonymous_id", "loyalty_number"}.isdisjoint(store.id_types())
    info = store.info()
    assert (info["customers"], info["updated_by"]) == (len(PEOPLE) - 1, "load-2")
    assert 0 < info["bytes"] < size
    assert store.delete([]) == 0
    assert RedisProfileStore(URL, prefix=f"{uuid.uuid4().hex}:").delete(["c-bo"]) == 0


def test_a_customer_written_twice_in_one_build_is_there_once(prefix: str) -> None:
    store = RedisProfileStore(URL, prefix=prefix)
    again = doc("c-bo", "Bo", "Berg", "bo.berg@example.se")
    assert store.replace_all([PEOPLE, [again]]) == len(PEOPLE) + 1
    assert store.info()["customers"] == len(PEOPLE)
    assert loaded(store, "c-bo") == again
    assert (store.find("bo@example.se"), hits(store, "bo ek")) == (None, [])
    store.close()


def test_replace_all_swaps_the_store_under_a_reader_in_another_thread(
    store: RedisProfileStore, client: redis.Redis, prefix: str
) -> None:
    other = RedisProfileStore(URL, prefix=prefix)  # as another server worker would hold it
    first = current(client, prefix)
    replaced = doc("c-anna", "Anna", "Lind", "anna.lind@example.org")
    with ThreadPoolExecutor(max_workers=1) as reader:
        assert reader.submit(store.find, "anna@example.se").result() == "c-anna"
        assert reader.submit(other.find, "anna@example.se").result() == "c-anna"
        assert store.replace_all([[replaced, PEOPLE[1]]], run_id="run-2") == 2
        assert reader.submit(store.find, "anna@example.se").result() is None
        time.sleep(RECHECK_SECONDS + 0.1)
        assert reader.submit(other.get, "c-anna").result() == orjson.dumps(replaced)
        assert reader.submit(lambda: hits(other, "lind")).result() == ["c-anna"]
        assert reader.submit(other.info).result()["customers"] == 2
    assert store.get("c-carl") is None
    second = current(client, prefix)
    assert second != first
    assert not [k for k in keys(client, prefix) if first in k]  # the old generation is gone
    assert client.smembers(f"{prefix}generations") == {second.encode()}
    other.close()


def test_readers_never_see_a_half_written_store(
    store: RedisProfileStore, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_store, "BATCH", 2)  # many round trips to write the new store
    replaced = doc("c-anna", "Anna", "Lind", "anna.lind@example.org")
    others = [doc(f"c-x{i}", "X", f"Person{i}") for i in range(200)]
    reader = RedisProfileStore(URL, prefix=prefix)
    seen: list[Any] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.append((loaded(reader, "c-anna"), reader.find("c-bo"), len(hits(reader, "anna"))))

    thread = threading.Thread(target=read)
    thread.start()
    try:
        store.replace_all([others[:100], [replaced, PEOPLE[1]], others[100:]])
        time.sleep(RECHECK_SECONDS + 0.1)
    finally:
        done.set()
        thread.join()
    assert set(map(orjson.dumps, seen)) == {
        orjson.dumps((PEOPLE[0], "c-bo", 1)),
        orjson.dumps((replaced, "c-bo", 1)),
    }
    reader.close()


def test_writers_write_into_the_current_generation_not_a_cached_one(
    store: RedisProfileStore, prefix: str
) -> None:
    rebuilder = RedisProfileStore(URL, prefix=prefix)
    assert store.find("c-carl") == "c-carl"  # the first generation is cached
    rebuilder.replace_all([PEOPLE[:2]])
    assert store.upsert([doc("c-dora", "Dora", "Ek")]) == 1
    assert rebuilder.find("c-dora") == "c-dora"
    assert rebuilder.info()["customers"] == 3
    rebuilder.close()


def test_readers_in_many_threads_share_a_store(store: RedisProfileStore) -> None:
    def read() -> list[str | None]:
        found = [store.find(p["customer_id"]) for p in PEOPLE * 5]
        found += [store.find(p["identifiers"][-1]["value"]) for p in PEOPLE[2:]]
        return found

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [f.result() for f in [pool.submit(read) for _ in range(16)]]
    expected = [p["customer_id"] for p in PEOPLE * 5 + PEOPLE[2:]]
    assert results == [expected] * 16


def test_a_failed_replace_all_leaves_the_old_store_and_no_keys(
    store: RedisProfileStore, client: redis.Redis, prefix: str
) -> None:
    def chunks() -> Iterator[list[dict[str, Any]]]:
        yield [doc("c-new", "New", "Person")]
        raise RuntimeError("the engine failed")

    generation, listing = current(client, prefix), keys(client, prefix)
    with pytest.raises(RuntimeError, match="the engine failed"):
        store.replace_all(chunks(), run_id="run-2")
    with pytest.raises(KeyError):
        store.replace_all([[{"golden": {}}]])  # a document without a customer id
    with pytest.raises(KeyError):
        store.upsert([PEOPLE[0], {"golden": {}}])  # encoded first: nothing is written
    assert (current(client, prefix), keys(client, prefix)) == (generation, listing)
    assert client.smembers(f"{prefix}generations") == {generation.encode()}
    assert loaded(store, "c-anna") == PEOPLE[0]
    assert store.get("c-new") is None
    assert store.info()["updated_by"] == "run-1"


def test_workspaces_sharing_a_redis_see_only_their_own_store(store: RedisProfileStore) -> None:
    neighbour = RedisProfileStore(URL, prefix=f"{store.prefix}neighbour:")
    try:
        assert not neighbour.exists()
        neighbour.replace_all([[doc("c-zed", "Zed", "Ek")]])
        assert (neighbour.find("c-zed"), neighbour.find("c-anna")) == ("c-zed", None)
        assert (store.find("c-zed"), store.find("c-anna")) == (None, "c-anna")
    finally:
        neighbour.close()


# -- what goes wrong ----------------------------------------------------------------------------


def test_a_missing_store_says_how_to_build_it(prefix: str) -> None:
    store = RedisProfileStore(URL, prefix=prefix)
    assert not store.exists()
    for read in (lambda: store.get("c-anna"), lambda: store.find("x"), store.info,
                 lambda: store.search("anna"), store.id_types,
                 lambda: store.identifiers("email")):  # fmt: skip
        with pytest.raises(ProfileStoreError) as caught:
            read()
        assert caught.value.code == "profile_store_unavailable"
        assert "insightloop run" in (caught.value.hint or "")


def stamp(client: redis.Redis, prefix: str, version: object) -> None:
    """Set the layout version of the current generation, as another release would write it."""
    client.hset(f"{prefix}{current(client, prefix)}:meta", "version", str(version))


def test_a_store_of_another_layout_version_is_refused(
    store: RedisProfileStore, client: redis.Redis, prefix: str
) -> None:
    stamp(client, prefix, STORE_VERSION + 6)
    fresh = RedisProfileStore(URL, prefix=prefix)
    with pytest.raises(ProfileStoreError, match="layout version 7") as caught:
        fresh.get("c-anna")
    assert "insightloop run profiles" in (caught.value.hint or "")
    with pytest.raises(ProfileStoreError, match="layout version 7"):
        fresh.upsert([PEOPLE[0]])  # nor written into
    with pytest.raises(ProfileStoreError, match="layout version 7"):
        fresh.delete(["c-anna"])
    assert fresh.replace_all([PEOPLE]) == len(PEOPLE)  # a rebuild replaces it
    assert fresh.find("anna@example.se") == "c-anna"
    fresh.close()


def test_a_store_replaced_by_another_version_is_refused_on_every_read(
    store: RedisProfileStore, client: redis.Redis, prefix: str
) -> None:
    assert store.find("c-anna") == "c-anna"
    newer = RedisProfileStore(URL, prefix=prefix)
    newer.replace_all([PEOPLE])
    stamp(client, prefix, 2)
    time.sleep(RECHECK_SECONDS + 0.1)
    for _ in range(2):
        with pytest.raises(ProfileStoreError, match="layout version 2"):
            store.find("c-anna")
    stamp(client, prefix, "junk")
    with pytest.raises(ProfileStoreError, match="is not a profile store"):
        store.find("c-anna")
    client.unlink(f"{prefix}{current(client, prefix)}:meta")
    with pytest.raises(ProfileStoreError, match="current generation is missing"):
        store.find("c-anna")
    newer.close()


@pytest.mark.parametrize(
    "url",
    [
        f"redis://:{PASSWORD}@127.0.0.1:1/0",  # nothing listens on port 1
        f"redis://default:{PASSWORD}@127.0.0.1:1/0",
        f"redis://127.0.0.1:1/0?password={PASSWORD}",
        f"redis://someone:{PASSWORD}@127.0.0.1:6379/0",  # the server knows no such user
        f"redis://someone:{PASSWORD.replace('-', '%2D')}@127.0.0.1:6379/0",
    ],
)
def test_an_unreachable_redis_is_named_without_its_password(url: str, prefix: str) -> None:
    store = RedisProfileStore(url, prefix=prefix)
    for call in (store.exists, lambda: store.get("c-anna"), lambda: store.upsert([PEOPLE[0]])):
        with pytest.raises(ProfileStoreError) as caught:
            call()
        text = str(caught.value)
        assert PASSWORD not in text, text
        assert "%2D" not in text, text
        assert redact_url(url) in text
        assert "[profiles] redis_url" in (caught.value.hint or "")
    store.close()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:pw@host:6379/1", "redis://:***@host:6379/1"),
        ("rediss://user:p%40ss@host/0", "rediss://user:***@host/0"),
        ("redis://user:p@ss@host", "redis://user:***@host"),
        ("redis://user@host", "redis://user@host"),
        ("unix://:pw@/run/redis.sock?db=2", "unix://:***@/run/redis.sock?db=2"),
        ("redis://host?db=1&password=pw", "redis://host?db=1&password=***"),
        ("redis://[::1", "the Redis URL"),
    ],
)
def test_a_url_is_shown_without_its_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_url_that_is_not_redis_is_refused() -> None:
    with pytest.raises(ProfileStoreError, match=r"http://user:\*\*\*@host is not a Redis URL"):
        RedisProfileStore(f"http://user:{PASSWORD}@host", prefix="x:")
    with pytest.raises(ProfileStoreError, match="needs a key prefix"):
        RedisProfileStore(URL, prefix="")


# -- the same answers as the SQLite store -------------------------------------------------------

PARITY = [
    *PEOPLE,
    doc("c-eve", "Eve", "Ek", None, None, ("user_id", "bo@example.se"), ("customer_key", "L-100")),
    doc("c-lodz", "Łucja", "Nguyễn", "lucja@example.pl", None, ("user_id", "u_lucja")),
    doc("c-greek", "Ωμέγα", "ΣΊΣΥΦΟΣ", "omega@example.gr"),
    doc("c-kim", "민수", "김", None, "+821012345678"),
    doc("c-ann", "Ann", "Svensson-Berg", "ann@example.se"),
]
QUERIES = [
    "anna", "ann", "an", "ann sve", "svensson berg", "berg", "example", "example se", "se",
    "lucja", "łucja", "nguyen", "NGUYỄN", "u_lucja", "u_luc", "lucja u", "ωμεγα", "ωμέγα",
    "σισυφος", "σίσυφοσ", "김민수", "민수", "김", "+82 10 1234 5678", "4670", "12345", "L-100", "l",
    "c", "c-", "crm 1", "bo", "bo example", "zelda", "e",
]  # fmt: skip


def test_the_redis_store_answers_as_the_sqlite_store(prefix: str, tmp_path: Path) -> None:
    sqlite = ProfileStore(tmp_path / "profiles")
    sqlite.replace_all([PARITY])
    store = RedisProfileStore(URL, prefix=prefix)
    store.replace_all([PARITY])
    id_types = [None, "customer_id", "email", "phone", "user_id", "customer_key"]
    identifiers = [*FIND, "bo@example.se", "L-100", "u_lucja", "+82 10-1234-5678"]
    for personal in (True, False):
        for id_type in id_types:
            for identifier in identifiers:
                expected = outcome(partial(sqlite.find, personal=personal), identifier, id_type)
                found = outcome(partial(store.find, personal=personal), identifier, id_type)
                assert found == expected, (identifier, id_type, personal)
        for query in QUERIES:
            expected_hits = sorted(hits(sqlite, query, limit=100, personal=personal))
            assert sorted(hits(store, query, limit=100, personal=personal)) == expected_hits, (
                query,
                personal,
            )
    assert store.id_types() == sqlite.id_types()
    for id_type in sqlite.id_types():
        assert store.identifiers(id_type) == sqlite.identifiers(id_type)
    assert sum(bool(hits(sqlite, q)) for q in QUERIES) > len(QUERIES) * 2 // 3  # worth comparing
    sqlite.close()
    store.close()
