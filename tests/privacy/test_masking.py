"""Masking personal data (insightloop.privacy.masking): what a role without ``pii:read`` sees of
a profile document and a search hit."""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Any

import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from insightloop import Workspace
from insightloop.privacy import MASK, mask_email, mask_phone, mask_profile, mask_summary
from insightloop.profile import (
    ConsentState,
    FieldSource,
    Profile,
    ProfileIdentifier,
    SourceRecord,
    build_golden_records,
)
from insightloop.profile.documents import build_documents
from insightloop.profile.timeline import COLUMNS, entries
from tests.profile.people import CONFIG, insert, load_people

AT = datetime(2024, 3, 6, 18)
DOMAINS = ("example.se", "gmail.com", "qq.com", "example.fi")
CALLING_CODES = ("46", "1", "86", "358", "44")


def timeline(notes: str | None, comment: str | None) -> list[dict[str, Any]]:
    """An order, a contact with ``notes`` and a survey answer with ``comment``, as the
    timeline writes them."""
    rows = {kind: dict.fromkeys(columns) for kind, columns in COLUMNS.items()}
    rows["order"] |= {
        "order_id": "W-1", "channel": "web", "total_amount": 59.9, "currency": "SEK",
        "ordered_at": AT, "_source": "web_orders",
    }  # fmt: skip
    rows["interaction"] |= {
        "interaction_id": "I-1", "channel": "phone", "reason": "delivery", "notes": notes,
        "started_at": AT, "_source": "contact_centre",
    }  # fmt: skip
    rows["feedback"] |= {
        "response_id": "F-1", "survey_type": "post_purchase", "nps": 9, "comment": comment,
        "responded_at": AT, "_source": "surveys",
    }  # fmt: skip
    found = entries("order", [rows["order"]], {"W-1": {"units": 3, "lines": 2}})
    for kind in ("interaction", "feedback"):
        found += entries(kind, [rows[kind]])
    return [e.to_dict() for e in found]


def person(
    first: str = "Anna",
    last: str = "Svensson",
    email: str = "anna.svensson@example.se",
    phone: str = "+46701234567",
    street: str = "Storgatan 1",
    postcode: str = "11122",
    city: str = "Stockholm",
    notes: str | None = "Wants a call back on 0701234567",
    comment: str | None = "Anna here: the courier was rude",
) -> dict[str, Any]:
    """A profile document of a customer known to the CRM, as a guest (by e-mail, which her
    golden e-mail came from) and by phone."""
    fields = {
        "first_name": first, "last_name": last, "email": email, "phone": phone,
        "birth_date": date(1985, 4, 12), "street": street, "postcode": postcode, "city": city,
        "country": "SE", "language": "sv", "loyalty_number": "L-100",
    }  # fmt: skip
    profile = Profile(
        customer_id="C-1",
        **{k: v for k, v in fields.items() if k != "loyalty_number"},
        created_at=datetime(2019, 5, 1),
        provenance={
            "email": FieldSource("id:email", email, AT, "most_recent"),
            "first_name": FieldSource("crm", "CRM-1", AT, "most_frequent"),
        },
        identifiers=[
            ProfileIdentifier("customer_key", "CRM-1", 1),
            ProfileIdentifier("email", email, 2),
            ProfileIdentifier("loyalty_number", "L-100", 1),
            ProfileIdentifier("phone", phone, 1),
        ],
        records=[
            SourceRecord("crm", "CRM-1", fields, datetime(2019, 5, 1), None),
            SourceRecord("id:email", email, {}, AT, AT),
            SourceRecord("id:phone", phone, {}, AT, AT),
        ],
        consents=[ConsentState("email", "marketing", "granted", AT, "consents")],
    )
    doc = profile.to_dict()
    doc["timeline"] = timeline(notes, comment)
    doc |= {"timeline_counts": {"order": 1, "interaction": 1, "feedback": 1},
            "materialised_at": "2025-01-01T00:00:00+00:00", "masked": False}  # fmt: skip
    return doc


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("anna.berg@example.se", "***@example.se"),
        ("Anna+Shop@Gmail.com", "***@Gmail.com"),
        ('"a@b"@example.com', "***@example.com"),  # the last @ separates the domain
        ("no-at-sign", MASK),
        ("anna@", MASK),
        ("", ""),
        (None, None),
    ],
)
def test_an_email_keeps_only_its_domain(email: str | None, masked: str | None) -> None:
    assert mask_email(email) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+46701234567", "+46***"),
        ("+12025550123", "+1***"),
        ("+8613812345678", "+86***"),
        ("+358401234567", "+358***"),
        (" +44 20 7946 0958", "+44***"),
        ("+9991234567", MASK),  # no country has the calling code
        ("070-123 45 67", MASK),  # no calling code to keep
        ("0046701234567", MASK),
        ("", ""),
        (None, None),
    ],
)
def test_a_phone_keeps_only_its_country_calling_code(phone: str | None, masked: str | None) -> None:
    assert mask_phone(phone) == masked


