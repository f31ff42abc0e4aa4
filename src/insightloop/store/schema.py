"""The canonical model, declared once.

Every table and column says which migration introduced it (``added_in``) and which module owns it.
Migrations create exactly what this declaration says for their version, the data-model reference
(docs/data-model.md) is generated from it, and a test checks that a migrated workspace matches it.
Change the model by adding columns or tables with a new ``added_in`` and a new migration number;
never edit what an applied migration created.

Conventions: timestamps are UTC without a zone; money is ``decimal(18, 4)`` in the row's currency;
free-form structures (Segment properties, provenance, reasons) are JSON text, which every backend
stores; rows of source-level tables carry their lineage (``_source``, ``_batch_id``,
``_loaded_at``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

import ibis

__all__ = [
    "CANONICAL_MODEL",
    "ENTITIES",
    "ENTITY_TABLES",
    "Column",
    "Entity",
    "TableSpec",
    "schema_at",
    "table_spec",
]

Layer = Literal["system", "source", "unified"]
MONEY = "decimal(18, 4)"


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    description: str
    added_in: int | None = None  # None: the table's own migration


@dataclass(frozen=True)
class TableSpec:
    name: str
    layer: Layer
    owner: str
    description: str
    added_in: int
    columns: tuple[Column, ...] = field(default_factory=tuple)

    def column_version(self, column: Column) -> int:
        return column.added_in if column.added_in is not None else self.added_in

    def schema(self, version: int | None = None) -> ibis.Schema:
        """The table's schema as of migration ``version`` (default: the latest)."""
        return ibis.schema(
            {
                c.name: c.dtype
                for c in self.columns
                if version is None or self.column_version(c) <= version
            }
        )


def _c(name: str, dtype: str, description: str, added_in: int | None = None) -> Column:
    return Column(name, dtype, description, added_in)


_LINEAGE = (
    _c("_source", "string", "Name of the source the row was loaded from."),
    _c("_batch_id", "string", "Load batch that wrote the row."),
    _c("_loaded_at", "timestamp", "When the row was loaded (UTC)."),
)
_CUSTOMER_KEY = _c("source_customer_key", "string", "The customer's key in the same source system.")


def _source_table(name: str, owner: str, description: str, *columns: Column) -> TableSpec:
    return TableSpec(name, "source", owner, description, 2, (*columns, *_LINEAGE))


_SYSTEM = (
    TableSpec(
        "schema_migrations",
        "system",
        "store.migrate",
        "Migrations applied to this workspace.",
        1,
        (
            _c("version", "int64", "Migration number."),
            _c("name", "string", "What the migration does."),
            _c("checksum", "string", "Hash of the tables and columns the migration created."),
            _c("applied_at", "timestamp", "When it was applied (UTC)."),
            _c("insightloop_version", "string", "Release that applied it."),
        ),
    ),
    TableSpec(
        "pipeline_runs",
        "system",
        "pipeline.records",
        "One row per `insightloop run`.",
        1,
        (
            _c("run_id", "string", "Run identifier (sortable by start time)."),
            _c("started_at", "timestamp", "Start (UTC)."),
            _c("finished_at", "timestamp", "End (UTC); empty while running or after a crash."),
            _c("status", "string", "running, succeeded or failed."),
            _c("steps", "string", "JSON list of the steps requested."),
            _c("error", "string", "What failed, for a failed run (never personal data)."),
            _c("backend", "string", "Engine the run used."),
            _c("insightloop_version", "string", "Release that ran it."),
        ),
    ),
    TableSpec(
        "pipeline_step_runs",
        "system",
        "pipeline.records",
        "One row per step of a run.",
        1,
        (
            _c("run_id", "string", "The run."),
            _c("step", "string", "Step name."),
            _c("position", "int64", "Order of the step in the run."),
            _c("started_at", "timestamp", "Start (UTC)."),
            _c("finished_at", "timestamp", "End (UTC)."),
            _c("status", "string", "succeeded, failed or skipped."),
            _c("rows_written", "int64", "Rows the step wrote."),
            _c("summary", "string", "JSON summary of what the step did."),
            _c("error", "string", "What failed (never personal data)."),
        ),
    ),
    TableSpec(
        "table_stats",
        "system",
        "quality.volume",
        "Row count of every canonical table after each run: the history that volume checks use.",
        1,
        (
            _c("run_id", "string", "The run that took the snapshot."),
            _c("table_name", "string", "Canonical table."),
            _c("row_count", "int64", "Rows in the table."),
            _c("measured_at", "timestamp", "When it was counted (UTC)."),
        ),
    ),
)

