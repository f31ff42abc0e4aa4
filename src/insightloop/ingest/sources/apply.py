"""``apply_mapping``: one raw batch of a source in, the entity's canonical columns out.

The result has every column of the entity's table in schema order (unmapped ones null,
``_source`` set to the source's name), then a ``<column>__reason`` column for each mapped column
that is normalised, parsed or cast (null where all is well or the value is missing), then the
raw batch's ``_record`` and ``_line``. E-mails, phones and names keep what was received in the
model's ``*_raw`` column; a mapped ``name_raw`` without ``first_name``/``last_name`` is split
into them. A database read's ``_key`` column (the row's key as text) is carried like ``_record``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from insightloop.errors import ConfigError
from insightloop.ingest import normalise as nz
from insightloop.ingest.readers import LOCATION_COLUMNS
from insightloop.ingest.sources.declaration import SourceDeclaration, entity_table
from insightloop.ingest.sources.explode import explode_json
from insightloop.ingest.sources.steps import (
    ZONE_UNKNOWN,
    cast_text,
    json_path,
    map_values,
    origin_values,
    trimmed,
    with_json_fields,
)
from insightloop.ingest.sources.transforms import default_step, phone_regions
from insightloop.store.schema import table_spec

__all__ = ["KEY_COLUMN", "apply_mapping"]

#: Location column of database rows (their key as text), carried through like ``_record``.
KEY_COLUMN = "_key"

_TEXT = pa.string()
_RAW_OF = {"email": "email_raw", "phone": "phone_raw"}
# The country column that says how to read each postcode column.
_COUNTRY_OF = {"postcode": "country", "shipping_postcode": "shipping_country"}


def apply_mapping(source: SourceDeclaration, batch: pa.Table | pa.RecordBatch) -> pa.Table:
    """Compute the canonical columns of ``source.entity`` from one raw ``batch``.

    Raises
    ------
    ConfigError
        When the mapping names raw columns that the batch does not have (all of them listed).

    Examples
    --------
    >>> src = SourceDeclaration(name="crm", kind="file", path="c.csv", entity="customers",
    ...     options={"region": "SE"},
    ...     mapping={"source_key": "id", "email": "E-post", "phone": "Tel"})
    >>> raw = pa.table({"id": ["1"], "E-post": [" Ada@X.SE"], "Tel": ["070-1234567"],
    ...                 "_record": [1], "_line": [2]})
    >>> out = apply_mapping(src, raw)
    >>> out.column("email")[0].as_py(), out.column("email_raw")[0].as_py()
    ('ada@x.se', 'Ada@X.SE')
    >>> out.column("phone")[0].as_py(), out.column("phone__reason")[0].as_py()
    ('+46701234567', None)
    """
    table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    if source.explode:
        table = explode_json(table, source.explode)
    _check_columns(source, table)
    table = with_json_fields(table, [c for t in source.mapping.values() for c in t.raw_columns()])
    spec = table_spec(entity_table(source.entity))
    types = {field.name: field.type for field in spec.schema().to_pyarrow()}
    options = source.source_options()
    values: dict[str, pa.Array] = {}
    reasons: dict[str, pa.Array] = {}
    origins: dict[str, pa.Array] = {}
    for column, transform in source.mapping.items():
        origin = map_values(transform, origin_values(transform, table))
        origins[column] = origin
        kind, arg = default_step(column, str(spec.schema()[column]), transform)
        if column in _COUNTRY_OF and kind == "normalise" and arg == "postcode":
            country: Any = options.region
            if _COUNTRY_OF[column] in source.mapping:
                place = source.mapping[_COUNTRY_OF[column]]
                country = map_values(place, origin_values(place, table))
            result = nz.normalise_postcodes(origin, country=country)
            value, reason = result.column("value"), result.column("reason")
        elif column.endswith("phone") and arg == "phone" and transform.region is not None:
            region = transform.region
            regions = (
                pa.repeat(pa.scalar(region, _TEXT), table.num_rows)
                if isinstance(region, str)
                else map_values(region, origin_values(region, table)).cast(_TEXT)
            )
            value, reason = _phones_by_country(origin, regions, options.region)
        elif column == "phone" and arg == "phone" and "country" in source.mapping:
            place = source.mapping["country"]
            codes = nz.normalise_countries(map_values(place, origin_values(place, table)))
            value, reason = _phones_by_country(origin, codes.column("value"), options.region)
        elif (kind, arg) == ("parse", "timestamp") and transform.time_zone is not None:
            zone = transform.time_zone
            zones = (
                pa.repeat(pa.scalar(zone, _TEXT), table.num_rows)
                if isinstance(zone, str)
                else map_values(zone, origin_values(zone, table))
            )
            value, reason = _timestamps_by_zone(origin, zones, options, transform.formats)
        else:
            value, reason, extra = _convert(kind, arg, origin, options, transform.formats)
            if extra is not None and "currency" in types and "currency" not in source.mapping:
                values.setdefault("currency", extra)
        values[column], reasons[column] = _fit(value, types[column], reason, origin)
    _fill_names(source, values, reasons, origins)
    for column, raw in _RAW_OF.items():
        if column in origins and raw in types and raw not in source.mapping:
            values.setdefault(raw, origins[column])
    rows = table.num_rows
    out: dict[str, pa.Array] = {}
    for name, kind in types.items():
        if name == "_source":
            out[name] = pa.repeat(pa.scalar(source.name, _TEXT), rows)
        elif name in values:
            out[name] = _fit(values[name], kind, None, None)[0]
        else:
            out[name] = pa.nulls(rows, kind)
    for name in types:
        if name in reasons and reasons[name] is not None:
            out[f"{name}__reason"] = reasons[name]
    for name in (*LOCATION_COLUMNS, KEY_COLUMN):
        if name in table.column_names:
            out[name] = table.column(name)
    return pa.table(out)


def _check_columns(source: SourceDeclaration, table: pa.Table) -> None:
    have = [c for c in table.column_names if c not in (*LOCATION_COLUMNS, KEY_COLUMN)]
    wanted = {raw for t in source.mapping.values() for raw in t.raw_columns()}
    missing = sorted(c for c in wanted - set(have) if json_path(c, have) is None)
    if missing:
        raise ConfigError(
            f"sources.{source.name}.mapping: the data has no column "
            + ", ".join(repr(m) for m in missing),
            hint=f"Use one of the columns the source has: {', '.join(have)}.",
        )


def _convert(
    kind: str, arg: str, origin: pa.Array, options: nz.SourceOptions, formats: list[str]
) -> tuple[pa.Array, pa.Array | None, pa.Array | None]:
    """``(value, reason, currency)`` of one conversion step."""
    all_formats = (*formats, *options.date_formats)
    if kind == "cast":
        if arg == "decimal":
            kind, arg = "normalise", "amount"
        else:
            value, reason = cast_text(origin, arg, decimal_comma=options.decimal_comma)
            return value, (None if arg == "string" else reason), None
    if kind == "parse":
        if arg == "date":
            result = nz.normalise_dates(origin, formats=all_formats, day_first=options.day_first)
        else:
            result = nz.normalise_timestamps(
                origin,
                formats=all_formats,
                day_first=options.day_first,
                time_zone=options.time_zone,
            )
        return result.column("value"), result.column("reason"), None
    if kind != "normalise" or arg == "none":
        return origin, None, None
    if arg == "amount":
        result = nz.normalise_amounts(
            origin, decimal_comma=options.decimal_comma, currency=options.currency
        )
        return result.column("value"), result.column("reason"), result.column("currency")
    if arg == "birth_date":
        result = nz.normalise_birth_dates(origin, formats=all_formats, day_first=options.day_first)
    elif arg == "phone":
        result = nz.normalise_phones(origin, region=options.region)
    else:
        result = _TEXT_NORMALISERS[arg](origin)
    return result.column("value"), result.column("reason"), None


_TEXT_NORMALISERS: dict[str, Any] = {
    "email": nz.normalise_emails,
    "name": nz.normalise_names,
    "given_name": lambda v: nz.normalise_names(v, part="given"),
    "family_name": lambda v: nz.normalise_names(v, part="family"),
    "country": nz.normalise_countries,
    "city": nz.normalise_cities,
    "street": nz.normalise_streets,
    "postcode": lambda v: nz.normalise_postcodes(v, country=None),
}


def _phones_by_country(
    origin: pa.Array, codes: pa.Array | pa.ChunkedArray, default: str | None
) -> tuple[pa.Array, pa.Array]:
    """Phones normalised with each row's regions (a country code, or several tried in order:
    ``GB,IE,US``), then the source's region, one call per region.

    A number the row's regions cannot read is tried with the source's region as well: the
    office that typed it dials abroad its own way (a London agent writes a US customer's
    number as ``001 212 …``, which US conventions read as too long)."""

    def phones(values: pa.Array, regions_text: str) -> pa.Table:
        regions = [r for r in phone_regions(regions_text) if r != default]
        result: pa.Table | None = None
        for region in [*regions, default]:
            if result is None:
                with suppress(ConfigError):  # a region phonenumbers does not know
                    result = nz.normalise_phones(values, region=region or None)
            else:
                result = _retried(result, values, region)
        return result if result is not None else nz.normalise_phones(values, region=None)

    if isinstance(codes, pa.ChunkedArray):
        codes = codes.combine_chunks()
    return _by_group(origin, pc.fill_null(codes, default or ""), phones)


def _retried(result: pa.Table, values: pa.Array, region: str | None) -> pa.Table:
    """``result`` with the numbers it could not read tried again with ``region``; only those
    numbers are parsed again, and an answer replaces the earlier one only where it reads the
    number."""
    found = {name: result.column(name).combine_chunks() for name in ("value", "reason")}
    failed = pc.and_(pc.is_null(found["value"]), pc.is_valid(values))
    if not pc.any(failed).as_py():
        return result
    try:
        attempt = nz.normalise_phones(values.filter(failed), region=region or None)
    except ConfigError:
        return result
    again = {name: attempt.column(name).combine_chunks() for name in ("value", "reason")}
    better = pc.is_valid(again["value"])
    return pa.table(
        {
            name: pc.replace_with_mask(
                before, failed, pc.if_else(better, again[name], before.filter(failed))
            )
            for name, before in found.items()
        }
    )


def _timestamps_by_zone(
    origin: pa.Array, zones: pa.Array, options: nz.SourceOptions, formats: list[str]
) -> tuple[pa.Array, pa.Array]:
    """Timestamps read in each row's time zone (one call per zone; rows without one use the
    source's); a zone that is not an IANA name nulls its rows with ``time_zone_unknown``."""

    def timestamps(values: pa.Array, zone: str) -> pa.Table:
        try:
            return nz.normalise_timestamps(
                values,
                formats=(*formats, *options.date_formats),
                day_first=options.day_first,
                time_zone=zone,
            )
        except ConfigError:
            return pa.table(
                {
                    "value": pa.nulls(len(values), pa.timestamp("us")),
                    "reason": pa.repeat(pa.scalar(ZONE_UNKNOWN, _TEXT), len(values)),
                }
            )

    return _by_group(origin, pc.fill_null(zones, options.time_zone), timestamps)


