"""Benchmark: insightloop's readers against a bare DuckDB read of the same file into a table.

Not collected by pytest. Run from the repository root::

    .venv/bin/python tests/ingest/readers/bench_readers.py \\
        --csv-rows 2000000 --jsonl-rows 1000000

Prints rows/s for both and the ratio, then the peak RSS of the process.
Bare DuckDB reads into a table; the reader is timed streaming every Arrow batch to the caller.
The CSV files are flat customer rows (one with a quoted newline every 1,000 rows); the JSON
Lines file is Segment-spec events shaped like the demo company's (see :func:`make_jsonl`), read
bare as ``read_json(format = 'newline_delimited')`` with types detected and nested STRUCTs.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np

from insightloop.ingest.readers import open_file

CITIES = ["Göteborg", "Malmö", "London", "北京", "Stockholm", "Dublin"]


def make_csv(path: Path, rows: int, multiline: bool) -> None:
    rng = random.Random(1)
    with open(path, "w", encoding="utf-8") as out:
        out.write("id,email,name,city,amount,joined,note\n")
        for i in range(rows):
            note = '"two\nlines"' if multiline and i % 1000 == 0 else "ok"
            out.write(
                f"{i},user{i}@example.com,Åsa Öberg {i},{rng.choice(CITIES)},"
                f"{rng.random() * 1000:.2f},2024-0{1 + i % 9}-1{i % 10},{note}\n"
            )


# Segment-spec events shaped like ``insightloop.demo.events`` writes them.
SHOP = "https://shop.insightloop.example"
CATEGORIES = ["outdoor", "home", "coffee", "audio", "toys", "beauty"]
SEARCHES = ["jacket", "gift", "kaffe", "headphones", "礼物", "sale"]
LOCALES = ["sv-SE", "en-GB", "zh-CN", "en-US", "de-DE"]
CURRENCIES = ["SEK", "GBP", "CNY", "USD", "EUR"]
KINDS = ["page", "search", "view", "add", "checkout", "completed", "identify", "alias"]
KIND_WEIGHTS = [30, 8, 35, 10, 5, 5, 5, 2]
WEB_CONTEXT = (
    '"library":{"name":"analytics.js","version":"4.1.0"},"locale":"%s","ip":"203.0.113.%d",'
    '"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like '
    'Gecko) Chrome/126.0 Safari/537.36"'
)
APP_CONTEXT = (
    '"library":{"name":"analytics-ios","version":"1.6.2"},"locale":"%s","ip":"203.0.113.%d",'
    '"app":{"name":"Insightloop Shop","version":"5.2.1","build":"5210"},'
    '"device":{"type":"ios","model":"iPhone15,2"},"os":{"name":"iOS","version":"17.5"}'
)


def _uuid(bits: int) -> str:
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-a{text[17:20]}-{text[20:]}"


def _body(kind: str, i: int, rng: random.Random, app: bool) -> tuple[str, str]:
    """The event's type and the members after its ids (event/name, properties or traits)."""
    price = f"{rng.randrange(100, 500_000) / 100:.2f}"
    currency, sku = rng.choice(CURRENCIES), f"SKU-{rng.randrange(10_000):05d}"
    category = rng.choice(CATEGORIES)
    if kind == "page" and app:
        return "screen", f',"name":"Category","properties":{{"category":"{category}"}}'
    if kind == "page":
        return "page", (
            f',"name":"Category","properties":{{"path":"/c/{category}",'
            f'"url":"{SHOP}/c/{category}","title":"Category"}}'
        )
    if kind == "identify":
        traits = f'"email":"user{i}@example.com","firstName":"Åsa","lastName":"Öberg"'
        return "identify", f',"traits":{{{traits}}}'
    if kind == "alias":
        return "alias", ""
    if kind == "search":
        event, properties = "Products Searched", f'"query":"{rng.choice(SEARCHES)}"'
    elif kind == "view":
        event = "Product Viewed"
        properties = f'"product_id":"{sku}","category":"{category}","price":{price}'
    elif kind == "add":
        event = "Product Added"
        properties = f'"product_id":"{sku}","quantity":{rng.randrange(1, 4)},"price":{price}'
    else:
        event = "Checkout Started" if kind == "checkout" else "Order Completed"
        total = "value" if kind == "checkout" else "total"
        properties = f'"order_id":"O-{i}","{total}":{price}'
    if kind != "search":
        properties += f',"currency":"{currency}"'
    return "track", f',"event":"{event}","properties":{{{properties}}}'


