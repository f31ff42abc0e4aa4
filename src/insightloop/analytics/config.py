"""The ``[analytics]`` settings: reporting currency, costs, value tiers, lifetime value, lifecycle.

Parsed from the workspace's ``[analytics]`` table by :func:`analytics_config`, with an error that
names the setting to fix. Every value has a default that suits a retailer; docs/analytics.md
describes each.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from insightloop.errors import ConfigError

__all__ = [
    "AnalyticsConfig",
    "ClvConfig",
    "CustomMeasure",
    "LifecycleConfig",
    "PersonasConfig",
    "Tier",
    "analytics_config",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tier(_Strict):
    """One value tier: its name and the share of customers it takes, from the top down."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    share: float | None = Field(
        None, gt=0, le=1, description="Share of customers; the last tier takes the rest."
    )


class ClvConfig(_Strict):
    """How lifetime value is fitted and predicted."""

    model: Literal["bgnbd", "paretonbd"] = "bgnbd"
    horizon_weeks: int = Field(52, ge=1, le=520)
    annual_discount_rate: float = Field(0.10, ge=0, lt=1)
    margin: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Share of spend that is margin, to express CLV as margin; unset: CLV as "
        "revenue.",
    )


class LifecycleConfig(_Strict):
    """Where the lifecycle stages begin (days and probabilities)."""

    new_days: int = Field(90, ge=1, description="A first purchase this recent makes a 'new' one.")
    lapsed_days: int = Field(365, ge=1, description="No purchase for this long: 'lapsed'.")
    at_risk_p_alive: float = Field(0.5, gt=0, lt=1, description="Below this p(alive): 'at_risk'.")
    lapsed_p_alive: float = Field(0.15, gt=0, lt=1, description="Below this p(alive): 'lapsed'.")
    won_back_days: int = Field(
        90, ge=1, description="A purchase this recent after a lapse of lapsed_days: 'won_back'."
    )

    @model_validator(mode="after")
    def _ordered(self) -> LifecycleConfig:
        if self.lapsed_p_alive >= self.at_risk_p_alive:
            raise ValueError("lapsed_p_alive must be below at_risk_p_alive")
        return self


class PersonasConfig(_Strict):
    """How customers are clustered into personas."""

    k: int | None = Field(
        None, ge=2, le=20, description="Number of personas; unset: chosen by silhouette."
    )
    k_max: int = Field(8, ge=2, le=20, description="Most personas the automatic choice tries.")


class CustomMeasure(_Strict):
    """A measure declared in config: one aggregate of one behaviour over a window."""

    behaviour: Literal["orders", "purchases", "events", "contacts", "feedback", "campaigns"]
    aggregate: Literal[
        "count", "sum", "avg", "min", "max", "count_distinct", "days_since_last", "days_since_first"
    ] = "count"
    column: str | None = None
    where: dict[str, Any] = Field(
        default_factory=dict,
        description="column = value (or a list of values) that rows must have.",
    )
    within_days: int | None = Field(None, ge=1)
    version: int = Field(1, ge=1)
    description: str = ""

    @model_validator(mode="after")
    def _column_needed(self) -> CustomMeasure:
        if self.aggregate in {"sum", "avg", "min", "max", "count_distinct"} and not self.column:
            raise ValueError(f"aggregate '{self.aggregate}' needs a column")
        return self


class AnalyticsConfig(_Strict):
    """The parsed ``[analytics]`` table."""

    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
    exchange_rates: dict[str, float] = Field(
        default_factory=dict,
        description="Units of the reporting currency per unit of each other currency.",
    )
    as_of: date | None = Field(
        None,
        description="Date the measures are computed as of; unset: the day of the newest order, "
        "event, contact or response.",
    )
    contact_costs: dict[str, float] = Field(
        default_factory=lambda: {"phone": 6.0, "chat": 3.0, "email": 2.5, "default": 4.0},
        description="Cost of one contact per channel (reporting currency); 'default' for others.",
    )
    tier_measure: str = "profit_12m"
    tiers: tuple[Tier, ...] = (
        Tier(name="top", share=0.2),
        Tier(name="middle", share=0.3),
        Tier(name="base", share=None),
    )
    clv: ClvConfig = Field(default_factory=ClvConfig)  # type: ignore[arg-type]
    lifecycle: LifecycleConfig = Field(default_factory=LifecycleConfig)  # type: ignore[arg-type]
    personas: PersonasConfig = Field(default_factory=PersonasConfig)  # type: ignore[arg-type]
    measures: dict[str, CustomMeasure] = Field(default_factory=dict)
    refresh_on_load: bool = Field(
        False,
        description="When the server loads received events, recompute the measures and rule "
        "segments of the customers they belong to and rewrite their profiles again (costs "
        "seconds per loader pass; off: the next run updates them).",
    )

    @field_validator("exchange_rates", "contact_costs")
    @classmethod
    def _positive(cls, values: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in values.items() if v < 0]
        if bad:
            raise ValueError(f"negative value for {', '.join(bad)}")
        return values

    @field_validator("measures")
    @classmethod
    def _names(cls, values: dict[str, CustomMeasure]) -> dict[str, CustomMeasure]:
        bad = [k for k in values if not k.isidentifier() or k != k.lower()]
        if bad:
            raise ValueError(f"measure names must be lower-case identifiers: {', '.join(bad)}")
        return values

    @model_validator(mode="after")
    def _tiers(self) -> AnalyticsConfig:
        if len(self.tiers) < 2:
            raise ValueError("tiers: give at least two tiers")
        if self.tiers[-1].share is not None:
            raise ValueError("tiers: the last tier takes the rest; leave its share out")
        shares = [t.share for t in self.tiers[:-1]]
        if any(s is None for s in shares):
            raise ValueError("tiers: every tier but the last needs a share")
        if sum(s for s in shares if s is not None) >= 1:
            raise ValueError("tiers: the shares of all but the last tier must add up to under 1")
        if len({t.name for t in self.tiers}) != len(self.tiers):
            raise ValueError("tiers: names must differ")
        return self

    def rate(self, currency: str) -> float | None:
        """Units of the reporting currency per unit of ``currency`` (None when unknown)."""
        if currency == self.currency:
            return 1.0
        return self.exchange_rates.get(currency)


def analytics_config(values: dict[str, Any] | None) -> AnalyticsConfig:
    """Parse the ``[analytics]`` table, with an error that names the setting to fix.

    Examples
    --------
    >>> analytics_config({}).tiers[0].name
    'top'
    >>> analytics_config({"exchange_rates": {"SEK": 0.087}}).rate("SEK")
    0.087
    """
    try:
        return AnalyticsConfig.model_validate(values or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        where = f".{where}" if where else ""
        raise ConfigError(
            f"analytics{where}: {first['msg']}",
            hint="See docs/analytics.md for the [analytics] settings and their defaults.",
        ) from None
