"""Baselines: a FastAPI endpoint that parses a batch and discards it (collection benchmark), and
one that returns a profile-sized dict from memory (profile benchmark)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

app = FastAPI()


@app.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/batch")
async def batch(request: Request) -> Response:
    orjson.loads(await request.body())
    return Response(b'{"success":true}', media_type="application/json")


# The baseline of the profile benchmark: a dict of a profile document's size, from memory.
_DOC_PATH = os.environ.get("BENCH_PROFILE_DOC")
_DOC: dict[str, Any] = orjson.loads(Path(_DOC_PATH).read_bytes()) if _DOC_PATH else {}


@app.get("/api/v1/profiles/{customer_id}")
def profile(customer_id: str) -> dict[str, Any]:
    return {**_DOC, "customer_id": customer_id}
