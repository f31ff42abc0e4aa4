"""Customer analysis: measures, value tiers, lifetime value, segments, personas, lifecycle, slicing.

Everything here reads the unified model through the engine and writes per-customer results back
to it; nothing here serves requests or parses command lines.

- :mod:`~insightloop.analytics.measures`: computed attributes per customer as of any date.
- :mod:`~insightloop.analytics.clv`: BG/NBD, Pareto/NBD and Gamma-Gamma lifetime value.
- :mod:`~insightloop.analytics.segments`: rule segments compiled to engine expressions.
- :mod:`~insightloop.analytics.personas`: strategic segmentation by clustering, persona cards.
"""
