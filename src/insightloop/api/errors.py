"""The one JSON error envelope of the API, mapped centrally.

Every error response has the body ``{"code": ..., "message": ..., "hint": ...}`` (plus ``errors``
for invalid requests). A 500 never echoes exception text: profiles hold personal data.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from insightloop.errors import (
    ConfigError,
    InsightloopError,
    MigrationError,
    PipelineError,
    WorkspaceError,
)

__all__ = ["error_body", "install_error_handlers"]

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


def error_body(code: str, message: str, hint: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "hint": hint, **extra}


#: Errors of a request rather than of the server, by their code (profile look-ups, identity
#: decisions): what was asked for does not exist, conflicts with what is, or is malformed.
_STATUS_BY_CODE = {
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "ambiguous_identifier": 409,
    "invalid_request": 400,
    "invalid_decision": 400,
    "profile_store_unavailable": 503,
    # Personal data is only shown once its read is audited; without the audit log, nothing.
    "audit_failed": 503,
}


def _status_for(exc: InsightloopError) -> int:
    if exc.code in _STATUS_BY_CODE:
        return _STATUS_BY_CODE[exc.code]
    if isinstance(exc, WorkspaceError | ConfigError | MigrationError):
        return 503  # the server is up but its workspace cannot be used right now
    if isinstance(exc, PipelineError):
        return 409
    return 500


async def _insightloop_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InsightloopError)
    status = _status_for(exc)
    headers = {"Retry-After": "5"} if status == 503 else None
    if status == 500:
        log.error("request %s %s failed: %s", request.method, request.url.path, exc.code)
        body = error_body("internal_error", "Internal server error.")
    else:
        body = error_body(exc.code, exc.message, exc.hint)
    return JSONResponse(body, status_code=status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Report where and why, never the submitted values: they may be personal data.
    problems = [{"location": [str(p) for p in e["loc"]], "problem": e["msg"]} for e in exc.errors()]
    return JSONResponse(
        error_body(
            "invalid_request",
            f"The request is invalid in {len(problems)} place(s).",
            "Fix the fields listed in 'errors'; /openapi.json describes every parameter.",
            errors=problems,
        ),
        status_code=422,
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return JSONResponse(error_body("internal_error", "Internal server error."), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(InsightloopError, _insightloop_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
