"""Text expressions that mean the same on every engine.

Ibis compiles ``StringValue.strip()`` for Spark to ``TRIM(' \\t\\n\\r\\v\\f' FROM x)``; Spark SQL
reads ``\\v`` and ``\\f`` in a string literal as the letters ``v`` and ``f``, so on Spark
``strip()`` also eats those letters from both ends ("victoria@..." becomes "ictoria@...").
Use :func:`trim` instead.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

__all__ = ["trim"]


def trim(value: ir.StringValue) -> ir.StringValue:
    """``value`` without leading and trailing white space, on DuckDB and Spark alike.

    Examples
    --------
    >>> import ibis
    >>> ibis.to_sql(trim(ibis.literal(" victor ")), dialect="pyspark").count("REGEXP_REPLACE")
    1
    >>> ibis.duckdb.connect().execute(trim(ibis.literal("\\tvictor \\n")))
    'victor'
    """
    # Most values have no white space at either end: testing their first and last characters
    # (white space is a character up to the space) spares them the regular expression, which
    # costs several times more per row on a large table.
    padded = (value[0] <= " ") | (value[-1] <= " ")
    return ibis.ifelse(padded, value.re_replace(r"^\s+|\s+$", ""), value)
