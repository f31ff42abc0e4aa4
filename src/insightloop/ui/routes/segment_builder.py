"""The segment builder: pick conditions in a form (or write the rule as YAML), watch the count
change as you go, save. Included in the section's router by :mod:`insightloop.ui.routes.segments`.

The rule travels as the flat form fields of :mod:`insightloop.analytics.segments.form`; every
change of the tree (add, remove, another attribute or behaviour) is a POST that renders the tree
again on the server, and every edit posts the form for a count (HTMX), so the page needs no
script of its own. Saving checks the rule against the data as the API does, records
``segment.create`` / ``segment.update`` in the audit log, and computes the segment's members at
once (the API leaves that to the next pipeline run). Needs ``segments:write`` throughout.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml  # type: ignore[import-untyped]  # PyYAML ships no type information
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from insightloop.analytics.attributes import segment_sources
from insightloop.analytics.config import analytics_config
from insightloop.analytics.segments import (
    BEHAVIOURS,
    Problem,
    SavedSegment,
    SegmentDefinitionError,
    SegmentError,
    SegmentNotFoundError,
    SegmentSources,
    compile_segment,
    dumps_condition,
    get_segment,
    list_segments,
    loads_condition,
    parse_condition,
    save_segment,
)
from insightloop.analytics.segments.catalogue import (
    OPERATOR_KINDS,
    Catalogue,
    Column,
    catalogue_of,
)
from insightloop.analytics.segments.form import (
    FilterFields,
    Node,
    apply_action,
    fits_fields,
    from_condition,
    node_of_problem,
    parse_fields,
    to_condition,
)
from insightloop.analytics.segments.model import COMPARISONS
from insightloop.analytics.segments.refresh_one import refresh_segment
from insightloop.auth import Principal
from insightloop.identity.config import identity_config
from insightloop.store import Engine
from insightloop.ui.render import render
from insightloop.ui.security import page_user
from insightloop.ui.workspace import PageError, open_workspace
from insightloop.workspace import Workspace

__all__ = ["find_segment", "router", "writable_workspace"]

router = APIRouter(include_in_schema=False)

Writer = Annotated[Principal, Depends(page_user("segments:write"))]

#: How the builder names the operators (docs/segments.md has the language's own names).
OPERATOR_LABELS = {
    "eq": "is",
    "ne": "is not",
    "gt": "is more than",
    "ge": "is at least",
    "lt": "is less than",
    "le": "is at most",
    "between": "is between",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "is_null": "is missing",
    "not_null": "is present",
}
COUNT_LABELS = {
    "ge": "at least",
    "gt": "more than",
    "eq": "exactly",
    "ne": "not exactly",
    "le": "at most",
    "lt": "fewer than",
}
AGGREGATES = {"sum": "sum", "avg": "mean", "min": "minimum", "max": "maximum"}
#: A name the builder's own address takes (``/segments/new``).
RESERVED = frozenset({"new"})
#: What the language's checks let through but no query can hold (as the API says it).
OUT_OF_RANGE = Problem(
    "",
    "a number in the definition is out of range (a window or value too large)",
    "Use a within_days of at most a few thousand days, and values of a sensible size.",
)


@dataclass(frozen=True)
class ShownProblem:
    """A problem of the rule as the page shows it: which condition, where, what, what to do."""

    where: str
    path: str
    message: str
    hint: str | None
    node: str


@dataclass
class Builder:
    """What the builder shows: the name, the rule (as nodes or YAML) and what is wrong with it."""

    name: str
    editing: str
    mode: Literal["form", "yaml"]
    yaml: str
    root: Node
    catalogue: Catalogue
    problems: list[ShownProblem] = field(default_factory=list)
    message: str = ""

    def node_problems(self) -> dict[str, list[ShownProblem]]:
        found: dict[str, list[ShownProblem]] = {}
        for p in self.problems:
            found.setdefault(p.node, []).append(p)
        return found


@dataclass(frozen=True)
class Preview:
    """The count of a rule now, or why it cannot be counted."""

    count: int | None = None
    total: int | None = None
    as_of: dt.datetime | None = None
    problems: tuple[ShownProblem, ...] = ()
    message: str = ""

    @property
    def share(self) -> float | None:
        if self.count is None or not self.total:
            return None
        return self.count / self.total


# -- reading the request -----------------------------------------------------------------------


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form's text fields (the last value of a repeated name)."""
    form = await request.form()
    return {k: v for k, v in form.multi_items() if isinstance(v, str)}


Fields = Annotated[dict[str, str], Depends(form_fields)]


