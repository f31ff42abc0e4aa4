"""Customer master data as the CRM offices and the loyalty programme export it.

The CRM has three offices, each with its own export: HQ (UK, Ireland, US; UTF-8 with BOM, all
fields quoted, day-first dates), the Nordics (Swedish headers, semicolons, Windows-1252) and China
(GB18030, Han names, dates written with 年月日). Duplicate records of one person carry nicknames,
typos, ASCII or pinyin spellings and the other of their e-mail addresses. Loyalty members are
keyed by the card number scanned at the tills; store staff often type a placeholder e-mail or
phone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.demo import contact, geo
from insightloop.demo.baskets import Baskets
from insightloop.demo.defects import (
    DefectLog,
    bad_emails,
    choose_defects,
    impossible_dates,
    replace_rows,
)
from insightloop.demo.fmt import format_datetime, int_str, take
from insightloop.demo.output import FILES, FileChunk
from insightloop.demo.population import Persons
from insightloop.demo.purchases import END_DAY, Transactions
from insightloop.demo.systems import Presence

__all__ = ["RecordContext", "crm_chunks", "loyalty_chunk"]

MS_PER_DAY = 86_400_000
# How HQ's agents typed the country: GB, IE, US (four spellings each).
_COUNTRY_NAMES = pa.array(
    [
        "United Kingdom",
        "UK",
        "GB",
        "England",
        "Ireland",
        "IE",
        "Republic of Ireland",
        "Ireland",
        "United States",
        "USA",
        "US",
        "United States",
    ]
)
_TIERS = pa.array(["Bronze", "Silver", "Gold", "Platinum"])
_TIER_LIMITS_EUR = np.array([250.0, 800.0, 2000.0])
_DEFECT_KINDS = ("invalid_email", "missing_key", "impossible_date", "duplicate_row")


@dataclass(frozen=True)
class RecordContext:
    """What the record builders need besides the persons."""

    persons: Persons
    presence: Presence
    txns: Transactions
    baskets: Baskets
    tag_modulus: int


def _email_column(
    ctx: RecordContext,
    rng: np.random.Generator,
    person: np.ndarray,
    day: np.ndarray,
    *,
    missing: float | np.ndarray,
    junk: float,
    junk_value: str,
    family: float,
) -> pa.Array:
    """E-mail as typed into a form on ``day``: missing, a junk placeholder, the partner's
    (a shared family address), or the person's own address of the time."""
    persons = ctx.persons
    n = len(person)
    u = rng.random(n)
    head = persons.household[person] - persons.start
    shared = (u < family) & (persons.hh_pos[person] > 0)
    owner = np.where(shared, head, person)
    own = contact.email_at(persons, owner, day, ctx.tag_modulus)
    junk_mask = (u >= family) & (u < family + junk)
    gone = (u >= family + junk) & (u < family + junk + missing)
    return contact.pick(
        n,
        [
            (gone, pa.nulls(n, pa.string())),
            (junk_mask, pa.repeat(pa.scalar(junk_value), n)),
            (np.ones(n, bool), own),
        ],
    )


def _phone_column(
    ctx: RecordContext,
    rng: np.random.Generator,
    person: np.ndarray,
    style_p: tuple[float, ...],
    *,
    landline: float,
    missing: float,
    junk: float,
) -> pa.Array:
    persons = ctx.persons
    n = len(person)
    style = rng.choice(len(style_p), size=n, p=np.asarray(style_p) / sum(style_p))
    u = rng.random(n)
    use_landline = (u < landline) & persons.has_landline[person]
    gone = (u >= landline) & (u < landline + missing)
    junk_mask = (u >= landline + missing) & (u < landline + missing + junk)
    junk_values = take(pa.array(contact.JUNK_PHONES), rng.integers(0, 2, n))
    return contact.pick(
        n,
        [
            (gone, pa.nulls(n, pa.string())),
            (junk_mask, junk_values),
            (use_landline, contact.landline_of(persons, person, style)),
            (np.ones(n, bool), contact.mobile_of(persons, person, style)),
        ],
    )


def _drop(rng: np.random.Generator, values: pa.Array, rate: float) -> pa.Array:
    gone = pa.array(rng.random(len(values)) < rate)
    return pc.if_else(gone, pa.nulls(len(values), values.type), values)


