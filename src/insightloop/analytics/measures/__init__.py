"""Computed attributes (measures) per customer, as of any date, through the engine.

- :data:`BUILT_IN` and :func:`all_measures`: the definitions (versioned; more can be declared in
  ``[analytics.measures]``).
- :func:`measures_expr`: every customer's measures as of a date, as an Ibis expression (point in
  time correct: only what happened up to that day counts), for models that must not see the
  future.
- :func:`build_measures` / :func:`refresh_measures`: store them in ``customer_measures`` with
  RFM scores and value tiers, for everyone or for the customers new data touched.
"""

from __future__ import annotations

from insightloop.analytics.measures.build import (
    CUTS_TABLE,
    DEFINITIONS_TABLE,
    MEASURES_TABLE,
    MeasuresReport,
    build_measures,
    refresh_measures,
)
from insightloop.analytics.measures.catalogue import BUILT_IN, Measure, Window, custom_measure
from insightloop.analytics.measures.compute import (
    BREAKDOWNS,
    Breakdown,
    all_measures,
    measures_expr,
    newest_day,
)
from insightloop.analytics.measures.scores import RFM, Cuts, tier_summary

__all__ = [
    "BREAKDOWNS",
    "BUILT_IN",
    "CUTS_TABLE",
    "DEFINITIONS_TABLE",
    "MEASURES_TABLE",
    "RFM",
    "Breakdown",
    "Cuts",
    "Measure",
    "MeasuresReport",
    "Window",
    "all_measures",
    "build_measures",
    "custom_measure",
    "measures_expr",
    "newest_day",
    "refresh_measures",
    "tier_summary",
]
