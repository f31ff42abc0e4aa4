"""Rule segments: list, read, create, change, preview and delete them; page through members.

Reading needs ``profiles:read``; creating, changing, deleting and previewing need
``segments:write`` (a preview runs an arbitrary definition over every customer, which is part of
writing one). Every change is written to the audit log, waiting for the disk, before the answer
leaves. Members are customer ids with the time they entered: no names or contact details.

A definition that does not fit the language or the data is a 422 whose envelope carries
``problems``, each with the ``path`` of its node, a message and a hint.

The handlers are plain functions: FastAPI runs them in worker threads, where the blocking
DuckDB queries belong.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from insightloop.analytics.attributes import segment_sources
from insightloop.analytics.config import analytics_config
from insightloop.analytics.segments import (
    Problem,
    SavedSegment,
    SegmentDefinitionError,
    SegmentError,
    SegmentNotFoundError,
    SegmentSources,
    compile_segment,
    condition_to_dict,
    current_members,
    delete_segment,
    get_segment,
    list_segments,
    parse_condition,
    preview_count,
    save_segment,
    segment_history,
    segment_sizes,
)
from insightloop.api.deps import documented_body, json_body, require
from insightloop.api.errors import error_body
from insightloop.api.schemas import ErrorPublic
from insightloop.api.segment_schemas import (
    SegmentCreate,
    SegmentDefinitionErrorPublic,
    SegmentDetailPublic,
    SegmentMembersPublic,
    SegmentPreview,
    SegmentPreviewPublic,
    SegmentSavedPublic,
    SegmentsPublic,
    SegmentUpdate,
)
from insightloop.auth import AuthStore, Principal
from insightloop.auth.audit_writer import AuditWriteError
from insightloop.errors import EngineError, WorkspaceError
from insightloop.identity.config import identity_config
from insightloop.workspace import Workspace

if TYPE_CHECKING:
    from insightloop.store import Engine

__all__ = ["router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["segments"])

#: Who reads segments and their members (every role).
Reader = Annotated[Principal, Depends(require("profiles:read"))]
#: Who creates, changes, deletes and previews them (admin, analyst, marketer).
Writer = Annotated[Principal, Depends(require("segments:write"))]

SegmentNamePath = Annotated[
    # Not restricted to valid names (an unknown one is a 404 naming the closest saved segment),
    # only to text a database literal can hold.
    str,
    Path(
        min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$", description="The segment's name."
    ),
]


def _errors(*statuses: int, definition: bool = False) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of a route; ``definition``: it takes a definition."""
    out: dict[int | str, dict[str, Any]] = {
        s: {"model": ErrorPublic} for s in (401, 403, 422, 429, 503, *statuses)
    }
    if definition:
        # A body that is not JSON at all: the central 400 of the app.
        out[400] = {"model": ErrorPublic, "description": "The body is not JSON."}
        out[422] = {
            "model": SegmentDefinitionErrorPublic,
            "description": "The definition or the request is invalid: `problems` lists every "
            "problem of the definition with its path (`errors`, of a malformed request).",
        }
    return out


# -- request bodies ----------------------------------------------------------------------------
# Read after the permission check: a caller without rights gets 401/403 first.

CreateBody = Annotated[SegmentCreate, Depends(json_body(SegmentCreate, "segments:write"))]
UpdateBody = Annotated[SegmentUpdate, Depends(json_body(SegmentUpdate, "segments:write"))]
PreviewBody = Annotated[SegmentPreview, Depends(json_body(SegmentPreview, "segments:write"))]


# -- the workspace -----------------------------------------------------------------------------

# DuckDB refuses a read-only and a writing connection to one file in one process at once.
_OTHER_CONFIGURATION = re.compile(r"different configuration", re.IGNORECASE)


@contextmanager
def _workspace(request: Request, *, read_only: bool) -> Iterator[Workspace]:
    """The workspace, opened for this request only (as :data:`~insightloop.api.deps.WorkspaceDep`
    does), writable for changes; busy is a 503 with Retry-After, not a 500."""
    try:
        ws = Workspace.open(request.app.state.workspace_root, read_only=read_only)
    except EngineError as exc:
        if not _OTHER_CONFIGURATION.search(exc.message):
            raise
        raise WorkspaceError(
            "The workspace database is busy with another task of this server (a request or "
            "the event loader).",
            hint="Try again in a few seconds.",
        ) from None
    try:
        yield ws
    finally:
        ws.close()


