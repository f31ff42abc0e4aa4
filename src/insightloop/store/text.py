"""Text expressions that mean the same on every engine.

Ibis compiles ``StringValue.strip()`` for Spark to ``TRIM(' \\t\\n\\r\\v\\f' FROM x)``; Spark SQL
reads ``\\v`` and ``\\f`` in a string literal as the letters ``v`` and ``f``, so on Spark
``strip()`` also eats those letters from both ends ("victoria@..." becomes "ictoria@...").
Use :func:`trim` instead.
"""

from __future__ import annotations

import ibis.expr.types as ir

__all__ = ["trim"]


def trim(value: ir.StringValue) -> ir.StringValue:
    """``value`` without leading and trailing white space, on DuckDB and Spark alike.

    Examples
    --------
    >>> import ibis
    >>> ibis.to_sql(trim(ibis.literal(" victor ")), dialect="pyspark").count("REGEXP_REPLACE")
    1
    """
    return value.re_replace(r"^\s+|\s+$", "")
