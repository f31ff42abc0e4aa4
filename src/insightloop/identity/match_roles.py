"""Reading person files and recognising what their columns hold (their matching roles).

Headers are recognised by name (``given_name``, ``First Name`` and ``fname`` are all first names;
``surname`` is the last name; ``soc_sec_id`` or ``ssn`` an identifier; ``suburb`` a city ...). A
column whose header says nothing is recognised by its values when they are unmistakable (most
contain an ``@``: e-mail; most are dates: birth date). Explicit roles always win.

Examples
--------
>>> guess_roles(["rec_id", "given_name", "surname", "date_of_birth", "soc_sec_id", "suburb"])
({'first_name': ['given_name'], 'last_name': ['surname'], 'birth_date': ['date_of_birth'], \
'identifier': ['soc_sec_id'], 'city': ['suburb']}, 'rec_id')
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from insightloop.identity.splink_prepare import ROLES, RoleMap
from insightloop.identity.splink_settings import MatchError

__all__ = ["guess_roles", "read_person_file"]

_HEADERS: dict[str, tuple[str, ...]] = {
    "first_name": ("firstname", "fname", "givenname", "given", "forename", "first",
                   "christianname", "fornamn", "tilltalsnamn"),
    "last_name": ("lastname", "lname", "surname", "familyname", "last", "efternamn"),
    "full_name": ("name", "fullname", "nameraw", "customername", "personname", "namn"),
    "birth_date": ("dateofbirth", "dob", "birthdate", "birthday", "born", "datebirth",
                   "fodelsedatum"),
    "email": ("email", "emailaddress", "mail", "epost"),
    "phone": ("phone", "telephone", "tel", "mobile", "phonenumber", "cell", "cellphone",
              "landline", "mobilephone", "telefon"),
    "street": ("address", "address1", "addressline1", "street", "streetaddress", "addr",
               "address2", "addressline2", "gatuadress", "adress"),
    "house_number": ("streetnumber", "housenumber", "houseno", "number", "streetno"),
    "postcode": ("postcode", "zip", "zipcode", "postalcode", "postnummer", "postnr"),
    "city": ("city", "suburb", "town", "locality", "municipality", "ort", "postort"),
    "region": ("state", "region", "county", "province", "lan"),
    "country": ("country", "countrycode", "land"),
    "identifier": ("socsecid", "ssn", "socialsecuritynumber", "nationalid", "personalnumber",
                   "personnummer", "loyaltynumber", "loyaltyid", "passport", "passportnumber",
                   "taxid", "nin"),
}  # fmt: skip
_ID_HEADERS = ("id", "recid", "recordid", "recordno", "uniqueid", "customerid", "customerno",
               "customernumber", "clientid", "accountid", "accountno", "key", "sourcekey",
               "personid")  # fmt: skip
_LOOKUP = {alias: role for role, aliases in _HEADERS.items() for alias in aliases}
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_DATE = r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}|(19|20)\d{6})$"


def _norm(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def guess_roles(
    columns: Sequence[str], sample: pa.Table | None = None
) -> tuple[RoleMap, str | None]:
    """Roles recognised from headers (and, for unknown headers, from ``sample`` values).

    Returns the role map and the id column (None when no column looks like one).
    """
    roles: RoleMap = {}
    id_column = None
    for column in columns:
        key = _norm(column)
        role = _LOOKUP.get(key)
        if role is None and key in _ID_HEADERS and id_column is None:
            id_column = column
            continue
        if role is None and sample is not None:
            role = _by_values(sample[column])
        if role is None:
            continue
        if role not in ("street", "identifier") and role in roles:
            continue  # the first column of a role wins; street parts and ids accumulate
        roles.setdefault(role, []).append(column)
    return roles, id_column


def _by_values(values: pa.ChunkedArray) -> str | None:
    text = pc.utf8_trim_whitespace(values.cast(pa.string())).drop_null()
    if len(text) == 0:
        return None
    share = lambda pattern: pc.mean(pc.match_substring_regex(text, pattern).cast(pa.int8()))  # noqa: E731
    if share(_EMAIL).as_py() > 0.8:
        return "email"
    if share(_DATE).as_py() > 0.8:
        return "birth_date"
    return None


def merge_roles(guessed: RoleMap, given: Mapping[str, str | Sequence[str]] | None) -> RoleMap:
    """Explicit roles replace the guessed ones of the same role; a column has one role."""
    if not given:
        return guessed
    explicit: RoleMap = {r: [c] if isinstance(c, str) else list(c) for r, c in given.items()}
    unknown = [r for r in explicit if r not in ROLES]
    if unknown:
        raise MatchError(
            f"Unknown role(s): {', '.join(unknown)}.", hint=f"Roles are {', '.join(ROLES)}."
        )
    taken = {c for cols in explicit.values() for c in cols}
    merged = {r: [c for c in cols if c not in taken] for r, cols in guessed.items()}
    merged = {r: cols for r, cols in merged.items() if cols and r not in explicit}
    return {**merged, **explicit}


def read_person_file(path: Path) -> pa.Table:
    """A CSV or Parquet file with every column as text (leading zeros and odd dates intact)."""
    if not path.is_file():
        raise MatchError(f"{path} does not exist.", hint="Give the path of a CSV or Parquet file.")
    suffixes = "".join(path.suffixes).lower()
    try:
        if suffixes.endswith((".parquet", ".pq")):
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            return pa.table([_text(table[c]) for c in table.column_names], names=table.column_names)
        import duckdb

        con = duckdb.connect()
        try:
            relation = con.read_csv(str(path), all_varchar=True, header=True)
            return relation.fetch_arrow_table()
        finally:
            con.close()
    except MatchError:
        raise
    except Exception as exc:  # noqa: BLE001 - readers raise many types; the file is the problem
        # The reader's message may quote a line of the file: name the file and the error type.
        raise MatchError(
            f"Cannot read {path} ({type(exc).__name__}).",
            hint="Give a CSV file with a header row, or a Parquet file.",
        ) from None


def _text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column
    if pa.types.is_timestamp(column.type):
        return pc.strftime(column, format="%Y-%m-%d")
    return column.cast(pa.string())
