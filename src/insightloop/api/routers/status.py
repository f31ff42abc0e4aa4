"""Workspace status and pipeline runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from insightloop.api.deps import WorkspaceDep, require
from insightloop.api.schemas import (
    ErrorPublic,
    ProfileStorePublic,
    RunPublic,
    RunsPublic,
    StatusPublic,
)
from insightloop.profile.backends import ProfileDocuments

router = APIRouter(
    prefix="/api/v1", tags=["workspace"], dependencies=[Depends(require("status:read"))]
)

_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorPublic},
    403: {"model": ErrorPublic},
    429: {"model": ErrorPublic},
    503: {"model": ErrorPublic},
}


@router.get("/status", response_model=StatusPublic, operation_id="get_status", responses=_ERRORS)
def get_status(ws: WorkspaceDep, request: Request) -> StatusPublic:
    """Schema version, tables with row counts, the last pipeline run and the profile store."""
    status = StatusPublic.model_validate(ws.status().to_dict())
    store: ProfileDocuments = request.app.state.profiles
    if store.exists():
        kind = request.app.state.settings.profiles.store
        status.profile_store = ProfileStorePublic.model_validate({**store.info(), "store": kind})
    return status


@router.get("/runs", response_model=RunsPublic, operation_id="list_runs", responses=_ERRORS)
def list_runs(ws: WorkspaceDep, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> RunsPublic:
    """The latest pipeline runs, newest first."""
    runs = [RunPublic.model_validate(r.to_dict()) for r in ws.runs(limit)]
    return RunsPublic(data=runs, count=len(runs))
