"""The ground truth agrees with the data: identities, households, junk values, defects, sales."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter, defaultdict

import numpy as np
import pyarrow.compute as pc
import pytest

from tests.demo.companies import Company

HQ = "sources/crm/customers_hq.csv"
NORDICS = "sources/crm/customers_nordics.csv"
CHINA = "sources/crm/customers_china.csv"
LOYALTY = "sources/loyalty/members.csv"
POS = "sources/pos/transactions.csv"
ORDERS = "sources/ecommerce/orders.jsonl"
EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[a-z]+$")


def _owner(company: Company) -> dict[tuple[str, str, str], str]:
    rows = company.truth("record_map").to_pylist()
    owner: dict[tuple[str, str, str], str] = {}
    for r in rows:
        key = (r["system"], r["entity"], r["source_key"])
        assert owner.setdefault(key, r["person_id"]) == r["person_id"], key
    return owner


def test_every_source_record_maps_to_exactly_one_person(company: Company) -> None:
    owner = _owner(company)
    persons = set(company.truth("persons").column("person_id").to_pylist())
    assert set(owner.values()) <= persons
    keyed = {HQ: "CustomerID", NORDICS: "Kundnummer", CHINA: "cust_no", LOYALTY: "loyalty_no"}
    for path, column in keyed.items():
        system, entity = ("crm", "customer") if "crm" in path else ("loyalty", "card")
        for _, record in company.records(path):
            if record[column]:
                assert (system, entity, record[column]) in owner, (path, record[column])
    for _, record in company.records(POS):
        if record["receipt_id"]:
            assert ("pos", "receipt", record["receipt_id"]) in owner
        if record["card_number"]:
            assert ("pos", "card", record["card_number"]) in owner
    for _, order in company.json_lines(ORDERS):
        if order["order_id"]:
            assert ("ecommerce", "order", order["order_id"]) in owner
        if order["account_id"]:
            assert ("ecommerce", "account", order["account_id"]) in owner
    for path in company.event_files():
        for _, event in company.json_lines(path):
            anonymous = event.get("anonymousId") or event["previousId"]
            assert ("events", "anonymous_id", anonymous) in owner
            if "userId" in event:
                assert ("events", "user_id", event["userId"]) in owner


def test_shared_keys_point_to_the_same_person_in_every_system(company: Company) -> None:
    owner = _owner(company)
    cards = [k for k in owner if k[:2] == ("pos", "card")]
    assert cards
    for _, _, card in cards:
        assert owner[("pos", "card", card)] == owner[("loyalty", "card", card)]
    users = [k for k in owner if k[:2] == ("events", "user_id")]
    assert users
    for _, _, user in users:
        assert owner[("events", "user_id", user)] == owner[("ecommerce", "account", user)]


def test_crm_offices_hold_their_countries_and_duplicates_of_one_person(company: Company) -> None:
    owner = _owner(company)
    country = dict(
        zip(
            company.truth("persons").column("person_id").to_pylist(),
            company.truth("persons").column("country").to_pylist(),
            strict=True,
        )
    )
    offices = {HQ: {"GB", "IE", "US"}, NORDICS: {"SE"}, CHINA: {"CN"}}
    records_per_person: Counter[str] = Counter()
    for path, allowed in offices.items():
        column = next(iter(company.records(path)[0][1]))
        for _, record in company.records(path):
            if record[column]:
                person = owner[("crm", "customer", record[column])]
                assert country[person] in allowed
                records_per_person[person] += 1
    assert max(records_per_person.values()) >= 2


def test_households_share_address_and_landline_but_are_distinct_persons(
    company: Company,
) -> None:
    persons = company.truth("persons").to_pylist()
    households: dict[str, list[dict[str, object]]] = defaultdict(list)
    for p in persons:
        households[p["household_id"]].append(p)
    shared = [members for members in households.values() if len(members) > 1]
    assert len(shared) > len(persons) / 10
    with_landline = 0
    for members in shared:
        assert len({m["person_id"] for m in members}) == len(members)
        assert len({(m["street"], m["postcode"], m["city"]) for m in members}) == 1
        assert len({m["landline"] for m in members}) == 1
        with_landline += members[0]["landline"] is not None
        identities = {(m["first_name"], m["date_of_birth"], tuple(m["emails"])) for m in members}
        assert len(identities) == len(members)
        assert len({m["mobile"] for m in members}) == len(members)
    assert with_landline > 0


def test_junk_identifiers_are_shared_by_many_persons(company: Company) -> None:
    junk = company.truth("junk_identifiers").to_pylist()
    by_value = {j["value"]: j for j in junk}
    assert by_value["noemail@store.example"]["persons"] >= 20
    assert by_value["0000000"]["persons"] >= 5
    owner = _owner(company)
    values = company.truth("crm_values").filter(pc.field("value") == "noemail@store.example")
    holders = {
        owner[("loyalty", "card", key)]
        for key, path in zip(
            values.column("source_key").to_pylist(), values.column("file").to_pylist(), strict=True
        )
        if key and path == LOYALTY
    }
    assert len(holders) >= 20
    assert company.params()["junk_identifiers"] == junk


def _check_defect(defect: dict[str, object], record: dict[str, str], previous: object) -> None:
    kind, column = defect["defect"], defect["column"]
    value = record.get(str(column), "") if column else ""
    if kind == "missing_key":
        assert value == ""
    elif kind == "invalid_email":
        assert not EMAIL.match(value), value
    elif kind == "impossible_date":
        numbers = [int(n) for n in re.findall(r"\d+", value)]
        year, month, day = (numbers[2], numbers[1], numbers[0]) if numbers[0] < 100 else numbers[:3]
        try:
            dt.date(year, month, day)
        except ValueError:
            return
        raise AssertionError(f"{value} is a possible date")
    elif kind == "negative_amount":
        assert value.startswith("-"), value
    elif kind == "non_numeric_amount":
        assert not re.fullmatch(r"-?\d+([.,]\d+)?", value), value
    elif kind == "out_of_range":
        low, high = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}[str(column)]
        assert not low <= int(value) <= high, value
    elif kind == "duplicate_row":
        assert record == previous
    elif kind != "unknown_sku":
        raise AssertionError(f"unexpected defect {kind}")


def test_every_defect_sits_at_its_stated_line(company: Company) -> None:
    defects = company.truth("defects").to_pylist()
    kinds = Counter(d["defect"] for d in defects)
    assert set(kinds) == {
        "missing_key",
        "invalid_email",
        "impossible_date",
        "negative_amount",
        "non_numeric_amount",
        "unknown_sku",
        "out_of_range",
        "duplicate_row",
    }
    by_file: dict[str, list[dict[str, object]]] = defaultdict(list)
    for d in defects:
        by_file[str(d["file"])].append(d)
    total_rows = sum(f.rows for f in company.report.files)
    assert 0.003 < len(defects) / total_rows < 0.012
    for path, listed in by_file.items():
        if path.endswith(".csv"):
            records = dict(company.records(path))
        else:
            # JSON Lines: compare the raw text, parse only the lines a defect points at.
            text = (company.root / path).read_text(encoding="utf-8").splitlines()
            wanted = {int(d["line"]) for d in listed}  # type: ignore[call-overload]
            wanted |= {line - 1 for line in wanted}
            records = {line: _flatten(text[line - 1]) for line in wanted if line >= 1}
        for d in listed:
            line = int(d["line"])  # type: ignore[call-overload]
            assert line in records, (path, line)
            _check_defect(d, records[line], records.get(line - 1))


def _flatten(line: str) -> dict[str, str]:
    """A JSON document as the defect checks read it: top-level values as text."""
    doc = json.loads(line)
    flat = {k: "" if v is None else str(v) for k, v in doc.items()}
    flat["__line__"] = line
    return flat


def test_the_truth_transactions_match_the_written_orders_and_receipts(company: Company) -> None:
    truth = {r["transaction_id"]: r for r in company.truth("transactions").to_pylist()}
    seen: set[str] = set()
    for _, order in company.json_lines(ORDERS):
        if order["order_id"] is None or not isinstance(order["total"], float | int):
            continue
        expected = truth[order["order_id"]]
        seen.add(order["order_id"])
        assert abs(order["total"]) == expected["total_local"]
        assert order["currency"] == expected["currency"]
    receipts: dict[str, float] = defaultdict(float)
    for r in company.truth("pos_lines").to_pylist():
        receipts[r["receipt_id"]] += r["true_line_amount"]
    lines_per_receipt = Counter(r["receipt_id"] for _, r in company.records(POS))
    for receipt, amount in receipts.items():
        expected = truth[receipt]
        # Duplicated lines are counted once per copy in the file, once in the truth total.
        if lines_per_receipt[receipt] == expected["lines"]:
            assert amount == pytest.approx(expected["total_local"])
        seen.add(receipt)
    assert len(seen) > 0.97 * len(truth)


def test_the_summary_in_the_truth_matches_the_transactions(company: Company) -> None:
    persons = company.truth("persons").to_pandas().set_index("person_id")
    txns = company.truth("transactions").to_pandas()
    counts = txns.groupby("person_id").size()
    assert (persons["calib_frequency"] == counts.reindex(persons.index) - 1).all()
    assert (persons["calib_T_weeks"] >= persons["calib_recency_weeks"]).all()
    assert (persons["calib_recency_weeks"] >= 0).all()
    dead = ~persons["alive_at_end"]
    assert (persons.loc[dead, "churn_risk"] == 1).all()
    assert not persons.loc[dead, "churned_in_holdout"].any()
    assert (persons.loc[dead, "holdout_purchases"] == 0).all()
    assert persons["churned_in_holdout"].any()
    assert (persons["holdout_value_eur"] > 0).sum() == (persons["holdout_purchases"] > 0).sum()


def test_the_planted_signal_shows(company: Company) -> None:
    txns = company.truth("transactions").to_pandas()
    online = txns[txns["channel"] != "store"]
    late_share = online.groupby("is_dropout_purchase")["late_days"].apply(lambda d: (d > 0).mean())
    assert late_share[True] > 2 * late_share[False]
    responses = company.truth("responses").to_pandas()
    orders = responses[responses["survey_type"] == "post_purchase"]
    assert (
        orders.loc[orders["delay_days"] > 0, "latent_score"].mean()
        < orders.loc[orders["delay_days"] == 0, "latent_score"].mean() - 1
    )
    interactions = company.truth("interactions").to_pandas()
    agree = (
        interactions["recorded_reason_code"].str[:4]
        == interactions["true_reason"].str[:4].str.upper()
    ).mean()
    assert 0.5 < agree < 0.95
    persons = company.truth("persons").to_pandas()
    frequency = persons.groupby("persona")["calib_frequency"].mean()
    assert frequency.max() > 3 * frequency.min()
    uplift = persons.groupby("uplift_segment")["true_uplift"].mean()
    assert uplift["persuadable"] > 0 > uplift["sleeping_dog"]
    assert np.isclose(uplift["sure_thing"], 0)
