"""Web and app behaviour as Segment-spec events (identify, track, page, screen, alias).

Each person browses from one or two browsers and maybe the app. A device stays anonymous (only
an ``anonymousId``) until the person logs in on it, at the first logged-in order or, in the app,
some time after opening an account; from then on its events carry the ``userId`` (the e-commerce
account id) too, and the login session has an ``identify`` call (plus an ``alias`` in the app).
Every web or app order has a session ending in ``Order Completed``; browsing sessions come and
go with the person's active life. Sessions are laid out fully vectorised: one row per event,
its kind decided by its position inside the session.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.demo import contact
from insightloop.demo.baskets import Baskets
from insightloop.demo.catalogue import CURRENCIES, SKUS_PER_CATEGORY, Catalogue
from insightloop.demo.defects import DefectLog, choose_defects
from insightloop.demo.fmt import (
    assemble,
    concat,
    format_datetime,
    int_str,
    jstr,
    money,
    take,
    uuid4,
)
from insightloop.demo.output import FileChunk, FileSpec
from insightloop.demo.params import CATEGORIES, COUNTRIES, PERSONAS
from insightloop.demo.population import Persons
from insightloop.demo.purchases import END_DAY, START_DAY, Transactions
from insightloop.demo.systems import Presence

__all__ = ["EventContext", "events_chunk"]

MS_PER_DAY = 86_400_000
SHOP = "https://shop.insightloop.example"
# Event kinds in the order they appear inside a session.
HOME, SEARCH, CATEGORY, VIEW, ADD, IDENTIFY, ALIAS, CHECKOUT, COMPLETED = range(9)
_USER_AGENTS = pa.array(
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Safari/605.1.15",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
    ]
)
_APP_CONTEXT = pa.array(
    [
        '"app":{"name":"Insightloop Shop","version":"5.2.1","build":"5210"},'
        '"device":{"type":"ios","model":"iPhone15,2"},"os":{"name":"iOS","version":"17.5"}',
        '"app":{"name":"Insightloop Shop","version":"5.2.0","build":"5200"},'
        '"device":{"type":"android","model":"Pixel 8"},"os":{"name":"Android","version":"14"}',
    ]
)
_APP_LIBRARY = pa.array(
    [
        '"library":{"name":"analytics-ios","version":"1.6.2"}',
        '"library":{"name":"analytics-android","version":"4.11.3"}',
    ]
)
_SEARCH_TERMS = pa.array(
    [
        "jacket",
        "gift",
        "coffee",
        "headphones",
        "lamp",
        "sneakers",
        "toys",
        "sale",
        "candle",
        "yoga",
        "present",
        "kaffe",
        "礼物",
    ]
)
_LOCALES = pa.array([c.locale for c in COUNTRIES])


@dataclass(frozen=True)
class EventContext:
    """Inputs of the event stream."""

    persons: Persons
    presence: Presence
    txns: Transactions
    baskets: Baskets
    catalogue: Catalogue
    alive: np.ndarray
    order_ids: pa.Array
    tag_modulus: int


def _devices(rng: np.random.Generator, ctx: EventContext) -> dict[str, np.ndarray]:
    persons, txns = ctx.persons, ctx.txns
    n = persons.n
    app_rate = np.array([pp.app_rate for pp in PERSONAS])[persons.persona]
    uses_app = (np.bincount(txns.person[txns.channel == 2], minlength=n) > 0) | (
        rng.random(n) < app_rate * 0.5
    )
    webs = 1 + (rng.random(n) < 0.35)
    count = webs + uses_app
    person = np.repeat(np.arange(n), count)
    rank = np.arange(len(person)) - (np.cumsum(count) - count)[person]
    kind = (rank >= webs[person]).astype(np.int64)  # 0 web, 1 app
    return {
        "person": person,
        "kind": kind,
        "first": np.cumsum(count) - count,
        "webs": webs,
        "uses_app": uses_app,
    }


def _sessions(
    rng: np.random.Generator, ctx: EventContext, dev: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    persons, txns, presence = ctx.persons, ctx.txns, ctx.presence
    online = np.flatnonzero(txns.channel > 0)
    o_person = txns.person[online]
    web_pick = (rng.random(len(online)) < 0.2) & (dev["webs"][o_person] > 1)
    o_device = np.where(
        txns.channel[online] == 2,
        dev["first"][o_person] + dev["webs"][o_person],
        dev["first"][o_person] + web_pick,
    )
    last_day = np.full(persons.n, END_DAY, dtype=np.float64)
    dead = np.flatnonzero(~ctx.alive)
    last_seen = np.full(persons.n, -np.inf)
    np.maximum.at(last_seen, txns.person, txns.day)
    last_day[dead] = np.minimum(last_seen[dead] + 60, END_DAY)
    begin = np.maximum(persons.t0 - 45, float(START_DAY))
    rate = np.array([pp.browse_per_year for pp in PERSONAS])[persons.persona]
    browses = rng.poisson(rate * (last_day - begin) / 365.25)
    b_person = np.repeat(np.arange(persons.n), browses)
    b_day = begin[b_person] + rng.random(len(b_person)) * (last_day - begin)[b_person]
    on_app = dev["uses_app"][b_person] & (rng.random(len(b_person)) < 0.6)
    second_web = (dev["webs"][b_person] > 1) & (rng.random(len(b_person)) < 0.3)
    b_device = dev["first"][b_person] + np.where(on_app, dev["webs"][b_person], second_web)
    return {
        "person": np.concatenate([o_person, b_person]),
        "device": np.concatenate([o_device, b_device]),
        "day": np.concatenate([txns.day[online], b_day]),
        "txn": np.concatenate([online, np.full(len(b_person), -1)]),
        "login": np.concatenate([~presence.guest[online], np.zeros(len(b_person), bool)]),
    }


def _identification(
    rng: np.random.Generator,
    ctx: EventContext,
    dev: dict[str, np.ndarray],
    ses: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Per session: the account row it is identified under (-1: anonymous), and whether it is
    the device's login session (the one with the identify call)."""
    presence = ctx.presence
    n_dev = len(dev["person"])
    since = np.full(n_dev, np.inf)
    logged = ses["login"]
    np.minimum.at(since, ses["device"][logged], ses["day"][logged])
    # App users with an account log in to the app some time after opening it, even if they
    # never order there.
    has_acc = np.zeros(ctx.persons.n, dtype=bool)
    has_acc[presence.acc_person] = True
    first_acc_day = np.full(ctx.persons.n, np.inf)
    np.minimum.at(first_acc_day, presence.acc_person, presence.acc_day)
    app_login = (dev["kind"] == 1) & has_acc[dev["person"]] & (rng.random(n_dev) < 0.7)
    later = first_acc_day[dev["person"]] + rng.random(n_dev) * 60
    since = np.where(app_login, np.minimum(since, later), since)

    identified = ses["day"] >= since[ses["device"]]
    identified &= ~((ses["txn"] >= 0) & ~ses["login"])  # guest checkouts stay anonymous
    order = np.lexsort((ses["day"], ses["device"]))
    first_ident = np.full(n_dev, -1, dtype=np.int64)
    idx = order[identified[order]]
    devices, first = np.unique(ses["device"][idx], return_index=True)
    first_ident[devices] = idx[first]
    is_login = np.zeros(len(identified), dtype=bool)
    is_login[first_ident[first_ident >= 0]] = True

    account = np.full(len(identified), -1, dtype=np.int64)
    from_txn = ses["txn"] >= 0
    account[from_txn] = presence.account[ses["txn"][from_txn]]
    # Browsing sessions use the newest account the person had opened by then.
    rows = np.flatnonzero(~from_txn & identified)
    acc_first = np.full(ctx.persons.n, -1, dtype=np.int64)
    acc_second = np.full(ctx.persons.n, -1, dtype=np.int64)
    positions = np.arange(len(presence.acc_person))
    is_second = np.zeros(len(positions), dtype=bool)
    is_second[1:] = presence.acc_person[1:] == presence.acc_person[:-1]
    acc_first[presence.acc_person[~is_second]] = positions[~is_second]
    acc_second[presence.acc_person[is_second]] = positions[is_second]
    p = ses["person"][rows]
    use_second = (acc_second[p] >= 0) & (
        ses["day"][rows] >= presence.acc_day[np.maximum(acc_second[p], 0)]
    )
    account[rows] = np.where(use_second, acc_second[p], acc_first[p])
    account = np.where(identified, account, -1)
    return account, is_login & (account >= 0)


