"""Warming the query path up at start-up."""

from __future__ import annotations

import sys

from insightloop.api.warm import warm_up


def test_warm_up_compiles_and_runs_a_query_on_duckdb_only() -> None:
    assert warm_up("duckdb") > 0
    # The compiler and dialect it exists to load are loaded (by it or an earlier test).
    assert "ibis.backends.sql.compilers.duckdb" in sys.modules
    assert warm_up("spark") == 0.0  # a Spark session is not started for it