def label_of(key: str) -> str:
    """How the page names a node: ``the rule``, ``condition 2``, ``condition 2.1`` ..."""
    parts = key.split(".")[1:]
    if not parts:
        return "The rule"
    return "Condition " + ".".join(str(int(p[1:]) + 1) for p in parts)


def _shown(problems: tuple[Problem, ...], paths: Mapping[str, str]) -> list[ShownProblem]:
    out = []
    for p in problems:
        key = node_of_problem(p, paths) if paths else "r"
        out.append(ShownProblem(label_of(key), p.path, p.message, p.hint, key))
    return out


# -- the workspace -----------------------------------------------------------------------------

#: How long a change waits for the counts in flight to finish (seconds): DuckDB opens the
#: database for writing only when no read of this server has it open.
BUSY_WAIT = 5.0


def writable_workspace(request: Request) -> AbstractContextManager[Workspace]:
    """The workspace opened for a change, after the reads in flight (the builder counts as the
    user types, and leaving a field counts once more as the save is clicked); still busy after
    :data:`BUSY_WAIT` seconds, the 503 page."""
    return open_workspace(request, read_only=False, wait=BUSY_WAIT)


def find_segment(engine: Engine, name: str) -> SavedSegment:
    """The saved segment ``name``; a 404 page naming the closest one when there is none."""
    if len(name) > 200 or any(ord(c) < 32 for c in name):
        raise PageError(404, "There is no saved segment with this name.")
    try:
        return get_segment(engine, name)
    except SegmentNotFoundError as exc:
        raise PageError(404, exc.message, exc.hint or "") from None


def _sources(ws: Workspace) -> SegmentSources:
    sources = segment_sources(
        ws.engine, identity_config(ws.settings.identity), analytics_config(ws.settings.analytics)
    )
    if sources is None:
        raise PageError(
            409,
            "The measures have not been computed in this workspace yet, so a rule cannot be "
            "checked against the data or counted.",
            "Run `insightloop run` (or `insightloop run measures`) on the workspace first.",
        )
    return sources


#: The attributes and behaviours of each workspace as its database last looked, so the builder
#: draws its tree without building the segment sources (a few hundred milliseconds) each time.
_SHAPES: dict[Path, tuple[tuple[int, ...], Catalogue]] = {}


def _database_version(ws: Workspace) -> tuple[int, ...] | None:
    """Changes with every write to a DuckDB workspace (None on other engines: not kept)."""
    if ws.settings.engine.backend != "duckdb":
        return None
    main = ws.layout.database_file
    version: list[int] = []
    for file in (main, main.with_name(main.name + ".wal")):
        try:
            found = file.stat()
        except FileNotFoundError:
            version += [0, 0]
        else:
            version += [found.st_mtime_ns, found.st_size]
    return tuple(version)


def _catalogue(ws: Workspace, editing: str, sources: SegmentSources | None = None) -> Catalogue:
    """What the builder offers; the saved segments but the one edited."""
    version = _database_version(ws)
    kept = _SHAPES.get(ws.path)
    if sources is None and kept is not None and version is not None and kept[0] == version:
        shape = kept[1]
    else:
        shape = catalogue_of(sources or _sources(ws))
        if version is not None:
            _SHAPES[ws.path] = (version, shape)
    names = tuple(s.name for s in list_segments(ws.engine) if s.name != editing)
    return replace(shape, segments=names)


# -- the builder's state -----------------------------------------------------------------------


def _fit(fields: Node | FilterFields, column: Column | None) -> None:
    if column is not None and column.kind not in OPERATOR_KINDS.get(fields.op, ()):
        fields.op = "contains" if column.kind == "list" else "eq"


def _fit_operators(root: Node, catalogue: Catalogue) -> None:
    """After another attribute or column was picked: an operator it takes (shown, not saved)."""
    for node in root.walk():
        if node.kind == "attribute":
            _fit(node, catalogue.attribute(node.attribute))
        for f in node.filters:
            _fit(f, catalogue.column(node.behaviour, f.column))
        if node.follow is not None:
            for f in node.follow.filters:
                _fit(f, catalogue.column(node.follow.behaviour, f.column))


def _editing(fields: Mapping[str, str]) -> str:
    return fields.get("editing", "").strip()


def _builder(fields: Mapping[str, str], catalogue: Catalogue) -> Builder:
    editing = _editing(fields)
    name = editing or fields.get("name", "").strip()
    mode: Literal["form", "yaml"] = "yaml" if fields.get("mode") == "yaml" else "form"
    builder = Builder(name, editing, mode, fields.get("yaml", ""), Node(), catalogue)
    try:
        builder.root = parse_fields(fields)
    except SegmentDefinitionError as exc:
        builder.problems = _shown(exc.problems, {})
    return builder


