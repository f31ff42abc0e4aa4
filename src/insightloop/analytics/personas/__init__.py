"""Strategic segmentation: customers clustered into personas with stable ids, labels and cards.

Pure analysis over a feature table (one row per customer, as Arrow or pandas); reading features
from the engine and writing assignments back is the caller's job. See ``docs/personas.md``.

- :mod:`~insightloop.analytics.personas.transform`: imputation, log1p, standardisation, clipping.
- :mod:`~insightloop.analytics.personas.clustering`: k-means, k chosen by silhouette.
- :mod:`~insightloop.analytics.personas.cards` and ``labels``: persona cards and their labels.
- :mod:`~insightloop.analytics.personas.matching`: ids kept across runs (Hungarian matching).
- :mod:`~insightloop.analytics.personas.model`: the self-describing, hash-checked model file.
"""

from __future__ import annotations

from insightloop.analytics.personas.api import (
    PersonaResult,
    assign_personas,
    fit_personas,
    persona_cards,
)
from insightloop.analytics.personas.cards import CategoryValue, PersonaCard, Trait
from insightloop.analytics.personas.model import Persona, PersonaModel
from insightloop.analytics.personas.settings import PersonaError, PersonaSettings
from insightloop.analytics.personas.transform import FeatureTransform

__all__ = [
    "CategoryValue",
    "FeatureTransform",
    "Persona",
    "PersonaCard",
    "PersonaError",
    "PersonaModel",
    "PersonaResult",
    "PersonaSettings",
    "Trait",
    "assign_personas",
    "fit_personas",
    "persona_cards",
]