def _sources(ws: Workspace) -> SegmentSources:
    sources = segment_sources(
        ws.engine, identity_config(ws.settings.identity), analytics_config(ws.settings.analytics)
    )
    if sources is None:
        raise SegmentError(
            "The measures have not been computed in this workspace yet, so a definition "
            "cannot be checked against the data or counted.",
            hint="Run `insightloop run` (or `insightloop run measures`) on the workspace first.",
        )
    return sources


# -- errors and audit --------------------------------------------------------------------------


def _out_of_range() -> SegmentDefinitionError:
    # The language's checks let a window beyond the range of dates through (within_days of a
    # billion), which fails when the query is built: a problem of the definition, not a 500.
    return SegmentDefinitionError(
        [
            Problem(
                "",
                "a number in the definition is out of range (a window or value too large)",
                "Use a within_days of at most a few thousand days, and values of a sensible size.",
            )
        ]
    )


def _segment_error(exc: SegmentError) -> JSONResponse:
    """The envelope of a segment error: 422 with ``problems`` for a definition, 404 for an
    unknown segment, 409 for a request the saved segments or the data do not allow now."""
    if isinstance(exc, SegmentDefinitionError):
        problems = [{"path": p.path, "message": p.message, "hint": p.hint} for p in exc.problems]
        body = error_body(exc.code, exc.message, exc.hint, problems=problems)
        return JSONResponse(body, status_code=422)
    if isinstance(exc, SegmentNotFoundError):
        return JSONResponse(error_body(exc.code, exc.message, exc.hint), status_code=404)
    return JSONResponse(error_body("conflict", exc.message, exc.hint), status_code=409)


def _audit(
    request: Request, principal: Principal, action: str, name: str, details: Mapping[str, object]
) -> None:
    """Record a change, waiting for the disk as admin actions do."""
    auth: AuthStore = request.app.state.auth
    try:
        auth.audit.record(principal.username, action, target=name, details=details)
    except (sqlite3.Error, OSError) as exc:
        log.error("the audit log could not be written: %s", type(exc).__name__)
        raise AuditWriteError() from None


# -- reading -----------------------------------------------------------------------------------


def _public(seg: SavedSegment, size: int) -> dict[str, Any]:
    return {
        "name": seg.name,
        "version": seg.version,
        "size": size,
        "created_by": seg.created_by,
        "created_at": seg.created_at,
        "updated_at": seg.updated_at,
        "definition": condition_to_dict(seg.definition),
    }


def _size(engine: Engine, name: str) -> int:
    return int(engine.execute(current_members(engine, name).count()))


@router.get(
    "/segments",
    response_model=SegmentsPublic,
    responses=_errors(),
    operation_id="list_segments",
)
def list_all(request: Request, principal: Reader) -> SegmentsPublic:
    """Every saved rule segment, by name, with its version and current size."""
    with _workspace(request, read_only=True) as ws:
        saved = list_segments(ws.engine)
        sizes = segment_sizes(ws.engine)
    data = [_public(s, sizes.get(s.name, 0)) for s in saved]
    return SegmentsPublic.model_validate({"data": data, "count": len(data)})


@router.get(
    "/segments/{name}",
    response_model=SegmentDetailPublic,
    responses=_errors(404),
    operation_id="get_segment",
)
def get_one(request: Request, principal: Reader, name: SegmentNamePath) -> SegmentDetailPublic:
    """A segment: its definition, version, current size, and how many customers entered and
    exited it on each day. 404 names the closest saved segment."""
    with _workspace(request, read_only=True) as ws:
        seg = get_segment(ws.engine, name)
        size = _size(ws.engine, name)
        history = ws.engine.records(segment_history(ws.engine, seg.segment_id))
    return SegmentDetailPublic.model_validate({**_public(seg, size), "history": history})


