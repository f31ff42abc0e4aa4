"""The profile store (insightloop.profile.store): documents by customer id and by identifier,
search, and the ways of writing it that readers in other threads must survive."""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest

from insightloop import Workspace
from insightloop.profile import (
    AmbiguousIdentifierError,
    Profile,
    ProfileIdentifier,
    ProfileQueryError,
    ProfileReader,
    SourceRecord,
    build_golden_records,
)
from insightloop.profile.documents import build_documents
from insightloop.profile.store import (
    RECHECK_SECONDS,
    SUMMARY_FIELDS,
    ProfileStore,
    ProfileStoreError,
)
from tests.profile.people import CONFIG, load_people


def doc(
    customer_id: str,
    first: str | None = None,
    last: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    *ids: tuple[str, str],
) -> dict[str, Any]:
    """A profile document as build_documents writes it: golden record, identifiers (the
    e-mail, the phone and ``ids``) and a CRM record."""
    pairs = [("email", email), ("phone", phone), *ids]
    identifiers = [ProfileIdentifier(kind, value, 1) for kind, value in pairs if value]
    fields = {"first_name": first, "last_name": last, "email": email, "phone": phone}
    profile = Profile(
        customer_id=customer_id,
        first_name=first,
        last_name=last,
        email=email,
        phone=phone,
        country="SE",
        identifiers=sorted(identifiers, key=lambda i: (i.id_type, i.value)),
        records=[SourceRecord("crm", f"K-{customer_id}", fields, None, None)],
    )
    return {**profile.to_dict(), "timeline_counts": {}, "materialised_at": "x", "masked": False}


PEOPLE = [
    doc("c-anna", "Anna", "Svensson", "anna@example.se", "+46701234567",
        ("customer_key", "CRM-1"), ("loyalty_number", "L-100"), ("user_id", "u-anna"),
        ("anonymous_id", "dev-anna")),
    doc("c-bo", "Bo", "Ek", "bo@example.se", None, ("user_id", "12345")),
    doc("c-carl", "Carl", "Berg", "carl@example.se", None, ("customer_key", "12345")),
    doc("c-jorgen", "Jörgen", "Müller", "jorgen@example.de", "+4915112345678"),
    doc("c-wang", "芳", "王", "wang.fang@example.cn", "+8613812345678"),
    doc("c-maija", "Maija", "Virtanen", None, "+358401234567"),
    doc("c-john", "John", "Smith", "john@example.com", "+12025550123"),
]  # fmt: skip


def hits(store: ProfileStore, query: str, **page: int) -> list[str]:
    return [h["customer_id"] for h in store.search(query, **page).data]


def loaded(store: ProfileStore, customer_id: str) -> Any:
    raw = store.get(customer_id)
    return None if raw is None else orjson.loads(raw)


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def generations(store: ProfileStore) -> list[str]:
    """The store's database files (without their -wal and -shm)."""
    return sorted(p.name for p in store.path.glob("gen-*.sqlite"))


def point_at(store: ProfileStore, db: Path) -> None:
    """Make ``db`` (a file in another folder) the store's current generation."""
    target = store.path / db.name
    shutil.copyfile(db, target)
    (store.path / "CURRENT").write_text(target.name)


def layout_version(path: Path, stamp: int | None = None) -> int:
    """The layout version of the store file at ``path`` (after setting it to ``stamp``)."""
    conn = sqlite3.connect(path)
    try:
        if stamp is not None:
            conn.execute(f"PRAGMA user_version = {stamp}")
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ProfileStore]:
    """A store of PEOPLE, alone in its folder."""
    s = ProfileStore(tmp_path / "store")
    assert s.replace_all([PEOPLE[:3], PEOPLE[3:]], run_id="run-1") == len(PEOPLE)
    yield s
    s.close()


# -- documents and finding ----------------------------------------------------------------------