def _finish(
    rng: np.random.Generator,
    chunk: FileChunk,
    key: str,
    email: str | None,
    date: tuple[str, str] | None,
) -> FileChunk:
    """Plant the defects of a master-data file and insert its exact duplicate rows."""
    assert chunk.columns is not None
    cols = chunk.columns
    picks = choose_defects(rng, chunk.rows, _DEFECT_KINDS)
    log = DefectLog()
    if email is not None:
        rows = picks["invalid_email"][np.asarray(pc.is_valid(cols[email]))[picks["invalid_email"]]]
        cols[email] = replace_rows(cols[email], rows, bad_emails(rng, cols[email].take(rows)))
        log.add(rows, "invalid_email", email)
    cols[key] = replace_rows(
        cols[key], picks["missing_key"], pa.nulls(len(picks["missing_key"]), pa.string())
    )
    log.add(picks["missing_key"], "missing_key", key)
    if date is not None:
        rows = picks["impossible_date"]
        cols[date[0]] = replace_rows(cols[date[0]], rows, impossible_dates(rng, len(rows), date[1]))
        log.add(rows, "impossible_date", date[0])
    new_cols, origin = log.duplicate_rows(cols, picks["duplicate_row"])
    chunk.columns = new_cols
    chunk.person = chunk.person[origin]
    chunk.defects = log
    chunk.keys = [(entity, new_cols[key]) for entity, _ in chunk.keys]
    return chunk


def crm_chunks(rng: np.random.Generator, ctx: RecordContext) -> list[FileChunk]:
    """The three CRM office exports of this chunk's persons."""
    persons, presence = ctx.persons, ctx.presence
    person = presence.crm_person
    dup = presence.crm_duplicate
    n = len(person)
    nick = np.where(dup, 0.35, 0.03)
    ascii_ = np.where(dup, np.where(persons.language[person] == "zh", 0.5, 0.3), 0.03)
    ascii_ = np.where(~dup & (persons.language[person] == "zh"), 0.0, ascii_)
    first, last = contact.name_parts(
        rng,
        persons,
        person,
        nickname=nick,
        ascii_=ascii_,
        typo_rate=np.where(dup, 0.25, 0.02),
        upper=np.where(dup, 0.1, 0.02),
    )
    updated = ~dup & (rng.random(n) < 0.3)
    day = np.where(updated, float(END_DAY), presence.crm_day)
    # A duplicate often carries the address the person did not give the first time.
    change = persons.email_change[person]
    flip = dup & (rng.random(n) < 0.5) & np.isfinite(change)
    day = np.where(
        flip & (day >= change),
        persons.t0[person],
        np.where(flip & (day < change), float(END_DAY), day),
    )
    email = _email_column(
        ctx,
        rng,
        person,
        day,
        missing=np.where(dup, 0.15, 0.04),
        junk=0.005,
        junk_value=contact.JUNK_EMAILS[1],
        family=0.05,
    )
    country = persons.country[person]
    street = geo.address_line(
        country, persons.street[person], persons.house[person], persons.flat[person]
    )
    postcode = persons.postcode.take(pa.array(person))
    city = take(geo.CITY_NAME, persons.city[person])
    region = take(geo.CITY_REGION, persons.city[person])
    dob_ms = persons.dob[person] * MS_PER_DAY
    created_ms = (presence.crm_day * MS_PER_DAY).astype(np.int64)
    chunks = []

    hq = np.flatnonzero(np.isin(country, ["GB", "IE", "US"]))
    sel = pa.array(hq)
    country_pos = np.select([country[hq] == "GB", country[hq] == "IE"], [0, 1], 2)
    names = take(_COUNTRY_NAMES, country_pos * 4 + rng.integers(0, 4, len(hq)))
    cols = {
        "CustomerID": presence.crm_key.take(sel),
        "FirstName": first.take(sel),
        "LastName": last.take(sel),
        "Email": email.take(sel),
        "Phone": _phone_column(
            ctx, rng, person[hq], (3, 3, 2, 1, 1), landline=0.15, missing=0.08, junk=0.005
        ),
        "AddressLine1": street.take(sel),
        "City": city.take(sel),
        "County": region.take(sel),
        "Postcode": postcode.take(sel),
        "Country": names,
        "DateOfBirth": _drop(rng, format_datetime(dob_ms[hq], "DD/MM/YYYY"), 0.12),
        "CreatedDate": format_datetime(created_ms[hq], "YYYY-MM-DD hh:mm:ss"),
    }
    chunks.append(
        _finish(
            rng,
            FileChunk(
                FILES["sources/crm/customers_hq.csv"],
                person[hq],
                cols,
                keys=[("customer", cols["CustomerID"])],
            ),
            "CustomerID",
            "Email",
            ("DateOfBirth", "DD/MM/YYYY"),
        )
    )

    se = np.flatnonzero(country == "SE")
    sel = pa.array(se)
    compact = pa.array(rng.random(len(se)) < 0.3)
    cols = {
        "Kundnummer": presence.crm_key.take(sel),
        "Förnamn": first.take(sel),
        "Efternamn": last.take(sel),
        "E-post": email.take(sel),
        "Telefon": _phone_column(
            ctx, rng, person[se], (1, 6, 2, 1, 0.5), landline=0.2, missing=0.06, junk=0.005
        ),
        "Gatuadress": street.take(sel),
        "Postnummer": pc.if_else(
            compact, pc.replace_substring(postcode.take(sel), " ", ""), postcode.take(sel)
        ),
        "Ort": city.take(sel),
        "Land": pa.repeat(pa.scalar("Sverige"), len(se)),
        "Födelsedatum": _drop(rng, format_datetime(dob_ms[se], "YYYY-MM-DD"), 0.12),
        "Registrerad": format_datetime(created_ms[se], "YYYY-MM-DD"),
    }
    chunks.append(
        _finish(
            rng,
            FileChunk(
                FILES["sources/crm/customers_nordics.csv"],
                person[se],
                cols,
                keys=[("customer", cols["Kundnummer"])],
            ),
            "Kundnummer",
            "E-post",
            ("Födelsedatum", "YYYY-MM-DD"),
        )
    )

    cn = np.flatnonzero(country == "CN")
    sel = pa.array(cn)
    gender = take(pa.array(["女", "男"]), persons.sex[person[cn]])
    cols = {
        "cust_no": presence.crm_key.take(sel),
        "name": contact.full_name(
            first.take(sel), last.take(sel), persons.language[person[cn]], rng
        ),
        "gender": _drop(rng, gender, 0.1),
        "mobile": _phone_column(
            ctx, rng, person[cn], (1, 7, 2, 1, 1), landline=0.08, missing=0.04, junk=0.005
        ),
        "email": email.take(sel),
        "province": region.take(sel),
        "city": city.take(sel),
        "address": street.take(sel),
        "postcode": postcode.take(sel),
        "country": pa.repeat(pa.scalar("中国"), len(cn)),
        "birthday": _drop(rng, format_datetime(dob_ms[cn], "YYYY年MM月DD日"), 0.15),
        "reg_time": format_datetime(created_ms[cn], "YYYY/MM/DD hh:mm"),
    }
    chunks.append(
        _finish(
            rng,
            FileChunk(
                FILES["sources/crm/customers_china.csv"],
                person[cn],
                cols,
                keys=[("customer", cols["cust_no"])],
            ),
            "cust_no",
            "email",
            ("birthday", "YYYY年MM月DD日"),
        )
    )
    return chunks


