"""Customer measures at scale against one hand-written query: ``python -m benchmarks.measures``.

1. **Data**: a DuckDB workspace (``Workspace.init``) filled directly with SQL from ``range()``
   and seeded hashes (no Python loop over rows): ``--customers`` golden customers with their
   customer key, user id, e-mail, phone and (some) device id in ``identifier_map``; about 8
   orders per customer (exponentially skewed, 3 years, EUR/SEK/CNY, web/app/store, discounts,
   returns, late deliveries, a few cancelled), 2 lines per order from 5,000 products (10% of
   them with a newer catalogue row), ``--events-per-customer`` web and app events (50:
   ``Product Viewed`` and others, JSON properties with the category), 2 contact-centre
   interactions, 0.5 survey responses and 1 campaign membership per customer. Some rows are
   keyed by e-mail, phone or device id only, and some belong to no known customer. Kept in
   ``--data`` (default ``benchmarks/results/measures-<size>``); ``--reuse`` takes it from there.
2. **Side by side**, each in its own child process with DuckDB on 2 threads, on a copy of the
   workspace: (a) ``build_measures`` as of the newest day (everything the step writes:
   ``customer_measures``, cut points, definitions, tier summary) with the engine setting
   ``[engine] threads = 2``, each engine call timed; (b) one hand-written ``CREATE TABLE ... AS``
   computing the same aggregates (:data:`HAND_SQL`) on a plain ``duckdb`` connection with
   ``SET threads = 2``. The parent reports each child's wall time and peak RSS (``wait4``), the
   time of the call itself, the ratio (a)/(b), and the columns on which the two disagree for a
   sample of customers. ``--pipeline`` also times (a) without ``as_of``, as the ``measures`` step
   calls it (the as-of day is found from the data first).

``--explain`` also profiles both main queries in one more child (DuckDB's JSON profile, kept in
the data folder as ``profile-*.json``, the slowest operators in ``explain.json``), to show where
the time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.machine import machine_info

RESULTS_DIR = Path(__file__).parent / "results"
#: The newest data is on this day; the measures are computed as of it.
AS_OF = date(2026, 6, 30)
END = "2026-07-01 00:00:00"  # the first instant after the as-of day
NOW = datetime(2026, 7, 1, 6, 0)
RATES = {"SEK": 0.087, "CNY": 0.128}
THREADS = 2
SAMPLE = 20_000

# -- the data -----------------------------------------------------------------------------------

# Pseudo-random numbers in [0, 1) from a hash of the row's keys and a salt: the same on any
# number of threads (DuckDB's random() is not), and no Python loop touches a row.
_MACROS = """
CREATE OR REPLACE TEMP MACRO u(k, salt) AS
    ((hash(k, salt, getvariable('seed')) >> 11)::DOUBLE / 9007199254740992.0);
CREATE OR REPLACE TEMP MACRO u2(k, j, salt) AS
    ((hash(k, j, salt, getvariable('seed')) >> 11)::DOUBLE / 9007199254740992.0);
CREATE OR REPLACE TEMP MACRO u3(k, j, l, salt) AS
    ((hash(k, j, l, salt, getvariable('seed')) >> 11)::DOUBLE / 9007199254740992.0);
CREATE OR REPLACE TEMP MACRO cid(i) AS 'cus_' || lpad(i::VARCHAR, 9, '0');
CREATE OR REPLACE TEMP MACRO secs(x) AS to_seconds(x::BIGINT);
CREATE OR REPLACE TEMP MACRO cat(x) AS
    ['toys', 'games', 'books', 'garden', 'kitchen', 'home', 'beauty', 'sports', 'outdoor',
     'electronics', 'audio', 'phones', 'baby', 'pets', 'food', 'drinks', 'fashion', 'shoes',
     'jewellery', 'office'][1 + least(floor(x * 20)::BIGINT, 19)];
