"""The source exports read back as their systems wrote them: encodings, delimiters, formats."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pyarrow.compute as pc
import pytest

from tests.demo.companies import Company

HQ = "sources/crm/customers_hq.csv"
NORDICS = "sources/crm/customers_nordics.csv"
CHINA = "sources/crm/customers_china.csv"
LOYALTY = "sources/loyalty/members.csv"
POS = "sources/pos/transactions.csv"
ORDERS = "sources/ecommerce/orders.jsonl"
HAN = re.compile(r"[\u4e00-\u9fff]")


def test_the_hq_export_is_utf8_with_a_byte_order_mark(company: Company) -> None:
    raw = (company.root / HQ).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.startswith("CustomerID,")
    assert company.spec(HQ)["encoding"] == "utf-8-sig"


def test_the_nordics_export_is_windows_1252_and_not_utf8(company: Company) -> None:
    raw = (company.root / NORDICS).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("cp1252")
    assert text.startswith("Kundnummer;Förnamn;Efternamn;")
    assert any(char in text for char in "åäöÅÄÖé")


def test_the_china_export_is_gb18030_with_han_names_and_pinyin_duplicates(
    company: Company,
) -> None:
    raw = (company.root / CHINA).read_bytes()
    text = raw.decode("gb18030")
    assert HAN.search(text)
    names = [record["name"] for _, record in company.records(CHINA)]
    assert sum(bool(HAN.search(n)) for n in names) > len(names) / 2
    # The same person appears once in Han characters and once in pinyin.
    values = company.truth("crm_values").filter(pc.field("file") == CHINA)
    record_map = company.truth("record_map").filter(pc.field("file") == CHINA).to_pylist()
    person_of = {r["source_key"]: r["person_id"] for r in record_map}
    spellings: dict[str, set[bool]] = {}
    for row in values.filter(pc.field("column") == "name").to_pylist():
        if row["source_key"] in person_of and row["value"]:
            person = person_of[row["source_key"]]
            spellings.setdefault(person, set()).add(bool(HAN.search(row["value"])))
    assert any(kinds == {True, False} for kinds in spellings.values())


@pytest.mark.parametrize("path", [HQ, NORDICS, CHINA, LOYALTY])
def test_master_data_decodes_to_exactly_the_truth_values(company: Company, path: str) -> None:
    truth = company.truth("crm_values").filter(pc.field("file") == path).to_pylist()
    expected = {(r["line"], r["column"]): r["value"] or "" for r in truth}
    seen = 0
    for line, record in company.records(path):
        for column, value in record.items():
            assert expected[(line, column)] == value, (path, line, column)
            seen += 1
    assert seen == len(expected)


def test_pos_lines_parse_with_semicolons_and_decimal_commas(company: Company) -> None:
    truth = {r["line"]: r for r in company.truth("pos_lines").to_pylist()}
    records = company.records(POS)
    assert len(records) == len(truth)
    assert company.spec(POS)["delimiter"] == ";"
    for line, record in records:
        expected = truth[line]
        assert float(record["unit_price"].replace(",", ".")) == pytest.approx(
            expected["unit_price"]
        )
        written = record["line_amount"]
        if expected["line_amount"] is None:
            with pytest.raises(ValueError, match="could not convert"):
                float(written.replace(",", "."))
        else:
            assert re.fullmatch(r"-?\d+,\d\d", written), written
            assert float(written.replace(",", ".")) == pytest.approx(expected["line_amount"])


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_events_follow_the_segment_spec(company: Company) -> None:
    message_ids: Counter[str] = Counter()
    types: Counter[str] = Counter()
    anonymous_then_known: set[str] = set()
    for path in company.event_files():
        for _, event in company.json_lines(path):
            kind = event["type"]
            types[kind] += 1
            assert isinstance(event["messageId"], str)
            message_ids[event["messageId"]] += 1
            _parse_time(event["timestamp"])
            assert isinstance(event["context"]["library"]["name"], str)
            if kind == "alias":
                assert event["previousId"]
                assert event["userId"]
                continue
            assert event.get("anonymousId") or event.get("userId")
            if kind == "track":
                assert isinstance(event["event"], str)
                assert isinstance(event["properties"], dict)
            elif kind in ("page", "screen"):
                assert isinstance(event["name"], str)
            elif kind == "identify":
                assert event["userId"]
                assert "@" in event["traits"]["email"]
                anonymous_then_known.add(event["anonymousId"])
    assert set(types) == {"track", "page", "screen", "identify", "alias"}
    events_per_customer = sum(types.values()) / company.report.customers
    assert 25 <= events_per_customer <= 60
    # Message ids are unique, except the planted duplicate deliveries.
    defects = company.truth("defects").filter(pc.field("defect") == "duplicate_row").to_pylist()
    planted = sum(1 for d in defects if d["file"].startswith("sources/events/"))
    assert sum(count - 1 for count in message_ids.values()) == planted
    assert planted > 0
    assert anonymous_then_known


def test_the_sdk_named_in_each_event_matches_its_device(company: Company) -> None:
    expected = {"iOS": "analytics-ios", "Android": "analytics-android"}
    seen = set()
    for path in company.event_files():
        for _, event in company.json_lines(path):
            context = event["context"]
            library = context["library"]["name"]
            if "os" in context:
                assert library == expected[context["os"]["name"]]
                seen.add(library)
            else:
                assert library == "analytics.js"
                assert "userAgent" in context
    assert seen == set(expected.values())


def test_devices_identify_after_anonymous_browsing_and_some_never_do(company: Company) -> None:
    first_seen: dict[str, bool] = {}
    identified: set[str] = set()
    for path in company.event_files():
        for _, event in sorted(company.json_lines(path), key=lambda e: e[1]["timestamp"]):
            anonymous = event.get("anonymousId") or event.get("previousId")
            first_seen.setdefault(anonymous, "userId" in event)
            if "userId" in event:
                identified.add(anonymous)
    started_anonymous = {a for a, known in first_seen.items() if not known}
    assert started_anonymous & identified
    assert started_anonymous - identified


def test_orders_are_json_lines_with_nested_items_and_returns(company: Company) -> None:
    orders = company.json_lines(ORDERS)
    assert orders
    catalogue = {r["sku"] for _, r in company.records("sources/products/catalogue.csv")}
    late = 0
    unknown: set[int] = set()
    for line, order in orders:
        assert order["currency"] in {"SEK", "GBP", "EUR", "USD", "CNY"}
        assert order["channel"] in {"web", "app"}
        assert order["items"]
        assert isinstance(order["returns"], list)
        keys = {"sku", "qty", "unit_price", "discount_pct", "discount", "returned_qty"}
        for item in order["items"]:
            assert set(item) == keys
            assert 0 <= item["returned_qty"] <= item["qty"]
        # The items' returned units are the order's returns (by count: a planted unknown SKU
        # replaces an item's SKU, not its return's).
        returned = sum(item["returned_qty"] for item in order["items"])
        assert returned == sum(r["qty"] for r in order["returns"])
        if order["delivered_at"] and (
            _parse_time(order["delivered_at"]).date().isoformat() > order["promised_delivery_date"]
        ):
            late += 1
        if not all(item["sku"] in catalogue for item in order["items"]):
            unknown.add(line)
    assert 0 < late < len(orders) / 4
    # Unknown SKUs are exactly the planted ones (and verbatim copies of those rows).
    defects = company.truth("defects").filter(pc.field("file") == ORDERS).to_pylist()
    planted = {d["line"] for d in defects if d["defect"] == "unknown_sku"}
    copies = {d["line"] for d in defects if d["defect"] == "duplicate_row"}
    assert planted
    assert planted <= unknown
    assert all(line - 1 in unknown and line in copies for line in unknown - planted)


def test_contact_notes_keep_their_line_breaks_and_languages(company: Company) -> None:
    records = company.records("sources/contact_centre/interactions.csv")
    notes = [r["notes"] for _, r in records]
    assert any("\n" in note for note in notes)
    assert any(HAN.search(note) for note in notes)
    assert any(ch in note for note in notes for ch in "åäö")
    codes = {r["reason_code"] for _, r in records}
    assert "OTHER" in codes
    assert len(codes) >= 6