def test_documents_come_back_as_written(store: ProfileStore) -> None:
    for person in PEOPLE:
        assert loaded(store, person["customer_id"]) == person
    assert store.get("c-nobody") is None
    info = store.info()
    assert (info["customers"], info["updated_by"]) == (len(PEOPLE), "run-1")
    assert info["built_at"] == info["updated_at"]
    assert info["bytes"] >= store.current_file().stat().st_size > 0
    assert info["file"] == store.current_file().name
    assert store.id_types() == [
        "anonymous_id", "customer_key", "email", "loyalty_number", "phone", "user_id",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("identifier", "customer_id"),
    [
        ("c-anna", "c-anna"),  # customer id
        ("ANNA@Example.SE ", "c-anna"),  # e-mail in another case
        ("+46 70-123 45 67", "c-anna"),  # phone, parsed to E.164
        ("+46 (0)70-123 45 67", "c-anna"),
        ("+46701234567", "c-anna"),  # phone as stored
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
def test_find_by_any_identifier(store: ProfileStore, identifier: str, customer_id: str) -> None:
    assert store.find(identifier) == customer_id


def test_find_with_a_type_looks_only_at_that_type(store: ProfileStore) -> None:
    assert store.find("12345", "user_id") == "c-bo"
    assert store.find("12345", "customer_key") == "c-carl"
    assert store.find("Anna@Example.se", "email") == "c-anna"
    assert store.find("+46 70 123 45 67", "phone") == "c-anna"
    assert store.find("c-bo", "customer_id") == "c-bo"
    assert store.find("u-anna", "customer_key") is None
    assert store.find("anna@example.se", "phone") is None
    assert store.find("c-anna", "user_id") is None


def test_an_ambiguous_or_empty_identifier_is_refused(store: ProfileStore) -> None:
    with pytest.raises(AmbiguousIdentifierError) as caught:
        store.find("12345")
    assert caught.value.message == (
        "The identifier belongs to 2 customers, as customer_key, user_id."
    )
    assert "customer_key or user_id" in (caught.value.hint or "")
    assert "12345" not in str(caught.value)  # identifiers are personal data: never echoed
    with pytest.raises(ProfileQueryError, match="empty"):
        store.find(" \t")


@pytest.fixture(scope="module")
def people_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ProfileReader, Path]]:
    """The people of tests/profile/people.py: the 360-degree view and a store of documents."""
    ws = Workspace.init(tmp_path_factory.mktemp("people") / "ws")
    load_people(ws.engine)
    build_golden_records(ws.engine, CONFIG, run_id="run-1")
    path = ws.path / "profiles"
    ProfileStore(path).replace_all(build_documents(ws.engine, CONFIG))
    yield ProfileReader(ws.engine, CONFIG), path
    ws.close()


FIND = [
    "C-ANNA", "anna@example.SE", " +46 70-123 45 67", "070-123 45 67", "CRM-1", "L-100",
    "u-anna", "dev-anna", "u-bo", "12345", "carl@example.se", "anna.old@example.se", "Bo", "W-1",
]  # fmt: skip


def outcome(find: Callable[[str, str | None], str | None], identifier: str, id_type: Any) -> Any:
    try:
        return find(identifier, id_type)
    except AmbiguousIdentifierError:
        return "ambiguous"


@pytest.mark.parametrize("id_type", [None, "customer_id", "email", "phone", "user_id",
                                     "customer_key", "loyalty_number", "anonymous_id"])  # fmt: skip
def test_the_store_finds_whom_the_360_view_finds(
    people_world: tuple[ProfileReader, Path], id_type: str | None
) -> None:
    reader, path = people_world
    store = ProfileStore(path)
    expected = [outcome(reader.find, identifier, id_type) for identifier in FIND]
    assert [outcome(store.find, identifier, id_type) for identifier in FIND] == expected
    if id_type is None:
        assert expected[:3] == ["C-ANNA"] * 3
        assert expected.count("ambiguous") == 1
    store.close()


# -- search -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("anna", ["c-anna"]),
        ("ann sve", ["c-anna"]),  # every word as a prefix
        ("Svensson ANNA", ["c-anna"]),
        ("anna berg", []),  # every word must match: Anna is no Berg, Carl no Anna
        ("Jorgen Muller", ["c-jorgen"]),  # diacritics do not matter either way
        ("jörgen müller", ["c-jorgen"]),
        ("JÖRG", ["c-jorgen"]),
        ("王芳", ["c-wang"]),  # a Han name is written family name first, without a space
        ("王", ["c-wang"]),
        ("芳", ["c-wang"]),
        ("anna@example.se", ["c-anna"]),
        ("john@example.com", ["c-john"]),
        ("+46 70-123 45 67", ["c-anna"]),  # a phone number in any international form
        ("46701234567", ["c-anna"]),
        ("4670123", ["c-anna"]),  # the first digits
        ("+358 40 123 4567", ["c-maija"]),
        ("+1 202 555 0123", ["c-john"]),
        ("L-100", ["c-anna"]),  # identifiers
        ("c-carl", ["c-carl"]),
        ("dev-anna", []),  # devices are no search terms
        ("zelda", []),
    ],
)
def test_search_finds_customers_by_name_contact_and_identifier(
    store: ProfileStore, query: str, found: list[str]
) -> None:
    assert hits(store, query) == found


