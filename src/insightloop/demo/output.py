"""The files the demo company exports, and how one chunk of a file becomes bytes.

A :class:`FileChunk` is what a generator step produces for one file and one chunk of persons:
string columns (CSV) or finished lines (JSON Lines), the person behind each row, the source keys
each row carries, and the defects planted in it. :func:`encode` turns it into the file's
encoding and reports where each record starts, so defects and values can be located by line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.demo.defects import DefectLog
from insightloop.demo.fmt import csv_header, csv_rows, lines_bytes

__all__ = ["FILES", "EncodedChunk", "FileChunk", "FileSpec", "encode", "events_path"]


@dataclass(frozen=True)
class FileSpec:
    """One exported file: where, which system, which format and encoding."""

    path: str  # relative to the output directory
    system: str
    entity: str
    format: str  # "csv" or "jsonl"
    encoding: str  # Python codec name; "utf-8-sig" means UTF-8 with a byte-order mark
    delimiter: str | None = None
    quote_all: bool = False
    truth_values: bool = False  # write every value to truth/crm_values.parquet
    keys: tuple[tuple[str, str], ...] = ()  # (entity, column or JSON field of its key)


FILES = {
    spec.path: spec
    for spec in (
        FileSpec(
            "sources/crm/customers_hq.csv",
            "crm",
            "customers",
            "csv",
            "utf-8-sig",
            ",",
            quote_all=True,
            truth_values=True,
            keys=(("customer", "CustomerID"),),
        ),
        FileSpec(
            "sources/crm/customers_nordics.csv",
            "crm",
            "customers",
            "csv",
            "cp1252",
            ";",
            truth_values=True,
            keys=(("customer", "Kundnummer"),),
        ),
        FileSpec(
            "sources/crm/customers_china.csv",
            "crm",
            "customers",
            "csv",
            "gb18030",
            ",",
            truth_values=True,
            keys=(("customer", "cust_no"),),
        ),
        FileSpec(
            "sources/loyalty/members.csv",
            "loyalty",
            "members",
            "csv",
            "utf-8",
            ",",
            truth_values=True,
            keys=(("card", "loyalty_no"),),
        ),
        FileSpec(
            "sources/ecommerce/orders.jsonl",
            "ecommerce",
            "orders",
            "jsonl",
            "utf-8",
            keys=(("order", "order_id"), ("account", "account_id")),
        ),
        FileSpec(
            "sources/pos/transactions.csv",
            "pos",
            "receipt_lines",
            "csv",
            "utf-8",
            ";",
            keys=(("receipt", "receipt_id"), ("card", "card_number")),
        ),
        FileSpec(
            "sources/products/catalogue.csv",
            "products",
            "products",
            "csv",
            "utf-8",
            ",",
            keys=(("product", "sku"),),
        ),
        FileSpec(
            "sources/contact_centre/interactions.csv",
            "contact_centre",
            "interactions",
            "csv",
            "utf-8",
            ",",
            keys=(("interaction", "interaction_id"),),
        ),
        FileSpec(
            "sources/surveys/responses.csv",
            "surveys",
            "responses",
            "csv",
            "utf-8",
            ",",
            keys=(("response", "response_id"),),
        ),
        FileSpec(
            "sources/campaigns/campaigns.csv",
            "campaigns",
            "campaigns",
            "csv",
            "utf-8",
            ",",
            keys=(("campaign", "campaign_id"),),
        ),
        FileSpec(
            "sources/campaigns/members.csv", "campaigns", "campaign_members", "csv", "utf-8", ","
        ),
        FileSpec(
            "sources/consents/consents.csv",
            "consents",
            "consents",
            "csv",
            "utf-8",
            ",",
            keys=(("consent", "consent_id"),),
        ),
    )
}


def events_path(chunk: int) -> FileSpec:
    """The Segment events of one chunk of persons go to their own part file."""
    return FileSpec(
        f"sources/events/part-{chunk:04d}.jsonl",
        "events",
        "events",
        "jsonl",
        "utf-8",
        keys=(("anonymous_id", "anonymousId"), ("user_id", "userId")),
    )


@dataclass
class FileChunk:
    """One chunk's rows of one file, before encoding."""

    spec: FileSpec
    person: np.ndarray  # chunk-local person position per row, -1 for none
    columns: dict[str, pa.Array] | None = None  # CSV: header name -> string values
    lines: pa.Array | None = None  # JSON Lines: one document per row, no terminator
    keys: list[tuple[str, pa.Array]] = field(default_factory=list)  # (entity, key per row)
    defects: DefectLog = field(default_factory=DefectLog)

    @property
    def rows(self) -> int:
        """Number of records."""
        return len(self.person)


@dataclass
class EncodedChunk:
    """Encoded payload of a file chunk (without header) and where its records start."""

    data: memoryview | bytes
    header: bytes
    rows: int
    line_offsets: np.ndarray  # 0-based physical line of each record within the payload
    lines: int  # physical lines in the payload
    columns: list[str] = field(default_factory=list)  # CSV header names


def encode(chunk: FileChunk) -> EncodedChunk:
    """Render a chunk in its file's format and encoding.

    Raises ``UnicodeEncodeError`` if a value cannot be represented in a legacy encoding: the
    generator must never write a character the exporting system could not have stored.
    """
    spec = chunk.spec
    if spec.format == "jsonl":
        assert chunk.lines is not None
        data = lines_bytes(chunk.lines)
        offsets = np.arange(chunk.rows, dtype=np.int64)
        return EncodedChunk(data, b"", chunk.rows, offsets, chunk.rows)
    assert chunk.columns is not None
    assert spec.delimiter is not None
    names = list(chunk.columns)
    rows = csv_rows(list(chunk.columns.values()), spec.delimiter, quote_all=spec.quote_all)
    breaks = np.asarray(pc.count_substring(rows, "\n"), dtype=np.int64)
    extent = breaks + 1
    offsets = np.cumsum(extent) - extent
    text: memoryview | bytes = lines_bytes(rows)
    header = csv_header(names, spec.delimiter)
    codec = spec.encoding.replace("-sig", "")
    if codec not in ("utf-8", "utf8"):
        text = bytes(text).decode("utf-8").encode(codec)
        header_bytes = header.encode(codec)
    else:
        header_bytes = header.encode("utf-8")
    if spec.encoding == "utf-8-sig":
        header_bytes = b"\xef\xbb\xbf" + header_bytes
    return EncodedChunk(text, header_bytes, chunk.rows, offsets, int(extent.sum()), names)
