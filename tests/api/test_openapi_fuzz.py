"""Property-based tests of the API against its own OpenAPI document (schemathesis).

Every documented operation gets generated requests, valid and invalid: with credentials (an admin
bearer token, a write key for the collection API), and with none, unknown or misplaced ones. No
answer may be a 500; every answer must keep to the documented status codes, content types and
schemas; and without valid credentials nothing but the public liveness probe may succeed.

The cases come from schemathesis's Hypothesis strategies (``APIOperation.as_strategy``), not
from ``schemathesis.pytest.from_fixture``: its tests read ``Item._nodeid``, which pytest 9.2 no
longer has, and the app needs a workspace, so its schema cannot be loaded at import time.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.python.asgi import shutdown_lifespans

from insightloop.api import create_app
from insightloop.api.ratelimit import RateLimiter
from insightloop.auth import AuthStore
from insightloop.identity.config import ID_TYPES
from tests.api.profile_fixtures import (
    CUSTOMER_ID,
    FAST,
    PERSONAL,
    build_profile_workspace,
    make_credentials,
)

#: Operations anyone may call without credentials.
PUBLIC = {"health"}
#: The tag of the operations that take a source's write key instead of a bearer token.
COLLECTION = "collection"
#: The only 5xx the API documents: the workspace or landing log is unavailable (Retry-After).
UNAVAILABLE = 503
GENERIC_500 = {"code": "internal_error", "message": "Internal server error.", "hint": None}

CONFIG = schemathesis.Config.from_dict(
    {
        # The tests send the credentials themselves (valid, none, unknown, misplaced): the
        # document's security schemes must not make schemathesis add or drop Authorization.
        "generation": {"with-security-parameters": False},
        "operations": [
            {
                "include-tag": COLLECTION,
                "checks": {
                    # The collection API's body schema is deliberately loose (any Segment SDK's
                    # payload must pass), so it does not say what the server requires of a
                    # message (a type in a batch, userId or anonymousId, an event for track,
                    # ...): schema-valid messages are rightly refused with 400.
                    "positive_data_acceptance": {"enabled": False},
                    # And the server is liberal where the schema is strict: an unreadable
                    # sentAt or timestamp is replaced by the time of receipt, not refused.
                    "negative_data_rejection": {"enabled": False},
                },
            },
            {
                "include-operation-id": ["get_profile_by_identifier", "search_customers"],
                "checks": {
                    # Two refusals the document cannot express: which identifier types exist
                    # depends on the workspace ([identity] customer_keys may add some), and a
                    # search needs a letter or digit in any script (JSON Schema's `\w` is
                    # ASCII-only). Both are 400s whose hint says what is accepted.
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "429"]
                    },
                },
            },
            {
                "include-operation-id": ["create_segment", "update_segment", "preview_segment"],
                "checks": {
                    # A definition is any JSON object to the document (the segment language is
                    # checked by the server against the workspace's attributes and behaviour
                    # tables): schema-valid definitions are rightly refused with 422, listing
                    # each problem with its path; a name taken is 409.
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]
                    },
                },
            },
            {
                "include-operation-id": ["run_query"],
                "checks": {
                    # Which measures and dimensions exist, and which combine, is the
                    # catalogue's business, not the document's (an unknown measure, a customer
                    # measure before the measures are computed): 400 naming what is possible;
                    # 422 for a value of the wrong shape (between with one value).
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "400", "401", "403", "422", "429"]
                    },
                },
            },
        ],
    }
)

#: Few examples per operation and mode, derandomised (Hypothesis derives the seed from the
#: test's source): the file runs in well under a minute and fails the same way every time. No
#: shrinking: the first failing request is reported as sent, and a broken handler does not
#: cost minutes of shrinking per target.
FUZZ = settings(
    max_examples=20,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
#: Refusals do not depend on much of the input: fewer examples for the callers without rights.
FUZZ_REFUSED = settings(FUZZ, max_examples=8)


@dataclass(frozen=True)
class Target:
    """Generated requests to one operation, some of its path parameters fixed."""

    operation: APIOperation
    path_parameters: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        fixed = ", ".join(f"{k}={v}" for k, v in self.path_parameters.items())
        return f"{self.operation.label} ({fixed})" if fixed else self.operation.label


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_profile_workspace(tmp_path_factory.mktemp("fuzz") / "ws")


@pytest.fixture(scope="module")
def credentials(root: Path) -> dict[str, dict[str, str]]:
    """Authorization headers by kind: valid ones, and ones the API must not accept."""
    tokens = make_credentials(root).by_role
    _, key = AuthStore.for_workspace(root, hasher=FAST).write_keys.create("web", actor="test")

    def basic(user: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:".encode()).decode()}

    return {
        "token": {"Authorization": f"Bearer {tokens['admin']}"},
        "masked": {"Authorization": f"Bearer {tokens['viewer']}"},
        "write_key": basic(key),
        "unknown_token": {"Authorization": "Bearer il_tok_000000000000_" + "x" * 43},
        "unknown_write_key": basic("il_wk_" + "x" * 32),
    }


@pytest.fixture
def app(root: Path) -> Iterator[FastAPI]:
    # One app per test: schemathesis's pytest plugin ends every ASGI app's lifespan after each
    # test, and the end of the lifespan closes the app's landing log for good.
    app = create_app(root, background=False)
    # Hundreds of requests a second with one credential are the point here, not a flood to refuse.
    app.state.token_limiter = RateLimiter(0)
    app.state.write_key_limiter = RateLimiter(0)
    yield app
    shutdown_lifespans()  # while the workspace exists (the plugin does it too, when loaded)


@pytest.fixture
def api_schema(app: FastAPI) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)


@pytest.fixture
def replay(app: FastAPI) -> Iterator[TestClient]:
    """A client that returns the app's 500 instead of raising its exception (not entered, so it
    starts no second lifespan: schemathesis's client started one)."""
    client = TestClient(app, raise_server_exceptions=False)
    yield client
    client.close()