_SOURCE = (
    _source_table(
        "src_customers",
        "ingest",
        "Customer reference records per source system, normalised, "
        "with their originals and validity interval (history of reference data).",
        _c("source_key", "string", "The record's key in its source system."),
        _c("first_name", "string", "Given name, normalised (NFKC, whitespace, casing)."),
        _c("last_name", "string", "Family name, normalised."),
        _c("name_raw", "string", "The name as received."),
        _c("email", "string", "E-mail, trimmed and lower-cased; empty when invalid."),
        _c("email_raw", "string", "E-mail as received."),
        _c("phone", "string", "Phone in E.164; empty when unparseable."),
        _c("phone_raw", "string", "Phone as received."),
        _c("birth_date", "date", "Date of birth."),
        _c("gender", "string", "Gender as recorded, if any."),
        _c("street", "string", "Street address, normalised."),
        _c("postcode", "string", "Postcode, normalised per country."),
        _c("city", "string", "City."),
        _c("country", "string", "ISO 3166-1 alpha-2 country code."),
        _c("address_raw", "string", "Address as received."),
        _c("language", "string", "Preferred language (BCP 47)."),
        _c("loyalty_number", "string", "Loyalty card number, if the source has one."),
        _c("created_at", "timestamp", "When the source created the record."),
        _c("updated_at", "timestamp", "When the source last changed it."),
        _c("attributes", "string", "Other source columns as JSON."),
        _c("valid_from", "timestamp", "Start of this version of the record."),
        _c("valid_to", "timestamp", "End of this version; empty for the current one."),
        _c("is_current", "boolean", "Whether this is the record's current version."),
    ),
    _source_table(
        "orders",
        "ingest",
        "Orders from every sales channel (web shop, app, stores).",
        _c("order_id", "string", "Order or receipt key in its source."),
        _CUSTOMER_KEY,
        _c("channel", "string", "web, app or store."),
        _c("store_id", "string", "Store of a store purchase."),
        _c("ordered_at", "timestamp", "Order time (UTC)."),
        _c("currency", "string", "ISO 4217 currency code."),
        _c("total_amount", MONEY, "Amount paid."),
        _c("discount_amount", MONEY, "Discounts granted."),
        _c("shipping_amount", MONEY, "Shipping charged."),
        _c("status", "string", "Order status as normalised."),
        _c("promised_delivery_at", "timestamp", "Delivery promised to the customer."),
        _c("delivered_at", "timestamp", "Actual delivery."),
        _c("returned_amount", MONEY, "Value of returned goods."),
    ),
    _source_table(
        "order_items",
        "ingest",
        "Order lines.",
        _c("order_id", "string", "The order."),
        _c("line_number", "int64", "Position in the order."),
        _c("sku", "string", "Product."),
        _c("quantity", "int64", "Units."),
        _c("unit_price", MONEY, "Price per unit."),
        _c("line_amount", MONEY, "Amount of the line."),
        _c("returned_quantity", "int64", "Units returned."),
    ),
    _source_table(
        "products",
        "ingest",
        "The product catalogue with costs for margins.",
        _c("sku", "string", "Product key."),
        _c("name", "string", "Product name."),
        _c("category", "string", "Category."),
        _c("subcategory", "string", "Subcategory."),
        _c("brand", "string", "Brand."),
        _c("price", MONEY, "List price."),
        _c("unit_cost", MONEY, "Cost per unit."),
        _c("currency", "string", "Currency of price and cost."),
        _c("active", "boolean", "Whether the product is sold."),
    ),
    _source_table(
        "events",
        "ingest",
        "Behavioural events in the Segment spec (track, page, screen, identify, group, alias).",
        _c("message_id", "string", "The sender's message id (deduplication key)."),
        _c("type", "string", "Event type."),
        _c("event", "string", "Event name of a track call."),
        _c("name", "string", "Page or screen name."),
        _c("anonymous_id", "string", "Device or browser id."),
        _c("user_id", "string", "Known user id."),
        _c("group_id", "string", "Group of a group call."),
        _c("previous_id", "string", "Previous id of an alias call."),
        _c("timestamp", "timestamp", "When it happened (UTC, clock-skew corrected)."),
        _c("original_timestamp", "timestamp", "Device time as sent."),
        _c("sent_at", "timestamp", "When the device sent it."),
        _c("received_at", "timestamp", "When insightloop received it."),
        _c("properties", "string", "Event properties as JSON."),
        _c("traits", "string", "Traits as JSON."),
        _c("context", "string", "Context as JSON."),
    ),
    _source_table(
        "interactions",
        "ingest",
        "Contact-centre interactions.",
        _c("interaction_id", "string", "Interaction key."),
        _CUSTOMER_KEY,
        _c("channel", "string", "phone, email, chat, ..."),
        _c("direction", "string", "inbound or outbound."),
        _c("reason", "string", "Contact reason as recorded by the agent."),
        _c("agent_id", "string", "Agent."),
        _c("started_at", "timestamp", "Start (UTC)."),
        _c("duration_seconds", "int64", "Handling time."),
        _c("resolved", "boolean", "Resolved at first contact."),
        _c("notes", "string", "Free-text notes or transcript."),
        _c("language", "string", "Language of the notes."),
    ),
    _source_table(
        "feedback",
        "ingest",
        "Survey responses (NPS, CSAT, CES).",
        _c("response_id", "string", "Response key."),
        _CUSTOMER_KEY,
        _c("survey_type", "string", "Survey (relationship, post-purchase, post-contact)."),
        _c("responded_at", "timestamp", "Response time (UTC)."),
        _c("nps", "int64", "Likelihood to recommend, 0-10."),
        _c("csat", "int64", "Satisfaction, 1-5."),
        _c("ces", "int64", "Customer effort, 1-7."),
        _c("comment", "string", "Free-text comment."),
        _c("language", "string", "Language of the comment."),
        _c("order_id", "string", "Order the survey was about."),
        _c("interaction_id", "string", "Interaction the survey was about."),
    ),
    _source_table(
        "campaigns",
        "ingest",
        "Marketing campaigns.",
        _c("campaign_id", "string", "Campaign key."),
        _c("name", "string", "Name."),
        _c("channel", "string", "email, sms, post, ..."),
        _c("objective", "string", "What the campaign is for."),
        _c("start_at", "timestamp", "Start (UTC)."),
        _c("end_at", "timestamp", "End (UTC)."),
        _c("control_share", "float64", "Share of the audience held out as control."),
    ),
    _source_table(
        "campaign_members",
        "ingest",
        "Who was targeted by a campaign, in which group, and whether they responded.",
        _c("campaign_id", "string", "Campaign."),
        _CUSTOMER_KEY,
        _c("group_name", "string", "treatment or control."),
        _c("assigned_at", "timestamp", "Randomisation time."),
        _c("sent_at", "timestamp", "When the treatment was sent."),
        _c("responded", "boolean", "Whether the member responded."),
        _c("responded_at", "timestamp", "Response time."),
        _c("response_order_id", "string", "Order counted as the response."),
    ),
    _source_table(
        "consents",
        "ingest",
        "Marketing consents as recorded by each source.",
        _CUSTOMER_KEY,
        _c("channel", "string", "email, sms, post, phone."),
        _c("purpose", "string", "What the consent covers (marketing, profiling, ...)."),
        _c("status", "string", "granted or withdrawn."),
        _c("recorded_at", "timestamp", "When it was given or withdrawn (UTC)."),
    ),
    TableSpec(
        "quarantine",
        "source",
        "quality.quarantine",
        "Rejected input rows with every reason; nothing is silently dropped.",
        2,
        (
            _c("quarantine_id", "string", "Key."),
            _c("source", "string", "Source the row came from."),
            _c("entity", "string", "Canonical entity it was meant for."),
            _c("batch_id", "string", "Load batch."),
            _c("location", "string", "File and line, or database key."),
            _c("reason_codes", "array<string>", "Every rule the row broke."),
            _c("raw", "string", "The raw values as JSON."),
            _c("quarantined_at", "timestamp", "When it was quarantined (UTC)."),
            _c("retried_at", "timestamp", "Last retry."),
            _c("resolved", "boolean", "Loaded by a later retry."),
        ),
    ),
)

