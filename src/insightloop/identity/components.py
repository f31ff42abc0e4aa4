"""Connected components of an identifier graph, computed in SQL through the engine.

Deterministic stitching links identifiers that occur together (an email and a phone on one order,
a cookie and an account on one login); each connected component of that graph is one person. This
module finds the components with Ibis expressions that the engine runs and materialises, so the
same code runs on DuckDB and on Spark and no edge is ever pulled into Python.

Algorithm: min-label hooking with pointer jumping and contraction, after the in-database scheme
of Bögeholz, Brand and Todor, "In-Database Connected Component Analysis", ICDE 2020
(arXiv:1802.09478, the paper Splink's clustering cites). Node ids are hashed to 64-bit keys, which
puts the nodes in random order. Each round, every node with a smaller neighbour points to its
smallest neighbour; pointer jumping (Shiloach and Vishkin's shortcutting) collapses the pointer
chains into trees, one root each, in O(log depth) joins; then the edges are rewritten onto the
roots, and those inside a tree disappear. Only a round's local minima survive it, so the graph
shrinks geometrically: a path of 10,000 nodes takes about eight rounds in any id order. (The
paper draws a fresh order each round; keeping one took fewer rounds in our measurements.) The
node-to-root maps of the rounds are composed backwards, and each component is labelled with its
smallest node id in string order, so the result depends neither on the hash nor on edge order or
backend. Two ids with one key would merge their components: every key is either a non-root of
one round or a component's root, so the counts show a clash (odds about 1 in 10,000 at 60 million
ids), and the run is then repeated with salted hashes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import ibis
import ibis.expr.datatypes as dt

from insightloop.errors import PipelineError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from insightloop.store import BackendName, Engine

__all__ = ["ComponentsResult", "connected_components"]

_SALTS = ("", "#1", "#2")  # hash salts, tried in turn when two ids share a hash


@ibis.udf.scalar.builtin(name="hash")
def _duckdb_hash(value: str) -> dt.uint64:
    """DuckDB's 64-bit hash (Ibis's portable hash() narrows it through a slow BIT cast)."""


@ibis.udf.scalar.builtin(name="xxhash64")
def _spark_hash(value: str) -> dt.int64:
    """Spark's 64-bit hash (its hash() has 32 bits, too few for millions of ids)."""


@dataclass(frozen=True)
class ComponentsResult:
    """What :func:`connected_components` materialised.

    Attributes
    ----------
    table
        The engine table with one row per node: ``node_id`` and ``component_id`` (strings).
    iterations
        Contraction rounds it took (0 for a graph without edges).
    nodes, components
        Number of nodes and of connected components.
    """

    table: str
    iterations: int
    nodes: int
    components: int


def connected_components(
    engine: Engine,
    edges: ir.Table,
    *,
    left: str = "left_id",
    right: str = "right_id",
    nodes: ir.Table | None = None,
    node_column: str = "node_id",
    output: str = "_components",
    max_iterations: int = 64,
    temp: bool = False,
) -> ComponentsResult:
    """Label every node of a graph with the smallest node id of its connected component.

    Parameters
    ----------
    engine
        The engine that runs the expressions and holds the result.
    edges
        One row per edge, its ends in the string columns ``left`` and ``right``. Self-loops,
        duplicate and reversed edges are allowed; a null end is ignored (the other end is still a
        node).
    nodes
        Optional table whose string column ``node_column`` lists further nodes; those without
        edges become components of their own. Null ids are ignored.
    output
        Name of the table the result is materialised into; an existing table is replaced.
    max_iterations
        Contraction rounds allowed before giving up.
    temp
        Materialise ``output`` as a work table of the connection (see
        :meth:`~insightloop.store.Engine.materialise`); the intermediate tables always are.

    Returns
    -------
    ComponentsResult
        The table name (columns ``node_id``, ``component_id``) and the run's figures.

    Raises
    ------
    PipelineError
        When a column is missing or not a string, or the graph needs more than
        ``max_iterations`` rounds.

    Examples
    --------
    >>> from insightloop.store import Engine
    >>> engine = Engine.in_memory()
    >>> edges = ibis.memtable({"left_id": ["b", "c", "x"], "right_id": ["a", "b", None]})
    >>> result = connected_components(engine, edges, output="cc")
    >>> (result.nodes, result.components)
    (4, 2)
    >>> engine.records(engine.table("cc").order_by("node_id"))  # doctest: +NORMALIZE_WHITESPACE
    [{'node_id': 'a', 'component_id': 'a'}, {'node_id': 'b', 'component_id': 'a'},
     {'node_id': 'c', 'component_id': 'a'}, {'node_id': 'x', 'component_id': 'x'}]
    """
    _validate(edges, (left, right), nodes, node_column, max_iterations)
    graph = edges.select(left=edges[left], right=edges[right])
    extra = None if nodes is None else nodes.select(node=nodes[node_column])
    for salt in _SALTS:
        run = _Run(engine)
        try:
            result = run.solve(graph, extra, salt, output, max_iterations, temp)
        finally:
            run.drop_all()
        if result is not None:
            return result
    engine.con.drop_table(output, force=True)  # it would merge the components of clashing ids
    raise PipelineError(
        f"Distinct node ids kept sharing a 64-bit hash through {len(_SALTS)} salts.",
        hint="This should never happen; please report it.",
    )


