"""Source declarations, column mappings and mapping suggestions.

A source is declared under ``[sources.<name>]`` in ``insightloop.toml``
(:class:`SourceDeclaration`, checked with :func:`parse_sources`); its ``mapping`` of declarative
:class:`Transform` s turns each raw batch of the readers into the canonical columns of its
entity (:func:`apply_mapping`), and :meth:`SourceDeclaration.contract` gives the data contract
its batches are checked with; :func:`suggest_mapping` drafts a declaration from a sample of a
file. See ``docs/sources.md``.
"""

from __future__ import annotations

from insightloop.ingest.sources.apply import apply_mapping
from insightloop.ingest.sources.declaration import (
    ENTITIES,
    ContractSettings,
    NormaliseSettings,
    ReadSettings,
    SourceDeclaration,
    canonical_columns,
    entity_table,
    parse_sources,
)
from insightloop.ingest.sources.steps import CAST_REASONS
from insightloop.ingest.sources.suggest import SuggestedColumn, SuggestedSource, suggest_mapping
from insightloop.ingest.sources.transforms import NORMALISERS, Transform

__all__ = [
    "CAST_REASONS",
    "ENTITIES",
    "NORMALISERS",
    "ContractSettings",
    "NormaliseSettings",
    "ReadSettings",
    "SourceDeclaration",
    "SuggestedColumn",
    "SuggestedSource",
    "Transform",
    "apply_mapping",
    "canonical_columns",
    "entity_table",
    "parse_sources",
    "suggest_mapping",
]
