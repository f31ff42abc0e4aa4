"""Loading sources into the canonical model: nothing lost, nothing loaded twice.

:func:`load_sources` reads each declared source's new files (or database increment), maps and
normalises them, checks them against the data contracts, and writes accepted rows to the
entity's table and rejected rows to the quarantine, one transaction per batch, recording every
batch in ``load_batches`` with the account read = loaded + quarantined + duplicates skipped.
See docs/loading.md.
"""

from __future__ import annotations

from insightloop.ingest.load.loader import ENTITY_ORDER, LoadOptions, load_sources, source_contract
from insightloop.ingest.load.report import BatchReport, LoadReport
from insightloop.ingest.load.retry import RETRY_LOCATION, retry_quarantine

__all__ = [
    "ENTITY_ORDER",
    "RETRY_LOCATION",
    "BatchReport",
    "LoadOptions",
    "LoadReport",
    "load_sources",
    "retry_quarantine",
    "source_contract",
]
