"""Response schemas of the API (one family per resource)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

__all__ = [
    "ConsentPublic",
    "CustomerSearchPublic",
    "CustomerSummaryPublic",
    "ErrorPublic",
    "FieldSourcePublic",
    "GoldenPublic",
    "IdentifierPublic",
    "ProfilePublic",
    "ProfileStorePublic",
    "RunPublic",
    "RunsPublic",
    "SegmentMembershipPublic",
    "SourceRecordPublic",
    "StatusPublic",
    "TablePublic",
    "TimelineEntryPublic",
]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


#: A time as the API writes it: RFC 3339 with its offset (the workspace stores naive UTC).
UtcDateTime = Annotated[datetime, AfterValidator(_utc)]


class ErrorPublic(BaseModel):
    code: str = Field(description="Stable machine-readable error code.")
    message: str = Field(description="What went wrong.")
    hint: str | None = Field(None, description="What to do about it.")


class TablePublic(BaseModel):
    name: str
    layer: str
    owner: str
    rows: int


class StepRunPublic(BaseModel):
    step: str
    position: int
    status: str
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None
    seconds: float | None
    rows_written: int
    summary: dict[str, Any]
    error: str | None


class RunPublic(BaseModel):
    run_id: str
    started_at: UtcDateTime
    finished_at: UtcDateTime | None
    seconds: float | None
    status: str
    steps: list[str]
    backend: str
    error: str | None
    step_records: list[StepRunPublic]


class RunsPublic(BaseModel):
    data: list[RunPublic]
    count: int


class ProfileStorePublic(BaseModel):
    """The profile store the profile API serves from."""

    store: Literal["sqlite", "redis"] = Field(
        description="Where the documents are kept ([profiles] store)."
    )
    customers: int = Field(description="Customers with a profile document.")
    built_at: UtcDateTime | None = Field(description="The last full build (pipeline run).")
    updated_at: UtcDateTime | None = Field(description="The last change (a build or the loader).")
    bytes: int = Field(
        description="Size of the store on disk (SQLite), or of its documents (Redis)."
    )


class StatusPublic(BaseModel):
    path: str
    name: str
    backend: str
    schema_version: int
    latest_schema_version: int
    schema_current: bool
    tables: list[TablePublic]
    last_run: RunPublic | None
    profile_store: ProfileStorePublic | None = Field(
        None, description="Null before the first pipeline run builds it."
    )


# -- profiles ----------------------------------------------------------------------------------


class GoldenPublic(BaseModel):
    """The golden record: each field chosen by its survivorship rule (masked without
    ``pii:read``: names, contact details, address and birth date)."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    birth_date: date | None = None
    street: str | None = None
    postcode: str | None = None
    city: str | None = None
    country: str | None = None
    language: str | None = None


class FieldSourcePublic(BaseModel):
    """Where a golden-record value came from."""

    source: str | None = Field(None, description="Source of the record that won.")
    key: str | None = Field(None, description="Key of that record in its source.")
    at: UtcDateTime | None = Field(None, description="When the value was set there.")
    rule: str | None = Field(None, description="The survivorship rule that chose it.")


class IdentifierPublic(BaseModel):
    type: str = Field(description="email, phone, customer_key, loyalty_number, user_id, ...")
    value: str | None = Field(description="Normalised value (masked for e-mail and phone).")
    records: int | None = Field(None, description="Records of the customer that carry it.")


class SourceRecordPublic(BaseModel):
    source: str
    key: str | None
    fields: dict[str, Any]
    first_seen: UtcDateTime | None = None
    assigned_at: UtcDateTime | None = None


class ConsentPublic(BaseModel):
    channel: str | None
    purpose: str | None
    status: str | None
    recorded_at: UtcDateTime | None
    source: str | None


class TimelineEntryPublic(BaseModel):
    at: UtcDateTime | None
    kind: str = Field(description="order, event, interaction, feedback or campaign.")
    channel: str | None
    summary: str
    source: str | None
    key: str | None = Field(description="Order, message, interaction, response or campaign id.")
    details: dict[str, Any]


class SegmentMembershipPublic(BaseModel):
    segment: str
    kind: str = Field(description="rule, cluster or lifecycle.")
    since: UtcDateTime | None = Field(description="When the customer entered the segment.")


class ProfilePublic(BaseModel):
    """One customer's 360-degree view, as materialised in the profile store."""

    customer_id: str
    golden: GoldenPublic
    created_at: UtcDateTime | None = None
    updated_at: UtcDateTime | None = None
    provenance: dict[str, FieldSourcePublic]
    identifiers: list[IdentifierPublic]
    records: list[SourceRecordPublic]
    consents: list[ConsentPublic]
    timeline: list[TimelineEntryPublic] = Field(
        description="The most recent touchpoints, newest first."
    )
    timeline_counts: dict[str, int] = Field(description="All touchpoints of the customer by kind.")
    attributes: dict[str, Any] | None = Field(
        None,
        description="Computed attributes as of the last run: measures (docs/analytics.md), RFM "
        "scores, value tier, lifetime value, lifecycle stage and persona; null before the "
        "measures are computed.",
    )
    segments: list[SegmentMembershipPublic] = Field(
        default_factory=list, description="The segments the customer is in now."
    )
    materialised_at: UtcDateTime = Field(description="When this document was built.")
    masked: bool = Field(description="Whether personal data is masked for the caller's role.")


class CustomerSummaryPublic(BaseModel):
    customer_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    city: str | None = None
    country: str | None = None


class CustomerSearchPublic(BaseModel):
    data: list[CustomerSummaryPublic] = Field(description="Best matches first.")
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last.")
    masked: bool