def _operation_id(operation: APIOperation) -> str:
    return str(operation.definition.raw.get("operationId"))


def _operations(schema: schemathesis.BaseSchema) -> list[APIOperation]:
    operations = [result.ok() for result in schema.get_all_operations()]
    ids = {_operation_id(op) for op in operations}
    assert {"health", "get_status", "get_profile", "collect_batch"} <= ids
    return operations


def _targets(schema: schemathesis.BaseSchema) -> list[Target]:
    """Every operation; then the profile look-ups again with a real customer or a real type,
    as random ids find no one and random types are refused before anything else is read."""
    targets = [Target(op) for op in _operations(schema)]
    profile = schema["/api/v1/profiles/{customer_id}"]["GET"]
    by_identifier = schema["/api/v1/profiles/by/{identifier_type}/{value}"]["GET"]
    targets.append(Target(profile, {"customer_id": CUSTOMER_ID}))
    targets.append(Target(by_identifier, {"identifier_type": "email", "value": PERSONAL["email"]}))
    for id_type in ("customer_id", *ID_TYPES):
        targets.append(Target(by_identifier, {"identifier_type": id_type}))
    return targets


def _takes_input(operation: APIOperation) -> bool:
    return bool(operation.definition.raw.get("parameters") or operation.body)


def _fuzz(
    targets: list[Target],
    mode: GenerationMode,
    send: Callable[[Case], None],
    budget: settings = FUZZ,
) -> None:
    """Run ``send`` on generated cases of every target; fail naming every target that failed,
    each with the first failing case Hypothesis found."""
    failures: list[str] = []
    for target in targets:
        strategy = target.operation.as_strategy(
            generation_mode=mode, path_parameters=dict(target.path_parameters) or None
        )

        @budget
        @given(case=strategy)
        def run(case: Case) -> None:
            send(case)

        try:
            run()
        except Unsatisfiable as exc:
            # An operation without parameters or body has nothing to make invalid.
            if mode is GenerationMode.POSITIVE or _takes_input(target.operation):
                failures.append(f"{target.label}: {exc}")
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - all reported below
            failures.append(f"{target.label}: {type(exc).__name__}: {exc}")
    assert not failures, "\n\n".join(failures)


def _send(case: Case, headers: dict[str, str], replay: TestClient) -> schemathesis.Response:
    """Send ``case``; fail on any 5xx but 503, saying whether the answer gave away more than
    the generic envelope (an exception's text may hold personal data)."""
    where = f"{case.method} {case.formatted_path} {case.query or ''}"
    try:
        response = case.call(headers=dict(headers))
    except Exception as exc:
        # A handler raised: Starlette answers 500 and re-raises to the in-process client. Send
        # the request again through a client that keeps the answer, to see what it says.
        sent = case.as_transport_kwargs(headers=dict(headers))
        sent.pop("cookies", None)
        if "data" in sent:
            sent["content"] = sent.pop("data")
        body = replay.request(**sent).text
        leaked = str(exc) in body or type(exc).__name__ in body
        raise AssertionError(
            f"{where}: {type(exc).__name__}; the 500 leaks its text: {leaked}; it says {body}"
        ) from exc
    if response.status_code >= 500 and response.status_code != UNAVAILABLE:
        generic = _json(response.text) == GENERIC_500
        raise AssertionError(f"{where}: {response.status_code} (only the envelope: {generic})")
    return response


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_with_credentials_every_answer_is_documented(
    api_schema: schemathesis.BaseSchema,
    credentials: dict[str, dict[str, str]],
    replay: TestClient,
    mode: GenerationMode,
) -> None:
    def send(case: Case) -> None:
        kind = "write_key" if COLLECTION in (case.operation.tags or []) else "token"
        headers = credentials[kind]
        response = _send(case, headers, replay)
        case.validate_response(response, headers=dict(headers))

    _fuzz(_targets(api_schema), mode, send)