def test_names_contacts_addresses_and_free_text_are_masked() -> None:
    masked = mask_profile(person())
    assert masked["golden"] == {
        "first_name": MASK, "last_name": MASK, "email": "***@example.se", "phone": "+46***",
        "birth_date": None, "street": MASK, "postcode": MASK, "city": MASK, "country": "SE",
        "language": "sv",
    }  # fmt: skip
    assert [(i["type"], i["value"]) for i in masked["identifiers"]] == [
        ("customer_key", "CRM-1"), ("email", "***@example.se"), ("loyalty_number", "L-100"),
        ("phone", "+46***"),
    ]  # fmt: skip
    crm, guest, caller = masked["records"]
    assert crm["fields"] == {**masked["golden"], "loyalty_number": "L-100"}
    assert (crm["source"], crm["key"]) == ("crm", "CRM-1")
    assert (guest["source"], guest["key"]) == ("id:email", "***@example.se")
    assert (caller["source"], caller["key"]) == ("id:phone", "+46***")
    assert masked["provenance"]["email"]["key"] == "***@example.se"  # a guest's e-mail
    assert masked["provenance"]["first_name"]["key"] == "CRM-1"
    assert masked["masked"] is True


def test_notes_and_comments_are_masked_also_where_a_summary_quotes_them() -> None:
    original = person()
    order, contact, survey = mask_profile(original)["timeline"]
    assert order == original["timeline"][0]  # nothing personal in an order
    assert order["summary"] == "Web order W-1: 3 items, 59.90 SEK"
    assert contact["details"]["notes"] == MASK
    assert contact["summary"] == original["timeline"][1]["summary"]
    assert survey["details"]["comment"] == MASK
    assert survey["summary"] == "Post-purchase survey: NPS 9: “***”"
    assert survey["details"]["nps"] == 9


def test_a_survey_without_comment_keeps_its_summary() -> None:
    original = person(notes=None, comment=None)
    masked = mask_profile(original)
    assert masked["timeline"] == original["timeline"]
    assert masked["timeline"][2]["summary"] == "Post-purchase survey: NPS 9"


def test_what_analysis_needs_is_kept() -> None:
    original = person()
    masked = mask_profile(original)
    for key in ("customer_id", "created_at", "updated_at", "consents", "timeline_counts",
                "materialised_at"):  # fmt: skip
        assert masked[key] == original[key]
    assert [e["details"].get("amount") for e in masked["timeline"]] == [59.9, None, None]
    assert [(e["at"], e["kind"], e["key"]) for e in masked["timeline"]] == [
        (e["at"], e["kind"], e["key"]) for e in original["timeline"]
    ]


def test_masking_leaves_its_input_unchanged() -> None:
    original = person()
    before = copy.deepcopy(original)
    masked = mask_profile(original)
    assert original == before
    assert masked != original
    assert mask_profile(masked) == masked  # masking twice changes nothing more


def test_a_partial_document_is_masked_too() -> None:
    assert mask_profile({"customer_id": "C-1"}) == {
        "customer_id": "C-1", "identifiers": [], "records": [], "timeline": [], "masked": True,
    }  # fmt: skip


def test_a_search_hit_is_masked() -> None:
    hit = {"customer_id": "C-1", "first_name": "Anna", "last_name": "Svensson",
           "email": "anna@example.se", "phone": "+46701234567", "city": "Malmö",
           "country": "SE"}  # fmt: skip
    assert mask_summary(hit) == {
        "customer_id": "C-1", "first_name": MASK, "last_name": MASK, "email": "***@example.se",
        "phone": "+46***", "city": MASK, "country": "SE",
    }  # fmt: skip
    assert mask_summary({**hit, "first_name": None})["first_name"] is None


