"""The unified customer: golden record with field provenance, and the 360-degree view.

- :func:`build_golden_records` writes the ``customers`` table: one golden record per customer,
  each field chosen by a survivorship rule, with the source record and time it came from.
- :class:`ProfileReader` finds a customer by any identifier and reads the golden record,
  identifiers, source records, consents and timeline of every touchpoint.
"""

from __future__ import annotations

from insightloop.profile.fields import FIELD_GROUPS, GOLDEN_FIELDS, RULES, survivorship_rules
from insightloop.profile.golden import GoldenReport, build_golden_records
from insightloop.profile.records import SourceRecord
from insightloop.profile.timeline import KINDS, ProfileQueryError, TimelineEntry
from insightloop.profile.view import (
    AmbiguousIdentifierError,
    ConsentState,
    FieldSource,
    Profile,
    ProfileIdentifier,
    ProfileNotFoundError,
    ProfileReader,
)

__all__ = [
    "FIELD_GROUPS",
    "GOLDEN_FIELDS",
    "KINDS",
    "RULES",
    "AmbiguousIdentifierError",
    "ConsentState",
    "FieldSource",
    "GoldenReport",
    "Profile",
    "ProfileIdentifier",
    "ProfileNotFoundError",
    "ProfileQueryError",
    "ProfileReader",
    "SourceRecord",
    "TimelineEntry",
    "build_golden_records",
    "survivorship_rules",
]
