"""`POST /api/v1/query` and `GET /api/v1/query/catalogue` against a real workspace: the
figures of tests/analytics/cube/data.py, small-cell suppression for roles without `pii:read`,
the error envelope, and generated requests (schemathesis) that never get a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from insightloop import Workspace
from insightloop.api import create_app
from insightloop.api.ratelimit import RateLimiter
from tests.analytics.cube.data import build_cube_data, configure
from tests.api.profile_fixtures import Credentials, make_credentials

URL = "/api/v1/query"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("query-api") / "ws"
    with Workspace.init(path) as ws:
        configure(ws)
        build_cube_data(ws.engine)
    return path


@pytest.fixture(scope="module")
def credentials(root: Path) -> Credentials:
    return make_credentials(root)


def _app(root: Path) -> FastAPI:
    app = create_app(root, background=False)
    app.state.token_limiter = RateLimiter(0)
    return app


@pytest.fixture
def client(root: Path) -> Iterator[TestClient]:
    with TestClient(_app(root)) as c:
        yield c


def _post(client: TestClient, token: str, body: dict[str, Any]) -> Any:
    return client.post(URL, json=body, headers=Credentials.header(token))


def test_a_role_with_pii_read_sees_every_figure(
    client: TestClient, credentials: Credentials
) -> None:
    r = _post(client, credentials.by_role["admin"], {"measures": ["revenue", "orders"],
              "by": ["channel"]})  # fmt: skip
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["rows"] == [
        {"channel": "store", "revenue": 1199.0, "orders": 5, "suppressed": False},
        {"channel": "web", "revenue": 100.0, "orders": 1, "suppressed": False},
    ]
    assert data["totals"] == {"revenue": 1299.0, "orders": 6, "suppressed": False}
    assert data["units"] == {"revenue": "EUR", "orders": "orders"}
    assert (data["count"], data["truncated"], data["min_group_size"]) == (2, False, 0)
    assert data["columns"] == ["channel", "revenue", "orders"]
    assert "SELECT" in data["sql"]


@pytest.mark.parametrize("role", ["analyst", "marketer", "viewer"])
def test_without_pii_read_groups_of_fewer_than_five_customers_are_hidden(
    client: TestClient, credentials: Credentials, role: str
) -> None:
    body = {"measures": ["buyers", "revenue"], "by": ["period"], "period": "year"}
    r = _post(client, credentials.by_role[role], body)  # type: ignore[index]
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["min_group_size"] == 5
    # 2023: Ada and Ben ordered; 2024: Ada alone. No group, and not the totals, reaches five.
    assert data["rows"] == [
        {"period": "2023-01-01", "buyers": None, "revenue": None, "suppressed": True},
        {"period": "2024-01-01", "buyers": None, "revenue": None, "suppressed": True},
    ]
    assert data["totals"] == {"buyers": None, "revenue": None, "suppressed": True}
    assert data["suppressed_rows"] == 2


def test_the_agent_role_carries_pii_read(client: TestClient, credentials: Credentials) -> None:
    r = _post(client, credentials.by_role["agent"], {"measures": ["customers"]})
    assert r.json()["totals"] == {"customers": 3, "suppressed": False}


def test_an_invalid_query_is_a_400_in_the_envelope(
    client: TestClient, credentials: Credentials
) -> None:
    r = _post(client, credentials.by_role["viewer"], {"measures": ["revenu"], "by": ["category"]})
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "invalid_request"
    assert "Did you mean 'revenue'?" in body["message"]
    assert "/api/v1/query/catalogue" in body["hint"]
    combination = _post(client, credentials.by_role["viewer"], {"measures": ["customers"],
                        "by": ["period"]})  # fmt: skip
    assert combination.status_code == 400
    assert "customer measure" in combination.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"measures": []},
        {"measures": ["revenue"], "by": ["a", "b", "c", "d"]},
        {"measures": ["revenue"], "limit": "5"},
        {"measures": ["revenue"], "since": "1 June"},
        {
            "measures": ["revenue"],
            "filters": [{"dimension": "country", "op": "like", "value": "S"}],
        },
        {"measures": ["revenue"], "filters": [{"dimension": "country", "value": "S\u0000E"}]},
        {"measures": ["revenue"], "sql": "select 1"},
    ],
)
def test_a_malformed_body_is_a_422_naming_where(
    client: TestClient, credentials: Credentials, body: dict[str, Any]
) -> None:
    r = _post(client, credentials.by_role["admin"], body)
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_request"
    assert r.json()["errors"]


def test_who_may_ask(client: TestClient, credentials: Credentials) -> None:
    body = {"measures": ["customers"]}
    assert client.post(URL, json=body).status_code == 401
    assert client.get(f"{URL}/catalogue").status_code == 401
    status_only = credentials.by_scope["status:read"]
    assert _post(client, status_only, body).status_code == 403
    assert _post(client, credentials.by_scope["profiles:read"], body).status_code == 200


def test_the_catalogue(client: TestClient, credentials: Credentials) -> None:
    r = client.get(f"{URL}/catalogue", headers=Credentials.header(credentials.by_role["viewer"]))
    assert r.status_code == 200
    data = r.json()
    measures = {m["name"]: m for m in data["measures"]}
    assert measures["revenue"]["unit"] == "EUR"
    assert measures["customers"]["kind"] == "customer"
    dims = {d["name"]: d for d in data["dimensions"]}
    assert dims["category"]["applies_to"] == ["events", "purchases"]
    assert "between" in data["operators"]
    assert data["min_group_size"] == 5
    admin = client.get(f"{URL}/catalogue", headers=Credentials.header(credentials.by_role["admin"]))
    assert admin.json()["min_group_size"] == 0


#: Schema-valid queries may still name what the workspace cannot answer (400), or break a rule
#: the schema cannot state (422: two values for `between`, a name of spaces).
_CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "422"]},
        }
    }
)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_generated_requests_get_documented_answers(
    root: Path, credentials: Credentials, mode: GenerationMode
) -> None:
    app = _app(root)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=_CONFIG)
    headers = Credentials.header(credentials.by_role["viewer"])
    for path, method in ((URL, "POST"), (f"{URL}/catalogue", "GET")):
        operation = schema[path][method]

        @settings(
            max_examples=25,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: schemathesis.Case) -> None:
            response = case.call(headers=dict(headers))
            assert response.status_code < 500, (case.body, response.text)
            case.validate_response(response, headers=dict(headers))

        if mode is GenerationMode.NEGATIVE and method == "GET":
            continue  # no parameters, no body: nothing to make invalid
        run()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"measures": ["orders"], "since": "0001-01-01", "until": "9999-12-31"}, 200),
        ({"measures": ["customers"], "filters": [{"dimension": "orders", "op": "gt",
          "value": 10**30}]}, 400),
        ({"measures": ["customers"], "filters": [{"dimension": "p_alive", "op": "between",
          "value": [True, "x"]}]}, 400),
        ({"measures": ["customers"], "filters": [{"dimension": "city", "value": "O'Brien\"; --"}]},
         200),
    ],
)  # fmt: skip
def test_edge_values_are_answered_or_refused_never_a_500(
    client: TestClient, credentials: Credentials, body: dict[str, Any], status: int
) -> None:
    r = _post(client, credentials.by_role["admin"], body)
    assert r.status_code == status, r.text
