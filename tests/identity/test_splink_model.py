"""The automatic Splink model on households, duplicates and junk values (ground truth known)."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from insightloop import Workspace
from insightloop.errors import ConfigError
from insightloop.identity import splink_blocking as blocking
from insightloop.identity.names import GIVEN_NAMES
from insightloop.identity.splink_backend import SplinkBackend
from insightloop.identity.splink_clusters import cluster_pairs, split_cluster
from insightloop.identity.splink_comparisons import comparison_specs
from insightloop.identity.splink_guards import GUARDS, guard_sql
from insightloop.identity.splink_model import MatchModel
from insightloop.identity.splink_prepare import prepare_records, roles_of
from insightloop.identity.splink_settings import MatchError, MatchSettings
from insightloop.store.engine import Engine
from tests.decorator import mark_with_all_backends

ROLES = {
    "first_name": "first", "last_name": "last", "full_name": "name", "birth_date": "dob",
    "email": "email", "phone": "phone", "street": "street", "postcode": "zip", "city": "city",
}  # fmt: skip
_MEN = [("William", "Bill"), ("Robert", "Bob"), ("Karl", "Kalle"), ("Lars", "Lasse"),
        ("Erik", None), ("Björn", None), ("Johan", None), ("Thomas", "Tom"), ("Nils", "Nisse"),
        ("Anders", None), ("Oskar", None), ("Peter", "Pete")]  # fmt: skip
_WOMEN = [("Anna", None), ("Karin", None), ("Elizabeth", "Liz"), ("Maria", None), ("Sofia", None),
          ("Ingrid", "Inga"), ("Margaret", "Maggie"), ("Åsa", None), ("Emma", None),
          ("Katherine", "Kate"), ("Linnéa", None), ("Frida", None)]  # fmt: skip
_SURNAMES = ["Andersson", "Söderberg", "Lindqvist", "Smith", "Jones", "Berg", "Ström", "Taylor",
             "Nyström", "Brown", "Wilson", "Öberg", "Hellström", "Evans", "Holm",
             "Åkesson"]  # fmt: skip
_HAN = [("王", "秀英", "Wang", "Xiuying"), ("李", "伟", "Li", "Wei"), ("张", "芳", "Zhang", "Fang")]


def _typo(rng: random.Random, value: str) -> str:
    i = rng.randrange(1, len(value) - 1)
    return value[:i] + value[i + 1] + value[i] + value[i + 2 :]


def make_people(seed: int = 5, households: int = 120, singles: int = 700) -> tuple[pa.Table, dict]:
    """Households of 2-4 people (shared address, landline, mostly surname, sometimes e-mail),
    people living alone, Chinese names in Han and pinyin, duplicates with nicknames, typos, upper
    case and ASCII spellings, and junk e-mails and phones. Returns the records and, per record
    id, (person id, household id)."""
    rng = random.Random(seed)
    rows: list[dict] = []
    truth: dict[str, tuple[int, int]] = {}
    seen: set[tuple[str, str, str]] = set()
    person = 0

    def add(record: dict, who: int, home: int) -> None:
        record["id"] = f"r{len(rows)}"
        rows.append(record)
        truth[record["id"]] = (who, home)

    for home in range(households + singles):
        size = rng.choice([2, 2, 3, 4]) if home < households else 1
        surname = rng.choice(_SURNAMES)
        address = {"street": f"{rng.choice(['Storgatan', 'High Street', 'Mill Lane'])} "
                   f"{rng.randrange(1, 200)}", "zip": f"{rng.randrange(10000, 99999)}",
                   "city": rng.choice(["Uppsala", "Leeds", "Malmö"])}  # fmt: skip
        landline = f"+4618{rng.randrange(100000, 999999)}" if rng.random() < 0.7 else None
        pool = rng.sample(_MEN + _WOMEN, size)  # own first names within a household
        family_email = None
        for rank, (first, nick) in enumerate(pool):
            person += 1
            last = surname if rng.random() < 0.85 else rng.choice(_SURNAMES)
            dob = ""
            while not dob or (first, last, dob) in seen:  # no two people alike in all
                year, month, day = (
                    rng.randrange(1940, 2010),
                    rng.randrange(1, 13),
                    rng.randrange(1, 29),
                )
                dob = f"{year}-{month:02d}-{day:02d}"
            seen.add((first, last, dob))
            email = f"{first.lower()}.{last.lower()}{person}@mail.example"
            if rank == 0:
                family_email = email
            elif rng.random() < 0.3:
                email = family_email
            base = {"first": first, "last": last, "name": None, "dob": dob, "email": email,
                    "phone": f"+4670{person:07d}", **address}  # fmt: skip
            if home >= households and rng.random() < 0.06:  # a Chinese name, in Han first
                fam, giv, fam_py, giv_py = _HAN[person % len(_HAN)]
                base |= {"first": None, "last": None, "name": fam + giv}
                add(dict(base), person, home)
                dup = base | {"first": giv_py, "last": fam_py, "name": None, "phone": None}
                if rng.random() < 0.5:
                    dup |= {"first": fam_py, "last": giv_py}
                add(dup, person, home)
                continue
            add(dict(base), person, home)
            if landline and rng.random() < 0.5:
                add(base | {"phone": landline, "email": None}, person, home)
            if rng.random() < 0.5:
                dup = dict(base)
                change = rng.choice(["nickname", "typo", "upper", "ascii", "dob", "email"])
                if change == "nickname" and nick:
                    dup["first"] = nick
                elif change == "typo" and len(first) > 3:
                    dup["first"] = _typo(rng, first)
                elif change == "upper":
                    dup |= {"first": first.upper(), "last": last.upper()}
                elif change == "ascii":
                    dup |= {
                        "first": first.replace("ö", "o").replace("å", "a").replace("é", "e"),
                        "last": last.replace("ö", "o").replace("Ö", "O").replace("å", "a"),
                    }
                elif change == "dob":
                    dup["dob"] = None
                else:
                    dup["email"] = f"{first.lower()}{person}@other.example"
                add(dup, person, home)
    for i in range(8):  # different people sharing only junk values
        person += 1
        add({"first": f"Junk{i}a", "last": f"Nobody{i}x", "name": None, "dob": None,
             "email": "noemail@store.example", "phone": "0000000", "street": None, "zip": None,
             "city": None}, person, 10_000 + i)  # fmt: skip
    columns = ["id", "first", "last", "name", "dob", "email", "phone", "street", "zip", "city"]
    table = pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in columns})
    return table, truth


_SETTINGS = MatchSettings(u_max_pairs=3e5, em_max_pairs=2e5)


@pytest.fixture(scope="module")
def people() -> tuple[pa.Table, dict]:
    return make_people()


@pytest.fixture(scope="module")
def trained(people: tuple[pa.Table, dict]) -> Iterator[tuple[MatchModel, pa.Table, pa.Table]]:
    table, _ = people
    records = prepare_records(table, ROLES, id_column="id")
    with MatchModel.train(records, settings=_SETTINGS) as model:
        pairs = model.predict()
        clusters, _ = cluster_pairs(model, pairs)
        yield model, pairs, clusters


def _cluster_pairs(clusters: pa.Table) -> set[tuple[str, str]]:
    by: dict[str, list[str]] = {}
    ids, cids = clusters["record_id"].to_pylist(), clusters["cluster_id"].to_pylist()
    for rid, cid in zip(ids, cids, strict=True):
        by.setdefault(cid, []).append(rid)
    return {tuple(sorted(p)) for ids in by.values() for p in itertools.combinations(ids, 2)}


@pytest.mark.slow
def test_household_members_are_never_merged(trained, people) -> None:
    _, pairs, clusters = trained
    _, truth = people
    linked = pairs.filter(pc.equal(pairs["decision"], "link")).to_pylist()
    wrong = [p for p in linked if truth[p["left_id"]][0] != truth[p["right_id"]][0]]
    assert wrong == []
    merged = [
        (a, b) for a, b in _cluster_pairs(clusters)
        if truth[a][1] == truth[b][1] and truth[a][0] != truth[b][0]
    ]  # fmt: skip
    assert merged == []


@pytest.mark.slow
def test_duplicates_are_linked(trained, people) -> None:
    _, _, clusters = trained
    _, truth = people
    by_person: dict[int, list[str]] = {}
    for rid, (who, _) in truth.items():
        by_person.setdefault(who, []).append(rid)
    true_pairs = {
        tuple(sorted(p)) for r in by_person.values() for p in itertools.combinations(r, 2)
    }
    found = _cluster_pairs(clusters)
    recall = len(found & true_pairs) / len(true_pairs)
    precision = len(found & true_pairs) / len(found)
    assert recall >= 0.95, recall
    assert precision == 1.0


@pytest.mark.slow
def test_han_names_link_to_their_pinyin(trained, people) -> None:
    _, _, clusters = trained
    table, truth = people
    ids, han_names = table["id"].to_pylist(), table["name"].to_pylist()
    han = [r for r, n in zip(ids, han_names, strict=True) if n]
    assert han
    records, cids = clusters["record_id"].to_pylist(), clusters["cluster_id"].to_pylist()
    cluster_of = dict(zip(records, cids, strict=True))
    for rid in han:
        mates = [r for r, (who, _) in truth.items() if who == truth[rid][0] and r != rid]
        assert all(cluster_of[m] == cluster_of[rid] for m in mates), rid


@pytest.mark.slow
def test_junk_values_are_treated_as_missing_and_reported(trained, people) -> None:
    model, pairs, _ = trained
    _, truth = people
    junk = model.report["junk_values"]
    assert junk["email"]["values"] == 1
    assert junk["email"]["records"] == 8
    assert junk["phone"]["values"] == 1
    assert "noemail" not in json.dumps(model.report)  # reported by count and hash only
    junk_ids = {r for r, (_, home) in truth.items() if home >= 10_000}
    assert not [
        p for p in pairs.to_pylist() if p["left_id"] in junk_ids and p["decision"] == "link"
    ]


@pytest.mark.slow
def test_evidence_names_each_comparison_level_and_the_guard(trained) -> None:
    model, pairs, _ = trained
    names = {s.name for s in model.specs} | {"guard"}
    decisions = set(pairs["decision"].to_pylist())
    assert decisions <= {"link", "review", "guarded"}
    for row in pairs.to_pylist():
        evidence = json.loads(row["evidence"])
        assert set(evidence) == names
        assert (evidence["guard"] is not None) == (row["decision"] == "guarded")
        assert evidence["guard"] is None or evidence["guard"] in GUARDS
    assert "guarded" in decisions  # household members scoring high on shared fields


@pytest.mark.parametrize(
    ("left", "right", "guard"),
    [
        (("bill", "william", "smith", "1970-01-02"), ("william", "william", "smith", None), None),
        (("erik", "erik", "berg", "1970-01-02"), ("erika", "erika", "berg", "1975-06-01"), 0),
        (("anna", "anna", "berg", "1970-01-02"), ("anne", "anna", "berg", None), None),
        (("keelin", "keelin", "priest", None), ("keelni", "keelni", "priest", None), None),
        (("johan", "johan", "berg", None), ("johanna", "johanna", "berg", None), 0),
        (("novak", "novak", "benjamin", None), ("benjamin", "benjamin", "novak", None), None),
        (("anna", "anna", "berg", "1970-01-02"), ("anna", "anna", "berg", "1970-02-01"), None),
        (("anna", "anna", "berg", "1970-01-02"), ("anna", "anna", "berg", "1970-01-03"), None),
        (("anna", "anna", "berg", "1970-01-02"), ("maja", "maja", "berg", "1970-01-02"), None),
        (("lars", "lars", "berg", "1960-05-05"), ("lars", "lars", "berg", "1990-05-05"), None),
        (("anna", "anna", "berg", "1970-01-02"), ("karin", "karin", "berg", "1975-01-02"), 0),
        ((None, None, "berg", "1970-01-02"), (None, None, "berg", "1982-03-04"), 1),
        (("maria", "maria", "berg", None), ("marta", "marta", "berg", None), 0),
        (("anna", "anna", "berg", None), ("hanna", "hanna", "berg", None), 0),
        (("laura", "laura", "berg", None), ("laurn", "laurn", "berg", None), None),
    ],
)
def test_guards_tell_household_members_from_typos(left, right, guard) -> None:
    columns = ["first_name", "first_name_key", "last_name", "birth_date"]
    specs = comparison_specs([*columns, "first_name_known"], "duckdb")
    row = {f"{c}_l": v for c, v in zip(columns, left, strict=True)}
    row |= {f"{c}_r": v for c, v in zip(columns, right, strict=True)}
    for side, values in (("l", left), ("r", right)):
        row[f"first_name_known_{side}"] = "y" if values[0] in GIVEN_NAMES else None
    # The person-level guard reads the first-name and birth-date levels: say they agree.
    row |= {"gamma_first_name": 6, "gamma_last_name": 3, "gamma_birth_date": 3}
    if left[0] is None:
        row |= {"gamma_first_name": -1, "gamma_birth_date": 0}
    con = duckdb.connect()
    con.register("pair", pa.Table.from_pylist([row]))
    [(found,)] = con.execute(f"SELECT {guard_sql(specs, 'duckdb')} FROM pair").fetchall()
    assert found == (GUARDS[guard] if guard is not None else None)
    strict = guard_sql(specs, "duckdb", strict=True)
    if left[3] and left[3] == right[3] and left[0] != right[0] and guard is None:
        [(found,)] = con.execute(f"SELECT {strict} FROM pair").fetchall()
        assert found == GUARDS[0]  # strict guards keep same-day names apart


@pytest.mark.slow
def test_the_model_reports_its_configuration(trained) -> None:
    model, _, _ = trained
    report = model.report
    assert set(report["comparisons"]) == {
        "first_name", "last_name", "birth_date", "email", "phone", "address"
    }  # fmt: skip
    assert report["comparisons"]["address"][0] == "street+postcode"
    rules = [r["rule"] for r in report["blocking"]["rules"]]
    assert "first_name_key+last_name" in rules
    assert all(r["pairs"] <= report["blocking"]["budget"] for r in report["blocking"]["rules"])
    assert len(report["training"]["em_sessions"]) >= 2
    assert 0 < report["training"]["prior"]["probability_two_random_records_match"] < 0.01


@pytest.mark.slow
def test_save_load_round_trip_and_incremental_scoring(trained, people, tmp_path: Path) -> None:
    model, pairs, _ = trained
    table, truth = people
    path = model.save(tmp_path / "model.json")
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["format"] == "insightloop.match_model"
    for key in ("insightloop_version", "trained_at", "records", "input_hash", "roles", "settings"):
        assert saved[key], key
    assert saved["roles"]["first_name"] == ["first"]
    # The last 60 records arrive as new: score them against the others with the loaded model.
    records = prepare_records(table, ROLES, id_column="id")
    existing, new = records.slice(0, records.num_rows - 60), records.slice(records.num_rows - 60)
    with MatchModel.load(path) as loaded:
        assert loaded.to_dict()["splink"] == model.to_dict()["splink"]
        scored = loaded.predict_new(new, existing=existing)
        # Existing records that lack a column a blocking rule reads (a caller's own table) are
        # scored as records whose value is unknown, not refused by the pairing step (which runs
        # when the term frequencies are frozen, as in a workspace).
        assert any("email" in rule.keys for rule in loaded.rules)
        loaded.freeze_term_frequencies(MatchModel.term_frequencies(records, loaded.tf_columns))
        lacking = loaded.predict_new(new, existing=existing.drop_columns(["email"]))
        at = existing.schema.get_field_index("email")
        emptied = existing.set_column(at, "email", pa.nulls(existing.num_rows, pa.string()))
        unknown = loaded.predict_new(new, existing=emptied)
    new_ids = set(new["unique_id"].to_pylist())
    links = scored.filter(pc.equal(scored["decision"], "link")).to_pylist()
    assert links
    assert all(p["left_id"] in new_ids or p["right_id"] in new_ids for p in links)
    assert all(truth[p["left_id"]][0] == truth[p["right_id"]][0] for p in links)
    # Every pair found in the full run that touches a new record is found incrementally.
    full = {
        tuple(sorted((p["left_id"], p["right_id"]))) for p in pairs.to_pylist()
        if p["decision"] == "link" and (p["left_id"] in new_ids or p["right_id"] in new_ids)
    }  # fmt: skip
    assert full <= {tuple(sorted((p["left_id"], p["right_id"]))) for p in links}
    key = [("left_id", "ascending"), ("right_id", "ascending")]
    assert lacking.num_rows
    assert lacking.sort_by(key).equals(unknown.sort_by(key))
    assert not lacking.sort_by(key).equals(scored.sort_by(key))  # the e-mails did count


def test_load_refuses_a_file_that_is_not_a_match_model(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"format": "something.else"}), encoding="utf-8")
    with pytest.raises(MatchError, match="not an insightloop match model"):
        MatchModel.load(path)


def test_prepare_records_derives_the_standard_columns() -> None:
    table = pa.table({
        "pid": [1, 2, 3],
        "name": ["王秀英", None, "Anna van der Berg"],
        "fname": [None, "Bill", None],
        "lname": [None, "SMITH", None],
        "born": ["09.04.1956", "19560409", None],
        "mail": ["Bill.Smith+shop@X.example", None, "junk"],
        "tel": ["+46 70-123 45 67", "070 123 45 67", "12"],
    })  # fmt: skip
    roles = {"full_name": "name", "first_name": "fname", "last_name": "lname",
             "birth_date": "born", "email": "mail", "phone": "tel"}  # fmt: skip
    out = prepare_records(table, roles, id_column="pid").to_pylist()
    assert [(r["first_name"], r["last_name"]) for r in out] == [
        ("xiuying", "wang"),
        ("bill", "smith"),
        ("anna", "vanderberg"),
    ]
    assert [r["first_name_key"] for r in out] == ["xiuying", "william", "anna"]
    assert out[0]["full_name_key"] == "wang xiuying"
    assert [r["birth_date"] for r in out] == ["1956-04-09", "1956-04-09", None]
    assert out[0]["email"] == "bill.smith+shop@x.example"
    assert out[0]["email_local"] == "billsmith"
    assert out[2]["email"] is None
    assert [r["phone"] for r in out] == ["701234567", "701234567", None]
    assert roles_of(prepare_records(table, roles, id_column="pid"))["email"] == ["mail"]


def test_prepare_records_reports_every_role_problem_at_once() -> None:
    table = pa.table({"id": ["1", "1"], "x": ["a", "b"]})
    with pytest.raises(ConfigError) as info:
        prepare_records(table, {"nickname": "x", "email": "missing"}, id_column="nope")
    message = str(info.value)
    assert "unknown role 'nickname'" in message
    assert "missing column(s) missing" in message
    assert "id column 'nope'" in message
    with pytest.raises(ConfigError, match="repeated"):
        prepare_records(table, {"email": "x"}, id_column="id")


def test_invalid_settings_are_reported_together() -> None:
    with pytest.raises(ConfigError) as info:
        MatchSettings(link_threshold=1.5, review_threshold=0.0, em_max_iterations=0)
    assert "link_threshold" in str(info.value)
    assert "em_max_iterations" in str(info.value)


def test_split_cluster_keeps_cannot_link_records_apart() -> None:
    edges = [("a", "b", 0.999), ("b", "c", 0.998), ("c", "d", 0.997)]
    roots = split_cluster(["a", "b", "c", "d"], edges, cannot_link={("a", "d")})
    assert roots["a"] == roots["b"] == roots["c"] != roots["d"]


@pytest.mark.slow
@mark_with_all_backends
def test_matching_runs_on_the_workspace_engine(workspace: Workspace) -> None:
    table, truth = make_people(seed=11, households=12, singles=60)
    records = prepare_records(table, ROLES, id_column="id")
    settings = replace(_SETTINGS, u_max_pairs=2e4, em_max_pairs=2e4, em_max_iterations=5)
    with MatchModel.train(records, settings=settings, engine=workspace.engine) as model:
        pairs = model.predict()
    links = pairs.filter(pc.equal(pairs["decision"], "link")).to_pylist()
    assert links
    assert all(truth[p["left_id"]][0] == truth[p["right_id"]][0] for p in links)
    # Splink's intermediate tables stay out of the workspace.
    assert not [t for t in workspace.engine.tables() if t.startswith("__splink")]


_VALUES = st.one_of(st.none(), st.sampled_from(["a", "b", "ab", "ba", "Ö", "Öz"]))
_ROWS = st.lists(st.tuples(_VALUES, _VALUES), max_size=12)
_XY = pa.schema([("x", pa.string()), ("y", pa.string())])


def _rule_keys(x: str | None, y: str | None) -> list[tuple[str, ...] | None]:
    """The keys of the two rules below, worked out by hand (None: the rule cannot pair it)."""
    return [(x,) if x is not None else None, (x[:1], y) if x and y is not None else None]


@given(existing=_ROWS, new=_ROWS)
def test_paired_records_are_exactly_the_records_a_rule_pairs_with_a_new_one(
    existing: list[tuple[str | None, str | None]], new: list[tuple[str | None, str | None]]
) -> None:
    rules = [blocking.BlockingRule(("x",)), blocking.BlockingRule(("substr(x, 1, 1)", "y"))]
    table = pa.Table.from_pylist([{"x": x, "y": y} for x, y in existing], schema=_XY)
    table = table.append_column("n", pa.array(range(len(existing)), pa.int64()))
    fresh = pa.Table.from_pylist([{"x": x, "y": y} for x, y in new], schema=_XY)
    new_keys = [_rule_keys(*row) for row in new]
    wanted = [
        i
        for i, row in enumerate(existing)
        if any(k is not None and any(o[j] == k for o in new_keys)
               for j, k in enumerate(_rule_keys(*row)))
    ]  # fmt: skip
    assert blocking.paired_records(table, fresh, rules)["n"].to_pylist() == wanted


def _memory_limit(engine: Engine) -> str:
    (value,) = engine.con.con.execute("SELECT current_setting('memory_limit')").fetchone()
    return str(value)


def test_matching_on_a_workspace_without_a_memory_limit_caps_duckdb_while_it_runs() -> None:
    engine = Engine.in_memory()
    default = _memory_limit(engine)
    order = "SELECT current_setting('preserve_insertion_order')"
    backend = SplinkBackend.create(engine)
    assert _memory_limit(engine) == "1.4 GiB"  # PRIVATE_MEMORY_LIMIT, 1536 MB
    assert engine.con.con.execute(order).fetchone() == (False,)
    backend.close()
    assert _memory_limit(engine) == default
    assert engine.con.con.execute(order).fetchone() == (True,)
    # A limit the workspace chose is left alone.
    engine.memory_limit = "3GB"
    engine.con.con.execute("SET memory_limit = '3GB'")
    chosen = _memory_limit(engine)
    backend = SplinkBackend.create(engine)
    assert _memory_limit(engine) == chosen
    backend.close()
    assert _memory_limit(engine) == chosen
