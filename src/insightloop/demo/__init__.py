"""The demo company: a reproducible omnichannel retailer with ground truth.

:func:`generate_company` writes the files a retailer's systems would really export (CRM offices
in three encodings, loyalty programme, web shop orders, store tills, Segment events, contact
centre, surveys, campaigns, consents) under ``out/sources``, and the truth behind them (who is
who, planted behaviour, holdout outcomes, planted defects) under ``out/truth``.
:func:`source_declarations` declares those files as insightloop sources (the ``[sources]``
table of ``insightloop.toml``).
"""

from __future__ import annotations

from insightloop.demo.declarations import (
    analytics_declaration,
    identity_declaration,
    segment_declarations,
    source_declarations,
)
from insightloop.demo.generator import GeneratedFile, GenerationReport, generate_company

__all__ = [
    "GeneratedFile",
    "GenerationReport",
    "analytics_declaration",
    "generate_company",
    "identity_declaration",
    "segment_declarations",
    "source_declarations",
]
