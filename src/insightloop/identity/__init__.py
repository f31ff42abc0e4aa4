"""Identity resolution: one customer from many records.

Identifiers and person records are drawn from the canonical tables; deterministic stitching joins
records that share a reliable identifier (a connected-components pass in SQL through the engine);
probabilistic matching (Splink) links reference records that share none; stable customer ids,
merges and splits are kept and logged; manual decisions are respected by every later run.
"""

from __future__ import annotations

from insightloop.identity.config import IdentityConfig, identity_config
from insightloop.identity.incremental import model_link_finder
from insightloop.identity.match import match_files
from insightloop.identity.resolve import ResolveReport, resolve_identities

__all__ = [
    "IdentityConfig",
    "ResolveReport",
    "identity_config",
    "match_files",
    "model_link_finder",
    "resolve_identities",
]