def _layout(
    rng: np.random.Generator,
    ctx: EventContext,
    ses: dict[str, np.ndarray],
    is_login: np.ndarray,
    is_app: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events per session: (session of each event, kind, position within its kind)."""
    b = ctx.baskets
    n_ses = len(ses["person"])
    is_order = ses["txn"] >= 0
    line_count = np.diff(np.append(b.first_line, b.n_lines))
    n_lines = np.where(is_order, line_count[np.maximum(ses["txn"], 0)], 0)
    counts = np.zeros((n_ses, 9), dtype=np.int64)
    counts[:, HOME] = 1
    counts[:, SEARCH] = rng.random(n_ses) < 0.35
    counts[:, CATEGORY] = np.where(is_order, 0, rng.poisson(0.8, n_ses))
    counts[:, VIEW] = np.where(
        is_order, n_lines + rng.poisson(1.2, n_ses), 1 + rng.poisson(1.6, n_ses)
    )
    counts[:, ADD] = np.where(is_order, n_lines, rng.random(n_ses) < 0.15)
    counts[:, IDENTIFY] = is_login
    counts[:, ALIAS] = is_login & is_app & (rng.random(n_ses) < 0.5)
    counts[:, CHECKOUT] = is_order
    counts[:, COMPLETED] = is_order
    total = counts.sum(axis=1)
    session = np.repeat(np.arange(n_ses), total)
    position = np.arange(len(session)) - (np.cumsum(total) - total)[session]
    bounds = np.cumsum(counts, axis=1)
    kind = (position[:, None] >= bounds[session]).sum(axis=1)
    within = position - (bounds - counts)[session, kind]
    return session, kind, within


def _times(
    rng: np.random.Generator, ctx: EventContext, ses: dict[str, np.ndarray], session: np.ndarray
) -> np.ndarray:
    """UTC milliseconds of each event: seconds to minutes apart; an order session ends with the
    order itself, a browsing session starts at a daytime hour of its day."""
    n = len(session)
    gaps = rng.exponential(40_000.0, n).astype(np.int64) + 2_000
    starts = np.flatnonzero(np.diff(np.append(-1, session)))
    gaps[starts] = 0
    elapsed = np.cumsum(gaps)
    elapsed -= np.repeat(elapsed[starts], np.diff(np.append(starts, n)))
    session_len = np.zeros(len(ses["person"]), dtype=np.int64)
    np.maximum.at(session_len, session, elapsed)
    offsets = np.array([c.utc_offset_hours for c in COUNTRIES]) * 3_600_000
    codes = [c.code for c in COUNTRIES]
    shift = offsets[np.select([ctx.persons.country == c for c in codes], range(len(codes)))]
    day_int = np.floor(ses["day"]).astype(np.int64)
    hours = 7.0 + (ses["day"] - day_int) * 17.0
    browse_start = day_int * MS_PER_DAY + (hours * 3_600_000).astype(np.int64)
    browse_start -= shift[ses["person"]]
    order_end = ctx.baskets.utc_ms[np.maximum(ses["txn"], 0)]
    start = np.where(ses["txn"] >= 0, order_end - session_len, browse_start)
    return start[session] + elapsed


def events_chunk(rng: np.random.Generator, ctx: EventContext, spec: FileSpec) -> FileChunk:
    """The Segment events of this chunk's persons, sorted by time, for one part file."""
    persons, b, cat = ctx.persons, ctx.baskets, ctx.catalogue
    dev = _devices(rng, ctx)
    anon_pool = uuid4(rng, len(dev["person"]))
    ses = _sessions(rng, ctx, dev)
    account, is_login = _identification(rng, ctx, dev, ses)
    is_app_ses = dev["kind"][ses["device"]] == 1
    session, kind, within = _layout(rng, ctx, ses, is_login, is_app_ses)
    ts = _times(rng, ctx, ses, session)
    order = np.argsort(ts, kind="stable")
    session, kind, within, ts = session[order], kind[order], within[order], ts[order]
    n = len(session)
    person = ses["person"][session]
    txn = ses["txn"][session]
    app = is_app_ses[session]
    acc = account[session]

    first_txn = np.searchsorted(ctx.txns.person, np.arange(persons.n))
    currency = b.currency[np.minimum(first_txn, max(ctx.txns.n - 1, 0))]
    mix = np.array([pp.categories for pp in PERSONAS])[persons.persona[person]]
    fav = np.minimum(
        (rng.random(n)[:, None] > np.cumsum(mix, axis=1)).sum(axis=1), len(CATEGORIES) - 1
    )
    sku = fav * SKUS_PER_CATEGORY + rng.integers(0, SKUS_PER_CATEGORY, n)
    line_count = np.diff(np.append(b.first_line, b.n_lines))[np.maximum(txn, 0)]
    from_order = (txn >= 0) & ((kind == VIEW) | (kind == ADD)) & (within < line_count)
    line = np.minimum(b.first_line[np.maximum(txn, 0)] + within, max(b.n_lines - 1, 0))
    sku = np.where(from_order, b.line_sku[line], sku)
    qty = np.where(from_order, b.line_qty[line], 1)
    cur = take(pa.array(CURRENCIES), currency[person])
    user = pc.if_else(
        pa.array(acc >= 0),
        ctx.presence.acc_key.take(pa.array(np.maximum(acc, 0))),
        pa.nulls(n, pa.string()),
    )
    anon = anon_pool.take(pa.array(ses["device"][session]))

    def sub(values: pa.Array, rows: np.ndarray) -> pa.Array:
        return values.take(pa.array(rows))

    bodies: list[tuple[np.ndarray, pa.Array]] = []
    for k, name, path in ((HOME, "Home", ""), (CATEGORY, "Category", "c/")):
        rows = np.flatnonzero(kind == k)
        cat_name = (
            take(pa.array(CATEGORIES), fav[rows])
            if k == CATEGORY
            else pa.repeat(pa.scalar(""), len(rows))
        )
        web = concat(
            f',"name":"{name}","properties":{{"path":"/{path}',
            cat_name,
            f'","url":"{SHOP}/{path}',
            cat_name,
            f'","title":"{name}"}}',
        )
        screen = (
            concat(f',"name":"{name}","properties":{{"category":"', cat_name, '"}')
            if k == CATEGORY
            else pa.repeat(pa.scalar(f',"name":"{name}","properties":{{}}'), len(rows))
        )
        bodies.append((kind == k, pc.if_else(pa.array(app[rows]), screen, web)))
    rows = np.flatnonzero(kind == SEARCH)
    bodies.append(
        (
            kind == SEARCH,
            concat(
                ',"event":"Products Searched","properties":{"query":"',
                take(_SEARCH_TERMS, rng.integers(0, len(_SEARCH_TERMS), len(rows))),
                '"}',
            ),
        )
    )
    for k, event, extra in ((VIEW, "Product Viewed", "category"), (ADD, "Product Added", "qty")):
        rows = np.flatnonzero(kind == k)
        middle = (
            concat(',"category":"', take(pa.array(CATEGORIES), cat.category[sku[rows]]), '"')
            if extra == "category"
            else concat(',"quantity":', int_str(qty[rows]))
        )
        bodies.append(
            (
                kind == k,
                concat(
                    f',"event":"{event}","properties":{{"product_id":"',
                    take(cat.sku, sku[rows]),
                    '"',
                    middle,
                    ',"price":',
                    money(cat.local_cents[sku[rows], currency[person[rows]]]),
                    ',"currency":"',
                    sub(cur, rows),
                    '"}',
                ),
            )
        )
    for k, event, field in (
        (CHECKOUT, "Checkout Started", "value"),
        (COMPLETED, "Order Completed", "total"),
    ):
        rows = np.flatnonzero(kind == k)
        bodies.append(
            (
                kind == k,
                concat(
                    f',"event":"{event}","properties":{{"order_id":"',
                    ctx.order_ids.take(pa.array(txn[rows])),
                    f'","{field}":',
                    money(b.total_cents[txn[rows]]),
                    ',"currency":"',
                    sub(cur, rows),
                    '"}',
                ),
            )
        )
    rows = np.flatnonzero(kind == IDENTIFY)
    email = contact.email_at(persons, person[rows], ts[rows] / MS_PER_DAY, ctx.tag_modulus)
    first, last = contact.name_parts(rng, persons, person[rows], nickname=0.15)
    names = pc.if_else(
        pa.array(rng.random(len(rows)) < 0.7),
        concat(',"firstName":', jstr(first), ',"lastName":', jstr(last)),
        "",
    )
    bodies.append((kind == IDENTIFY, concat(',"traits":{"email":', jstr(email), names, "}")))
    bodies.append((kind == ALIAS, pa.repeat(pa.scalar(""), int((kind == ALIAS).sum()))))
    body = assemble(n, bodies)

    is_track = np.isin(kind, [SEARCH, VIEW, ADD, CHECKOUT, COMPLETED])
    type_code = np.select([kind == IDENTIFY, kind == ALIAS, is_track, app], [2, 3, 0, 4], 1)
    type_name = take(pa.array(["track", "page", "identify", "alias", "screen"]), type_code)
    ids = pc.if_else(
        pa.array(kind == ALIAS),
        concat(',"previousId":"', anon, '","userId":"', user, '"'),
        concat(',"anonymousId":"', anon, '"', pc.fill_null(concat(',"userId":"', user, '"'), "")),
    )
    traits_rows = np.flatnonzero(is_track & (acc >= 0) & (rng.random(n) < 0.08))
    traits = assemble(
        n,
        [
            (
                np.isin(np.arange(n), traits_rows),
                concat(
                    ',"traits":{"email":',
                    jstr(
                        contact.email_at(
                            persons,
                            person[traits_rows],
                            ts[traits_rows] / MS_PER_DAY,
                            ctx.tag_modulus,
                        )
                    ),
                    "}",
                ),
            )
        ],
    )
    device = ses["device"][session]
    # The SDK matches the device: _APP_CONTEXT's entries are the iOS and the Android app.
    library = pc.if_else(
        pa.array(app),
        take(_APP_LIBRARY, device % 2),
        '"library":{"name":"analytics.js","version":"4.1.0"}',
    )
    agent = pc.if_else(
        pa.array(app),
        concat(",", take(_APP_CONTEXT, device % 2)),
        concat(',"userAgent":"', take(_USER_AGENTS, device % len(_USER_AGENTS)), '"'),
    )
    codes = [c.code for c in COUNTRIES]
    country_pos = np.select([persons.country[person] == c for c in codes], range(len(codes)))
    context = concat(
        ',"context":{',
        library,
        ',"locale":"',
        take(_LOCALES, country_pos),
        '","ip":"203.0.113.',
        int_str(1 + device % 254),
        '"',
        agent,
        pc.fill_null(traits, ""),
        "}",
    )
    mid = uuid4(rng, n)
    line = concat(
        '{"type":"',
        type_name,
        '","messageId":"',
        mid,
        '","timestamp":"',
        format_datetime(ts, "YYYY-MM-DDThh:mm:ss.fffZ"),
        '"',
        ids,
        body,
        context,
        "}",
    )

    picks = choose_defects(rng, n, ("duplicate_row",))
    log = DefectLog()
    cols, origin = log.duplicate_rows(
        {"line": line, "anon": anon, "user": user, "mid": mid}, picks["duplicate_row"]
    )
    return FileChunk(
        spec,
        person[origin],
        lines=cols["line"],
        keys=[("anonymous_id", cols["anon"]), ("user_id", cols["user"])],
        defects=log,
    )