"""

_GENERATE = [
    # Per customer: country, currency, when they came, when they stopped, how many orders.
    """
    CREATE TEMP TABLE c AS
    SELECT i, country,
           CASE country WHEN 'SE' THEN 'SEK' WHEN 'CN' THEN 'CNY' ELSE 'EUR' END AS currency,
           CASE country WHEN 'SE' THEN 11.5 WHEN 'CN' THEN 7.8 ELSE 1.0 END AS factor,
           created_at, active_from,
           CASE WHEN u(i, 3) < 0.35
                THEN active_from
                     + secs(u(i, 4) * (epoch(TIMESTAMP '2026-07-01') - epoch(active_from)))
                ELSE TIMESTAMP '2026-06-30 23:59:00' END AS active_until,
           floor(-8.49 * ln(1 - u(i, 5)))::BIGINT AS n_orders
    FROM (
        SELECT i,
               CASE WHEN u(i, 1) < 0.35 THEN 'SE' WHEN u(i, 1) < 0.55 THEN 'CN'
                    WHEN u(i, 1) < 0.80 THEN 'DE' WHEN u(i, 1) < 0.90 THEN 'FR' ELSE 'NL' END
                   AS country,
               TIMESTAMP '2021-07-01' + secs(u(i, 2) * 1795 * 86400) AS created_at,
               greatest(TIMESTAMP '2021-07-01' + secs(u(i, 2) * 1795 * 86400),
                        TIMESTAMP '2023-07-01') AS active_from
        FROM range(getvariable('customers')) t(i)
    )
    """,
    """
    INSERT INTO customers (customer_id, country, created_at, updated_at)
    SELECT cid(i), country, created_at, created_at FROM c
    """,
    """
    INSERT INTO identifier_map (id_type, id_value, customer_id, records, rule, run_id)
    SELECT 'customer_key', 'C' || i, cid(i), 1, 'bench', 'bench' FROM c
    UNION ALL SELECT 'email', 'c' || i || '@mail.example', cid(i), 1, 'bench', 'bench' FROM c
    UNION ALL SELECT 'user_id', 'u' || i, cid(i), 1, 'bench', 'bench' FROM c
    UNION ALL SELECT 'phone', '+4670' || lpad(i::VARCHAR, 9, '0'), cid(i), 1, 'bench', 'bench'
        FROM c WHERE u(i, 6) < 0.8
    UNION ALL SELECT 'anonymous_id', 'a' || i, cid(i), 1, 'bench', 'bench'
        FROM c WHERE u(i, 7) < 0.6
    """,
    # 5,000 products; one in ten has a newer catalogue row with another cost.
    """
    CREATE TEMP TABLE p AS
    SELECT k, 'SKU' || lpad(k::VARCHAR, 5, '0') AS sku, cat(u(k, 101)) AS category,
           round(exp(1.5 + 2.0 * u(k, 102)), 2) AS price, 0.4 + 0.3 * u(k, 103) AS cost_share
    FROM range(5000) t(k)
    """,
    """
    INSERT INTO products (sku, name, category, price, unit_cost, currency, active, _source,
                          _batch_id, _loaded_at)
    SELECT sku, 'Product ' || k, category, price, round(price * cost_share, 2), 'EUR', true,
           'catalogue', 'bench', TIMESTAMP '2023-06-01' FROM p
    UNION ALL
    SELECT sku, 'Product ' || k, category, price, round(price * (cost_share + 0.05), 2), 'EUR',
           true, 'catalogue', 'bench2', TIMESTAMP '2025-06-01' FROM p WHERE u(k, 104) < 0.1
    """,
    # Orders: when, where, how they were keyed; lines and totals follow.
    """
    CREATE TEMP TABLE o AS
    SELECT i, j, 'O' || i || '-' || j AS order_id, currency, factor, ordered_at, channel,
           CASE WHEN r_status < 0.02 THEN 'cancelled' WHEN r_status < 0.025 THEN 'VOID'
                WHEN r_status < 0.105 THEN 'returned' ELSE 'completed' END AS status,
           r_key, u2(i, j, 13) AS r_discount, u2(i, j, 14) AS r_late
    FROM (
        SELECT i, j, currency, factor,
               active_from + secs(u2(i, j, 11)
                   * (epoch(active_until) - epoch(active_from))) AS ordered_at,
               CASE WHEN u2(i, j, 12) < 0.5 THEN 'web' WHEN u2(i, j, 12) < 0.75 THEN 'app'
                    ELSE 'store' END AS channel,
               u2(i, j, 15) AS r_status, u2(i, j, 16) AS r_key
        FROM (SELECT i, currency, factor, active_from, active_until,
                     unnest(range(n_orders)) AS j FROM c)
    )
    """,
    """
    INSERT INTO order_items (order_id, line_number, sku, quantity, unit_price, line_amount,
                             returned_quantity, _source, _batch_id, _loaded_at)
    SELECT l.order_id, l.n + 1, p.sku, l.quantity, round(p.price * l.factor, 2),
           l.quantity * round(p.price * l.factor, 2),
           CASE WHEN l.status = 'returned' AND l.n = 0 THEN l.quantity ELSE 0 END,
           CASE WHEN l.channel = 'store' THEN 'pos' ELSE 'shop' END, 'bench',
           l.ordered_at + INTERVAL 1 HOUR
    FROM (
        SELECT order_id, status, channel, factor, ordered_at, n,
               floor(5000 * pow(u3(i, j, n, 21), 2))::BIGINT AS k,
               1 + floor(-0.9 * ln(1 - u3(i, j, n, 22)))::BIGINT AS quantity
        FROM (SELECT *, unnest(range(1 + floor(-1.4427 * ln(1 - u2(i, j, 20)))::BIGINT)) AS n
              FROM o)
    ) l JOIN p USING (k)
    """,
    """
    INSERT INTO orders (order_id, source_customer_key, channel, store_id, ordered_at, currency,
                        total_amount, discount_amount, shipping_amount, status,
                        promised_delivery_at, delivered_at, returned_amount, _source, _batch_id,
                        _loaded_at, email)
    SELECT o.order_id,
           CASE WHEN r_key < 0.92 THEN 'C' || i
                WHEN r_key < 0.94 THEN ' C' || i || '@Mail.example '
                WHEN r_key < 0.98 THEN NULL
                ELSE 'G' || (hash(i, j) % 100000000) END,
           channel,
           CASE WHEN channel = 'store' THEN 'S' || (hash(i) % 120) END,
           ordered_at, currency,
           t.lines - CASE WHEN r_discount < 0.3 THEN round(t.lines * 0.1, 2) ELSE 0 END,
           CASE WHEN r_discount < 0.3 THEN round(t.lines * 0.1, 2) ELSE 0 END,
           CASE WHEN channel = 'store' THEN 0 ELSE 4.9 * factor END,
           status,
           CASE WHEN channel <> 'store' THEN ordered_at + INTERVAL 3 DAY END,
           CASE WHEN channel <> 'store' AND ordered_at < TIMESTAMP '2026-06-25'
                THEN ordered_at + secs(86400 * (1 + 4 * r_late)) END,
           t.returned,
           CASE WHEN channel = 'store' THEN 'pos' ELSE 'shop' END, 'bench',
           ordered_at + INTERVAL 1 HOUR,
           CASE WHEN channel <> 'store' AND (r_key < 0.6 OR (r_key >= 0.94 AND r_key < 0.98))
                THEN 'c' || i || '@mail.example' END
    FROM o JOIN (SELECT order_id, sum(line_amount) AS lines,
                        sum(returned_quantity * unit_price) AS returned
                 FROM order_items GROUP BY order_id) t USING (order_id)
    """,
    # Events: skewed over customers (a few very active), more of them lately.
    """
    INSERT INTO events (message_id, type, event, name, anonymous_id, user_id, timestamp,
                        received_at, properties, _source, _batch_id, _loaded_at)
    SELECT 'm' || k, type,
           CASE WHEN type = 'track' THEN
                CASE WHEN r_event < 0.45 THEN 'Product Viewed'
                     WHEN r_event < 0.57 THEN 'Product Added'
                     WHEN r_event < 0.72 THEN 'Products Searched'
                     WHEN r_event < 0.80 THEN 'Cart Viewed'
                     WHEN r_event < 0.86 THEN 'Checkout Started'
                     WHEN r_event < 0.90 THEN 'Order Completed'
                     ELSE 'Product List Viewed' END END,
           CASE WHEN type = 'page' THEN
                CASE WHEN r_event < 0.3 THEN 'Home' ELSE 'Category' END END,
           CASE WHEN r_id < 0.95 THEN 'a' || i ELSE 'x' || k END,
           CASE WHEN r_id < 0.80 THEN 'u' || i END,
           ts, ts + INTERVAL 2 SECOND,
           CASE WHEN type = 'track' AND r_event < 0.57
                THEN '{"sku":"SKU' || lpad(floor(5000 * r_sku)::BIGINT::VARCHAR, 5, '0')
                     || '","category":"' || cat(r_cat) || '","price":'
                     || round(5 + 100 * r_sku, 2) || '}'
                WHEN type = 'page' THEN '{"path":"/c/' || cat(r_cat) || '","title":"Shop"}'
                ELSE '{}' END,
           CASE WHEN r_src < 0.65 THEN 'web' ELSE 'app' END, 'bench', ts + INTERVAL 1 HOUR
    FROM (
        SELECT k, floor(getvariable('customers') * pow(u(k, 40), 1.5))::BIGINT AS i,
               CASE WHEN u(k, 41) < 0.15 THEN 'page' WHEN u(k, 41) < 0.18 THEN 'identify'
                    ELSE 'track' END AS type,
               u(k, 42) AS r_event, u(k, 43) AS r_id, u(k, 44) AS r_sku, u(k, 45) AS r_cat,
               u(k, 46) AS r_src,
               TIMESTAMP '2026-06-30 23:59:59' - secs(pow(u(k, 47), 1.3) * 730 * 86400) AS ts
        FROM range(getvariable('customers') * getvariable('events_per_customer')) t(k)
    )
    """,
    """
    INSERT INTO interactions (interaction_id, source_customer_key, channel, direction, reason,
                              agent_id, started_at, duration_seconds, resolved, language,
                              _source, _batch_id, _loaded_at, email, phone)
    SELECT 'I' || k,
           CASE WHEN r_key < 0.7 THEN 'C' || i END,
           CASE WHEN r_ch < 0.4 THEN 'phone' WHEN r_ch < 0.7 THEN 'chat'
                WHEN r_ch < 0.9 THEN 'email' ELSE 'store' END,
           CASE WHEN u(k, 54) < 0.9 THEN 'inbound' ELSE 'outbound' END,
           ['delivery', 'return', 'refund', 'payment', 'product question', 'complaint',
            'account', 'loyalty'][1 + floor(8 * u(k, 55))::BIGINT],
           'A' || (hash(k) % 300), ts, (60 + 900 * u(k, 56))::BIGINT,
           CASE WHEN u(k, 57) < 0.75 THEN true WHEN u(k, 57) < 0.95 THEN false END, 'sv',
           'contact_centre', 'bench', ts + INTERVAL 1 HOUR,
           CASE WHEN r_key >= 0.7 AND r_key < 0.9 THEN 'c' || i || '@mail.example' END,
           CASE WHEN r_key >= 0.9 THEN '+4670' || lpad(i::VARCHAR, 9, '0') END
    FROM (
        SELECT k, floor(getvariable('customers') * pow(u(k, 50), 1.3))::BIGINT AS i,
               u(k, 51) AS r_key, u(k, 52) AS r_ch,
               TIMESTAMP '2026-06-30 23:00:00' - secs(u(k, 53) * 1095 * 86400) AS ts
        FROM range(getvariable('customers') * 2) t(k)
    )
    """,
    """
    INSERT INTO feedback (response_id, source_customer_key, survey_type, responded_at, nps,
                          csat, language, _source, _batch_id, _loaded_at, email)
    SELECT 'R' || k, CASE WHEN r_key < 0.8 THEN 'C' || i END, survey, ts,
           CASE WHEN survey = 'nps' AND u(k, 63) < 0.9 THEN floor(11 * u(k, 64))::BIGINT END,
           CASE WHEN survey = 'csat' AND u(k, 65) < 0.9 THEN 1 + floor(5 * u(k, 66))::BIGINT END,
           'sv', 'surveys', 'bench', ts + INTERVAL 1 HOUR,
           CASE WHEN r_key >= 0.8 THEN 'c' || i || '@mail.example' END
    FROM (
        SELECT k, floor(getvariable('customers') * u(k, 60))::BIGINT AS i, u(k, 61) AS r_key,
               CASE WHEN u(k, 62) < 0.5 THEN 'nps' ELSE 'csat' END AS survey,
               TIMESTAMP '2026-06-30 22:00:00' - secs(u(k, 67) * 1095 * 86400) AS ts
        FROM range(getvariable('customers') // 2) t(k)
    )
    """,
    """
    INSERT INTO campaign_members (campaign_id, source_customer_key, group_name, assigned_at,
                                  sent_at, responded, responded_at, _source, _batch_id,
                                  _loaded_at)
    SELECT 'CMP' || lpad(n::VARCHAR, 3, '0'), 'C' || i, grp, assigned,
           CASE WHEN grp = 'treatment' THEN assigned + INTERVAL 1 DAY END,
           grp = 'treatment' AND r_resp < 0.08,
           CASE WHEN grp = 'treatment' AND r_resp < 0.08
                THEN assigned + secs(86400 * (1 + 7 * u(k, 74))) END,
           'campaigns', 'bench', assigned
    FROM (
        SELECT k, floor(getvariable('customers') * u(k, 70))::BIGINT AS i,
               floor(60 * u(k, 71))::BIGINT AS n,
               CASE WHEN u(k, 72) < 0.9 THEN 'treatment' ELSE 'control' END AS grp,
               u(k, 73) AS r_resp,
               TIMESTAMP '2023-07-01' + INTERVAL 18 DAY * floor(60 * u(k, 71))::BIGINT AS assigned
        FROM range(getvariable('customers')) t(k)
    )
    """,
]

_COUNTED = (
    "customers", "identifier_map", "products", "orders", "order_items", "events",
    "interactions", "feedback", "campaign_members",
)  # fmt: skip


def generate(
    workspace: Path, customers: int, events_per_customer: int, seed: int
) -> dict[str, int]:
    """A new workspace at ``workspace`` with the synthetic data; rows per table."""
    from insightloop import Workspace

    Workspace.init(workspace).close()
    con = duckdb.connect(str(workspace / "insightloop.duckdb"))
    try:
        con.execute("SET VARIABLE customers = ?", [customers])
        con.execute("SET VARIABLE events_per_customer = ?", [events_per_customer])
        con.execute("SET VARIABLE seed = ?", [seed])
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET enable_progress_bar = false")
        con.execute(_MACROS)
        for statement in _GENERATE:
            con.execute(statement)
        con.execute("CHECKPOINT")
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in _COUNTED}  # type: ignore[index]
    finally:
        con.close()


# -- (b) the hand-written query ------------------------------------------------------------------

#: What an analyst would write in one statement: the same attachment of every row to its
#: customer through identifier_map (source key by type, then e-mail, phone; events by user id,
#: then device id), currency conversion, windows as FILTER clauses, the derived measures,
#: breakdowns, RFM quintile starts by NTILE and tier thresholds by row number.
#: ``$end``: the first instant after the as-of day.
HAND_SQL = r"""
CREATE OR REPLACE TABLE hand_measures AS
WITH
rates(cur, rate) AS (VALUES ('EUR', 1.0::DOUBLE), ('SEK', 0.087), ('CNY', 0.128)),
ids AS (SELECT id_type, id_value, customer_id FROM identifier_map),
line_totals AS (
    SELECT order_id, sum(coalesce(line_amount, quantity * unit_price)) AS lines
    FROM order_items GROUP BY order_id
),
order_rows AS (
    SELECT coalesce(k.customer_id, e.customer_id) AS customer_id, o.*, lt.lines, r.rate
    FROM orders o
    LEFT JOIN ids k
        ON k.id_type = CASE WHEN contains(o.source_customer_key, '@') THEN 'email'
                            ELSE 'customer_key' END
       AND k.id_value = CASE WHEN contains(trim(o.source_customer_key), '@')
                             THEN lower(trim(o.source_customer_key))
                             ELSE trim(o.source_customer_key) END
    LEFT JOIN ids e ON e.id_type = 'email' AND e.id_value = trim(o.email)
    LEFT JOIN line_totals lt ON lt.order_id = o.order_id
    LEFT JOIN rates r ON r.cur = upper(trim(o.currency))
    WHERE o.ordered_at < $end
      AND (o.status IS NULL OR lower(o.status) NOT IN
           ('cancelled', 'canceled', 'void', 'voided', 'failed', 'rejected'))
),
ord AS (
    SELECT customer_id, order_id, min(ordered_at) AS ts, max(channel) AS channel,
           max(currency) AS currency,
           max(coalesce(total_amount, lines)::DOUBLE * rate) AS amount,
           max(discount_amount::DOUBLE * rate) AS discount,
           max(returned_amount::DOUBLE * rate) AS returned,
           bool_or(delivered_at > promised_delivery_at) AS late
    FROM order_rows WHERE customer_id IS NOT NULL
    GROUP BY customer_id, _source, order_id
),
o_agg AS (
    SELECT customer_id,
           count(*) AS orders,
           count(*) FILTER (WHERE ts >= $end - INTERVAL 30 DAY) AS orders_30d,
           count(*) FILTER (WHERE ts >= $end - INTERVAL 90 DAY) AS orders_90d,
           count(*) FILTER (WHERE ts >= $end - INTERVAL 365 DAY) AS orders_365d,
           sum(amount) AS revenue,
           sum(amount) FILTER (WHERE ts >= $end - INTERVAL 30 DAY) AS revenue_30d,
           sum(amount) FILTER (WHERE ts >= $end - INTERVAL 90 DAY) AS revenue_90d,
           sum(amount) FILTER (WHERE ts >= $end - INTERVAL 365 DAY) AS revenue_365d,
           min(ts) AS first_order_at, max(ts) AS last_order_at,
           count(DISTINCT ts::DATE) AS purchase_days,
           sum(returned) FILTER (WHERE ts >= $end - INTERVAL 365 DAY) AS returned_365d,
           sum(discount) FILTER (WHERE ts >= $end - INTERVAL 365 DAY) AS discount_365d,
           count(*) FILTER (WHERE late AND ts >= $end - INTERVAL 365 DAY) AS late_deliveries_365d,
           count(*) FILTER (WHERE lower(channel) = 'store') / count(*) AS store_share,
           count(*) FILTER (WHERE lower(channel) = 'web') / count(*) AS web_share,
           count(*) FILTER (WHERE lower(channel) = 'app') / count(*) AS app_share,
           list_sort(list(DISTINCT lower(channel)) FILTER (WHERE channel IS NOT NULL)) AS channels
    FROM ord GROUP BY customer_id
),
top_channel AS (
    SELECT customer_id, first(channel ORDER BY n DESC, channel) AS top_channel
    FROM (SELECT customer_id, channel, count(*) AS n FROM ord
          WHERE channel IS NOT NULL GROUP BY ALL)
    GROUP BY customer_id
),
newest_products AS (
    SELECT sku, arg_max(category, _loaded_at) AS category,
           arg_max(unit_cost, _loaded_at) AS unit_cost, arg_max(currency, _loaded_at) AS currency
    FROM products GROUP BY sku
),
purchases AS (
    SELECT o.customer_id, o.ts, i.quantity, p.category,
           coalesce(i.line_amount, i.quantity * i.unit_price)::DOUBLE * r.rate AS amount,
           i.quantity::DOUBLE * p.unit_cost::DOUBLE * pr.rate AS cost,
           coalesce(i.returned_quantity, 0) AS returned_quantity
    FROM order_items i
    JOIN ord o ON o.order_id = i.order_id
    LEFT JOIN newest_products p ON p.sku = i.sku
    LEFT JOIN rates r ON r.cur = upper(trim(o.currency))
    LEFT JOIN rates pr ON pr.cur = upper(trim(p.currency))
),
p_agg AS (
    SELECT customer_id,
           list_sort(list(DISTINCT category) FILTER (WHERE category IS NOT NULL)) AS categories,
           sum(quantity) FILTER (WHERE ts >= $end - INTERVAL 365 DAY) AS items_365d,
           sum(cost * (quantity - returned_quantity) / nullif(quantity, 0))
               FILTER (WHERE ts >= $end - INTERVAL 365 DAY) AS cogs_365d
    FROM purchases GROUP BY customer_id
),
top_category AS (
    SELECT customer_id, first(category ORDER BY spend DESC, category) AS top_category
    FROM (SELECT customer_id, category, sum(amount) AS spend FROM purchases
          WHERE category IS NOT NULL GROUP BY ALL)
    GROUP BY customer_id
),
contacts AS (
    SELECT coalesce(k.customer_id, e.customer_id, p.customer_id) AS customer_id,
           i.started_at AS ts, i.channel, i.reason, i.resolved
    FROM interactions i
    LEFT JOIN ids k
        ON k.id_type = CASE WHEN contains(i.source_customer_key, '@') THEN 'email'
                            ELSE 'customer_key' END
       AND k.id_value = CASE WHEN contains(trim(i.source_customer_key), '@')
                             THEN lower(trim(i.source_customer_key))
                             ELSE trim(i.source_customer_key) END
    LEFT JOIN ids e ON e.id_type = 'email' AND e.id_value = trim(i.email)
    LEFT JOIN ids p ON p.id_type = 'phone' AND p.id_value = trim(i.phone)
    WHERE i.started_at < $end
),
c_agg AS (
    SELECT customer_id,
           count(*) FILTER (WHERE ts >= $end - INTERVAL 90 DAY) AS contacts_90d,
           count(*) FILTER (WHERE ts >= $end - INTERVAL 365 DAY) AS contacts_365d,
           count(*) FILTER (WHERE resolved = false AND ts >= $end - INTERVAL 365 DAY)
               AS unresolved_contacts_365d,
           sum(CASE lower(channel) WHEN 'phone' THEN 6.0 WHEN 'chat' THEN 3.0
                                   WHEN 'email' THEN 2.5 ELSE 4.0 END)
               FILTER (WHERE ts >= $end - INTERVAL 365 DAY) AS cost_to_serve_365d,
           max(ts) AS last_contact_at
    FROM contacts WHERE customer_id IS NOT NULL GROUP BY customer_id
),
contacts_per AS (
    SELECT customer_id, 'channel' AS what, channel AS k, count(*) AS n FROM contacts
    WHERE customer_id IS NOT NULL AND channel IS NOT NULL
      AND ts >= $end - INTERVAL 365 DAY GROUP BY ALL
    UNION ALL
    SELECT customer_id, 'reason', reason, count(*) FROM contacts
    WHERE customer_id IS NOT NULL AND reason IS NOT NULL
      AND ts >= $end - INTERVAL 365 DAY GROUP BY ALL
),
c_json AS (
    SELECT customer_id,
           '{' || string_agg(pair, ',' ORDER BY pair) FILTER (WHERE what = 'channel') || '}'
               AS contacts_by_channel_365d,
           '{' || string_agg(pair, ',' ORDER BY pair) FILTER (WHERE what = 'reason') || '}'
               AS contacts_by_reason_365d
    FROM (SELECT customer_id, what,
                 '"' || replace(replace(k, '\', '\\'), '"', '\"') || '":' || n AS pair
          FROM contacts_per)
    GROUP BY customer_id
),
events AS (
    SELECT coalesce(u.customer_id, a.customer_id) AS customer_id, e.timestamp AS ts, e.event
    FROM events e
    LEFT JOIN ids u ON u.id_type = 'user_id' AND u.id_value = trim(e.user_id)
    LEFT JOIN ids a ON a.id_type = 'anonymous_id' AND a.id_value = trim(e.anonymous_id)
    WHERE e.timestamp < $end
),
e_agg AS (
    SELECT customer_id,
           count(*) FILTER (WHERE ts >= $end - INTERVAL 30 DAY) AS events_30d,
           count(*) FILTER (WHERE ts >= $end - INTERVAL 90 DAY) AS events_90d,
           count(*) FILTER (WHERE event = 'Product Viewed' AND ts >= $end - INTERVAL 30 DAY)
               AS product_views_30d,
           max(ts) AS last_event_at
    FROM events WHERE customer_id IS NOT NULL GROUP BY customer_id
),
responses AS (
    SELECT coalesce(k.customer_id, e.customer_id) AS customer_id, f.responded_at AS ts,
           f.nps, f.csat
    FROM feedback f
    LEFT JOIN ids k
        ON k.id_type = CASE WHEN contains(f.source_customer_key, '@') THEN 'email'
                            ELSE 'customer_key' END
       AND k.id_value = CASE WHEN contains(trim(f.source_customer_key), '@')
                             THEN lower(trim(f.source_customer_key))
                             ELSE trim(f.source_customer_key) END
    LEFT JOIN ids e ON e.id_type = 'email' AND e.id_value = trim(f.email)
    WHERE f.responded_at < $end
),
f_agg AS (
    SELECT customer_id,
           count(*) FILTER (WHERE ts >= $end - INTERVAL 365 DAY) AS responses_365d,
           arg_max(nps, ts) FILTER (WHERE nps IS NOT NULL) AS last_nps,
           avg(nps) FILTER (WHERE ts >= $end - INTERVAL 365 DAY) AS avg_nps_365d,
           arg_max(csat, ts) FILTER (WHERE csat IS NOT NULL) AS last_csat
    FROM responses WHERE customer_id IS NOT NULL GROUP BY customer_id
),
memberships AS (
    SELECT k.customer_id, coalesce(m.sent_at, m.assigned_at) AS ts, m.responded
    FROM campaign_members m
    JOIN ids k
        ON k.id_type = CASE WHEN contains(m.source_customer_key, '@') THEN 'email'
                            ELSE 'customer_key' END
       AND k.id_value = CASE WHEN contains(trim(m.source_customer_key), '@')
                             THEN lower(trim(m.source_customer_key))
                             ELSE trim(m.source_customer_key) END
    WHERE coalesce(m.sent_at, m.assigned_at) < $end
),
m_agg AS (
    SELECT customer_id,
           count(*) FILTER (WHERE ts >= $end - INTERVAL 365 DAY) AS campaigns_365d,
           count(*) FILTER (WHERE responded AND ts >= $end - INTERVAL 365 DAY)
               AS campaign_responses_365d
    FROM memberships GROUP BY customer_id
),
base AS (
    SELECT c.customer_id, c.created_at,
           coalesce(o.orders, 0) AS orders, coalesce(o.orders_30d, 0) AS orders_30d,
           coalesce(o.orders_90d, 0) AS orders_90d, coalesce(o.orders_365d, 0) AS orders_365d,
           coalesce(o.revenue, 0) AS revenue, coalesce(o.revenue_30d, 0) AS revenue_30d,
           coalesce(o.revenue_90d, 0) AS revenue_90d,
           coalesce(o.revenue_365d, 0) AS revenue_365d,
           o.first_order_at, o.last_order_at, coalesce(o.purchase_days, 0) AS purchase_days,
           coalesce(o.returned_365d, 0) AS returned_365d,
           coalesce(o.discount_365d, 0) AS discount_365d,
           coalesce(o.late_deliveries_365d, 0) AS late_deliveries_365d,
           o.store_share, o.web_share, o.app_share, o.channels,
           p.categories, coalesce(p.items_365d, 0) AS items_365d,
           coalesce(p.cogs_365d, 0) AS cogs_365d,
           coalesce(ca.contacts_90d, 0) AS contacts_90d,
           coalesce(ca.contacts_365d, 0) AS contacts_365d,
           coalesce(ca.unresolved_contacts_365d, 0) AS unresolved_contacts_365d,
           coalesce(ca.cost_to_serve_365d, 0) AS cost_to_serve_365d, ca.last_contact_at,
           coalesce(e.events_30d, 0) AS events_30d, coalesce(e.events_90d, 0) AS events_90d,
           coalesce(e.product_views_30d, 0) AS product_views_30d, e.last_event_at,
           coalesce(f.responses_365d, 0) AS responses_365d, f.last_nps, f.avg_nps_365d,
           f.last_csat,
           coalesce(m.campaigns_365d, 0) AS campaigns_365d,
           coalesce(m.campaign_responses_365d, 0) AS campaign_responses_365d,
           tc.top_category, tch.top_channel,
           cj.contacts_by_channel_365d, cj.contacts_by_reason_365d
    FROM customers c
    LEFT JOIN o_agg o USING (customer_id)
    LEFT JOIN p_agg p USING (customer_id)
    LEFT JOIN c_agg ca USING (customer_id)
    LEFT JOIN e_agg e USING (customer_id)
    LEFT JOIN f_agg f USING (customer_id)
    LEFT JOIN m_agg m USING (customer_id)
    LEFT JOIN top_category tc USING (customer_id)
    LEFT JOIN top_channel tch USING (customer_id)
    LEFT JOIN c_json cj USING (customer_id)
),
derived AS (
    SELECT *,
           (epoch($end) - epoch(last_order_at)) / 86400 AS recency,
           greatest((epoch($end) - epoch(least(first_order_at, created_at))) / 86400, 0)
               AS tenure,
           CASE WHEN purchase_days > 1 THEN (epoch(last_order_at) - epoch(first_order_at))
                / 86400 / (purchase_days - 1) END AS interval_days,
           revenue_365d - returned_365d - cogs_365d AS margin,
           revenue_365d - returned_365d - cogs_365d - cost_to_serve_365d AS profit
    FROM base
),
measures AS (
    SELECT customer_id, orders, orders_30d, orders_90d, orders_365d,
           round(revenue, 2) AS revenue, round(revenue_30d, 2) AS revenue_30d,
           round(revenue_90d, 2) AS revenue_90d, round(revenue_365d, 2) AS revenue_365d,
           first_order_at, last_order_at, purchase_days,
           round(returned_365d, 2) AS returned_365d, round(discount_365d, 2) AS discount_365d,
           late_deliveries_365d, round(store_share, 4) AS store_share,
           round(web_share, 4) AS web_share, round(app_share, 4) AS app_share, channels,
           categories, items_365d, round(cogs_365d, 2) AS cogs_365d,
           contacts_90d, contacts_365d, unresolved_contacts_365d,
           round(cost_to_serve_365d, 2) AS cost_to_serve_365d, last_contact_at,
           events_30d, events_90d, product_views_30d, last_event_at,
           responses_365d, last_nps, round(avg_nps_365d, 4) AS avg_nps_365d, last_csat,
           campaigns_365d, campaign_responses_365d,
           round(recency, 4) AS recency_days, round(tenure, 4) AS tenure_days,
           greatest(purchase_days - 1, 0) AS frequency,
           round(CASE WHEN orders > 0 THEN revenue / orders END, 2) AS avg_order_value,
           round(interval_days, 4) AS purchase_interval_days,
           round(CASE WHEN revenue_365d > 0 THEN returned_365d / revenue_365d END, 4)
               AS return_rate,
           round(margin, 2) AS gross_margin_365d, round(profit, 2) AS profit_12m,
           top_category, top_channel, contacts_by_channel_365d, contacts_by_reason_365d
    FROM derived
),
-- RFM: quintiles (NTILE) of the customers who ordered; a score is 1 + the quintile starts a
-- value reaches, so that customers with equal values score alike.
quintiles AS (
    SELECT 'r' AS part, NTILE(5) OVER (ORDER BY recency_days) AS b, recency_days AS v
    FROM measures WHERE last_order_at IS NOT NULL
    UNION ALL
    SELECT 'f', NTILE(5) OVER (ORDER BY orders_365d), orders_365d
    FROM measures WHERE last_order_at IS NOT NULL
    UNION ALL
    SELECT 'm', NTILE(5) OVER (ORDER BY revenue_365d), revenue_365d
    FROM measures WHERE last_order_at IS NOT NULL
),
starts AS (SELECT part, b, min(v) AS s FROM quintiles GROUP BY part, b),
cuts AS (
    SELECT list_sort(list(DISTINCT s) FILTER (WHERE part = 'r' AND s > lo_r)) AS r,
           list_sort(list(DISTINCT s) FILTER (WHERE part = 'f' AND s > lo_f)) AS f,
           list_sort(list(DISTINCT s) FILTER (WHERE part = 'm' AND s > lo_m)) AS m
    FROM starts,
         (SELECT min(s) FILTER (WHERE part = 'r') AS lo_r, min(s) FILTER (WHERE part = 'f') AS lo_f,
                 min(s) FILTER (WHERE part = 'm') AS lo_m FROM starts)
),
-- Value tiers: the top 20% and the next 30% by 12-month profit; ties at a cut go up.
ranked AS (
    SELECT profit_12m AS v, row_number() OVER (ORDER BY profit_12m DESC) - 1 AS r,
           count(*) OVER () AS n
    FROM measures WHERE profit_12m IS NOT NULL
),
tiers AS (
    SELECT min(v) FILTER (WHERE r <= greatest(round(0.2 * n) - 1, 0)) AS top,
           min(v) FILTER (WHERE r <= greatest(round(0.5 * n) - 1, 0)) AS middle
    FROM ranked
)
SELECT m.*, $as_of::DATE AS as_of,
       CASE WHEN last_order_at IS NOT NULL
            THEN 5 - len(list_filter(cuts.r, x -> m.recency_days >= x)) END AS rfm_r,
       CASE WHEN last_order_at IS NOT NULL
            THEN 1 + len(list_filter(cuts.f, x -> m.orders_365d >= x)) END AS rfm_f,
       CASE WHEN last_order_at IS NOT NULL
            THEN 1 + len(list_filter(cuts.m, x -> m.revenue_365d >= x)) END AS rfm_m,
       rfm_r::VARCHAR || rfm_f::VARCHAR || rfm_m::VARCHAR AS rfm_score,
       CASE WHEN m.profit_12m >= tiers.top THEN 'top'
            WHEN m.profit_12m >= tiers.middle THEN 'middle' ELSE 'base' END AS value_tier
FROM measures m, cuts, tiers
"""


def run_hand(database: Path, out: Path) -> None:
    """Child (b): the hand-written statement on a plain DuckDB connection, 2 threads."""
    con = duckdb.connect(str(database))
    con.execute(f"SET threads = {THREADS}")
    con.execute("SET enable_progress_bar = false")
    start = time.perf_counter()
    con.execute(HAND_SQL, {"end": datetime.fromisoformat(END), "as_of": AS_OF})
    seconds = time.perf_counter() - start
    rows = con.execute("SELECT count(*) FROM hand_measures").fetchone()[0]  # type: ignore[index]
    con.close()
    out.write_text(json.dumps({"seconds": seconds, "rows": rows}))


# -- (a) insightloop ------------------------------------------------------------------------------


def _timed_engine(engine: Any, log: list[dict[str, Any]]) -> None:
    """Record how long each engine call of the step takes (which query is which stage)."""
    for method in ("materialise", "execute", "records", "drop_table"):
        original = getattr(engine, method)

        def timed(*args: Any, _original: Any = original, _method: str = method) -> Any:
            start = time.perf_counter()
            try:
                return _original(*args)
            finally:
                name = args[0] if isinstance(args[0], str) else ""
                seconds = time.perf_counter() - start
                log.append({"call": _method, "table": name, "seconds": round(seconds, 3)})

        setattr(engine, method, timed)


def run_insightloop(workspace: Path, out: Path, *, default_as_of: bool = False) -> None:
    """Child (a): ``build_measures`` ([engine] threads = 2) as of :data:`AS_OF`, or with
    ``default_as_of`` as the pipeline's ``measures`` step calls it (as of the newest day)."""
    from insightloop import Workspace
    from insightloop.analytics.config import analytics_config
    from insightloop.analytics.measures import build_measures
    from insightloop.identity.config import identity_config

    with Workspace.open(workspace) as ws:
        assert ws.settings.engine.threads == THREADS, "INSIGHTLOOP_ENGINE__THREADS not applied"
        calls: list[dict[str, Any]] = []
        _timed_engine(ws.engine, calls)
        start = time.perf_counter()
        report = build_measures(
            ws.engine,
            identity_config({}),
            analytics_config({"exchange_rates": RATES}),
            now=NOW,
            as_of=None if default_as_of else AS_OF,
        )
        seconds = time.perf_counter() - start
    result = {"seconds": seconds, "report": report.to_dict(), "engine_calls": calls}
    out.write_text(json.dumps(result, default=str))


def _measure(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run a child to completion: wall seconds and peak RSS (MiB, from wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the benchmark child failed: {' '.join(argv)}")
    # Linux reports ru_maxrss in KiB.
    return time.perf_counter() - start, usage.ru_maxrss / 1024


# -- agreement -----------------------------------------------------------------------------------

#: Compared on the sample: (column, tolerance); None compares exactly (null equal to null).
COMPARED: tuple[tuple[str, float | None], ...] = (
    ("orders", None), ("revenue_365d", 0.011), ("contacts_365d", None), ("events_30d", None),
    ("profit_12m", 0.011), ("orders_30d", None), ("revenue", 0.011), ("items_365d", None),
    ("cogs_365d", 0.011), ("cost_to_serve_365d", 0.011), ("purchase_days", None),
    ("late_deliveries_365d", None), ("store_share", 0.0001), ("product_views_30d", None),
    ("responses_365d", None), ("last_nps", None), ("avg_nps_365d", 0.0001), ("last_csat", None),
    ("campaigns_365d", None), ("campaign_responses_365d", None), ("recency_days", 0.0002),
    ("tenure_days", 0.0002), ("purchase_interval_days", 0.0002), ("top_category", None),
    ("top_channel", None), ("contacts_by_channel_365d", None), ("contacts_by_reason_365d", None),
    ("channels", None), ("categories", None), ("rfm_score", None), ("value_tier", None),
)  # fmt: skip


def _same(column: str, tolerance: float | None) -> str:
    """SQL: ``column`` of ``a`` (the step) and ``b`` (the hand query) agree."""
    same = f"a.{column} IS NOT DISTINCT FROM b.{column}"
    if tolerance is None:
        return same
    return f"({same} OR abs(a.{column} - b.{column}) <= {tolerance})"


def check_agreement(database: Path, sample: int, seed: int) -> dict[str, Any]:
    """Compare ``hand_measures`` with ``customer_measures`` on a sample of customers."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        con.execute(f"SET threads = {THREADS}")
        con.execute(
            "CREATE TEMP TABLE s AS SELECT customer_id FROM customer_measures "
            f"USING SAMPLE reservoir({int(sample)} ROWS) REPEATABLE ({int(seed)})"
        )
        total = con.execute("SELECT count(*) FROM s").fetchone()[0]  # type: ignore[index]
        parts = [f"count(*) FILTER (WHERE NOT {_same(c, tol)}) AS {c}" for c, tol in COMPARED]
        row = con.execute(
            f"SELECT count(b.customer_id), {', '.join(parts)} FROM s "
            "JOIN customer_measures a USING (customer_id) "
            "LEFT JOIN hand_measures b USING (customer_id)"
        ).fetchone()
        assert row is not None
        mismatches = {c: int(n) for (c, _), n in zip(COMPARED, row[1:], strict=True) if n}
        examples = {}
        for column, tol in COMPARED:
            if column not in mismatches:
                continue
            found = con.execute(
                f"SELECT customer_id, a.{column}::VARCHAR, b.{column}::VARCHAR FROM s "
                "JOIN customer_measures a USING (customer_id) "
                f"LEFT JOIN hand_measures b USING (customer_id) WHERE NOT {_same(column, tol)} "
                "ORDER BY customer_id LIMIT 3"
            ).fetchall()
            examples[column] = [list(r) for r in found]
        counts = con.execute(
            "SELECT (SELECT count(*) FROM customer_measures), (SELECT count(*) FROM hand_measures)"
        ).fetchone()
        assert counts is not None
        return {
            "customers_compared": int(total),
            "found_in_hand_query": int(row[0]),
            "columns_compared": [c for c, _ in COMPARED],
            "mismatches": mismatches,
            "examples": examples,
            "rows": {"customer_measures": counts[0], "hand_measures": counts[1]},
        }
    finally:
        con.close()


# -- where the time goes --------------------------------------------------------------------------


def _operators(profile: Path) -> list[dict[str, Any]]:
    """The operators of a DuckDB JSON profile, slowest first."""
    found: list[dict[str, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        name = node.get("operator_name") or node.get("operator_type") or ""
        if name:
            info = node.get("extra_info") or {}
            found.append(
                {
                    "operator": name.strip(),
                    "seconds": round(float(node.get("operator_timing") or 0), 3),
                    "rows": node.get("operator_cardinality"),
                    "info": {k: v for k, v in info.items() if k != "Estimated Cardinality"},
                }
            )
        for child in node.get("children") or []:
            walk(child)

    walk(json.loads(profile.read_text()))
    return sorted(found, key=lambda o: -o["seconds"])


def run_explain(workspace: Path, folder: Path) -> None:
    """Child: DuckDB's operator profile of the step's main query and of the hand query."""
    from insightloop import Workspace
    from insightloop.analytics.activity import activity
    from insightloop.analytics.config import analytics_config
    from insightloop.analytics.measures import measures_expr
    from insightloop.identity.config import identity_config

    with Workspace.open(workspace) as ws:
        config = analytics_config({"exchange_rates": RATES})
        acts = activity(ws.engine, identity_config({}), config)
        expr = measures_expr(ws.engine, acts, config, as_of=AS_OF)
        (folder / "measures-stage.sql").write_text(ws.engine.to_sql(expr))
        con = ws.engine.con.con
        summary = {}
        for name in ("insightloop", "hand"):
            profile = folder / f"profile-{name}.json"
            con.execute("SET enable_profiling = 'json'")
            con.execute(f"SET profiling_output = '{profile}'")
            start = time.perf_counter()
            if name == "hand":
                params = {"end": datetime.fromisoformat(END), "as_of": AS_OF}
                con.execute(HAND_SQL, params)
            else:
                ws.engine.materialise("_explain", expr)
            seconds = time.perf_counter() - start
            con.execute("RESET enable_profiling")
            summary[name] = {"seconds": round(seconds, 2), "operators": _operators(profile)[:25]}
        ws.engine.drop_table("_explain")
    (folder / "explain.json").write_text(json.dumps(summary, indent=1, default=str))


# -- the benchmark --------------------------------------------------------------------------------


def _label(customers: int) -> str:
    if customers % 1_000_000 == 0:
        return f"{customers // 1_000_000}m"
    if customers % 1_000 == 0:
        return f"{customers // 1_000}k"
    return str(customers)


def _data(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """The generated workspace (made now, or reused) and what it holds."""
    folder: Path = args.data or RESULTS_DIR / f"measures-{_label(args.customers)}"
    ws, facts_file = folder / "ws", folder / "data.json"
    wanted = {
        "customers": args.customers,
        "events_per_customer": args.events_per_customer,
        "seed": args.seed,
    }
    if args.reuse and facts_file.exists():
        facts = json.loads(facts_file.read_text())
        if facts["parameters"] != wanted:
            raise SystemExit(f"{folder} holds data of {facts['parameters']}, not {wanted}")
        return ws, facts
    if ws.exists():
        shutil.rmtree(ws)
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rows = generate(ws, args.customers, args.events_per_customer, args.seed)
    facts = {
        "parameters": wanted,
        "rows": rows,
        "generate_seconds": round(time.perf_counter() - start, 1),
        "database_gib": round((ws / "insightloop.duckdb").stat().st_size / 1024**3, 2),
    }
    facts_file.write_text(json.dumps(facts, indent=2))
    return ws, facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", "--records", type=int, default=1_000_000)
    parser.add_argument("--events-per-customer", type=int, default=50)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--data", type=Path, help="folder of the generated workspace (default "
        "benchmarks/results/measures-<size>, e.g. measures-1m)",
    )  # fmt: skip
    parser.add_argument("--reuse", action="store_true", help="reuse the data in --data")
    parser.add_argument("--repeat", type=int, default=1, help="run both sides this many times")
    parser.add_argument("--sample", type=int, default=SAMPLE, help="customers compared")
    parser.add_argument("--explain", action="store_true", help="also profile both queries")
    parser.add_argument(
        "--pipeline", action="store_true", help="also time build_measures without as_of, as "
        "the measures step calls it (the as-of day found from the data first)",
    )  # fmt: skip
    parser.add_argument("--child", nargs=3, metavar=("KIND", "PATH", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, path, out = args.child
        children: dict[str, Callable[[Path, Path], None]] = {
            "hand": run_hand,
            "insightloop": run_insightloop,
            "pipeline": lambda ws, out: run_insightloop(ws, out, default_as_of=True),
            "explain": run_explain,
        }
        children[kind](Path(path), Path(out))
        return 0

    ws, facts = _data(args)
    folder = ws.parent
    # The step writes to the database: both sides run on a fresh copy, the generated data stays.
    run = folder / "run"
    if run.exists():
        shutil.rmtree(run)
    shutil.copytree(ws, run)
    me = [sys.executable, "-m", "benchmarks.measures", "--child"]
    threads = {"INSIGHTLOOP_ENGINE__THREADS": str(THREADS)}
    kinds = ("hand", "insightloop", "pipeline") if args.pipeline else ("hand", "insightloop")
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    try:
        for _ in range(args.repeat):
            for kind in kinds:
                target = run / "insightloop.duckdb" if kind == "hand" else run
                out = folder / f"{kind}.json"
                wall, peak = _measure([*me, kind, str(target), str(out)], env=threads)
                child = json.loads(out.read_text())
                runs[kind].append(
                    {
                        "wall_seconds": round(wall, 2),
                        "query_seconds": round(child["seconds"], 2),
                        "peak_rss_mib": round(peak),
                    }
                )
        step = json.loads((folder / "insightloop.json").read_text())
        agreement = check_agreement(run / "insightloop.duckdb", args.sample, args.seed)
        if args.explain:
            _measure([*me, "explain", str(run), str(folder)], env=threads)
    finally:
        shutil.rmtree(run, ignore_errors=True)

    def best(kind: str, key: str) -> float:
        return min(r[key] for r in runs[kind])

    summary = {
        "benchmark": "measures",
        "customers": args.customers,
        "rows": facts["rows"],
        "database_gib": facts["database_gib"],
        "generate_seconds": facts["generate_seconds"],
        "threads": THREADS,
        "as_of": AS_OF.isoformat(),
        "insightloop": runs["insightloop"],
        "hand_query": runs["hand"],
        **({"pipeline_default_as_of": runs["pipeline"]} if args.pipeline else {}),
        "ratio_wall": round(best("insightloop", "wall_seconds") / best("hand", "wall_seconds"), 2),
        "ratio_query": round(
            best("insightloop", "query_seconds") / best("hand", "query_seconds"), 2
        ),
        "target_ratio": 1.5,
        "step_engine_calls": step["engine_calls"],
        "step_report": {k: step["report"][k] for k in ("customers", "measures", "tiers")},
        "agreement": agreement,
        "load_average_1min": os.getloadavg()[0],
        "machine": machine_info(),
        "command": "python -m benchmarks.measures " + " ".join(argv or sys.argv[1:]),
    }
    print(json.dumps(summary, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
