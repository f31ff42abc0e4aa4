"""Masking personal data: what a role without the ``pii:read`` permission sees of a customer.

Masked are **names**, **contact details** (e-mail addresses, phone numbers), **addresses**
(street, postcode, city) and the date of birth, wherever they occur in a profile document (the
golden record, the source records, the identifier list, the keys of guest records and the field
provenance that names them), and **free text** (contact-centre notes, survey comments, also where
a summary quotes them). What is kept is what analysis needs and does not point at a person:
country and language, the domain of an e-mail address, the country calling code of a phone
number, ids, times, amounts and scores.

Masking returns new values and never changes its input.

Examples
--------
>>> mask_email("anna.berg@example.se"), mask_phone("+46701234567")
('***@example.se', '+46***')
>>> doc = {"customer_id": "c1", "golden": {"first_name": "Anna", "country": "SE"}}
>>> masked = mask_profile(doc)
>>> masked["golden"], masked["masked"]
({'first_name': '***', 'country': 'SE'}, True)
"""

from __future__ import annotations

import copy
from typing import Any

import phonenumbers

__all__ = ["MASK", "PERSONAL_ID_TYPES", "mask_email", "mask_phone", "mask_profile", "mask_summary"]

#: What a masked text value reads as.
MASK = "***"
#: Identifier types that are contact details: a role without ``pii:read`` neither sees them nor
#: looks customers up by them (a hit would confirm whose address or number it is).
PERSONAL_ID_TYPES = frozenset({"email", "phone"})

_TEXT = frozenset({"first_name", "last_name", "street", "postcode", "city"})
_DATES = frozenset({"birth_date"})
#: Free-text details of timeline entries.
_FREE_TEXT = frozenset({"notes", "comment"})
#: Guest and contact records whose key is the e-mail or phone itself.
_KEYED_BY = {"id:email": "email", "id:phone": "phone"}


def mask_email(value: str | None) -> str | None:
    """``***@domain``: the domain stays (a company address or a free mail service)."""
    if not value:
        return value
    _, at, domain = value.rpartition("@")
    return f"{MASK}@{domain}" if at and domain else MASK


def mask_phone(value: str | None) -> str | None:
    """``+<country code>***``: the country calling code stays."""
    if not value:
        return value
    text = value.strip()
    if text.startswith("+"):
        for size in (1, 2, 3):
            code = text[1 : 1 + size]
            if code.isdigit() and phonenumbers.region_code_for_country_code(int(code)) != "ZZ":
                return f"+{code}{MASK}"
    return MASK


def _mask_field(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "email":
        return mask_email(str(value))
    if name == "phone":
        return mask_phone(str(value))
    if name in _TEXT:
        return MASK
    if name in _DATES:
        return None
    return value


def _mask_fields(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: _mask_field(name, value) for name, value in fields.items()}


def _mask_entry(entry: dict[str, Any]) -> dict[str, Any]:
    details = entry.get("details") or {}
    if not any(details.get(k) for k in _FREE_TEXT):
        return entry
    out = dict(entry)
    out["details"] = {k: (MASK if k in _FREE_TEXT and v else v) for k, v in details.items()}
    summary = out.get("summary") or ""
    quote = summary.find(": “")
    if quote >= 0:  # a survey summary quotes the comment
        out["summary"] = summary[:quote] + f": “{MASK}”"
    return out


def _mask_key(entry: dict[str, Any]) -> dict[str, Any]:
    """A record or field provenance whose key is the e-mail or phone itself, key masked."""
    kind = _KEYED_BY.get(entry.get("source") or "")
    return {**entry, "key": _mask_field(kind, entry.get("key"))} if kind else entry


def mask_profile(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of profile document ``doc`` with its personal data masked (``masked`` true)."""
    out = copy.copy(doc)
    if isinstance(doc.get("golden"), dict):
        out["golden"] = _mask_fields(doc["golden"])
    if isinstance(doc.get("provenance"), dict):
        # A guest's golden e-mail comes from the guest record, whose key is the address.
        out["provenance"] = {
            name: _mask_key(entry) if isinstance(entry, dict) else entry
            for name, entry in doc["provenance"].items()
        }
    out["identifiers"] = [
        {**i, "value": _mask_field(i.get("type", ""), i.get("value"))}
        for i in doc.get("identifiers") or []
    ]
    out["records"] = [
        _mask_key({**record, "fields": _mask_fields(record.get("fields") or {})})
        for record in doc.get("records") or []
    ]
    out["timeline"] = [_mask_entry(e) for e in doc.get("timeline") or []]
    out["masked"] = True
    return out


def mask_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """A search hit (customer id and main golden fields) with its personal data masked."""
    return {name: _mask_field(name, value) for name, value in summary.items()}
