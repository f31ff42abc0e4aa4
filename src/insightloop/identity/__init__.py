"""Identity resolution: one customer from many records.

Identifiers and person records are drawn from the canonical tables; deterministic stitching joins
records that share a reliable identifier (a connected-components pass in SQL through the engine);
probabilistic matching (Splink) links reference records that share none; stable customer ids,
merges and splits are kept and logged; manual decisions are respected by every later run.
"""
