"""Benchmark of the batch normalisers on realistic customer columns (not collected as a test).

Run from the repository root::

    .venv/bin/python tests/ingest/normalise/bench_normalise.py [--rows 200000] [--repeat 3]

Four sources (SE, GB, US, CN) deliver 50,000 rows each. People are drawn with repetition from a
pool, and each person's record is written in one of the formats real systems use (national,
international, ``00``-prefixed, spaced, dashed, bracketed; upper-case, padded, ``mailto:``,
display names): mostly the same way for the same person, sometimes another way, with 3% junk and
gaps, so that about 60% of the values are distinct. Every timed run starts with cold caches;
the best of ``--repeat`` runs is reported.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from typing import Any

SOURCES = ("SE", "GB", "US", "CN")
_DOMAINS = {
    "SE": ("gmail.com", "hotmail.com", "telia.com", "live.se", "bredband.net", "outlook.com"),
    "GB": ("gmail.com", "hotmail.co.uk", "btinternet.com", "yahoo.co.uk", "outlook.com"),
    "US": ("gmail.com", "yahoo.com", "aol.com", "outlook.com", "icloud.com", "comcast.net"),
    "CN": ("qq.com", "163.com", "126.com", "sina.com", "gmail.com", "foxmail.com"),
}
_FIRST = ("anna", "erik", "lars", "karin", "emma", "oliver", "james", "mary", "john", "wei")
_FIRST += ("li", "jing", "åsa", "björn", "sophie", "noah", "olivia", "liam", "chen", "ming")
_LAST = ("andersson", "johansson", "lindqvist", "smith", "jones", "taylor", "brown", "o'neil")
_LAST += ("wang", "zhang", "liu", "chen", "garcia", "miller", "davis", "öberg", "berg", "wu")


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def true_number(rng: random.Random, country: str) -> tuple[str, str]:
    """(calling code, national significant number) of a plausible number of ``country``."""
    if country == "SE":
        prefix = rng.choice(("70", "72", "73", "76", "8", "31", "40"))
        return "46", prefix + str(rng.randint(2, 9)) + _digits(rng, 8 - len(prefix))
    if country == "GB":
        prefix = rng.choice(("74", "75", "77", "78", "79", "207", "208", "161", "113"))
        return "44", prefix + str(rng.randint(2, 9)) + _digits(rng, 9 - len(prefix))
    if country == "US":
        area = rng.choice(("212", "415", "312", "617", "206", "305", "713", "404"))
        return "1", area + str(rng.randint(2, 9)) + _digits(rng, 2) + _digits(rng, 4)
    prefix = rng.choice(("138", "139", "135", "186", "150", "10", "21"))
    rest = 11 - len(prefix) if prefix[0] == "1" and len(prefix) == 3 else 8
    return "86", prefix + str(rng.randint(2, 9)) + _digits(rng, rest - 1)


def render_phone(rng: random.Random, country: str, cc: str, nsn: str) -> str:
    """One of the ways a record writes the number (its own country's conventions)."""
    trunk = "" if country in ("US", "CN") and nsn[0] == "1" else "0"
    if country == "US":
        trunk = ""
    head, mid, tail = nsn[:3], nsn[3:6], nsn[6:]
    style = rng.randrange(8)
    if style == 0:
        return f"+{cc}{nsn}"
    if style == 1:
        return f"+{cc} {head} {mid} {tail}"
    if style == 2:
        return f"00{cc} {nsn}" if country != "US" else f"011 {cc} {nsn}"
    if style == 3:
        return f"({head}) {mid}-{tail}" if country == "US" else f"{trunk}{head}-{mid} {tail}"
    if style == 4:
        return f"{trunk}{nsn}"
    if style == 5:
        return f"{trunk}{head}.{mid}.{tail}"
    if style == 6:
        return f" {trunk}{head} {mid}{tail} "
    return f"+{cc} ({trunk or '0'}){nsn}" if country == "GB" else f"{trunk}{head}/{mid}{tail}"


def true_email(rng: random.Random, first: str, last: str, domain: str, tag: int) -> str:
    local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}{tag}"))
    if rng.random() < 0.98:
        # Nearly everyone spells their address in ASCII (Öberg becomes oberg).
        local = local.translate(_ASCII)
    return f"{local}{tag % 97}@{domain}".replace("'", "")


