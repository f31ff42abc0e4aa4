"""The data-quality scorecard: per source and entity, over time.

Measures, each one row of ``quality_metrics``:

- **completeness** of every canonical column, **validity** per column and of the batch, and
  **uniqueness** of the key, from a batch and its contract verdict (:func:`batch_metrics`);
- **volume** anomalies against the source's earlier loads (:func:`volume_metric`);
- **freshness** of every source: hours since its last load and its newest record
  (:func:`freshness_metrics`).

:func:`scorecard` reads them back as a :class:`Scorecard` of latest values, previous values and
trends. :class:`QualityThresholds` decides what is flagged. See docs/data-quality.md.
"""

from __future__ import annotations

from insightloop.quality.scorecard.batch import NOT_MEASURED, batch_metrics, measured_columns
from insightloop.quality.scorecard.loads import (
    EVENT_TIME_COLUMNS,
    freshness_metrics,
    previous_completeness,
    record_metrics,
    volume_metric,
)
from insightloop.quality.scorecard.report import Measure, Scorecard, scorecard
from insightloop.quality.scorecard.thresholds import (
    METRICS,
    QualityThresholds,
    quality_metrics_schema,
)

__all__ = [
    "EVENT_TIME_COLUMNS",
    "METRICS",
    "NOT_MEASURED",
    "Measure",
    "QualityThresholds",
    "Scorecard",
    "batch_metrics",
    "freshness_metrics",
    "measured_columns",
    "previous_completeness",
    "quality_metrics_schema",
    "record_metrics",
    "scorecard",
    "volume_metric",
]
