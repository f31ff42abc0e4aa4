"""Vectorised text formatting for the demo generator.

Every value the demo company writes is built column-wise, never row by row: fixed-width values
(ids, dates, timestamps, UUIDs, phone numbers) as ``(n, width)`` byte matrices filled by numpy and
handed to Arrow without copying; variable-width values (names, JSON documents, CSV rows) with
Arrow's element-wise string kernels. A whole file chunk then leaves as one contiguous buffer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "assemble",
    "chunk_seq",
    "civil_from_days",
    "compose",
    "concat",
    "csv_header",
    "csv_rows",
    "digit_matrix",
    "ean13",
    "fixed_width",
    "format_datetime",
    "format_fields",
    "int_str",
    "jstr",
    "keys",
    "lines_bytes",
    "money",
    "scramble",
    "take",
    "uuid4",
]

MS_PER_DAY = 86_400_000
_HEX_QUADS = np.frombuffer(b"".join(f"{i:04x}".encode() for i in range(65536)), np.uint8)
_HEX_QUADS = _HEX_QUADS.reshape(65536, 4)
_UUID_HEX_COLUMNS = [i for i in range(36) if i not in (8, 13, 18, 23)]
_TOKENS = re.compile(r"(YYYY|MM|DD|hh|mm|ss|fff)")
_TOKEN_WIDTH = {"YYYY": 4, "MM": 2, "DD": 2, "hh": 2, "mm": 2, "ss": 2, "fff": 3}
# Multipliers for the id bijections: primes, hence coprime with every power of ten.
_PRIMES = (7_919, 104_729, 1_299_709, 15_485_863, 179_424_673, 982_451_653, 86_028_121)


def fixed_width(mat: np.ndarray) -> pa.StringArray:
    """Wrap an ``(n, width)`` uint8 matrix of UTF-8 bytes as an Arrow string array (no copy)."""
    n, width = mat.shape
    data = np.ascontiguousarray(mat, dtype=np.uint8).reshape(-1)
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(width)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def digit_matrix(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers as an ``(n, width)`` byte matrix."""
    v = np.asarray(values, dtype=np.int64)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((v[:, None] // powers) % 10).astype(np.uint8) + np.uint8(48)


def compose(n: int, parts: Sequence[str | bytes | np.ndarray]) -> pa.StringArray:
    """Concatenate literal parts and ``(n, w)`` byte matrices into fixed-width strings."""
    mats = []
    for part in parts:
        if isinstance(part, str | bytes):
            raw = part.encode() if isinstance(part, str) else part
            mats.append(np.broadcast_to(np.frombuffer(raw, np.uint8), (n, len(raw))))
        else:
            mats.append(part)
    return fixed_width(np.concatenate(mats, axis=1))


def uuid4(rng: np.random.Generator, n: int) -> pa.StringArray:
    """``n`` random version-4 UUIDs in canonical lower-case form."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    # Big-endian 16-bit words, so the hex digits come out in byte order.
    words = raw.view(">u2").astype(np.int64)
    out[:, _UUID_HEX_COLUMNS] = _HEX_QUADS[words].reshape(n, 32)
    return fixed_width(out)


def civil_from_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Proleptic Gregorian (year, month, day) of days since 1970-01-01 (H. Hinnant's algorithm)."""
    z = np.asarray(days, dtype=np.int64) + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def format_fields(fields: dict[str, np.ndarray], pattern: str) -> pa.StringArray:
    """Render date/time fields through a pattern such as ``"DD/MM/YYYY"`` or ``"YYYY年MM月DD日"``.

    Tokens are ``YYYY MM DD hh mm ss fff``; everything else is literal. Taking the fields rather
    than a timestamp lets the defect injector write impossible dates such as 30 February.
    """
    n = len(next(iter(fields.values())))
    parts: list[str | np.ndarray] = []
    for token in _TOKENS.split(pattern):
        if token in _TOKEN_WIDTH:
            parts.append(digit_matrix(fields[token], _TOKEN_WIDTH[token]))
        elif token:
            parts.append(token)
    return compose(n, parts)


def format_datetime(ms: np.ndarray, pattern: str) -> pa.StringArray:
    """Render epoch milliseconds (UTC or already shifted to local time) through ``pattern``."""
    ms = np.asarray(ms, dtype=np.int64)
    days = np.floor_divide(ms, MS_PER_DAY)
    rest = ms - days * MS_PER_DAY
    year, month, day = civil_from_days(days)
    fields = {
        "YYYY": year,
        "MM": month,
        "DD": day,
        "hh": rest // 3_600_000,
        "mm": rest // 60_000 % 60,
        "ss": rest // 1_000 % 60,
        "fff": rest % 1_000,
    }
    return format_fields(fields, pattern)


def scramble(x: np.ndarray, modulus: int, salt: int) -> np.ndarray:
    """A bijection of ``[0, modulus)`` that makes sequential numbers look random.

    ``modulus`` must be ``L * 10**k`` with ``L <= 10`` and no prime factors but 2 and 5
    (``10**k``, ``8 * 10**k``). An affine map, a reversal of the low ``k`` digits and a second
    affine map are each bijective, so distinct inputs below ``modulus`` give distinct outputs:
    that keeps identifiers unique across chunks that never see each other.
    """
    if modulus > 10**9:
        raise ValueError("scramble supports moduli up to 10**9")
    width = len(str(modulus)) - 1
    low = 10**width
    if modulus % low or modulus // low > 10 or low == 1:
        width, low = width - 1, low // 10
    mult1 = _PRIMES[salt % len(_PRIMES)] % modulus
    mult2 = _PRIMES[(salt + 3) % len(_PRIMES)] % modulus
    y = (np.asarray(x, dtype=np.int64) * mult1 + (salt * 2_654_435_761) % modulus) % modulus
    lead, rest = np.divmod(y, low)
    powers = 10 ** np.arange(width, dtype=np.int64)
    reversed_rest = ((rest[:, None] // powers[::-1]) % 10) @ powers if width else rest
    y = lead * low + reversed_rest
    return (y * mult2 + (salt * 40_503 + 7) % modulus) % modulus


def assemble(n: int, pieces: Sequence[tuple[np.ndarray, pa.Array]]) -> pa.Array:
    """Scatter per-group results back into one array of length ``n``.

    Each piece is ``(mask, values)`` with ``len(values) == mask.sum()``; rows no mask covers are
    null.
    """
    arrays = [values for _, values in pieces]
    index = np.full(n, -1, dtype=np.int64)
    position = 0
    for mask, values in pieces:
        index[mask] = position + np.arange(len(values))
        position += len(values)
    if not arrays:
        return pa.nulls(n, pa.string())
    combined = pa.concat_arrays([a.cast(pa.string()) for a in arrays])
    return combined.take(pa.array(index, mask=index < 0))


def int_str(values: np.ndarray) -> pa.StringArray:
    """Integers as decimal strings without padding."""
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def money(cents: np.ndarray, decimal: str = ".") -> pa.StringArray:
    """Integer cents as ``-12.50`` / ``12,50`` with exactly two decimals."""
    cents = np.asarray(cents, dtype=np.int64)
    units = np.abs(cents) // 100
    frac = compose(len(cents), [decimal, digit_matrix(np.abs(cents) % 100, 2)])
    sign = pc.if_else(pa.array(cents < 0), "-", "")
    return pc.binary_join_element_wise(sign, int_str(units), frac, "")


def concat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation; a null in any part makes the result null."""
    return pc.binary_join_element_wise(*parts, "")


def take(pool: pa.Array, index: np.ndarray) -> pa.Array:
    """Values of ``pool`` at integer positions ``index``."""
    return pool.take(pa.array(np.asarray(index, dtype=np.int64)))


def jstr(values: pa.Array, *, escape: bool = True) -> pa.Array:
    """JSON string literals (quoted, escaped); nulls stay null so callers can omit the key."""
    if escape:
        for old, new in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
            values = pc.replace_substring(values, old, new)
    return pc.binary_join_element_wise('"', values, '"', "")


def csv_header(names: Sequence[str], delimiter: str) -> str:
    """One header line (with terminator), quoting names that need it."""
    quoted = [f'"{n}"' if delimiter in n or '"' in n else n for n in names]
    return delimiter.join(quoted) + "\n"


def csv_rows(columns: Sequence[pa.Array], delimiter: str, *, quote_all: bool = False) -> pa.Array:
    """CSV records (without terminator) from string columns; nulls become empty fields.

    Values are quoted when they contain the delimiter, a quote or a line break (embedded line
    breaks stay inside the quotes, as spreadsheet exports write them), or always with
    ``quote_all``.
    """
    pattern = f'[{re.escape(delimiter)}"\\n\\r]'
    rendered = []
    for col in columns:
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(col, '"', '""'), '"', "")
        if quote_all:
            rendered.append(quoted)
        else:
            needs = pc.fill_null(pc.match_substring_regex(col, pattern), False)
            rendered.append(pc.if_else(needs, quoted, col))
    return pc.binary_join_element_wise(
        *rendered, delimiter, null_handling="replace", null_replacement=""
    )


def lines_bytes(rows: pa.Array) -> memoryview:
    """All rows joined, each followed by ``\\n``, as one contiguous buffer (no copy)."""
    if len(rows) == 0:
        return memoryview(b"")
    joined = pc.binary_join_element_wise(rows, "\n", "")
    if isinstance(joined, pa.ChunkedArray):
        joined = joined.combine_chunks()
    offsets_buf, data_buf = joined.buffers()[1], joined.buffers()[2]
    offset_type = np.int64 if pa.types.is_large_string(joined.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=offset_type)
    first, last = offsets[joined.offset], offsets[joined.offset + len(joined)]
    return memoryview(data_buf)[first:last]


def keys(prefix: str, seq: np.ndarray, salt: int, digits: int = 9) -> pa.StringArray:
    """Unique, random-looking keys ``prefix + digits``; ``seq`` must be unique and < 10**digits."""
    return compose(len(seq), [prefix, digit_matrix(scramble(seq, 10**digits, salt), digits)])


def ean13(body12: np.ndarray) -> pa.StringArray:
    """EAN-13 numbers (as on loyalty cards) from 12-digit bodies, with their check digit."""
    digits = digit_matrix(body12, 12) - np.uint8(48)
    weights = np.tile([1, 3], 6)
    check = (10 - (digits.astype(np.int64) @ weights) % 10) % 10
    return compose(len(body12), [digits + np.uint8(48), digit_matrix(check, 1)])


def chunk_seq(chunk: int, local: np.ndarray, per_chunk: int = 1_000_000) -> np.ndarray:
    """Run-wide unique sequence numbers for records numbered ``local`` inside chunk ``chunk``."""
    if len(local) and int(np.max(local)) >= per_chunk:
        raise ValueError("too many records in one chunk for the key space")
    return chunk * per_chunk + np.asarray(local, dtype=np.int64)