def render_email(rng: random.Random, first: str, last: str, address: str) -> str:
    style = rng.randrange(10)
    if style == 0:
        return address.upper()
    if style == 1:
        return f"  {address.title()} "
    if style == 2:
        return f"mailto:{address}"
    if style == 3:
        return f"{first.title()} {last.title()} <{address}>"
    return address


_ASCII = str.maketrans("åäö", "aao")
_JUNK_PHONES = ("0000000", "n/a", "", "123456789", "-", "ring ej")
_JUNK_EMAILS = ("noemail@test.com", "n/a", "", "anna.svensson@@gmail.com", "kalle at telia.com")


def make_columns(rows: int, seed: int = 7) -> dict[str, tuple[list[str | None], list[str | None]]]:
    """Per source: (phones, e-mails), ``rows`` values in all."""
    rng = random.Random(seed)
    per_source = rows // len(SOURCES)
    pool_size = per_source * 55 // 100
    columns: dict[str, tuple[list[str | None], list[str | None]]] = {}
    for country in SOURCES:
        people = []
        for tag in range(pool_size):
            cc, nsn = true_number(rng, country)
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            email = true_email(rng, first, last, _DOMAINS[country][tag % 5], tag)
            # A source system mostly writes a customer's details the same way each time.
            usual = (render_phone(rng, country, cc, nsn), render_email(rng, first, last, email))
            people.append((cc, nsn, first, last, email, usual))
        phone_column: list[str | None] = []
        email_column: list[str | None] = []
        for _ in range(per_source):
            cc, nsn, first, last, email, usual = rng.choice(people)
            junk = rng.random()
            if junk < 0.03:
                phone_column.append(None if junk < 0.01 else rng.choice(_JUNK_PHONES))
                email_column.append(None if junk < 0.01 else rng.choice(_JUNK_EMAILS))
            elif junk < 0.80:
                phone_column.append(usual[0])
                email_column.append(usual[1])
            else:
                phone_column.append(render_phone(rng, country, cc, nsn))
                email_column.append(render_email(rng, first, last, email))
        columns[country] = (phone_column, email_column)
    return columns


def best_time(run: Callable[[], Any], repeat: int) -> float:
    from insightloop.ingest.normalise import clear_caches

    best = float("inf")
    for _ in range(repeat):
        clear_caches()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    import pyarrow as pa

    from insightloop.ingest.normalise import normalise_emails, normalise_phones

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    columns = make_columns(args.rows)
    phone_arrays = {c: pa.array(columns[c][0], pa.string()) for c in SOURCES}
    email_arrays = {c: pa.array(columns[c][1], pa.string()) for c in SOURCES}
    rows = sum(len(a) for a in phone_arrays.values())
    for label, arrays in (("phone", phone_arrays), ("e-mail", email_arrays)):
        distinct = sum(len(set(a.to_pylist())) for a in arrays.values()) / rows
        print(f"{label}: {rows:,} values, {distinct:.0%} distinct within their source")
    phone_s = best_time(
        lambda: [normalise_phones(phone_arrays[c], region=c) for c in SOURCES], args.repeat
    )
    email_s = best_time(lambda: [normalise_emails(email_arrays[c]) for c in SOURCES], args.repeat)
    print(f"normalise_phones: {rows / phone_s:>10,.0f} rows/s ({phone_s:.2f} s)")
    print(f"normalise_emails: {rows / email_s:>10,.0f} rows/s ({email_s:.2f} s)")
    table = normalise_phones(phone_arrays["SE"], region="SE")
    kinds = table.column("kind").value_counts().to_pylist()
    print("SE phone kinds:", {k["values"]: k["counts"] for k in kinds})


if __name__ == "__main__":
    main()
