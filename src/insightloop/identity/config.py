"""The ``[identity]`` settings: what each key means, when records link, which values never do.

Everything has a default that suits most companies; a workspace changes only what differs::

    [identity]
    link_threshold = 0.95          # match probability at which two records are one person
    review_threshold = 0.80        # pairs from here up to the link threshold wait for review
    incremental = true             # match only new and changed records with the saved model
    blocklist = ["noemail@store.example"]

    [identity.customer_keys]       # what a source's customer key is, when it is not a record key
    pos_receipts = "loyalty_number"
    web_orders = "user_id"

    [identity.limits]              # records one value may join before it counts as junk
    email = 8
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from insightloop.errors import ConfigError

__all__ = ["DEFAULT_LIMITS", "ID_TYPES", "IdentityConfig", "identity_config"]

#: Identifier types insightloop derives itself; a config may name others as customer keys.
ID_TYPES = ("customer_key", "loyalty_number", "user_id", "anonymous_id", "email", "phone")

#: How many person records one value may be held by before it counts as junk and joins nothing.
#: Record keys name exactly one record; e-mails and phones allow a person's several records
#: (duplicates in a system, a loyalty card, a web account) but not a store's placeholder.
DEFAULT_LIMITS: dict[str, int] = {
    "customer_key": 1,
    "loyalty_number": 1,
    "user_id": 1,
    "anonymous_id": 1,
    "email": 8,
    "phone": 8,
}


class IdentityConfig(BaseModel):
    """Validated ``[identity]`` table (see docs/identity.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_keys: dict[str, str] = Field(
        default_factory=dict,
        description="Per source, the identifier type of its customer key (default: the key of "
        "a customer record, 'customer_key').",
    )
    link_threshold: float = Field(0.95, gt=0, le=1)
    review_threshold: float = Field(0.80, gt=0, le=1)
    incremental: bool = Field(
        True,
        description="Match only new and changed records against the others with the saved "
        "model (a full match when there is none, or when the records are mostly new).",
    )
    incremental_max_share: float = Field(0.2, gt=0, le=1)
    limits: dict[str, int] = Field(default_factory=dict)
    blocklist: list[str] = Field(default_factory=list)
    source_priority: list[str] = Field(
        default_factory=list,
        description="Customer sources from most to least trusted, for the golden record.",
    )
    survivorship: dict[str, str] = Field(
        default_factory=dict,
        description="Per golden-record field, the rule that picks its value.",
    )

    @field_validator("limits")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        bad = sorted(k for k, v in value.items() if v < 1)
        if bad:
            raise ValueError(f"limits must be at least 1 (check {', '.join(bad)})")
        return value

    def limit(self, id_type: str) -> int:
        return self.limits.get(id_type, DEFAULT_LIMITS.get(id_type, 1))

    def key_type(self, source: str) -> str:
        """The identifier type of ``source``'s customer keys."""
        return self.customer_keys.get(source, "customer_key")

    def blocked(self) -> set[str]:
        return {v.strip().lower() for v in self.blocklist}


def identity_config(values: dict[str, Any]) -> IdentityConfig:
    """Parse the ``[identity]`` table, with an error that names the setting to fix.

    Examples
    --------
    >>> identity_config({"customer_keys": {"pos": "loyalty_number"}}).key_type("pos")
    'loyalty_number'
    >>> identity_config({}).limit("email")
    8
    """
    try:
        config = IdentityConfig.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"identity.{where}: {first['msg']}",
            hint="See docs/identity.md for the [identity] settings and their defaults.",
        ) from None
    if config.review_threshold > config.link_threshold:
        raise ConfigError(
            "identity.review_threshold is above identity.link_threshold",
            hint="The review band runs from review_threshold up to link_threshold; "
            "make review_threshold the lower one.",
        )
    return config