# -- expressions (pure) ---------------------------------------------------------------------------


def key_expr(value: ir.StringValue, backend: BackendName, salt: str = "") -> ir.IntegerValue:
    """The 64-bit integer that stands for a node id in the rounds."""
    salted = value.concat(salt) if salt else value
    return _spark_hash(salted) if backend == "spark" else _duckdb_hash(salted)


def node_keys_expr(
    graph: ir.Table, nodes: ir.Table | None, backend: BackendName, salt: str
) -> ir.Table:
    """Every distinct non-null node id (``node``) with its key (``key``)."""
    ends = [graph.select(node=graph.left), graph.select(node=graph.right)]
    if nodes is not None:
        ends.append(nodes)
    union = ibis.union(*ends, distinct=True)
    union = union.filter(union.node.notnull())
    return union.mutate(key=key_expr(union.node, backend, salt))


def key_edges_expr(graph: ir.Table, backend: BackendName, salt: str) -> ir.Table:
    """The edges as pairs of keys (``a``, ``b``), without self-loops and null ends."""
    pairs = graph.filter(graph.left != graph.right)  # also drops null ends: null != x is null
    return pairs.select(
        a=key_expr(pairs.left, backend, salt), b=key_expr(pairs.right, backend, salt)
    )


def hook_expr(graph: ir.Table) -> ir.Table:
    """Every node that has a smaller neighbour, pointing to the smallest (``v`` -> ``p``)."""
    offers = graph.select(v=ibis.greatest(graph.a, graph.b), p=ibis.least(graph.a, graph.b))
    best = offers.group_by("v").agg(p=offers.p.min())
    return best.mutate(moved=True)  # every pointer may lead to a node with a pointer


def jump_expr(pointers: ir.Table) -> ir.Table:
    """One pointer-jumping step: every node points to its pointer's pointer (``moved`` if so).

    A pointer that did not move in the last jump leads to a root and stays; only the others are
    looked up, which lets the engine hash the few instead of the many.
    """
    settled = pointers.filter(~pointers.moved).select("v", "p", moved=False)
    live = pointers.filter(pointers.moved)
    up = pointers.select(w=pointers.v, q=pointers.p)
    joined = live.left_join(up, live.p == up.w)
    jumped = joined.select(
        v=joined.v, p=ibis.coalesce(joined.q, joined.p), moved=joined.q.notnull()
    )
    return settled.union(jumped, distinct=False)


def pending_expr(pointers: ir.Table) -> ir.IntegerScalar:
    """How many pointers lead to a node that has a pointer itself (none: all lead to roots).

    Only pointers that moved in the last jump can: the others led to a root before it.
    """
    live = pointers.filter(pointers.moved)
    targets = pointers.view()
    return live.semi_join(targets, live.p == targets.v).count()


def contract_expr(graph: ir.Table, roots: ir.Table) -> ir.Table:
    """The edges rewritten onto the roots of their ends; edges inside one tree disappear."""
    ra = roots.select(ka=roots.v, ra=roots.p)
    rb = roots.select(kb=roots.v, rb=roots.p)
    joined = graph.left_join(ra, graph.a == ra.ka).left_join(rb, graph.b == rb.kb)
    x = ibis.coalesce(joined.ra, joined.a)
    y = ibis.coalesce(joined.rb, joined.b)
    return joined.filter(x != y).select(a=ibis.least(x, y), b=ibis.greatest(x, y)).distinct()


def compose_expr(step: ir.Table, later: ir.Table) -> ir.Table:
    """A round's node -> root map followed by the (composed) maps of the later rounds."""
    up = later.select(w=later.v, q=later.p)
    joined = step.left_join(up, step.p == up.w)
    mapped = joined.select(v=joined.v, p=ibis.coalesce(joined.q, joined.p))
    return mapped.union(later.select("v", "p"), distinct=False)


def output_expr(keys: ir.Table, maps: Sequence[ir.Table]) -> ir.Table:
    """Each node id with the smallest node id of its component (``node_id``, ``component_id``).

    ``maps`` take each key to its root, one after the other (a key a map lacks is a root).
    """
    joined, label = keys, keys.key
    for i, step in enumerate(maps):
        up = step.select(**{f"w{i}": step.v, f"q{i}": step.p})
        joined = joined.left_join(up, label == up[f"w{i}"])
        label = ibis.coalesce(up[f"q{i}"], label)
    labelled = joined.select(node_id=keys.node, label=label)
    smallest = labelled.node_id.min().over(group_by=labelled.label)
    return labelled.select(labelled.node_id, component_id=smallest)