def make_jsonl(path: Path, rows: int) -> None:
    """Segment-spec events (track, page, screen, identify, alias): ``type``, ``messageId``,
    ``timestamp``, ``anonymousId``, ``userId`` (60 %), nested ``properties``/``traits`` and
    ``context``, as ``insightloop.demo.events`` writes them (about 500 bytes a line)."""
    rng = random.Random(2)
    kinds = rng.choices(KINDS, KIND_WEIGHTS, k=rows)
    every = np.arange(rows, dtype=np.int64) * 7_300  # an event every 7.3 seconds
    stamps = np.datetime_as_string(np.datetime64("2024-01-01T00:00:00", "ms") + every, "ms")
    with open(path, "w", encoding="utf-8") as out:
        for i, kind in enumerate(kinds):
            app = rng.random() < 0.3
            kind_name, body = _body(kind, i, rng, app)
            anonymous = _uuid(rng.getrandbits(128))
            user = f'"user_{i // 40}"' if rng.random() < 0.6 else None
            if kind_name == "alias":  # an alias call always names the user
                ids = f'"previousId":"{anonymous}","userId":' + (user or '"u"')
            else:
                ids = f'"anonymousId":"{anonymous}"' + (f',"userId":{user}' if user else "")
            context = (APP_CONTEXT if app else WEB_CONTEXT) % (rng.choice(LOCALES), 1 + i % 254)
            out.write(
                f'{{"type":"{kind_name}","messageId":"{_uuid(rng.getrandbits(128))}",'
                f'"timestamp":"{stamps[i]}Z",{ids}{body},"context":{{{context}}}}}\n'
            )


def bare(sql: str, path: Path) -> tuple[float, int]:
    connection = duckdb.connect()
    started = time.perf_counter()
    connection.execute(f"CREATE TABLE t AS {sql}", {"path": str(path)})
    elapsed = time.perf_counter() - started
    count = connection.execute("SELECT count(*) FROM t").fetchone()
    connection.close()
    return elapsed, int(count[0]) if count else 0


def ours(path: Path) -> tuple[float, int]:
    """Open, detect, scan and stream every batch (what the loader gets), without storing it."""
    started = time.perf_counter()
    with open_file(path) as reader:
        for _batch in reader.batches(100_000):
            pass
    return time.perf_counter() - started, reader.rows_yielded


def report(name: str, base: tuple[float, int], mine: tuple[float, int]) -> None:
    print(f"{name}: bare DuckDB {base[1] / base[0]:>12,.0f} rows/s ({base[0]:.2f} s)")
    print(f"{name}: insightloop {mine[1] / mine[0]:>12,.0f} rows/s ({mine[0]:.2f} s)")
    print(f"{name}: ratio {base[0] / mine[0]:.0%}   rows {mine[1]:,} / {base[1]:,}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--csv-rows", type=int, default=2_000_000)
    parser.add_argument("--jsonl-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        csv_path, multi_path = Path(folder) / "c.csv", Path(folder) / "m.csv"
        jsonl_path = Path(folder) / "e.jsonl"
        make_csv(csv_path, args.csv_rows, multiline=False)
        make_csv(multi_path, args.csv_rows, multiline=True)
        make_jsonl(jsonl_path, args.jsonl_rows)
        csv_sql = "SELECT * FROM read_csv($path, all_varchar = true)"
        for name, path in (("csv", csv_path), ("csv+quoted newlines", multi_path)):
            size = path.stat().st_size / 1e6
            report(f"{name} ({size:.0f} MB)", bare(csv_sql, path), ours(path))
        # What a user would run: types detected, nested objects as STRUCT.
        json_sql = "SELECT * FROM read_json($path, format = 'newline_delimited')"
        size = jsonl_path.stat().st_size / 1e6
        report(f"jsonl ({size:.0f} MB)", bare(json_sql, jsonl_path), ours(jsonl_path))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