def loyalty_chunk(rng: np.random.Generator, ctx: RecordContext) -> FileChunk:
    """The loyalty programme's member export: one row per card ever issued."""
    persons, presence, txns, baskets = ctx.persons, ctx.presence, ctx.txns, ctx.baskets
    person = presence.card_person
    n = len(person)
    first, last = contact.name_parts(
        rng, persons, person, nickname=0.1, ascii_=0.15, typo_rate=0.04, upper=0.15
    )
    spend = np.bincount(txns.person, weights=baskets.value_eur, minlength=persons.n)
    last_day = np.full(persons.n, -np.inf)
    np.maximum.at(last_day, txns.person, txns.day)
    replaced = np.zeros(n, dtype=bool)
    replaced[:-1] = person[1:] == person[:-1]
    status = np.where(
        replaced, "replaced", np.where(last_day[person] >= END_DAY - 365, "active", "lapsed")
    )
    tier = np.searchsorted(_TIER_LIMITS_EUR, spend[person])
    points = np.where(replaced, 0, (spend[person] * 10 * rng.uniform(0.2, 0.6, n)).astype(int))
    compact = pa.array(rng.random(n) < 0.5)
    postcode = persons.postcode.take(pa.array(person))
    cols = {
        "loyalty_no": presence.card_key,
        "member_name": contact.full_name(first, last, persons.language[person], rng),
        "email": _email_column(
            ctx,
            rng,
            person,
            presence.card_day,
            missing=0.1,
            junk=0.12,
            junk_value=contact.JUNK_EMAILS[0],
            family=0.03,
        ),
        "mobile": _phone_column(
            ctx, rng, person, (2, 2, 2, 1, 1), landline=0.03, missing=0.08, junk=0.06
        ),
        "zip": pc.if_else(compact, pc.replace_substring(postcode, " ", ""), postcode),
        "birth_date": _drop(
            rng, format_datetime(persons.dob[person] * MS_PER_DAY, "YYYYMMDD"), 0.4
        ),
        "card_issued": format_datetime(
            (presence.card_day * MS_PER_DAY).astype(np.int64), "DD.MM.YYYY"
        ),
        "enrolment_store": take(geo.STORE_ID, presence.card_store),
        "tier": take(_TIERS, tier),
        "points_balance": int_str(points),
        "status": pa.array(status, pa.string()),
    }
    chunk = FileChunk(
        FILES["sources/loyalty/members.csv"], person, cols, keys=[("card", cols["loyalty_no"])]
    )
    return _finish(rng, chunk, "loyalty_no", "email", ("card_issued", "DD.MM.YYYY"))