#: Callers without valid rights: per operation kind (bearer API, collection API), which
#: credential they send (``None``: nothing).
REFUSED = {
    "no credentials": (None, None),
    "unknown credentials": ("unknown_token", "unknown_write_key"),
    "swapped credentials": ("write_key", "token"),
}


@pytest.mark.parametrize("caller", list(REFUSED))
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_without_valid_credentials_only_public_operations_answer(
    api_schema: schemathesis.BaseSchema,
    credentials: dict[str, dict[str, str]],
    replay: TestClient,
    caller: str,
    mode: GenerationMode,
) -> None:
    for_api, for_collection = REFUSED[caller]

    def send(case: Case) -> None:
        kind = for_collection if COLLECTION in (case.operation.tags or []) else for_api
        headers = dict(credentials[kind]) if kind else {}
        response = _send(case, headers, replay)
        status, body = response.status_code, _json(response.text)
        if _operation_id(case.operation) in PUBLIC:
            pass
        elif COLLECTION in (case.operation.tags or []):
            # The key may be in the body, so a body that cannot be read is refused first.
            assert status in (400, 401, 413), (status, body)
        else:
            # The token is checked before any input: nothing about the input, or about what
            # exists, is told to a caller without one (a 404 only for a path no route has).
            route_missing = status == 404 and body["message"] == "Not Found"
            assert status == 401 or route_missing, (status, body)
        case.validate_response(response, headers=headers)

    _fuzz([Target(op) for op in _operations(api_schema)], mode, send, FUZZ_REFUSED)


@pytest.mark.parametrize("kind", ["token", "masked"])
def test_real_profiles_and_searches_conform(
    api_schema: schemathesis.BaseSchema, credentials: dict[str, dict[str, str]], kind: str
) -> None:
    """Generated ids find no one, so the documents of real customers, masked (viewer) and not
    (admin), are checked here against the schema."""
    headers = credentials[kind]
    requests: list[tuple[str, dict[str, Any]]] = [
        ("/api/v1/profiles/{customer_id}", {"path_parameters": {"customer_id": CUSTOMER_ID}}),
        ("/api/v1/profiles/{customer_id}", {"path_parameters": {"customer_id": "C-1002"}}),
        (
            "/api/v1/profiles/{customer_id}",
            {
                "path_parameters": {"customer_id": CUSTOMER_ID},
                "query": {"kinds": ["feedback", "interaction"], "timeline_limit": 1},
            },
        ),
        (
            "/api/v1/profiles/by/{identifier_type}/{value}",
            {"path_parameters": {"identifier_type": "customer_key", "value": "CRM-7"}},
        ),
        ("/api/v1/customers", {"query": {"q": "CRM-7"}}),
        # Without pii:read, no look-up by contact details and no search by name (403, no hits).
        (
            "/api/v1/profiles/by/{identifier_type}/{value}",
            {"path_parameters": {"identifier_type": "phone", "value": PERSONAL["phone"]}},
        ),
        ("/api/v1/customers", {"query": {"q": PERSONAL["last_name"]}}),
        ("/api/v1/customers", {"query": {"q": "example", "limit": 1}}),
        ("/api/v1/status", {}),
        ("/api/v1/runs", {}),
    ]
    for path, parts in requests:
        case = api_schema[path]["GET"].Case(**parts)
        response = case.call(headers=dict(headers))
        ids = parts.get("path_parameters", {})
        refused = kind == "masked" and ids.get("identifier_type") == "phone"
        assert response.status_code == (403 if refused else 200), (path, parts, response.text)
        case.validate_response(response, headers=dict(headers))


def test_documented_date_times_carry_an_offset(
    app: FastAPI, credentials: dict[str, dict[str, str]]
) -> None:
    with TestClient(app) as client:
        status = client.get("/api/v1/status", headers=credentials["token"]).json()
        url = f"/api/v1/profiles/{CUSTOMER_ID}"
        profile = client.get(url, headers=credentials["token"]).json()
    times = [status["last_run"]["started_at"], status["last_run"]["finished_at"]]
    times += [profile["materialised_at"], *(e["at"] for e in profile["timeline"] if e["at"])]
    times += [r["assigned_at"] for r in profile["records"] if r["assigned_at"]]
    assert len(times) > 4
    for time in times:
        assert datetime.fromisoformat(time).tzinfo is not None, time