@router.get(
    "/segments/{name}/members",
    response_model=SegmentMembersPublic,
    responses=_errors(404),
    operation_id="list_segment_members",
)
def list_members(
    request: Request,
    principal: Reader,
    name: SegmentNamePath,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> SegmentMembersPublic:
    """The current members, longest-standing first, one page at a time: customer ids and when
    they entered (no names or contact details; `/api/v1/profiles/{customer_id}` has those)."""
    with _workspace(request, read_only=True) as ws:
        members = current_members(ws.engine, name)
        total = int(ws.engine.execute(members.count()))
        page = members.order_by("entered_at", "customer_id").limit(limit, offset=offset)
        rows = ws.engine.records(page)
    end = offset + len(rows)
    return SegmentMembersPublic.model_validate(
        {
            "data": rows,
            "total": total,
            "limit": limit,
            "offset": offset,
            "next_offset": end if end < total else None,
        }
    )


# -- writing -----------------------------------------------------------------------------------


def _save(
    request: Request,
    principal: Principal,
    name: str,
    definition: dict[str, Any],
    *,
    create: bool,
) -> SegmentSavedPublic | JSONResponse:
    with _workspace(request, read_only=False) as ws:
        try:
            sources = _sources(ws)
            known = {s.name: s for s in list_segments(ws.engine)}
            before = known.get(name)
            if create and before is not None:
                raise SegmentError(
                    f"A segment named '{name}' exists (version {before.version}).",
                    hint=f"PUT /api/v1/segments/{name} saves a new version of it; or choose "
                    "another name.",
                )
            if not create and before is None:
                get_segment(ws.engine, name)  # a 404 naming the closest saved segment
            condition = parse_condition(definition)
            # Build the query before saving: what the checks let through but no query can run
            # must not be saved, or it would fail every later refresh.
            resolve = {n: s.definition for n, s in known.items()} | {name: condition}
            compile_segment(condition, sources, resolve=resolve, name=name)
            saved = save_segment(
                ws.engine, name, condition, created_by=principal.username, sources=sources
            )
        except SegmentError as exc:
            return _segment_error(exc)
        except OverflowError:
            return _segment_error(_out_of_range())
        changed = before is None or saved.version != before.version
        if changed:
            _audit(
                request,
                principal,
                "segment.create" if before is None else "segment.update",
                name,
                {"segment_id": saved.segment_id, "version": saved.version},
            )
        count = preview_count(ws.engine, saved.definition, sources)
        size = _size(ws.engine, name)
    return SegmentSavedPublic.model_validate(
        {**_public(saved, size), "changed": changed, "preview_count": count}
    )


@router.post(
    "/segments",
    status_code=201,
    response_model=SegmentSavedPublic,
    responses=_errors(404, 409, definition=True),
    operation_id="create_segment",
    openapi_extra=documented_body(SegmentCreate),
)
def create(
    request: Request, principal: Writer, body: CreateBody
) -> SegmentSavedPublic | JSONResponse:
    """Save a new rule segment, checked against the workspace's data (version 1). 409 when the
    name is taken; 422 lists every problem of the definition. Members are computed by the next
    refresh; ``preview_count`` says how many it selects now."""
    return _save(request, principal, body.name, body.definition, create=True)


@router.post(
    "/segments/preview",
    response_model=SegmentPreviewPublic,
    responses=_errors(409, definition=True),
    operation_id="preview_segment",
    openapi_extra=documented_body(SegmentPreview),
)
def preview(
    request: Request, principal: Writer, body: PreviewBody
) -> SegmentPreviewPublic | JSONResponse:
    """How many customers a definition selects now; nothing is saved. References to saved
    segments use their current definitions."""
    with _workspace(request, read_only=True) as ws:
        try:
            sources = _sources(ws)
            count = preview_count(ws.engine, body.definition, sources)
        except SegmentError as exc:
            return _segment_error(exc)
        except OverflowError:
            return _segment_error(_out_of_range())
    return SegmentPreviewPublic(count=count, as_of=sources.as_of)


@router.put(
    "/segments/{name}",
    response_model=SegmentSavedPublic,
    responses=_errors(404, 409, definition=True),
    operation_id="update_segment",
    openapi_extra=documented_body(SegmentUpdate),
)
def update(
    request: Request, principal: Writer, name: SegmentNamePath, body: UpdateBody
) -> SegmentSavedPublic | JSONResponse:
    """Change a segment's definition: a changed one becomes the next version, the same one
    changes nothing (``changed`` says which). 404 names the closest saved segment."""
    return _save(request, principal, name, body.definition, create=False)


@router.delete(
    "/segments/{name}",
    status_code=204,
    response_class=Response,
    responses=_errors(404, 409),
    operation_id="delete_segment",
)
def delete(request: Request, principal: Writer, name: SegmentNamePath) -> Response:
    """Delete a segment and its membership history. 409 while other segments refer to it."""
    with _workspace(request, read_only=False) as ws:
        try:
            seg = get_segment(ws.engine, name)
            delete_segment(ws.engine, name)
        except SegmentError as exc:
            return _segment_error(exc)
        _audit(
            request,
            principal,
            "segment.delete",
            name,
            {"segment_id": seg.segment_id, "version": seg.version},
        )
    return Response(status_code=204)