# -- nothing personal survives ------------------------------------------------------------------


def leaks(masked: dict[str, Any], secrets: list[str]) -> list[str]:
    """The secrets (4 characters or more) that the masked document still holds somewhere."""
    text = orjson.dumps(masked).decode()
    return [s for s in secrets if len(s) >= 4 and orjson.dumps(s).decode()[1:-1] in text]


def names() -> st.SearchStrategy[str]:
    letters = st.characters(categories=("Lu", "Ll", "Lo"))
    return st.text(letters, min_size=1, max_size=20)


#: Everything a document, masked or not, holds besides its secrets: they may not hide in it.
_SKELETON = person("a", "b", "c@example.se", "+46", "d", "e", "f", "g", "h")
PUBLIC = " ".join([orjson.dumps(d).decode() for d in (_SKELETON, mask_profile(_SKELETON))])
PUBLIC += " ".join(DOMAINS)


@settings(max_examples=300, deadline=None)
@given(
    first=names(),
    last=names(),
    local=st.text("abcdefghijklmnopqrstuvwxyz0123456789._+-", min_size=1, max_size=20),
    domain=st.sampled_from(DOMAINS),
    code=st.sampled_from(CALLING_CODES),
    digits=st.text("0123456789", min_size=6, max_size=12),
    street=names(),
    postcode=st.text("0123456789ABCDEFGHJKLMNPRSTUVWXYZ ", min_size=1, max_size=8),
    city=names(),
    notes=st.text(min_size=1, max_size=120),
    comment=st.text(min_size=1, max_size=120),
)
def test_no_personal_value_survives_masking(
    first: str, last: str, local: str, domain: str, code: str, digits: str, street: str,
    postcode: str, city: str, notes: str, comment: str,
) -> None:  # fmt: skip
    email, phone = f"{local}@{domain}", f"+{code}{digits}"
    secrets = [first, last, local, digits, street, postcode, city, notes, comment[:79]]
    assume(not any(s in PUBLIC or s in domain for s in secrets))
    doc = person(first, last, email, phone, street, postcode, city, notes, comment)
    assert leaks(mask_profile(doc), secrets) == []


def test_no_personal_value_of_real_documents_survives_masking(
    duckdb_workspace: Workspace,
) -> None:
    """The documents of tests/profile/people.py and of a guest, as the engine builds them."""
    engine = duckdb_workspace.engine
    load_people(engine)
    insert(engine, "customer_map", [
        {"source": "id:email", "source_key": "dana.guest@example.com", "customer_id": "C-DANA"},
    ])  # fmt: skip
    insert(engine, "identifier_map", [
        {"id_type": "email", "id_value": "dana.guest@example.com", "customer_id": "C-DANA",
         "records": 1},
    ])  # fmt: skip
    insert(engine, "interactions", [
        {"_source": "contact_centre", "interaction_id": "I-9", "source_customer_key": "CRM-1",
         "started_at": datetime(2024, 3, 9), "notes": "Lives at Storgatan 1 with Bosse"},
    ])  # fmt: skip
    build_golden_records(engine, CONFIG, run_id="run-1")
    docs = [d for chunk in build_documents(engine, CONFIG) for d in chunk]
    assert docs[-1]["provenance"]["email"]["key"] == "dana.guest@example.com"
    secrets = [
        "Anna", "Svensson", "anna@example", "anna.old", "+46701234567", "701234567",
        "Storgatan", "11122", "Stockholm", "1985-04-12", "Carl", "carl@", "dana.guest",
        "Fast delivery", "Bosse",
    ]  # fmt: skip
    for doc in docs:
        masked = mask_profile(doc)
        assert leaks(masked, secrets) == [], doc["customer_id"]
        for ident, shown in zip(doc["identifiers"], masked["identifiers"], strict=True):
            hide = {"email": mask_email, "phone": mask_phone}.get(ident["type"])
            assert shown == {**ident, "value": hide(ident["value"]) if hide else ident["value"]}
