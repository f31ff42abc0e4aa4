"""The demo company's exports declared as insightloop sources: the ``[sources]`` table.

:func:`source_declarations` returns exactly what a user would write under ``[sources.<name>]`` in
``insightloop.toml`` to load every file :func:`~insightloop.demo.generate_company` writes: plain
dicts of strings, numbers, booleans and lists, ready for ``tomli_w.dumps({"sources": ...})`` or
``insightloop.ingest.sources.parse_sources``. The readers' detection is used where it works (the
HQ file's byte-order mark, delimiters, JSON Lines); encodings, delimiters, phone regions, date
formats, decimal commas and time zones are set where a real user would have to set them.

The demo package must not import the platform (an import-linter contract), so this module only
builds dicts; the tests check them with the platform against the ground truth.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Any

from insightloop.demo.geo import CITIES, STORES
from insightloop.demo.params import COUNTRIES

__all__ = [
    "analytics_declaration",
    "identity_declaration",
    "segment_declarations",
    "source_declarations",
    "store_countries",
    "store_time_zones",
]

_Path = Callable[[str], str]


def store_countries() -> dict[str, str]:
    """Store id -> ISO 3166-1 country of the store (the retailer's store list).

    Examples
    --------
    >>> store_countries()["S001"]
    'SE'
    """
    return {store_id: CITIES[city].country for store_id, city, _ in STORES}


def _fixed_zone(hours: int) -> str:
    # IANA's Etc zones count the other way: Etc/GMT-1 is one hour *ahead* of UTC.
    return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"


def store_time_zones() -> dict[str, str]:
    """Store id -> IANA time zone of the store's till clock.

    The demo's tills run on standard time all year (no daylight saving), so each country's
    zone is a fixed offset: Sweden UTC+1, the UK and Ireland UTC, the US UTC-5, China UTC+8.

    Examples
    --------
    >>> zones = store_time_zones()
    >>> zones["S001"], zones[max(zones)]
    ('Etc/GMT-1', 'Etc/GMT-8')
    """
    offset = {c.code: c.utc_offset_hours for c in COUNTRIES}
    return {store: _fixed_zone(offset[country]) for store, country in store_countries().items()}


# Phone problems that the normalisers report (phone_junk already warns by default).
_PHONE_CODES = (
    "phone_unparseable",
    "phone_missing_country_code",
    "phone_invalid_country_code",
    "phone_too_short",
    "phone_too_long",
    "phone_local_only",
    "phone_invalid",
)


def _phone_warnings() -> dict[str, Any]:
    """A customer record stays useful without its phone number: one the normalisers cannot
    read is left out (the original stays in ``phone_raw``) and counted as a warning, instead of
    quarantining the whole record."""
    severities = dict.fromkeys(_PHONE_CODES, "warn")
    return {"rules": [{"kind": "format", "severities": severities}]}


def source_declarations(company: str = "../company") -> dict[str, dict[str, Any]]:
    """The ``[sources]`` table declaring every file of a generated demo company.

    Parameters
    ----------
    company
        The company's output directory as seen from the workspace root (the demo lays out
        ``<dir>/company`` and ``<dir>/workspace``, hence ``../company``); absolute paths work.

    Returns
    -------
    dict
        Source name -> the settings of ``[sources.<name>]``.

    Examples
    --------
    >>> sources = source_declarations()
    >>> sources["crm_nordics"]["path"], sources["crm_nordics"]["read"]["encoding"]
    ('../company/sources/crm/customers_nordics.csv', 'cp1252')
    >>> sorted({s["entity"] for s in sources.values()})[:4]
    ['campaign_members', 'campaigns', 'consents', 'customers']
    """

    def path(relative: str) -> str:
        return posixpath.join(company, relative) if company else relative

    sources = {**_customers(path), **_sales(path), **_engagement(path)}
    return {name: {"kind": "file", **settings} for name, settings in sources.items()}


def _customers(path: _Path) -> dict[str, dict[str, Any]]:
    """The three CRM office exports and the loyalty programme: customer records."""
    return {
        "crm_hq": {
            "path": path("sources/crm/customers_hq.csv"),
            "entity": "customers",
            # UTF-8 with a byte-order mark, "," and quotes everywhere: all detected.
            "options": {
                "region": "GB",
                "day_first": True,
                "time_zone": "Europe/London",
            },
            "mapping": {
                "source_key": "CustomerID",
                "first_name": "FirstName",
                "last_name": "LastName",
                "email": "Email",
                "phone": "Phone",
                "street": "AddressLine1",
                "city": "City",
                "postcode": "Postcode",
                "country": "Country",
                "address_raw": {
                    "concat": ["AddressLine1", "City", "County", "Postcode", "Country"],
                    "sep": ", ",
                },
                "birth_date": {"column": "DateOfBirth", "formats": ["%d/%m/%Y"]},
                "created_at": {"column": "CreatedDate", "formats": ["%Y-%m-%d %H:%M:%S"]},
                "language": {"constant": "en"},
            },
            "contract": _phone_warnings(),
        },
        "crm_nordics": {
            "path": path("sources/crm/customers_nordics.csv"),
            "entity": "customers",
            # The readers guess legacy code pages from a sample, and guess this one right; a
            # user who knows the export's code page still says so (";" is detected).
            "read": {"encoding": "cp1252"},
            "options": {"region": "SE", "time_zone": "Europe/Stockholm"},
            "mapping": {
                "source_key": "Kundnummer",
                "first_name": "Förnamn",
                "last_name": "Efternamn",
                "email": "E-post",
                "phone": "Telefon",
                "street": "Gatuadress",
                "postcode": "Postnummer",
                "city": "Ort",
                "country": "Land",
                "address_raw": {"concat": ["Gatuadress", "Postnummer", "Ort"], "sep": ", "},
                "birth_date": {"column": "Födelsedatum", "formats": ["%Y-%m-%d"]},
                "created_at": {"column": "Registrerad", "formats": ["%Y-%m-%d"]},
                "language": {"constant": "sv"},
            },
            "contract": _phone_warnings(),
        },
        "crm_china": {
            "path": path("sources/crm/customers_china.csv"),
            "entity": "customers",
            "read": {"encoding": "gb18030"},
            "options": {"region": "CN", "time_zone": "Asia/Shanghai"},
            "mapping": {
                "source_key": "cust_no",
                # One field, family name first: split into first_name and last_name.
                "name_raw": "name",
                "gender": {"column": "gender", "value_map": {"男": "male", "女": "female"}},
                "email": "email",
                "phone": "mobile",
                "street": "address",
                "city": "city",
                "postcode": "postcode",
                "country": "country",
                "address_raw": {"concat": ["province", "city", "address"], "sep": ""},
                "birth_date": {"column": "birthday", "formats": ["%Y年%m月%d日"]},
                "created_at": {"column": "reg_time", "formats": ["%Y/%m/%d %H:%M"]},
                "language": {"constant": "zh"},
            },
            "contract": _phone_warnings(),
        },
        "loyalty_members": {
            "path": path("sources/loyalty/members.csv"),
            "entity": "customers",
            "mapping": {
                "source_key": "loyalty_no",
                "loyalty_number": "loyalty_no",
                "name_raw": "member_name",
                "email": "email",
                "phone": "mobile",
                "postcode": "zip",
                # Members live where they enrol: the store's country reads their phone numbers
                # and postcodes, which the till types in national form.
                "country": {
                    "column": "enrolment_store",
                    "value_map": store_countries(),
                    "strict_map": True,
                },
                "birth_date": {"column": "birth_date", "formats": ["%Y%m%d"]},
                "created_at": {
                    "column": "card_issued",
                    "formats": ["%d.%m.%Y"],
                    "time_zone": _store_zone("enrolment_store"),
                },
            },
            "contract": _phone_warnings(),
        },
    }


def _store_zone(column: str) -> dict[str, Any]:
    """A per-row time zone: the zone of the store in ``column``."""
    return {"column": column, "value_map": store_time_zones()}


def _sales(path: _Path) -> dict[str, dict[str, Any]]:
    """Web-shop orders and their lines, till receipts and their lines, the catalogue."""
    orders = path("sources/ecommerce/orders.jsonl")
    tills = path("sources/pos/transactions.csv")
    return {
        "web_orders": {
            "path": orders,
            "entity": "orders",
            "options": {"decimal_comma": False},
            "mapping": {
                "order_id": "order_id",
                "source_customer_key": "account_id",
                "channel": "channel",
                "ordered_at": "ordered_at",
                "currency": "currency",
                "total_amount": "total",
                "status": "status",
                "promised_delivery_at": "promised_delivery_date",
                "delivered_at": "delivered_at",
                "email": "email",
                "shipping_name": "shipping.name",
                "shipping_street": "shipping.street",
                "shipping_postcode": "shipping.postcode",
                "shipping_city": "shipping.city",
                "shipping_country": "shipping.country",
            },
            # Account ids are the web shop's own; no accounts export exists, so they never
            # match a customer record (identity resolution links them through e-mails and
            # the events' userId instead).
            "contract": {"disable": ["reference:source_customer_key"]},
        },
        "web_order_items": {
            "path": orders,
            "entity": "order_items",
            "explode": "items",
            "options": {"decimal_comma": False},
            "mapping": {
                "order_id": "order_id",
                "line_number": "items._position",
                "sku": "items.sku",
                "quantity": "items.qty",
                "unit_price": "items.unit_price",
                "discount_amount": "items.discount",
                "returned_quantity": "items.returned_qty",
            },
        },
        "pos_receipts": {
            "path": tills,
            "entity": "orders",
            # One row per receipt line: only the receipt's own fields are mapped, so the
            # further lines of a receipt are exact copies of its first and are skipped.
            "mapping": {
                "order_id": "receipt_id",
                "source_customer_key": "card_number",
                "channel": {"constant": "store"},
                "store_id": "store_id",
                "ordered_at": {
                    "column": "timestamp",
                    "formats": ["%Y-%m-%d %H:%M:%S"],
                    "time_zone": _store_zone("store_id"),
                },
                "currency": "currency",
            },
            # A line whose receipt fields disagree with its receipt's other lines (a broken
            # time stamp) repeats the receipt id: warn rather than reject the receipt, and
            # the same for receipts that span two batches.
            "contract": {
                "rules": [{"kind": "unique_key", "columns": ["order_id"], "severity": "warn"}]
            },
        },
        "pos_lines": {
            "path": tills,
            "entity": "order_items",
            # ";" and the decimal commas are detected; the amounts' convention is declared.
            "options": {"decimal_comma": True},
            "mapping": {
                "order_id": "receipt_id",
                "line_number": "line_no",
                "sku": "sku",
                "quantity": "qty",
                "unit_price": "unit_price",
                "line_amount": "line_amount",
                "discount_amount": "discount",
            },
        },
        "products": {
            "path": path("sources/products/catalogue.csv"),
            "entity": "products",
            "options": {"decimal_comma": False},
            "mapping": {
                "sku": "sku",
                "name": "product_name",
                "category": "category",
                "brand": "brand",
                "price": "list_price_eur",
                "unit_cost": "unit_cost_eur",
                "currency": {"constant": "EUR"},
                "active": "active",
            },
        },
    }


def _engagement(path: _Path) -> dict[str, dict[str, Any]]:
    """Events, contacts, surveys, campaigns and consents."""
    return {
        "events": {
            "path": path("sources/events/part-*.jsonl"),
            "entity": "events",
            "mapping": {
                "message_id": "messageId",
                "type": "type",
                "event": "event",
                "name": "name",
                "anonymous_id": "anonymousId",
                "user_id": "userId",
                "previous_id": "previousId",
                "timestamp": "timestamp",
                "properties": "properties",
                "traits": "traits",
                "context": "context",
            },
        },
        "contact_centre": {
            "path": path("sources/contact_centre/interactions.csv"),
            "entity": "interactions",
            "mapping": {
                "interaction_id": "interaction_id",
                "source_customer_key": "customer_no",
                "channel": "channel",
                # Customers contact the centre; it logs no outbound calls.
                "direction": {"constant": "inbound"},
                "reason": "reason_code",
                "agent_id": "agent_id",
                "started_at": "started_at",
                "duration_seconds": "duration_sec",
                "resolved": "resolved",
                "notes": "notes",
                "email": "email",
                # Numbers as callers give them (076-242 50 78, (212) 579-8161), read with the
                # countries of the agent's team: the English team serves the UK, Ireland and
                # the US.
                "phone": {
                    "column": "phone",
                    "region": {
                        "split": "agent_id",
                        "sep": "-",
                        "part": 1,
                        "value_map": {"SE": "SE", "EN": "GB,IE,US", "CN": "CN"},
                    },
                },
                # Agents work in language teams: AGT-SE-105, AGT-EN-122, AGT-CN-105.
                "language": {
                    "split": "agent_id",
                    "sep": "-",
                    "part": 1,
                    "value_map": {"SE": "sv", "EN": "en", "CN": "zh"},
                    "strict_map": True,
                },
            },
        },
        "surveys": {
            "path": path("sources/surveys/responses.csv"),
            "entity": "feedback",
            "mapping": {
                "response_id": "response_id",
                "source_customer_key": "customer_no",
                "survey_type": "survey_type",
                "responded_at": {"column": "responded_at", "formats": ["%Y-%m-%d %H:%M"]},
                "nps": "nps",
                "csat": "csat",
                "ces": "ces",
                "comment": "comment",
                "language": "language",
                "order_id": "order_id",
                "interaction_id": "interaction_id",
                "email": "respondent_email",
            },
        },
        "campaigns": {
            "path": path("sources/campaigns/campaigns.csv"),
            "entity": "campaigns",
            "mapping": {
                "campaign_id": "campaign_id",
                "name": "name",
                "channel": "channel",
                "objective": "offer",
                "start_at": "send_date",
                "control_share": "control_share",
            },
        },
        "campaign_members": {
            "path": path("sources/campaigns/members.csv"),
            "entity": "campaign_members",
            "mapping": {
                "campaign_id": "campaign_id",
                "source_customer_key": "customer_no",
                "group_name": "group",
                "sent_at": "sent_date",
                "responded": "responded",
                "responded_at": "response_date",
                "response_order_id": "response_order_id",
            },
        },
        "consents": {
            "path": path("sources/consents/consents.csv"),
            "entity": "consents",
            "mapping": {
                # The CRM number, or for a fifth of the rows the e-mail address.
                "source_customer_key": "customer_ref",
                "channel": "channel",
                "purpose": {"constant": "marketing"},
                "status": "status",
                "recorded_at": "recorded_at",
            },
        },
    }


def identity_declaration() -> dict[str, Any]:
    """The ``[identity]`` table for the demo company: what its transaction keys are.

    The tills scan the loyalty card, so a receipt's customer key is a loyalty number; the web
    shop's orders carry the account id that the events send as ``userId``. The CRM offices are
    trusted before the loyalty programme, whose names are typed at a till.
    """
    return {
        "customer_keys": {"pos_receipts": "loyalty_number", "web_orders": "user_id"},
        "source_priority": ["crm_hq", "crm_nordics", "crm_china", "loyalty_members"],
    }


def analytics_declaration() -> dict[str, Any]:
    """The ``[analytics]`` table for the demo company: it reports in euros, at the exchange rates
    its finance department uses for the other currencies it sells in.

    Examples
    --------
    >>> analytics_declaration()["exchange_rates"]["SEK"]
    0.087
    """
    rates = {c.currency: c.eur_per_unit for c in COUNTRIES if c.currency != "EUR"}
    return {"currency": "EUR", "exchange_rates": dict(sorted(rates.items()))}


def segment_declarations() -> dict[str, dict[str, Any]]:
    """Rule segments a marketer of the demo company would start with (the segment language of
    docs/segments.md, as plain dicts): valuable customers slipping away, recent multi-buyers,
    browsers who did not buy what they looked at, and unhappy survey respondents.

    Examples
    --------
    >>> sorted(segment_declarations())[:2]
    ['browsed-not-bought', 'recent-detractors']
    """
    return {
        "top-tier-at-risk": {
            "all": [
                {"attribute": "value_tier", "op": "eq", "value": "top"},
                {"attribute": "p_alive", "op": "lt", "value": 0.5},
            ]
        },
        "repeat-buyers-90d": {
            "behaviour": "orders",
            "within_days": 90,
            "count": {"op": "ge", "value": 2},
        },
        "browsed-not-bought": {
            "behaviour": "events",
            "where": [{"column": "event", "op": "eq", "value": "Product Viewed"}],
            "within_days": 30,
            "not_followed_by": {"behaviour": "purchases", "within_days": 14, "same": ["category"]},
        },
        "recent-detractors": {
            "behaviour": "feedback",
            "where": [{"column": "nps", "op": "le", "value": 6}],
            "within_days": 90,
        },
    }
