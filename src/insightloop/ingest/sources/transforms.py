"""The declarative transforms of a source's ``mapping``: one canonical column from raw columns.

A transform names where the value comes from (exactly one of ``column``, ``constant``,
``concat`` or ``split``) and then, optionally, a ``value_map`` and one conversion step
(``cast``, ``parse`` or ``normalise``); timestamps may name their own ``time_zone``, fixed or
per row. In ``insightloop.toml`` a bare string is short for
``{ column = "..." }``::

    [sources.crm.mapping]
    source_key = "CustomerID"
    email = { column = "E-post" }
    name_raw = { concat = ["FirstName", "LastName"], sep = " " }
    country = { constant = "SE" }
    status = { column = "Status", value_map = { A = "active", P = "passive" }, default = "other" }
    nps = { column = "score", cast = "int" }
    ordered_at = { column = "ts", time_zone = { column = "store", value_map = { S1 = "UTC" } } }

When no step is given, the canonical column's type and name choose one (see
:func:`default_step`): e-mails, phones and names are normalised, dates and timestamps parsed,
money normalised as amounts, integers, floats and booleans cast.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, model_validator

from insightloop.errors import ConfigError
from insightloop.ingest.normalise import SourceOptions

__all__ = ["CAST_TYPES", "NORMALISERS", "Step", "Transform", "default_step"]

CastType = Literal["int", "float", "decimal", "bool", "string"]
CAST_TYPES: tuple[CastType, ...] = get_args(CastType)

Normaliser = Literal[
    "email",
    "phone",
    "name",
    "given_name",
    "family_name",
    "amount",
    "country",
    "city",
    "street",
    "postcode",
    "birth_date",
    "none",
]
NORMALISERS: tuple[Normaliser, ...] = get_args(Normaliser)

#: A resolved conversion step: ``("cast", type)``, ``("parse", "date" | "timestamp")``,
#: ``("normalise", normaliser)`` or ``("none", "")``.
Step = tuple[str, str]

_BY_NAME: dict[str, Normaliser] = {
    "email": "email",
    "phone": "phone",
    "first_name": "given_name",
    "last_name": "family_name",
    "name_raw": "none",
    "country": "country",
    "city": "city",
    "street": "street",
    "postcode": "postcode",
    "birth_date": "birth_date",
    "shipping_name": "none",
    "shipping_street": "street",
    "shipping_postcode": "postcode",
    "shipping_city": "city",
    "shipping_country": "country",
}
_BY_TYPE: dict[str, Step] = {
    "int64": ("cast", "int"),
    "float64": ("cast", "float"),
    "boolean": ("cast", "bool"),
    "date": ("parse", "date"),
    "timestamp": ("parse", "timestamp"),
}


class Transform(BaseModel):
    """How one canonical column is computed from a raw batch.

    Examples
    --------
    >>> Transform(column="E-post").origin()
    'column'
    >>> Transform(split="member_name", sep=" ", part=-1).part
    -1
    >>> Transform(column="a", constant="b")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    pydantic_core._pydantic_core.ValidationError: ...
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str | None = Field(default=None, description="Take this raw column as it is.")
    constant: str | None = Field(default=None, description="The same value on every row.")
    concat: list[str] | None = Field(
        default=None, description="Join these raw columns with `sep`, skipping empty ones."
    )
    split: str | None = Field(
        default=None, description="Split this raw column by `sep`, take `part`."
    )
    sep: str | None = Field(
        default=None, description="Separator of `concat` (default ' ') or `split`."
    )
    part: int = Field(default=0, description="Part of a `split` (0 is the first, -1 the last).")
    value_map: dict[str, str] | None = Field(
        default=None, description="Replace values (after trimming); others become `default`."
    )
    default: str | None = Field(
        default=None, description="Value for unmapped values; unset keeps them unless `strict_map`."
    )
    strict_map: bool = Field(
        default=False, description="Unmapped values become `default` (or null)."
    )
    cast: CastType | None = Field(
        default=None, description="Convert to int, float, decimal, bool, ..."
    )
    parse: Literal["date", "timestamp"] | None = Field(
        default=None, description="Parse dates or times."
    )
    formats: list[str] = Field(
        default_factory=list, description="strptime formats tried first by `parse`."
    )
    normalise: Normaliser | None = Field(
        default=None, description="Normaliser to apply; 'none' keeps the text as it is."
    )
    time_zone: str | Transform | None = Field(
        default=None,
        description="Zone of timestamps written without an offset, instead of the source's "
        "time_zone: an IANA name, or a transform giving one per row (rows without one use "
        "the source's).",
    )

    region: str | Transform | None = Field(
        default=None,
        description="Regions to read phone numbers written without a country code, instead of "
        "the source's region: ISO 3166-1 codes tried in order ('GB,IE,US'), or a transform "
        "giving them per row (e.g. from the agent's team); rows without one use the source's.",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"column": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _check(self) -> Transform:
        origins = [k for k in ("column", "constant", "concat", "split") if getattr(self, k)]
        if len(origins) != 1:
            raise ValueError(
                "give exactly one of column, constant, concat or split"
                + (f" (got {', '.join(origins)})" if origins else "")
            )
        steps = [k for k in ("cast", "parse", "normalise") if getattr(self, k) is not None]
        if len(steps) > 1:
            raise ValueError(f"give at most one of cast, parse or normalise (got {steps})")
        if self.split is not None and not self.sep:
            raise ValueError("split needs a non-empty sep, such as sep = ' '")
        if self.concat is not None and not self.concat:
            raise ValueError("concat needs at least one column")
        # Without a step the canonical column chooses one; the source checks that it reads
        # dates (see parses_dates).
        if self.formats and steps and not self.parses_dates():
            raise ValueError("formats only apply with parse = 'date' or 'timestamp'")
        if self.time_zone is not None:
            if steps and self.parse != "timestamp":
                raise ValueError("time_zone only applies with parse = 'timestamp'")
            _check_zones(self.time_zone)
        if self.region is not None:
            if steps and self.normalise != "phone":
                raise ValueError("region only applies to phone numbers (normalise = 'phone')")
            _check_regions(self.region)
        return self

    def parses_dates(self, step: Step | None = None) -> bool:
        """Whether the transform reads dates, so that ``formats`` apply: its own step, or
        ``step``, the one its canonical column chooses (:func:`default_step`).

        Examples
        --------
        >>> Transform(column="dob", normalise="birth_date").parses_dates()
        True
        >>> Transform(column="at").parses_dates(("parse", "timestamp"))
        True
        """
        kind, arg = step or ("", "")
        if self.cast or self.parse or self.normalise:
            kind, arg = default_step("", "", self)
        return kind == "parse" or (kind, arg) == ("normalise", "birth_date")

    def origin(self) -> str:
        """Which of ``column``, ``constant``, ``concat`` or ``split`` this transform uses."""
        for key in ("column", "constant", "concat", "split"):
            if getattr(self, key):
                return key
        raise AssertionError("validated transforms have an origin")  # pragma: no cover

    def raw_columns(self) -> list[str]:
        """The raw columns the transform reads.

        Examples
        --------
        >>> Transform(concat=["FirstName", "LastName"]).raw_columns()
        ['FirstName', 'LastName']
        """
        own = list(self.concat) if self.concat is not None else []
        own += [c for c in (self.column, self.split) if c is not None]
        for extra in (self.time_zone, self.region):
            if isinstance(extra, Transform):
                own += [c for c in extra.raw_columns() if c not in own]
        return own

    def to_toml_value(self) -> str | dict[str, Any]:
        """The transform as a TOML value: a bare column name when that is all it is.

        Examples
        --------
        >>> Transform(column="Email").to_toml_value()
        'Email'
        >>> Transform(column="dob", parse="date", formats=["%Y%m%d"]).to_toml_value()
        {'column': 'dob', 'parse': 'date', 'formats': ['%Y%m%d']}
        """
        data = self.model_dump(exclude_defaults=True)
        return data["column"] if list(data) == ["column"] else data


def phone_regions(text: str) -> list[str]:
    """The regions of a ``region`` value, in order: ``"gb, IE"`` gives ``["GB", "IE"]``.

    Examples
    --------
    >>> phone_regions("gb, IE")
    ['GB', 'IE']
    """
    return [part.strip().upper() for part in text.split(",") if part.strip()]


def _check_regions(region: str | Transform) -> None:
    """Raise ``ValueError`` for a region that is not a country code phones know, or a per-row
    region transform that converts its values."""
    if isinstance(region, Transform):
        if region.cast or region.parse or region.normalise or region.region is not None:
            raise ValueError(
                "a per-row region takes column, constant, concat or split and value_map, "
                "not cast, parse, normalise or region"
            )
        texts = [region.constant, region.default, *(region.value_map or {}).values()]
    else:
        texts = [region]
    known = phonenumbers.SUPPORTED_REGIONS
    for text in texts:
        if text is None:
            continue
        codes = phone_regions(str(text))
        bad = [code for code in codes if code not in known]
        if bad or not codes:
            raise ValueError(
                f"region {text!r}: give ISO 3166-1 alpha-2 codes such as 'SE' or 'GB,IE,US'"
            )


def _check_zones(zone: str | Transform) -> None:
    """Raise ``ValueError`` for a zone that is not an IANA name, or a per-row zone transform
    that converts its values or names a zone that does not exist."""
    if isinstance(zone, Transform):
        if zone.cast or zone.parse or zone.normalise or zone.time_zone is not None:
            raise ValueError(
                "a per-row time_zone takes column, constant, concat or split and value_map, "
                "not cast, parse, normalise or time_zone"
            )
        names = [zone.constant, zone.default, *(zone.value_map or {}).values()]
    else:
        names = [zone]
    for name in names:
        if name is not None:
            try:
                SourceOptions(time_zone=name)
            except ConfigError as error:
                raise ValueError(error.message.removeprefix("Unusable source options: ")) from None


def default_step(column: str, dtype: str, transform: Transform) -> Step:
    """The conversion a transform applies for canonical ``column`` of type ``dtype``.

    Examples
    --------
    >>> default_step("email", "string", Transform(column="E-post"))
    ('normalise', 'email')
    >>> default_step("total_amount", "decimal(18, 4)", Transform(column="sum"))
    ('normalise', 'amount')
    >>> default_step("nps", "int64", Transform(column="score"))
    ('cast', 'int')
    """
    if transform.cast is not None:
        return ("cast", transform.cast)
    if transform.parse is not None:
        return ("parse", transform.parse)
    if transform.normalise is not None:
        return ("normalise", transform.normalise)
    if transform.constant is not None and dtype == "string":
        return ("none", "")
    if column in _BY_NAME:
        return ("normalise", _BY_NAME[column])
    if dtype.startswith("decimal"):
        return ("normalise", "amount")
    return _BY_TYPE.get(dtype, ("none", ""))
