"""The settings of strategic segmentation, and the error it raises on unusable input.

Every knob has a default that works on a customer feature table without tuning; each is
documented on :class:`PersonaSettings` and in ``docs/personas.md``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from insightloop.errors import ConfigError, InsightloopError

__all__ = ["PersonaError", "PersonaSettings", "persona_settings"]


class PersonaError(InsightloopError):
    """Customers cannot be segmented as asked (too few rows, no usable feature, bad model file)."""

    code = "persona_error"


class PersonaSettings(BaseModel):
    """How customers are segmented. Frozen: derive variants with ``model_copy(update=...)``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    k: int | None = Field(
        None, ge=2, le=50, description="Number of personas; empty: chosen by silhouette."
    )
    k_max: int = Field(10, ge=2, le=50, description="Largest number of personas tried.")
    seed: int = Field(0, ge=0, lt=2**32, description="Seed of the sample and of k-means.")
    sample_size: int = Field(
        20_000,
        ge=100,
        le=200_000,
        description="Customers in the fitting sample (transforms, k-means, silhouette); "
        "all customers are then assigned to the nearest persona.",
    )
    scaling: Literal["standard", "robust"] = Field(
        "standard",
        description="'standard': mean and standard deviation; 'robust': median and "
        "IQR / 1.349 (the standard deviation when the IQR is zero).",
    )
    clip: float = Field(
        5.0, gt=0.5, le=100.0, description="Standardised values are clipped to +-clip."
    )
    skew_threshold: float = Field(
        1.0,
        ge=0.0,
        description="A non-negative column whose sample skewness exceeds this is log1p'd.",
    )
    missing_indicator_share: float = Field(
        0.05,
        gt=0.0,
        lt=0.5,
        description="A missing-value indicator is added for a column missing on at least this "
        "share of customers (and at most 1 minus it); rarer gaps are only imputed.",
    )
    max_missing_share: float = Field(
        0.95, gt=0.0, le=1.0, description="A column missing on more customers is left out."
    )
    min_cluster_share: float = Field(
        0.02,
        ge=0.0,
        lt=0.5,
        description="In automatic k selection, a k that yields a persona smaller than this share "
        "of the sample is not eligible (unless no k is).",
    )
    n_init: int = Field(4, ge=1, le=50, description="k-means restarts per k (best inertia kept).")
    top_traits: int = Field(5, ge=1, le=50, description="Traits listed on each persona card.")
    top_values: int = Field(
        3, ge=1, le=20, description="Values listed per categorical column on each card."
    )
    label_min_effect: float = Field(
        0.5,
        ge=0.0,
        description="Smallest |Cohen's d| of a trait that may name a persona (0.5: medium).",
    )
    weights: dict[str, float] = Field(
        default_factory=dict,
        description="Weight per feature column in the distance (default 1); 0 leaves it out.",
    )

    @model_validator(mode="after")
    def _check(self) -> PersonaSettings:
        if self.k is not None and self.k > self.k_max:
            raise ValueError(f"k ({self.k}) is above k_max ({self.k_max})")
        bad = sorted(name for name, w in self.weights.items() if not 0.0 <= w <= 100.0)
        if bad:
            raise ValueError(f"weights must be between 0 and 100: {', '.join(bad)}")
        return self


def persona_settings(values: dict[str, Any]) -> PersonaSettings:
    """Validate settings, reporting every invalid value at once as a :class:`ConfigError`.

    Examples
    --------
    >>> persona_settings({"k_max": 6}).k_max
    6
    >>> try:
    ...     persona_settings({"k_max": 1, "clip": 0})
    ... except ConfigError as exc:
    ...     print(exc.message.split(":")[0])
    2 invalid persona setting(s)
    """
    try:
        return PersonaSettings.model_validate(values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "settings"
            problems.append(f"{key} = {err.get('input')!r}: {err['msg']}")
        raise ConfigError(
            f"{len(problems)} invalid persona setting(s): " + "; ".join(problems),
            hint="See docs/personas.md for the settings of fit_personas and their ranges.",
        ) from None
