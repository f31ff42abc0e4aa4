"""Sales as the web shop and the store tills export them.

Web and app orders become JSON Lines documents with nested items and returns; store purchases
become semicolon-separated receipt lines with decimal commas, as a Swedish-configured till
exports them. The order and receipt numbers are what :mod:`insightloop.demo.truth` maps back to
persons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.demo import contact, geo
from insightloop.demo.baskets import Baskets
from insightloop.demo.catalogue import CURRENCIES, Catalogue
from insightloop.demo.defects import (
    DefectLog,
    choose_defects,
    impossible_dates,
    non_numeric,
    replace_rows,
)
from insightloop.demo.fmt import (
    chunk_seq,
    concat,
    format_datetime,
    int_str,
    jstr,
    keys,
    money,
    take,
)
from insightloop.demo.output import FILES, FileChunk
from insightloop.demo.population import Persons
from insightloop.demo.purchases import CHANNELS, Transactions
from insightloop.demo.systems import Presence

__all__ = ["SalesContext", "order_chunk", "pos_chunk", "transaction_ids"]

MS_PER_DAY = 86_400_000
_RETURN_REASONS = pa.array(
    ["too_small", "too_large", "damaged", "not_as_described", "changed_mind", "late_delivery"]
)
_PAYMENT = pa.array(["CARD", "CASH", "SWISH", "APPLE_PAY", "ALIPAY", "WECHAT_PAY"])
_ORDER_DEFECTS = (
    "missing_key",
    "negative_amount",
    "non_numeric_amount",
    "unknown_sku",
    "impossible_date",
    "duplicate_row",
)


@dataclass(frozen=True)
class SalesContext:
    """Inputs shared by the sales exports."""

    chunk: int
    persons: Persons
    presence: Presence
    txns: Transactions
    baskets: Baskets
    catalogue: Catalogue
    tag_modulus: int


def transaction_ids(chunk: int, txns: Transactions) -> pa.Array:
    """Order numbers (``WO…``) for online and receipt numbers (``R…``) for store purchases."""
    seq = chunk_seq(chunk, np.arange(txns.n))
    online = keys("WO", seq, 21)
    store = keys("R", seq, 22)
    return pc.if_else(pa.array(txns.channel == 0), store, online)


def _json_list(offsets: np.ndarray, fragments: pa.Array) -> pa.Array:
    lists = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), fragments)
    return concat("[", pc.binary_join(lists, ","), "]")


def _unknown_skus(rng: np.random.Generator, n: int) -> pa.Array:
    return concat(
        take(pa.array(["XX-", "FA-", "HO-"]), rng.integers(0, 3, n)),
        int_str(rng.integers(0, 10_000, n)),
        "Z",
    )


def order_chunk(rng: np.random.Generator, ctx: SalesContext, ids: pa.Array) -> FileChunk:
    """The web shop's order export for this chunk (web and app orders, JSON Lines)."""
    persons, presence, txns, b = ctx.persons, ctx.presence, ctx.txns, ctx.baskets
    rows = np.flatnonzero(txns.channel > 0)
    n = len(rows)
    person = txns.person[rows]
    defects = choose_defects(rng, n, _ORDER_DEFECTS)
    line_mask = np.isin(b.line_txn, rows)
    lines = np.flatnonzero(line_mask)
    line_order = np.searchsorted(rows, b.line_txn[lines])
    sku = take(ctx.catalogue.sku, b.line_sku[lines])
    bad_first = b.first_line[rows[defects["unknown_sku"]]]
    bad_pos = np.searchsorted(lines, bad_first)
    sku = replace_rows(sku, bad_pos, _unknown_skus(rng, len(bad_pos)))
    item = concat(
        '{"sku":"',
        sku,
        '","qty":',
        int_str(b.line_qty[lines]),
        ',"unit_price":',
        money(b.line_unit_cents[lines]),
        ',"discount_pct":',
        int_str(b.line_discount[lines]),
        ',"discount":',
        money(b.line_qty[lines] * (b.line_list_cents[lines] - b.line_unit_cents[lines])),
        ',"returned_qty":',
        int_str(np.where(b.line_returned[lines], b.line_qty[lines], 0)),
        "}",
    )
    counts = np.bincount(line_order, minlength=n)
    items = _json_list(np.concatenate([[0], np.cumsum(counts)]), item)

    ret = lines[b.line_returned[lines]]
    ret_order = np.searchsorted(rows, b.line_txn[ret])
    reason = np.where(b.late_days[b.line_txn[ret]] > 0, 5, rng.integers(0, 5, len(ret)))
    returned = concat(
        '{"sku":"',
        take(ctx.catalogue.sku, b.line_sku[ret]),
        '","qty":',
        int_str(b.line_qty[ret]),
        ',"returned_at":"',
        format_datetime(b.line_return_day[ret] * MS_PER_DAY, "YYYY-MM-DD"),
        '","reason":"',
        take(_RETURN_REASONS, reason),
        '"}',
    )
    ret_counts = np.bincount(ret_order, minlength=n)
    returns = _json_list(np.concatenate([[0], np.cumsum(ret_counts)]), returned)

    email = contact.email_at(persons, person, txns.day[rows], ctx.tag_modulus)
    email = contact.typo(rng, email, rng.random(n) < 0.01)
    first, last = contact.name_parts(rng, persons, person, nickname=0.1, typo_rate=0.01)
    name = contact.full_name(first, last, persons.language[person], rng)
    account = presence.account[rows]
    account_id = pc.if_else(
        pa.array(account >= 0),
        jstr(presence.acc_key.take(pa.array(np.maximum(account, 0))), escape=False),
        "null",
    )
    delivered = b.delivered_ms[rows]
    values = {
        "order_id": jstr(ids.take(pa.array(rows)), escape=False),
        "account_id": account_id,
        "email": jstr(email),
        "channel": jstr(take(pa.array(CHANNELS), txns.channel[rows]), escape=False),
        "currency": jstr(take(pa.array(CURRENCIES), b.currency[rows]), escape=False),
        "ordered_at": jstr(format_datetime(b.utc_ms[rows], "YYYY-MM-DDThh:mm:ssZ"), escape=False),
        "promised_delivery_date": jstr(
            format_datetime(b.promised_day[rows] * MS_PER_DAY, "YYYY-MM-DD"), escape=False
        ),
        "delivered_at": pc.if_else(
            pa.array(delivered >= 0),
            jstr(format_datetime(np.maximum(delivered, 0), "YYYY-MM-DDThh:mm:ssZ"), escape=False),
            "null",
        ),
        "status": jstr(pa.array(np.where(delivered >= 0, "delivered", "in_transit")), escape=False),
        "shipping": concat(
            '{"name":',
            jstr(name),
            ',"street":',
            jstr(
                geo.address_line(
                    persons.country[person],
                    persons.street[person],
                    persons.house[person],
                    persons.flat[person],
                )
            ),
            ',"postcode":',
            jstr(persons.postcode.take(pa.array(person))),
            ',"city":',
            jstr(take(geo.CITY_NAME, persons.city[person])),
            ',"country":"',
            pa.array(persons.country[person]),
            '"}',
        ),
        "items": items,
        "total": money(b.total_cents[rows]),
        "returns": returns,
    }
    log = DefectLog()
    values["order_id"] = replace_rows(
        values["order_id"],
        defects["missing_key"],
        pa.repeat(pa.scalar("null"), len(defects["missing_key"])),
    )
    log.add(defects["missing_key"], "missing_key", "order_id")
    neg = defects["negative_amount"]
    values["total"] = replace_rows(values["total"], neg, concat("-", values["total"].take(neg)))
    log.add(neg, "negative_amount", "total")
    bad = defects["non_numeric_amount"]
    values["total"] = replace_rows(values["total"], bad, jstr(non_numeric(rng, len(bad))))
    log.add(bad, "non_numeric_amount", "total")
    log.add(defects["unknown_sku"], "unknown_sku", "items.sku")
    when = defects["impossible_date"]
    values["ordered_at"] = replace_rows(
        values["ordered_at"],
        when,
        jstr(impossible_dates(rng, len(when), "YYYY-MM-DDThh:mm:ssZ", (2022, 2024)), escape=False),
    )
    log.add(when, "impossible_date", "ordered_at")

    parts: list[pa.Array | str] = []
    for i, (name_, value) in enumerate(values.items()):
        parts += [("{" if i == 0 else ",") + f'"{name_}":', value]
    line = concat(*parts, "}")
    order_key = pc.if_else(
        pa.array(np.isin(np.arange(n), defects["missing_key"])),
        pa.nulls(n, pa.string()),
        ids.take(pa.array(rows)),
    )
    acc_key = pc.if_else(
        pa.array(account >= 0),
        presence.acc_key.take(pa.array(np.maximum(account, 0))),
        pa.nulls(n, pa.string()),
    )
    cols, origin = log.duplicate_rows(
        {"line": line, "order": order_key, "account": acc_key}, defects["duplicate_row"]
    )
    return FileChunk(
        FILES["sources/ecommerce/orders.jsonl"],
        person[origin],
        lines=cols["line"],
        keys=[("order", cols["order"]), ("account", cols["account"])],
        defects=log,
    )