def _by_group(
    origin: pa.Array, groups: pa.Array, convert: Callable[[pa.Array, str], pa.Table]
) -> tuple[pa.Array, pa.Array]:
    """``convert(values, group)`` run once per distinct group; value and reason per row, in the
    original row order."""
    positions, values, reasons = [], [], []
    for group in pc.unique(groups).to_pylist():
        rows = pc.indices_nonzero(pc.equal(groups, group))
        result = convert(origin.take(rows), group)
        positions.append(rows)
        values.append(result.column("value").combine_chunks())
        reasons.append(result.column("reason").combine_chunks())
    if not positions:
        return origin, pa.nulls(len(origin), _TEXT)
    order = pc.sort_indices(pa.concat_arrays(positions))
    return pa.concat_arrays(values).take(order), pa.concat_arrays(reasons).take(order)


def _fit(
    value: pa.Array | pa.ChunkedArray,
    kind: pa.DataType,
    reason: pa.Array | pa.ChunkedArray | None,
    origin: pa.Array | None,
) -> tuple[pa.Array, pa.Array | None]:
    """Cast ``value`` to the column's type; values that do not fit become null with a reason.
    Reasons of missing values are dropped: a null is not a failure."""
    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    if isinstance(reason, pa.ChunkedArray):
        reason = reason.combine_chunks()
    if value.type != kind:
        try:
            value = pc.cast(value, kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            fails = pc.is_valid(value)
            value = pa.nulls(len(value), kind)
            reason = pc.if_else(fails, pa.scalar("cast_wrong_type", _TEXT), reason)
    if reason is not None and origin is not None:
        reason = pc.if_else(pc.is_null(origin), pa.scalar(None, _TEXT), reason)
    return value, reason


def _fill_names(
    source: SourceDeclaration,
    values: dict[str, pa.Array],
    reasons: dict[str, pa.Array],
    origins: dict[str, pa.Array],
) -> None:
    """Split a mapped ``name_raw`` into missing given/family names, or build ``name_raw``."""
    if source.entity != "customers":
        return
    mapped = source.mapping
    if "name_raw" in mapped and not ({"first_name", "last_name"} & set(mapped)):
        parts = nz.split_names(origins["name_raw"])
        reason = pc.if_else(
            pc.is_null(origins["name_raw"]), pa.scalar(None, _TEXT), parts["reason"]
        )
        for column, part in (("first_name", "given"), ("last_name", "family")):
            values[column] = parts.column(part).combine_chunks()
            reasons[column] = reason
    elif "name_raw" not in mapped and {"first_name", "last_name"} & set(mapped):
        pieces = [origins[c] for c in ("first_name", "last_name") if c in origins]
        values["name_raw"] = trimmed(
            pc.binary_join_element_wise(*pieces, " ", null_handling="skip")
        )