def test_without_personal_data_only_ids_find_a_customer(store: ProfileStore) -> None:
    """For readers without pii:read: a hit for a guessed e-mail, phone or name would tell
    whose it is, masked or not."""
    for guess in ("anna@example.se", "+46 70 123 45 67", "anna svensson", "svensson"):
        assert [h["customer_id"] for h in store.search(guess, personal=False).data] == [], guess
        assert store.find(guess, personal=False) is None, guess
    assert store.find("anna@example.se", "email", personal=False) is None
    assert store.find("+46701234567", "phone", personal=False) is None
    for identifier in ("c-anna", "CRM-1", "L-100", "u-anna"):
        assert store.find(identifier, personal=False) == "c-anna", identifier
        assert [h["customer_id"] for h in store.search(identifier, personal=False).data] == [
            "c-anna"
        ], identifier
    assert store.find("CRM-1", "customer_key", personal=False) == "c-anna"


def test_a_search_hit_is_the_customers_summary(store: ProfileStore) -> None:
    page = store.search("+46 70 123 45 67")
    assert page.data == [
        {"customer_id": "c-anna", "first_name": "Anna", "last_name": "Svensson",
         "email": "anna@example.se", "phone": "+46701234567", "city": None, "country": "SE"},
    ]  # fmt: skip
    assert list(page.data[0])[1:] == list(SUMMARY_FIELDS)
    assert (page.terms, page.limit, page.offset, page.next_offset) == (["46701234567"], 20, 0, None)
    assert sorted(hits(store, "example se")) == ["c-anna", "c-bo", "c-carl"]