# -- running --------------------------------------------------------------------------------------


class _Run:
    """One attempt: materialises intermediate tables under a unique prefix, and drops them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.prefix = f"il_cc_{uuid.uuid4().hex[:10]}"
        self.names: list[str] = []
        self.steps = 0

    def solve(
        self,
        graph: ir.Table,
        nodes: ir.Table | None,
        salt: str,
        output: str,
        max_iterations: int,
        temp: bool,
    ) -> ComponentsResult | None:
        """Materialise the components into ``output``; None if two ids share a key."""
        engine, backend = self.engine, self.engine.backend
        edges = self.materialise("edges", key_edges_expr(graph, backend, salt))
        roots: list[str] = []  # node -> root maps, one per round
        while (remaining := engine.count(edges)) > 0:
            if len(roots) == max_iterations:
                raise PipelineError(
                    f"Connected components did not converge in max_iterations={max_iterations} "
                    f"rounds ({remaining} edges between unfinished parts remain).",
                    hint="Raise max_iterations; a graph of n nodes needs about log2(n) rounds.",
                )
            pointers = self.materialise("hook", hook_expr(engine.table(edges)))
            roots.append(self.collapse(pointers))
            contracted = contract_expr(engine.table(edges), engine.table(roots[-1]))
            edges = self.replace(edges, "edges", contracted)
        # Each key is a non-root in one round (a row of its map) or the root of a component.
        keyed = sum(engine.count(name) for name in roots)
        # Compose the small maps of the later rounds; the first round's joins the output query.
        later = None
        for name in reversed(roots[1:]):
            step = engine.table(name)
            later = step.select("v", "p") if later is None else compose_expr(step, later)
            later = engine.table(self.materialise("labels", later))
        maps = [engine.table(name) for name in roots[:1]] + ([] if later is None else [later])
        keys = node_keys_expr(graph, nodes, backend, salt)  # read once, by the output query
        engine.materialise(output, output_expr(keys, maps), temp=temp)
        out = engine.table(output)
        is_root = (out.node_id == out.component_id).cast("int64")
        (counts,) = engine.records(out.aggregate(nodes=out.count(), components=is_root.sum()))
        found = ComponentsResult(
            table=output,
            iterations=len(roots),
            nodes=int(counts["nodes"]),
            components=int(counts["components"] or 0),  # the sum of no rows is null
        )
        # Fewer distinct keys than ids: two ids share a key, and were taken for one node.
        return found if keyed + found.components == found.nodes else None

    def materialise(self, step: str, expr: ir.Table) -> str:
        self.steps += 1
        name = f"{self.prefix}_{step}_{self.steps}"
        self.names.append(name)
        self.engine.materialise(name, expr, temp=True)
        return name

    def replace(self, name: str, step: str, expr: ir.Table) -> str:
        """Materialise ``expr`` (which reads table ``name``), then drop ``name``."""
        new = self.materialise(step, expr)
        self.drop_all([name])
        return new

    def collapse(self, pointers: str) -> str:
        """Jump pointers until every node points to a root (log2 of the longest chain jumps)."""
        while True:  # ends: every jump halves the longest chain
            pointers = self.replace(pointers, "jump", jump_expr(self.engine.table(pointers)))
            if self.engine.execute(pending_expr(self.engine.table(pointers))) == 0:
                return pointers

    def drop_all(self, names: Sequence[str] | None = None) -> None:
        for name in list(self.names if names is None else names):
            self.names.remove(name)
            self.engine.con.drop_table(name, force=True)


def _validate(
    edges: ir.Table,
    columns: tuple[str, str],
    nodes: ir.Table | None,
    node_column: str,
    max_iterations: int,
) -> None:
    """Report every problem with the arguments at once."""
    wanted = [("edges", edges, column) for column in columns]
    wanted += [] if nodes is None else [("nodes", nodes, node_column)]
    problems = []
    for what, table, column in wanted:
        schema = table.schema()
        if column not in schema:
            problems.append(f"{what} has no column '{column}' (its columns: {schema.names})")
        elif not schema[column].is_string():
            problems.append(f"{what} column '{column}' is {schema[column]}, not string")
    if max_iterations < 1:
        problems.append(f"max_iterations is {max_iterations}; it must be at least 1")
    if problems:
        raise PipelineError(
            "Cannot compute connected components: " + "; ".join(problems) + ".",
            hint="Pass the edge and node id columns as strings (cast them with .cast('string')).",
        )
