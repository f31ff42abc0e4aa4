"""Text expressions that mean the same on every engine: :func:`insightloop.store.text.trim`."""

from __future__ import annotations

import re

import ibis
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from insightloop.store.text import trim

#: White space as the engines' regular expressions read ``\s`` (RE2 on DuckDB).
_EDGES = re.compile(r"^[\t\n\f\r ]+|[\t\n\f\r ]+$")

#: Text made mostly of the characters near the edge of white space: control characters, the
#: space, letters, non-ASCII white space (which ``\s`` leaves alone) and accented letters.
_TEXT = st.text(
    alphabet=st.sampled_from(["\t", "\n", "\v", "\f", "\r", " ", "\x00", "\x1f", "!", "a",
                              "Z", "\u00a0", "\u3000", "é", "@"]),
    max_size=8,
)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.one_of(st.none(), _TEXT), min_size=1, max_size=30))
def test_trim_removes_white_space_at_both_ends_and_nothing_else(
    values: list[str | None],
) -> None:
    con = ibis.duckdb.connect()
    t = ibis.memtable(pa.table({"v": pa.array(values, pa.string())}))
    got = con.execute(t.select(out=trim(t.v)))["out"].tolist()
    want = [None if v is None else _EDGES.sub("", v) for v in values]
    assert got == want