def pos_chunk(
    rng: np.random.Generator, ctx: SalesContext, ids: pa.Array
) -> tuple[FileChunk, dict[str, pa.Array]]:
    """The tills' receipt-line export (``;``-separated, decimal commas) and its true amounts."""
    presence, txns, b = ctx.presence, ctx.txns, ctx.baskets
    lines = np.flatnonzero(txns.channel[b.line_txn] == 0)
    n = len(lines)
    txn = b.line_txn[lines]
    person = txns.person[txn]
    line_no = lines - b.first_line[txn] + 1
    amount = b.line_qty[lines] * b.line_unit_cents[lines]
    discount = b.line_qty[lines] * (b.line_list_cents[lines] - b.line_unit_cents[lines])
    card = presence.card[txn]
    country = ctx.persons.country[person]
    pay = np.where(rng.random(n) < 0.12, 1, np.where(country == "SE", 2, 0))
    pay = np.where((country == "CN") & (rng.random(n) < 0.8), 4 + rng.integers(0, 2, n), pay)
    pay = np.where(np.isin(country, ["GB", "US", "IE"]) & (rng.random(n) < 0.3), 3, pay)
    # A receipt is paid one way: take the method drawn for its first line.
    pay = pay[np.searchsorted(txn, txn)]
    cols = {
        "receipt_id": ids.take(pa.array(txn)),
        "line_no": int_str(line_no),
        "store_id": take(geo.STORE_ID, presence.store[txn]),
        "timestamp": format_datetime(b.local_ms[txn], "YYYY-MM-DD hh:mm:ss"),
        "card_number": pc.if_else(
            pa.array(card >= 0),
            presence.card_key.take(pa.array(np.maximum(card, 0))),
            pa.nulls(n, pa.string()),
        ),
        "sku": take(ctx.catalogue.sku, b.line_sku[lines]),
        "qty": int_str(b.line_qty[lines]),
        "unit_price": money(b.line_unit_cents[lines], ","),
        "discount": money(discount, ","),
        "line_amount": money(amount, ","),
        "currency": take(pa.array(CURRENCIES), b.currency[txn]),
        "payment_method": take(_PAYMENT, pay),
    }
    written = amount / 100.0
    defects = choose_defects(rng, n, _ORDER_DEFECTS)
    log = DefectLog()
    gone = defects["missing_key"]
    cols["receipt_id"] = replace_rows(cols["receipt_id"], gone, pa.nulls(len(gone), pa.string()))
    log.add(gone, "missing_key", "receipt_id")
    neg = defects["negative_amount"]
    cols["line_amount"] = replace_rows(
        cols["line_amount"], neg, concat("-", cols["line_amount"].take(neg))
    )
    written[neg] = -written[neg]
    log.add(neg, "negative_amount", "line_amount")
    bad = defects["non_numeric_amount"]
    cols["line_amount"] = replace_rows(cols["line_amount"], bad, non_numeric(rng, len(bad)))
    written[bad] = np.nan
    log.add(bad, "non_numeric_amount", "line_amount")
    unknown = defects["unknown_sku"]
    cols["sku"] = replace_rows(cols["sku"], unknown, _unknown_skus(rng, len(unknown)))
    log.add(unknown, "unknown_sku", "sku")
    when = defects["impossible_date"]
    cols["timestamp"] = replace_rows(
        cols["timestamp"],
        when,
        impossible_dates(rng, len(when), "YYYY-MM-DD hh:mm:ss", (2022, 2024)),
    )
    log.add(when, "impossible_date", "timestamp")
    cols, origin = log.duplicate_rows(cols, defects["duplicate_row"])
    truth = {
        "receipt_id": ids.take(pa.array(txn[origin])),
        "line_no": pa.array(line_no[origin]),
        "qty": pa.array(b.line_qty[lines][origin]),
        "unit_price": pa.array(b.line_unit_cents[lines][origin] / 100.0),
        "discount": pa.array(discount[origin] / 100.0),
        "line_amount": pa.array(written[origin], from_pandas=True),
        "true_line_amount": pa.array(amount[origin] / 100.0),
        "currency": cols["currency"],
    }
    chunk = FileChunk(
        FILES["sources/pos/transactions.csv"],
        person[origin],
        cols,
        keys=[("receipt", cols["receipt_id"]), ("card", cols["card_number"])],
        defects=log,
    )
    return chunk, truth
