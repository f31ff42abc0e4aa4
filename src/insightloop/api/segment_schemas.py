"""Request and response schemas of the segments API (``/api/v1/segments``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from insightloop.api.schemas import ErrorPublic, UtcDateTime

__all__ = [
    "SEGMENT_NAME_PATTERN",
    "SegmentCreate",
    "SegmentDefinitionErrorPublic",
    "SegmentDetailPublic",
    "SegmentHistoryDayPublic",
    "SegmentMemberPublic",
    "SegmentMembersPublic",
    "SegmentPreview",
    "SegmentPreviewPublic",
    "SegmentProblemPublic",
    "SegmentPublic",
    "SegmentSavedPublic",
    "SegmentUpdate",
    "SegmentsPublic",
]

#: A segment name: lower-case letters and digits separated by single '-' or '_' (as
#: :func:`insightloop.analytics.segments.save_segment` requires).
SEGMENT_NAME_PATTERN = r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$"

SegmentName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=SEGMENT_NAME_PATTERN,
        description="Lower-case letters and digits separated by single '-' or '_'.",
        examples=["lapsed-vip"],
    ),
]

#: The whole numbers the engine can hold (64-bit).
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


def _storable(value: Any, where: str = "definition") -> None:
    """Refuse what no database literal can hold: NUL characters and integers beyond 64 bits
    (the definition language checks everything else, with paths)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{where} holds a NUL character")
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise ValueError(f"{where} holds a whole number beyond 64 bits")
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable(key, where)
            _storable(item, where)
    elif isinstance(value, list):
        for item in value:
            _storable(item, where)


def _check_definition(value: dict[str, Any]) -> dict[str, Any]:
    _storable(value)
    return value


Definition = Annotated[
    dict[str, Any],
    AfterValidator(_check_definition),
    Field(
        description="One condition of the segment language (docs/segments.md): attribute, "
        "behaviour, all, any, not or segment; conditions nest.",
        examples=[
            {
                "all": [
                    {"attribute": "value_tier", "op": "eq", "value": "top"},
                    {"behaviour": "orders", "within_days": 90, "count": {"op": "eq", "value": 0}},
                ]
            }
        ],
    ),
]


class _Request(BaseModel):
    # An unknown field is refused rather than dropped: a typo must not go unnoticed.
    model_config = ConfigDict(extra="forbid")


class SegmentCreate(_Request):
    name: SegmentName
    definition: Definition


class SegmentUpdate(_Request):
    definition: Definition


class SegmentPreview(_Request):
    definition: Definition


class SegmentPublic(BaseModel):
    name: str
    version: int = Field(description="Raised by every change of the definition.")
    size: int = Field(description="Current members, as of the last refresh.")
    created_by: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    definition: dict[str, Any]


class SegmentsPublic(BaseModel):
    data: list[SegmentPublic] = Field(description="By name.")
    count: int


class SegmentHistoryDayPublic(BaseModel):
    day: date = Field(description="A UTC day on which members entered or exited.")
    entered: int
    exited: int


class SegmentDetailPublic(SegmentPublic):
    history: list[SegmentHistoryDayPublic] = Field(description="Oldest day first.")


class SegmentSavedPublic(SegmentPublic):
    changed: bool = Field(
        description="Whether the request changed anything (saving the same definition does not)."
    )
    preview_count: int = Field(
        description="Customers the definition selects now; they become members at the next "
        "refresh (`insightloop segments refresh` or `insightloop run`)."
    )


class SegmentPreviewPublic(BaseModel):
    count: int = Field(description="Customers the definition selects now.")
    as_of: UtcDateTime = Field(description="The moment the data is computed as of.")


class SegmentMemberPublic(BaseModel):
    customer_id: str
    entered_at: UtcDateTime


class SegmentMembersPublic(BaseModel):
    data: list[SegmentMemberPublic] = Field(description="Longest-standing members first.")
    total: int = Field(description="All current members.")
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last.")


class SegmentProblemPublic(BaseModel):
    path: str = Field(
        description="The node of the definition, e.g. all[1].where[0]; '' for the root."
    )
    message: str
    hint: str | None = None


class SegmentDefinitionErrorPublic(ErrorPublic):
    problems: list[SegmentProblemPublic] = Field(
        default_factory=list,
        description="Every problem of the definition, each with its path (code `invalid_segment`).",
    )