def test_search_pages_through_every_hit_once(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles")
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
    assert len(set(found)) == len(found)
    assert hits(store, "anna", limit=10, offset=30) == []
    store.close()


# Search syntax is only text: quotes, stars and brackets drop out, operators are words.
SYNTAX_FINDING_ANNA = ['anna"', '"anna', '"anna"', "anna*", "(anna", "anna)", "-anna", "^anna"]
SYNTAX_FINDING_NO_ONE = ["AND", "anna AND", "OR anna", "NOT anna", "NEAR(anna bo)", "anna + bo",
                         "names:anna", "{names}: anna", "'; DROP TABLE profiles; --"]  # fmt: skip


@pytest.mark.parametrize(
    ("query", "found"),
    [(q, ["c-anna"]) for q in SYNTAX_FINDING_ANNA] + [(q, []) for q in SYNTAX_FINDING_NO_ONE],
)
def test_search_syntax_in_the_query_is_taken_as_text(
    store: ProfileStore, query: str, found: list[str]
) -> None:
    assert hits(store, query) == found  # never an SQLite error
    assert store.info()["customers"] == len(PEOPLE)


@pytest.mark.parametrize("query", ["", "  ", '"', "*", "(", ")", "--", "‿"])
def test_a_search_without_words_is_refused(store: ProfileStore, query: str) -> None:
    with pytest.raises(ProfileQueryError, match="no words"):
        store.search(query)


# -- writing ------------------------------------------------------------------------------------


def test_upsert_replaces_a_document_with_its_identifiers_and_search_text(
    store: ProfileStore,
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
    assert sorted(hits(store, "example se")) == ["c-bo", "c-carl", "c-dora"]
    info = store.info()
    assert (info["customers"], info["updated_by"]) == (len(PEOPLE) + 1, "load-1")
    assert info["built_at"] < info["updated_at"]


def test_upsert_without_a_store_builds_one(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles")
    assert store.upsert(iter(PEOPLE[:2])) == 2
    assert store.info()["customers"] == 2
    assert store.find("bo@example.se") == "c-bo"
    store.close()


def test_replace_all_swaps_the_store_under_a_reader_in_another_thread(
    store: ProfileStore,
) -> None:
    other = ProfileStore(store.path)  # as another server worker would hold it
    first = store.current_file().name
    replaced = doc("c-anna", "Anna", "Lind", "anna.lind@example.org")
    with ThreadPoolExecutor(max_workers=1) as reader:  # one thread, its connections kept open
        assert reader.submit(store.find, "anna@example.se").result() == "c-anna"
        assert reader.submit(other.find, "anna@example.se").result() == "c-anna"
        assert store.replace_all([[replaced, PEOPLE[1]]], run_id="run-2") == 2
        # The instance that wrote it reads the new file at once; another one within a moment.
        assert reader.submit(store.find, "anna@example.se").result() is None
        time.sleep(RECHECK_SECONDS + 0.1)
        assert reader.submit(other.get, "c-anna").result() == orjson.dumps(replaced)
        assert reader.submit(lambda: hits(other, "lind")).result() == ["c-anna"]
        assert reader.submit(other.info).result()["customers"] == 2
        reader.submit(store.close).result()
        reader.submit(other.close).result()
    assert store.get("c-carl") is None
    # A new file, never the old one replaced under a reader; the one before stays a while.
    assert store.current_file().name != first
    assert generations(store) == sorted([first, store.current_file().name])
    assert store.replace_all([PEOPLE], run_id="run-3") == len(PEOPLE)
    assert first not in files(store.path)  # two rebuilds on, it is gone
    assert len(generations(store)) == 2
    assert not [f for f in files(store.path) if f.endswith(".tmp")]


def test_readers_in_many_threads_share_a_store(store: ProfileStore) -> None:
    def read() -> list[str | None]:
        found = [store.find(p["customer_id"]) for p in PEOPLE * 5]
        found += [store.find(p["identifiers"][-1]["value"]) for p in PEOPLE[2:]]
        store.close()
        return found

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [f.result() for f in [pool.submit(read) for _ in range(16)]]
    expected = [p["customer_id"] for p in PEOPLE * 5 + PEOPLE[2:]]
    assert results == [expected] * 16


def test_a_failed_replace_all_leaves_the_old_store_and_no_files(store: ProfileStore) -> None:
    def chunks() -> Iterator[list[dict[str, Any]]]:
        yield [doc("c-new", "New", "Person")]
        raise RuntimeError("the engine failed")

    current, before, listing = (
        store.current_file(),
        store.current_file().read_bytes(),
        files(store.path),
    )
    with pytest.raises(RuntimeError, match="the engine failed"):
        store.replace_all(chunks(), run_id="run-2")
    with pytest.raises(KeyError):
        store.replace_all([[{"golden": {}}]])  # a document without a customer id
    assert store.current_file() == current
    assert current.read_bytes() == before
    assert files(store.path) == listing
    assert loaded(store, "c-anna") == PEOPLE[0]
    assert store.get("c-new") is None
    assert store.info()["updated_by"] == "run-1"


def test_a_missing_store_says_how_to_build_it(tmp_path: Path) -> None:
    store = ProfileStore.for_workspace(tmp_path)
    assert not store.exists()
    for read in (lambda: store.get("c-anna"), lambda: store.find("x"), store.info,
                 lambda: store.search("anna")):  # fmt: skip
        with pytest.raises(ProfileStoreError) as caught:
            read()
        assert caught.value.code == "profile_store_unavailable"
        assert "insightloop run" in (caught.value.hint or "")


def test_a_store_of_another_layout_version_is_refused(store: ProfileStore) -> None:
    layout_version(store.current_file(), stamp=7)
    fresh = ProfileStore(store.path)
    with pytest.raises(ProfileStoreError, match="layout version 7") as caught:
        fresh.get("c-anna")
    assert "insightloop run profiles" in (caught.value.hint or "")
    with pytest.raises(ProfileStoreError, match="layout version 7"):
        fresh.upsert([PEOPLE[0]])  # nor written into
    assert layout_version(store.current_file()) == 7
    assert fresh.replace_all([PEOPLE]) == len(PEOPLE)  # a rebuild replaces it
    assert fresh.find("anna@example.se") == "c-anna"
    fresh.close()


def test_a_store_replaced_by_another_version_is_refused_on_every_read(
    store: ProfileStore, tmp_path: Path
) -> None:
    assert store.find("c-anna") == "c-anna"  # this thread's connection is open
    newer = ProfileStore(tmp_path / "newer")
    newer.replace_all([PEOPLE])
    layout_version(newer.current_file(), stamp=2)
    point_at(store, newer.current_file())  # as a newer release's rebuild would
    time.sleep(RECHECK_SECONDS + 0.1)
    for _ in range(2):  # not a closed connection the second time
        with pytest.raises(ProfileStoreError, match="layout version 2"):
            store.find("c-anna")


def test_a_file_that_is_no_store_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "gen-1-1.sqlite"
    junk.write_bytes(b"not a database, but a file someone left here" * 100)
    store = ProfileStore(tmp_path / "profiles")
    store.path.mkdir()
    point_at(store, junk)
    with pytest.raises(ProfileStoreError, match="not a profile store") as caught:
        store.get("c-anna")
    assert "insightloop run" in (caught.value.hint or "")
