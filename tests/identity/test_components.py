"""Connected components in SQL, checked against scipy's on random and extreme graphs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import pairwise

import ibis
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_components

from insightloop import Workspace
from insightloop.errors import PipelineError
from insightloop.identity import components
from insightloop.identity.components import connected_components
from insightloop.store import Engine
from tests.decorator import mark_with_all_backends

Edge = tuple[str | None, str | None]
EDGE_SCHEMA = pa.schema([("left_id", pa.string()), ("right_id", pa.string())])


def _edges(pairs: Iterable[Edge]) -> ibis.Table:
    left, right = zip(*pairs, strict=True) if pairs else ((), ())
    return ibis.memtable(pa.table([list(left), list(right)], schema=EDGE_SCHEMA))


def _nodes(ids: Iterable[str | None]) -> ibis.Table:
    return ibis.memtable(pa.table({"node_id": pa.array(list(ids), pa.string())}))


def _reference(pairs: Sequence[Edge], extra: Iterable[str | None] = ()) -> dict[str, str]:
    """Node -> smallest node id of its component, by scipy.sparse.csgraph."""
    names = sorted({n for pair in pairs for n in pair if n is not None} | set(extra) - {None})
    if not names:
        return {}
    index = {name: i for i, name in enumerate(names)}
    linked = [(index[a], index[b]) for a, b in pairs if a is not None and b is not None]
    rows, cols = zip(*linked, strict=True) if linked else ((), ())
    matrix = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(names), len(names)))
    _, labels = scipy_components(matrix, directed=False)
    smallest: dict[int, str] = {}
    for name, label in zip(names, labels, strict=True):  # names are sorted: first is smallest
        smallest.setdefault(int(label), name)
    return {name: smallest[int(label)] for name, label in zip(names, labels, strict=True)}


def _components(engine: Engine, table: str) -> dict[str, str]:
    rows = engine.records(engine.table(table))
    found = {r["node_id"]: r["component_id"] for r in rows}
    assert len(found) == len(rows), "a node appears twice"
    return found


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Engine.in_memory() as duck:
        yield duck


def _random_graphs(seed: int) -> Iterator[list[Edge]]:
    """Graphs of several shapes, each with its own id prefix (so they can share one table)."""
    rng = np.random.default_rng(seed)

    def named(g: int, pairs: Iterable[tuple[int, int]]) -> list[Edge]:
        return [(f"g{g}:{a}", f"g{g}:{b}") for a, b in pairs]

    sparse = rng.integers(0, 300, size=(200, 2))  # many small trees and isolated pairs
    dense = rng.integers(0, 60, size=(150, 2))  # one big component with cycles, self-loops
    path = rng.permutation(500)  # a long path in shuffled id order
    star = [(0, leaf) for leaf in rng.permutation(np.arange(1, 100))]
    forest = [(i, int(rng.integers(i - i % 7, i))) for i in range(1, 400) if i % 7]
    yield named(0, sparse.tolist())
    yield named(1, dense.tolist())
    yield named(2, pairwise(path.tolist()))
    yield named(3, star)
    pairs = named(4, forest)
    yield pairs + [(b, a) for a, b in pairs[::3]] + pairs[::5]  # reversed and duplicate edges


@mark_with_all_backends
def test_components_match_scipy_on_graphs_of_every_shape(workspace: Workspace) -> None:
    engine = workspace.engine
    pairs = [edge for graph in _random_graphs(seed=7) for edge in graph]
    isolated = ["lonely:1", "lonely:2", "g0:0"]
    result = connected_components(engine, _edges(pairs), nodes=_nodes(isolated))
    expected = _reference(pairs, isolated)
    assert _components(engine, result.table) == expected
    assert result.table == "_components"
    assert result.nodes == len(expected)
    assert result.components == len(set(expected.values()))
    assert 1 <= result.iterations <= 20
    assert not [t for t in engine.tables() if t.startswith("il_cc_")], "temporary tables left"


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 30)).map(lambda p: (f"n{p[0]}", f"n{p[1]}")),
        max_size=60,
    )
)
def test_components_match_scipy_on_hypothesis_graphs(pairs: list[Edge]) -> None:
    with Engine.in_memory() as engine:  # not a fixture: hypothesis runs the test many times
        result = connected_components(engine, _edges(pairs), output="cc")
        assert _components(engine, "cc") == _reference(pairs)
        assert engine.tables() == ["cc"]
    assert result.components == len(set(_reference(pairs).values()))


def test_a_long_path_converges_in_few_rounds(engine: Engine) -> None:
    order = np.random.default_rng(1).permutation(10_000)
    pairs = [(f"{a:05d}", f"{b:05d}") for a, b in pairwise(order)]
    result = connected_components(engine, _edges(pairs), output="cc")
    assert (result.nodes, result.components) == (10_000, 1)
    assert result.iterations <= 16
    assert set(_components(engine, "cc").values()) == {"00000"}


def test_a_path_in_sorted_id_order_converges_in_few_rounds(engine: Engine) -> None:
    # The worst case of naive min-label propagation: one round per node.
    pairs = [(f"{i:05d}", f"{i + 1:05d}") for i in range(10_000)]
    result = connected_components(engine, _edges(pairs), output="cc")
    assert (result.nodes, result.components, result.iterations <= 16) == (10_001, 1, True)


def test_a_star_is_one_component_named_by_its_smallest_leaf(engine: Engine) -> None:
    pairs = [("zz-hub", f"leaf{i:04d}") for i in range(1_000)]
    result = connected_components(engine, _edges(pairs), output="cc")
    assert (result.nodes, result.components) == (1_001, 1)
    assert set(_components(engine, "cc").values()) == {"leaf0000"}


def test_nodes_without_edges_are_components_of_their_own(engine: Engine) -> None:
    nodes = _nodes(["c", "d", "d", None, "a"])  # duplicates and nulls are fine
    result = connected_components(engine, _edges([("a", "b")]), nodes=nodes, output="cc")
    assert _components(engine, "cc") == {"a": "a", "b": "a", "c": "c", "d": "d"}
    assert (result.nodes, result.components, result.iterations) == (4, 3, 1)


def test_self_loops_duplicates_and_reversed_edges_change_nothing(engine: Engine) -> None:
    plain = [("b", "a"), ("c", "d")]
    noisy = [*plain, ("a", "b"), ("b", "a"), ("d", "c"), ("a", "a"), ("e", "e"), ("e", "e")]
    connected_components(engine, _edges(noisy), output="cc")
    assert _components(engine, "cc") == {**_reference(plain), "e": "e"}


def test_null_ids_are_ignored_but_their_other_end_is_a_node(engine: Engine) -> None:
    pairs: list[Edge] = [("a", None), (None, "b"), (None, None), ("c", "a")]
    result = connected_components(engine, _edges(pairs), output="cc")
    assert _components(engine, "cc") == {"a": "a", "b": "b", "c": "a"}
    assert (result.nodes, result.components) == (3, 2)


def test_an_empty_graph_gives_an_empty_table(engine: Engine) -> None:
    result = connected_components(engine, _edges([]), output="cc")
    assert result == components.ComponentsResult("cc", iterations=0, nodes=0, components=0)
    assert engine.records(engine.table("cc")) == []
    only_nodes = connected_components(engine, _edges([]), nodes=_nodes(["x"]), output="cc")
    assert (only_nodes.nodes, only_nodes.components) == (1, 1)


def test_the_output_table_is_replaced(engine: Engine) -> None:
    engine.materialise("cc", ibis.memtable({"old": [1, 2, 3]}))
    connected_components(engine, _edges([("a", "b")]), output="cc")
    assert engine.table("cc").columns == ("node_id", "component_id")
    assert engine.tables() == ["cc"]


def test_a_graph_that_needs_more_rounds_fails_with_the_setting_to_raise(engine: Engine) -> None:
    order = np.random.default_rng(2).permutation(1_000)
    pairs = [(f"n{a}", f"n{b}") for a, b in pairwise(order)]
    with pytest.raises(PipelineError, match=r"did not converge in max_iterations=1") as error:
        connected_components(engine, _edges(pairs), output="cc", max_iterations=1)
    assert "max_iterations" in (error.value.hint or "")
    assert engine.tables() == [], "temporary tables left after the failure"


def test_bad_columns_are_all_reported_at_once(engine: Engine) -> None:
    edges = ibis.memtable({"src": ["a"], "right_id": [1]})
    with pytest.raises(PipelineError) as error:
        connected_components(engine, edges, nodes=_nodes(["a"]), node_column="id", max_iterations=0)
    message = str(error.value)
    for problem in ("no column 'left_id'", "'right_id' is int64", "no column 'id'", "at least 1"):
        assert problem in message


def test_ids_that_share_a_hash_are_kept_apart(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = components.key_expr

    def clashing(value: ibis.Value, backend: str, salt: str = "") -> ibis.Value:
        # The unsalted key is the id's length: "ab" and "cd" clash, as a real hash might.
        return value.length().cast("int64") if not salt else real(value, backend, salt)

    monkeypatch.setattr(components, "key_expr", clashing)
    pairs: list[Edge] = [("ab", "x"), ("cd", "y")]
    connected_components(engine, _edges(pairs), output="cc")
    assert _components(engine, "cc") == {"ab": "ab", "x": "ab", "cd": "cd", "y": "cd"}
    assert engine.tables() == ["cc"]

    monkeypatch.setattr(components, "key_expr", lambda value, *_: value.length().cast("int64"))
    with pytest.raises(PipelineError, match="sharing a 64-bit hash"):
        connected_components(engine, _edges(pairs), output="cc2")
    assert engine.tables() == ["cc"], "the merged output, or temporary tables, left behind"
