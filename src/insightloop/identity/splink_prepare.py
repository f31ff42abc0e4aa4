"""Roles of columns, and the standard comparison columns derived from them.

A *role* says what a column holds (``first_name``, ``birth_date``, ``identifier`` ...).
:func:`prepare_records` turns a table with any column names into the standard columns that the
generated Splink model compares, all strings:

=================  ===========================================================================
column             derived from
=================  ===========================================================================
unique_id          the id column
first_name         first_name (or the given name split from full_name), folded, no separators
first_name_key     first_name through the nickname table (Bill -> william)
first_name_alt     the other name of a shared nickname (Alex -> alexandra), else the key
first_name_known   ``y`` when first_name is a common given name (for the household guards)
first_name_slips   ``|key|key|``: keys of the known names one keyboard slip from an unknown
                   first name (Billl -> ``|william|``)
last_name          last_name (or the family name split from full_name), folded, no separators
full_name_key      first and last name words, sorted (catches swapped given/family names)
birth_date         ISO ``YYYY-MM-DD`` from a date, ``YYYYMMDD``, ``YYYY-M-D`` or ``D.M.YYYY``
email              lower case, trimmed; email_local: the local part without dots and +tags
phone              the last nine digits (so +46 70... and 070... agree)
street             street (and house number when given separately), folded
address_key        street + postcode, compact: one address
postcode, city     compact / folded
region, country    folded
id_<column>        each identifier column, lower case letters and digits only
=================  ===========================================================================

The roles are stored in the schema metadata of the result, so a model knows what it was built on.

Examples
--------
>>> import pyarrow as pa
>>> t = pa.table({"pid": [1, 2], "fname": ["Bill", "Björn"], "dob": ["19560409", None]})
>>> p = prepare_records(t, {"first_name": "fname", "birth_date": "dob"}, id_column="pid")
>>> p.select(["unique_id", "first_name", "first_name_key", "birth_date"]).to_pylist()[0]
{'unique_id': '1', 'first_name': 'bill', 'first_name_key': 'william', 'birth_date': '1956-04-09'}
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from insightloop.errors import ConfigError
from insightloop.identity import names

__all__ = ["ROLES", "RoleMap", "normalise_roles", "prepare_records", "roles_of"]

ROLES = (
    "first_name",
    "last_name",
    "full_name",
    "birth_date",
    "email",
    "phone",
    "street",
    "house_number",
    "postcode",
    "city",
    "region",
    "country",
    "identifier",
)
RoleMap = dict[str, list[str]]
ROLES_METADATA_KEY = b"insightloop.match.roles"
_STRING_NULL = pa.scalar(None, pa.string())
_DATE_PARTS = re.compile(r"^(\d{1,4})[-/. ](\d{1,2})[-/. ](\d{1,4})")


def normalise_roles(
    roles: Mapping[str, str | Sequence[str]], columns: Sequence[str], id_column: str | None = None
) -> RoleMap:
    """Check roles against the table's columns; every problem is reported at once.

    Examples
    --------
    >>> normalise_roles({"email": "mail", "identifier": ["ssn", "card"]}, ["mail", "ssn", "card"])
    {'email': ['mail'], 'identifier': ['ssn', 'card']}
    """
    problems: list[str] = []
    out: RoleMap = {}
    for role, cols in roles.items():
        if role not in ROLES:
            problems.append(f"unknown role {role!r}")
            continue
        listed = [cols] if isinstance(cols, str) else list(cols)
        missing = [c for c in listed if c not in columns]
        if missing:
            problems.append(f"role {role!r} names missing column(s) {', '.join(missing)}")
        if listed:
            out[role] = listed
    if id_column is not None and id_column not in columns:
        problems.append(f"id column {id_column!r} is not in the table")
    if problems:
        raise ConfigError(
            "The matching roles do not fit the records: " + "; ".join(problems) + ".",
            hint=f"Roles are {', '.join(ROLES)}; the table's columns are {', '.join(columns)}.",
        )
    return out


def roles_of(table: pa.Table) -> RoleMap:
    """The roles a prepared table was built from (empty when it carries none)."""
    metadata = table.schema.metadata or {}
    raw = metadata.get(ROLES_METADATA_KEY)
    return json.loads(raw) if raw else {}


def prepare_records(
    table: pa.Table, roles: Mapping[str, str | Sequence[str]], id_column: str
) -> pa.Table:
    """The standard comparison columns of ``table`` (see the module docstring).

    Parameters
    ----------
    table
        Person records, any column names.
    roles
        Role -> column name, or list of column names (joined with a space; ``identifier`` takes
        one column per identifier instead).
    id_column
        Column with a unique record id (cast to string).

    Raises
    ------
    ConfigError
        When a role is unknown or names a missing column, or the ids are not unique.
    """
    role_map = normalise_roles(roles, table.column_names, id_column)
    ids = table[id_column].cast(pa.string())
    if pc.count_distinct(ids).as_py() != table.num_rows or ids.null_count:
        raise ConfigError(
            f"The id column {id_column!r} has empty or repeated values.",
            hint="Give a column with one unique value per record (--id-column).",
        )
    out: dict[str, pa.Array] = {"unique_id": ids.combine_chunks()}

    def text(role: str) -> pa.Array | None:
        cols = role_map.get(role)
        if not cols:
            return None
        arrays = [_as_string(table[c]) for c in cols]
        if len(arrays) == 1:
            return arrays[0]
        joined = arrays[0]
        for array in arrays[1:]:
            joined = names.join_names(joined, array)
        return joined

    _add_names(out, text("first_name"), text("last_name"), text("full_name"))
    if "birth_date" in role_map:
        out["birth_date"] = _birth_dates(table[role_map["birth_date"][0]])
    if (email := text("email")) is not None:
        email = _blank_to_null(pc.utf8_lower(pc.utf8_trim_whitespace(email)))
        email = pc.if_else(pc.match_substring(email, "@"), email, _STRING_NULL)
        out["email"] = email
        local = pc.replace_substring_regex(email, r"[+@].*$", "")
        out["email_local"] = _blank_to_null(pc.replace_substring(local, ".", ""))
    if (phone := text("phone")) is not None:
        digits = pc.replace_substring_regex(phone, r"\D+", "")
        digits = pc.if_else(pc.greater_equal(pc.utf8_length(digits), 6), digits, _STRING_NULL)
        out["phone"] = pc.utf8_slice_codeunits(digits, start=-9)
    _add_address(out, text)
    for role in ("region", "country"):
        if (value := text(role)) is not None:
            out[role] = names.fold(value)
    for column in role_map.get("identifier", []):
        value = pc.utf8_lower(_as_string(table[column]))
        out[f"id_{_slug(column)}"] = _blank_to_null(pc.replace_substring_regex(value, r"\W+", ""))
    schema_metadata = {ROLES_METADATA_KEY: json.dumps(role_map).encode()}
    return pa.table(out).replace_schema_metadata(schema_metadata)


def _add_names(
    out: dict[str, pa.Array], first: pa.Array | None, last: pa.Array | None, full: pa.Array | None
) -> None:
    if first is None and last is None and full is None:
        return
    n = len(out["unique_id"])
    first = first if first is not None else pa.nulls(n, pa.string())
    last = last if last is not None else pa.nulls(n, pa.string())
    # A whole Han name in the last-name field (no first name) is split like a full name.
    whole = pc.if_else(pc.is_null(first), last, _STRING_NULL)
    full = whole if full is None else pc.coalesce(full, whole)
    split_first = names.map_distinct(full, lambda v: names.split_full_name(v)[0])
    split_last = names.map_distinct(full, lambda v: names.split_full_name(v)[1])
    han_split = pc.and_(pc.is_null(first), pc.is_valid(split_first))
    first_c = pc.if_else(han_split, split_first, names.compact_names(first))
    last_c = pc.if_else(han_split, split_last, names.compact_names(last))
    # Rows without first and last name take both from the whole name.
    neither = pc.and_(pc.is_null(first_c), pc.is_null(last_c))
    first_c = pc.if_else(neither, split_first, first_c)
    last_c = pc.if_else(neither, split_last, last_c)
    # Pinyin names written family name first ("Wang Xiuying") are put back in order, so the
    # first-name guard compares given names (two relatives Wang Na and Wang Wei must conflict).
    pairs = pc.binary_join_element_wise(pc.coalesce(first_c, ""), pc.coalesce(last_c, ""), "\x1f")
    ordered = names.map_distinct(pairs, _ordered)
    swap = pc.fill_null(pc.equal(ordered, "swap"), False)
    first_c, last_c = pc.if_else(swap, last_c, first_c), pc.if_else(swap, first_c, last_c)
    out["first_name"] = first_c
    out["first_name_key"] = names.map_distinct(
        first_c, lambda v: None if v is None else names.NICKNAMES.get(v, v)
    )
    # The second name of a shared nickname (Alex: Alexandra), else the key itself.
    out["first_name_alt"] = names.map_distinct(
        first_c,
        lambda v: (
            None if v is None else names.NICKNAME_ALTERNATIVES.get(v, names.NICKNAMES.get(v, v))
        ),
    )
    # Whether the first name is a known given name (see names.GIVEN_NAMES), for the guards.
    out["first_name_known"] = names.map_distinct(
        first_c, lambda v: "y" if v is not None and v in names.GIVEN_NAMES else None
    )
    # A name that is no known given name may be one mistyped (Billl, Epr): the keys it may be.
    out["first_name_slips"] = names.map_distinct(first_c, names.slip_keys)
    out["last_name"] = last_c
    out["full_name_key"] = names.full_name_key(names.join_names(first_c, last_c))


def _ordered(pair: str | None) -> str | None:
    first, _, last = (pair or "").partition("\x1f")
    ordered = names.order_given_family(first or None, last or None)
    return "swap" if ordered != (first or None, last or None) else None


def _add_address(out: dict[str, pa.Array], get: Callable[[str], pa.Array | None]) -> None:
    street, house = get("street"), get("house_number")
    postcode, city = get("postcode"), get("city")
    if house is not None:
        house = _blank_to_null(pc.replace_substring_regex(pc.utf8_lower(house), r"\W+", ""))
    if street is not None:
        street = names.full_name_key(street if house is None else names.join_names(house, street))
        out["street"] = street
    if postcode is not None:
        postcode = _blank_to_null(pc.replace_substring_regex(pc.utf8_lower(postcode), r"\W+", ""))
        out["postcode"] = postcode
    if street is not None and postcode is not None:
        key = pc.binary_join_element_wise(pc.replace_substring(street, " ", ""), postcode, "|")
        out["address_key"] = key
    elif street is not None:
        out["address_key"] = pc.replace_substring(street, " ", "")
    if city is not None:
        out["city"] = names.fold(city)


def _as_string(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], column.type)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not pa.types.is_string(column.type):
        column = column.cast(pa.string())
    return _blank_to_null(pc.utf8_trim_whitespace(column))


def _blank_to_null(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), _STRING_NULL, values)


def _birth_dates(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], column.type)
    if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
        return pc.strftime(column.cast(pa.timestamp("s")), format="%Y-%m-%d")
    return names.map_distinct(_as_string(column), _iso_date)


def _iso_date(value: str | None) -> str | None:
    """A date string as ``YYYY-MM-DD`` (not calendar-checked: typos must stay comparable).

    Examples
    --------
    >>> [_iso_date(v) for v in ["19560409", "1956-4-9", "09.04.1956", "1956-04-09T10:00", "x"]]
    ['1956-04-09', '1956-04-09', '1956-04-09', '1956-04-09', None]
    """
    if value is None:
        return None
    value = value.strip()
    if len(value) == 8 and value.isdigit():
        if 1800 <= int(value[:4]) <= 2100:
            return f"{value[:4]}-{value[4:6]}-{value[6:]}"
        return f"{value[4:]}-{value[2:4]}-{value[:2]}"
    match = _DATE_PARTS.match(value)
    if match is None:
        return None
    a, b, c = match.groups()
    if len(a) == 4:
        year, month, day = a, b, c
    elif len(c) == 4:
        # Day first, unless the first part cannot be a day-of-month-as-month (US order).
        day, month, year = (a, b, c) if int(b) <= 12 or int(a) > 12 else (b, a, c)
    else:
        return None
    return f"{year}-{int(month):02d}-{int(day):02d}"


def _slug(column: str) -> str:
    """A column name as part of a SQL identifier: letters, digits and underscores.

    Examples
    --------
    >>> _slug("Soc-Sec ID")
    'soc_sec_id'
    """
    return re.sub(r"\W+", "_", column.strip().lower()).strip("_") or "identifier"
