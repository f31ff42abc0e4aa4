"""Normalisation of what sources deliver: e-mail addresses, phone numbers, names, addresses,
countries, dates and money, each to one canonical spelling or a stable reason code.

Every function is pure, deterministic and idempotent (normalising a normalised value changes
nothing), never raises for bad data (bad data gets a reason code from :data:`REASONS`, which the
data-quality layer writes into the quarantine table) and raises
:class:`~insightloop.errors.ConfigError` only for bad arguments, such as an unknown region.
Scalar functions take one value; the batch functions take a column and normalise each distinct
value once. See ``docs/normalisation.md``.
"""

from __future__ import annotations

from insightloop.ingest.normalise.addresses import (
    POSTCODE_COUNTRIES,
    normalise_city,
    normalise_postcode,
    normalise_street,
)
from insightloop.ingest.normalise.batch import (
    clear_caches,
    normalise_amounts,
    normalise_birth_dates,
    normalise_cities,
    normalise_countries,
    normalise_dates,
    normalise_emails,
    normalise_names,
    normalise_phones,
    normalise_postcodes,
    normalise_streets,
    normalise_timestamps,
    split_names,
)
from insightloop.ingest.normalise.countries import normalise_country
from insightloop.ingest.normalise.dates import (
    normalise_birth_date,
    normalise_date,
    normalise_timestamp,
)
from insightloop.ingest.normalise.emails import normalise_email
from insightloop.ingest.normalise.money import NormalisedAmount, format_amount, normalise_amount
from insightloop.ingest.normalise.names import NameParts, normalise_name, split_name
from insightloop.ingest.normalise.options import SourceOptions
from insightloop.ingest.normalise.phones import PHONE_KINDS, NormalisedPhone, normalise_phone
from insightloop.ingest.normalise.reasons import REASONS, Normalised, Reason, is_rejection

__all__ = [
    "PHONE_KINDS",
    "POSTCODE_COUNTRIES",
    "REASONS",
    "NameParts",
    "Normalised",
    "NormalisedAmount",
    "NormalisedPhone",
    "Reason",
    "SourceOptions",
    "clear_caches",
    "format_amount",
    "is_rejection",
    "normalise_amount",
    "normalise_amounts",
    "normalise_birth_date",
    "normalise_birth_dates",
    "normalise_cities",
    "normalise_city",
    "normalise_countries",
    "normalise_country",
    "normalise_date",
    "normalise_dates",
    "normalise_email",
    "normalise_emails",
    "normalise_name",
    "normalise_names",
    "normalise_phone",
    "normalise_phones",
    "normalise_postcode",
    "normalise_postcodes",
    "normalise_street",
    "normalise_streets",
    "normalise_timestamp",
    "normalise_timestamps",
    "split_name",
    "split_names",
]