def _definition(builder: Builder) -> tuple[Any, dict[str, str]]:
    """The rule the builder holds (not validated), and where its nodes' problems land."""
    if builder.mode == "yaml":
        return loads_condition(builder.yaml), {}
    return to_condition(builder.root, builder.catalogue)


def _new_builder(catalogue: Catalogue) -> Builder:
    root = apply_action(Node(), "add:r:attribute", catalogue)
    return Builder("", "", "form", "", root, catalogue)


def _edit_builder(seg: SavedSegment, catalogue: Catalogue) -> Builder:
    builder = Builder(seg.name, seg.name, "form", "", Node(), catalogue)
    if fits_fields(seg.definition, catalogue):
        builder.root = from_condition(seg.definition)
    else:
        builder.mode, builder.yaml = "yaml", dumps_condition(seg.definition)
        builder.message = (
            "This rule has parts the form cannot show exactly (a group of one condition, or a "
            "list value holding a comma), so it opens as YAML."
        )
    return builder


def _switch(builder: Builder, action: str) -> None:
    """Between the form and YAML, keeping the rule (or staying, with what is wrong)."""
    if action == "to-yaml" and builder.mode == "form":
        definition, _ = to_condition(builder.root, builder.catalogue)
        try:
            text = dumps_condition(parse_condition(definition))
        except SegmentDefinitionError:
            text = yaml.safe_dump(definition, sort_keys=False, allow_unicode=True)
        builder.mode, builder.yaml = "yaml", text
    elif action == "to-form" and builder.mode == "yaml":
        try:
            condition = loads_condition(builder.yaml)
        except SegmentDefinitionError as exc:
            builder.problems = _shown(exc.problems, {})
            builder.message = "Fix the YAML before going back to the form."
            return
        if not fits_fields(condition, builder.catalogue):
            builder.message = (
                "The form cannot show this rule exactly (a group of one condition, or a list "
                "value holding a comma): keep editing it as YAML."
            )
            return
        builder.mode, builder.root = "form", from_condition(condition)


def _page(
    request: Request, user: Principal, builder: Builder, *, status_code: int = 200
) -> HTMLResponse:
    return render(
        request, "segments/builder.html", user, status_code=status_code, **_context(builder)
    )


def _context(builder: Builder, **extra: Any) -> dict[str, Any]:
    return {
        "b": builder,
        "cat": builder.catalogue,
        "node_problems": builder.node_problems(),
        "label_of": label_of,
        "operators": OPERATOR_LABELS,
        "operator_kinds": OPERATOR_KINDS,
        "counts": COUNT_LABELS,
        "comparisons": COMPARISONS,
        "aggregates": AGGREGATES,
        "behaviours": BEHAVIOURS,
        **extra,
    }


# -- pages -------------------------------------------------------------------------------------


@router.get("/segments/new", response_class=HTMLResponse)
def new_segment(request: Request, user: Writer) -> Response:
    """The builder for a new segment: one condition to start from."""
    with open_workspace(request) as ws:
        catalogue = _catalogue(ws, "")
    return _page(request, user, _new_builder(catalogue))


@router.get("/segments/{name}/edit", response_class=HTMLResponse)
def edit_segment(request: Request, user: Writer, name: str) -> Response:
    """The builder holding a saved segment's rule (saving makes its next version)."""
    with open_workspace(request) as ws:
        seg = find_segment(ws.engine, name)
        catalogue = _catalogue(ws, seg.name)
    return _page(request, user, _edit_builder(seg, catalogue))


@router.post("/segments/builder", response_class=HTMLResponse)
def rebuild(request: Request, user: Writer, fields: Fields) -> Response:
    """The builder after an action (add, remove, switch between form and YAML, another pick):
    the rule's part of the page for HTMX, the whole page otherwise."""
    with open_workspace(request) as ws:
        catalogue = _catalogue(ws, _editing(fields))
    builder = _builder(fields, catalogue)
    action = fields.get("action", "")
    if action in ("to-yaml", "to-form"):
        _switch(builder, action)
    elif builder.mode == "form":
        apply_action(builder.root, action, catalogue)
    _fit_operators(builder.root, catalogue)
    if request.headers.get("hx-request"):
        return render(request, "segments/_builder_body.html", user, **_context(builder))
    return _page(request, user, builder)


