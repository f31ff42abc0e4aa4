"""Rule segments: definitions over customer attributes, scores and behaviour, compiled to Ibis.

A segment is a tree of conditions (see docs/segments.md) written in YAML/JSON or with the Python
builders, validated against the data with the path of every problem, and compiled to an Ibis
expression that runs on DuckDB and Spark alike; user values only ever enter it as typed literals.

- :mod:`.model`: the definition language (pydantic models), loading and dumping.
- :mod:`.builder`: the same definitions in Python (``attr("value_tier") == "top"``, ...).
- :mod:`.validate`: checks against the attribute and behaviour tables.
- :mod:`.compile`: :func:`compile_segment`, the members as an Ibis table.
- :mod:`.store`: saved segments, membership history, sizes and overlaps.
"""

from __future__ import annotations

from insightloop.analytics.segments.builder import (
    Attr,
    Behaviour,
    Measure,
    all_of,
    any_of,
    attr,
    campaigns,
    contacts,
    events,
    feedback,
    not_,
    orders,
    purchases,
    segment,
)
from insightloop.analytics.segments.compile import compile_segment
from insightloop.analytics.segments.errors import (
    Problem,
    SegmentDefinitionError,
    SegmentError,
    SegmentNotFoundError,
)
from insightloop.analytics.segments.model import (
    BEHAVIOURS,
    OPERATORS,
    AggregateThreshold,
    AllOf,
    AnyOf,
    AttributeCondition,
    BehaviourCondition,
    Condition,
    CountThreshold,
    Filter,
    FollowUp,
    NotOf,
    SegmentRef,
    condition_to_dict,
    dumps_condition,
    loads_condition,
    parse_condition,
)
from insightloop.analytics.segments.sources import SegmentSources
from insightloop.analytics.segments.store import (
    RefreshReport,
    SavedSegment,
    SegmentChange,
    SegmentOverlap,
    current_members,
    delete_segment,
    get_segment,
    list_segments,
    preview_count,
    refresh_segments,
    save_segment,
    segment_history,
    segment_overlaps,
    segment_sizes,
)
from insightloop.analytics.segments.validate import Resolver, check_condition, problems_of

__all__ = [
    "BEHAVIOURS",
    "OPERATORS",
    "AggregateThreshold",
    "AllOf",
    "AnyOf",
    "Attr",
    "AttributeCondition",
    "Behaviour",
    "BehaviourCondition",
    "Condition",
    "CountThreshold",
    "Filter",
    "FollowUp",
    "Measure",
    "NotOf",
    "Problem",
    "RefreshReport",
    "Resolver",
    "SavedSegment",
    "SegmentChange",
    "SegmentDefinitionError",
    "SegmentError",
    "SegmentNotFoundError",
    "SegmentOverlap",
    "SegmentRef",
    "SegmentSources",
    "all_of",
    "any_of",
    "attr",
    "campaigns",
    "check_condition",
    "compile_segment",
    "condition_to_dict",
    "contacts",
    "current_members",
    "delete_segment",
    "dumps_condition",
    "events",
    "feedback",
    "get_segment",
    "list_segments",
    "loads_condition",
    "not_",
    "orders",
    "parse_condition",
    "preview_count",
    "problems_of",
    "purchases",
    "refresh_segments",
    "save_segment",
    "segment",
    "segment_history",
    "segment_overlaps",
    "segment_sizes",
]