_UNIFIED = (
    TableSpec(
        "identifiers",
        "unified",
        "identity",
        "Normalised identifiers seen per source record.",
        2,
        (
            _c("id_type", "string", "email, phone, crm_id, loyalty_number, user_id, ..."),
            _c("id_value", "string", "Normalised value."),
            _c("source", "string", "Source of the record."),
            _c("source_key", "string", "Record key in the source."),
            _c("first_seen", "timestamp", "First time seen."),
            _c("last_seen", "timestamp", "Last time seen."),
        ),
    ),
    TableSpec(
        "identity_links",
        "unified",
        "identity",
        "Pairs of records judged the same person.",
        2,
        (
            _c("left_source", "string", "Source of the first record."),
            _c("left_key", "string", "Key of the first record."),
            _c("right_source", "string", "Source of the second record."),
            _c("right_key", "string", "Key of the second record."),
            _c("rule", "string", "Deterministic rule or 'probabilistic'."),
            _c("score", "float64", "Match probability (1 for deterministic rules)."),
            _c("evidence", "string", "JSON: the fields that drove the decision."),
            _c("run_id", "string", "Run that made the link."),
        ),
    ),
    TableSpec(
        "customer_map",
        "unified",
        "identity",
        "Source record to stable customer id.",
        2,
        (
            _c("source", "string", "Source."),
            _c("source_key", "string", "Record key."),
            _c("customer_id", "string", "Stable unified customer id."),
            _c("assigned_at", "timestamp", "When the record joined the customer."),
            _c("run_id", "string", "Run that assigned it."),
        ),
    ),
    TableSpec(
        "merge_log",
        "unified",
        "identity",
        "Every merge and split of customers.",
        2,
        (
            _c("merge_id", "string", "Key."),
            _c("kind", "string", "merge, split, manual_merge or manual_unmerge."),
            _c("before_ids", "array<string>", "Customer ids before."),
            _c("after_ids", "array<string>", "Customer ids after."),
            _c("reason", "string", "Why."),
            _c("actor", "string", "User or 'pipeline'."),
            _c("at", "timestamp", "When (UTC)."),
        ),
    ),
    TableSpec(
        "customers",
        "unified",
        "profile",
        "The golden record per unified customer.",
        2,
        (
            _c("customer_id", "string", "Stable customer id."),
            _c("first_name", "string", "Given name."),
            _c("last_name", "string", "Family name."),
            _c("email", "string", "Best e-mail."),
            _c("phone", "string", "Best phone (E.164)."),
            _c("birth_date", "date", "Date of birth."),
            _c("street", "string", "Street address."),
            _c("postcode", "string", "Postcode."),
            _c("city", "string", "City."),
            _c("country", "string", "ISO country code."),
            _c("language", "string", "Preferred language."),
            _c("provenance", "string", "JSON: per field, the source record and time it came from."),
            _c("created_at", "timestamp", "First seen."),
            _c("updated_at", "timestamp", "Last changed."),
        ),
    ),
    TableSpec(
        "customer_features",
        "unified",
        "profile",
        "Computed attributes per customer.",
        2,
        (
            _c("customer_id", "string", "Customer."),
            _c("feature", "string", "Attribute name."),
            _c("version", "int64", "Definition version."),
            _c("as_of", "date", "Date the value is computed as of."),
            _c("value_num", "float64", "Numeric value."),
            _c("value_str", "string", "Text value."),
            _c("computed_at", "timestamp", "When computed."),
        ),
    ),
    TableSpec(
        "segments",
        "unified",
        "analytics.segments",
        "Segment definitions.",
        2,
        (
            _c("segment_id", "string", "Key."),
            _c("name", "string", "Name."),
            _c("kind", "string", "rule, cluster or lifecycle."),
            _c("definition", "string", "JSON definition."),
            _c("version", "int64", "Definition version."),
            _c("created_by", "string", "Author."),
            _c("created_at", "timestamp", "Created."),
            _c("updated_at", "timestamp", "Last changed."),
        ),
    ),
    TableSpec(
        "segment_members",
        "unified",
        "analytics.segments",
        "Membership with history.",
        2,
        (
            _c("segment_id", "string", "Segment."),
            _c("customer_id", "string", "Customer."),
            _c("entered_at", "timestamp", "Entered."),
            _c("exited_at", "timestamp", "Exited; empty while a member."),
        ),
    ),
    TableSpec(
        "scores",
        "unified",
        "analytics.models",
        "Model scores per customer.",
        2,
        (
            _c("customer_id", "string", "Customer."),
            _c("model", "string", "Model name."),
            _c("model_version", "string", "Model version."),
            _c("score", "float64", "Score."),
            _c("reasons", "string", "JSON: the top contributions."),
            _c("scored_at", "timestamp", "When scored."),
        ),
    ),
    TableSpec(
        "text_annotations",
        "unified",
        "analytics.text",
        "Text analytics of free text.",
        2,
        (
            _c("source_table", "string", "interactions or feedback."),
            _c("source_key", "string", "Row key in that table."),
            _c("language", "string", "Detected language."),
            _c("sentiment", "float64", "Sentiment, -1 to 1."),
            _c("reason", "string", "Classified reason."),
            _c("topics", "array<string>", "Topics."),
            _c("model_version", "string", "Annotator version."),
            _c("annotated_at", "timestamp", "When annotated."),
        ),
    ),
    TableSpec(
        "cases",
        "unified",
        "activation.cases",
        "Follow-up cases.",
        2,
        (
            _c("case_id", "string", "Key."),
            _c("customer_id", "string", "Customer."),
            _c("trigger", "string", "What opened it."),
            _c("status", "string", "open, in_progress, closed."),
            _c("priority", "int64", "Priority."),
            _c("assigned_to", "string", "Owner."),
            _c("opened_at", "timestamp", "Opened."),
            _c("closed_at", "timestamp", "Closed."),
            _c("outcome", "string", "Outcome."),
        ),
    ),
    TableSpec(
        "actions_log",
        "unified",
        "activation",
        "Actions taken and their outcomes.",
        2,
        (
            _c("action_id", "string", "Key."),
            _c("customer_id", "string", "Customer."),
            _c("action", "string", "What was done."),
            _c("channel", "string", "Channel."),
            _c("campaign_id", "string", "Campaign, if any."),
            _c("decided_at", "timestamp", "Decision time."),
            _c("executed_at", "timestamp", "Execution time."),
            _c("outcome", "string", "Outcome."),
            _c("outcome_at", "timestamp", "Outcome time."),
        ),
    ),
    TableSpec(
        "models",
        "unified",
        "analytics.models",
        "Registry of trained models.",
        2,
        (
            _c("model_id", "string", "Key."),
            _c("name", "string", "Model name."),
            _c("kind", "string", "Model type."),
            _c("version", "string", "Version."),
            _c("trained_at", "timestamp", "Training time."),
            _c("window_start", "timestamp", "Start of the training window."),
            _c("window_end", "timestamp", "End of the training window."),
            _c("config", "string", "JSON configuration."),
            _c("metrics", "string", "JSON quality metrics."),
            _c("path", "string", "File under the workspace's models folder."),
            _c("content_hash", "string", "Hash of the model file."),
        ),
    ),
    TableSpec(
        "audit_log",
        "unified",
        "auth",
        "Append-only log of personal-data reads and admin actions.",
        2,
        (
            _c("audit_id", "string", "Key."),
            _c("at", "timestamp", "When (UTC)."),
            _c("actor", "string", "User, token or 'system'."),
            _c("role", "string", "Role of the actor."),
            _c("action", "string", "What was done."),
            _c("target_type", "string", "Kind of object."),
            _c("target_id", "string", "Object key."),
            _c("detail", "string", "JSON detail (no personal data)."),
        ),
    ),
)

CANONICAL_MODEL: tuple[TableSpec, ...] = _SYSTEM + _SOURCE + _UNIFIED


# What a source can be loaded as, and the source-level table each lands in.
Entity = Literal[
    "customers",
    "orders",
    "order_items",
    "products",
    "events",
    "interactions",
    "feedback",
    "campaigns",
    "campaign_members",
    "consents",
]
ENTITIES: tuple[Entity, ...] = get_args(Entity)
ENTITY_TABLES: Mapping[str, str] = {
    entity: "src_customers" if entity == "customers" else entity for entity in ENTITIES
}


def table_spec(name: str, model: tuple[TableSpec, ...] = CANONICAL_MODEL) -> TableSpec:
    for spec in model:
        if spec.name == name:
            return spec
    raise KeyError(name)


def schema_at(
    version: int, model: tuple[TableSpec, ...] = CANONICAL_MODEL
) -> dict[str, ibis.Schema]:
    """Every table and its columns as they stand after migration ``version``."""
    return {s.name: s.schema(version) for s in model if s.added_in <= version}