def _count(builder: Builder, engine: Engine, sources: SegmentSources) -> Preview:
    """Check the rule against the data and count its customers now."""
    if builder.problems:
        return Preview(problems=tuple(builder.problems))
    paths: dict[str, str] = {}
    try:
        definition, paths = _definition(builder)
        condition = parse_condition(definition)
        saved = {s.name: s.definition for s in list_segments(engine)}
        own = builder.name if builder.name and builder.name not in RESERVED else None
        resolve = saved | ({own: condition} if own else {})
        members = compile_segment(condition, sources, resolve=resolve, name=own)
        count = int(engine.execute(members.count()))
    except SegmentDefinitionError as exc:
        return Preview(problems=tuple(_shown(exc.problems, paths)))
    except OverflowError:
        return Preview(problems=tuple(_shown((OUT_OF_RANGE,), {})))
    total = int(engine.execute(sources.attributes.count()))
    return Preview(count=count, total=total, as_of=sources.as_of)


@router.post("/segments/preview", response_class=HTMLResponse)
def preview(request: Request, user: Writer, fields: Fields) -> Response:
    """How many customers the posted rule selects now (or its problems); nothing is saved."""
    try:
        with open_workspace(request) as ws:
            sources = _sources(ws)
            builder = _builder(fields, _catalogue(ws, _editing(fields), sources))
            result = _count(builder, ws.engine, sources)
    except PageError as exc:
        # A part of the page: said in place (HTMX swaps no error answer).
        result = Preview(message=f"{exc.message} {exc.hint}".strip())
    return render(request, "segments/_preview.html", user, p=result)


# -- saving ------------------------------------------------------------------------------------


def _refused(builder: Builder, message: str, problems: list[ShownProblem] | None = None) -> Builder:
    builder.message = message
    builder.problems = problems or []
    return builder


@router.post("/segments", response_class=HTMLResponse)
def save(request: Request, user: Writer, fields: Fields) -> Response:
    """Save the rule (a new segment, or the next version of the one edited), record it in the
    audit log, compute its members, and show the segment. A rule the data refuses shows the
    builder again with every problem (422); a name taken or not allowed, with why (409/422)."""
    with writable_workspace(request) as ws:
        sources = _sources(ws)
        builder = _builder(fields, _catalogue(ws, _editing(fields), sources))
        name = builder.name
        if builder.problems:
            refused = _refused(builder, "Fix the rule first:", builder.problems)
            return _page(request, user, refused, status_code=422)
        known = {s.name: s for s in list_segments(ws.engine)}
        before = known.get(name)
        if name in RESERVED:
            message = f"The name '{name}' is taken by the builder's own address: choose another."
            return _page(request, user, _refused(builder, message), status_code=422)
        if not builder.editing and before is not None:
            message = (
                f"A segment named '{name}' exists (version {before.version}): choose another "
                f"name, or edit that segment."
            )
            return _page(request, user, _refused(builder, message), status_code=409)
        if builder.editing and before is None:
            message = f"The segment '{name}' was deleted meanwhile: save the rule under a name."
            builder.editing = ""
            return _page(request, user, _refused(builder, message), status_code=409)
        paths: dict[str, str] = {}
        try:
            definition, paths = _definition(builder)
            condition = parse_condition(definition)
            # Build the query before saving: what the checks let through but no query can run
            # must not be saved, or it would fail every later refresh (as the API does).
            resolve = {n: s.definition for n, s in known.items()} | {name: condition}
            compile_segment(condition, sources, resolve=resolve, name=name)
            saved = save_segment(
                ws.engine, name, condition, created_by=user.username, sources=sources
            )
        except (SegmentDefinitionError, OverflowError) as exc:
            found = exc.problems if isinstance(exc, SegmentDefinitionError) else (OUT_OF_RANGE,)
            refused = _refused(builder, "The rule does not fit the data:", _shown(found, paths))
            return _page(request, user, refused, status_code=422)
        except SegmentError as exc:
            message = f"{exc.message} {exc.hint or ''}".strip()
            return _page(request, user, _refused(builder, message), status_code=422)
        changed = before is None or saved.version != before.version
        if changed:
            request.app.state.audit_writer.record(
                user.username,
                "segment.create" if before is None else "segment.update",
                target=name,
                details={"segment_id": saved.segment_id, "version": saved.version},
            )
        refresh_segment(ws.engine, sources, name, dt.datetime.now(dt.UTC))
    outcome = "created" if before is None else "updated" if changed else "unchanged"
    return RedirectResponse(f"/segments/{name}?saved={outcome}", status_code=303)
