"""/openapi.json describes every route the app serves, and nothing it does not serve."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate
from starlette.routing import Mount, Route

from smsaccounts import openapi
from smsaccounts.app import create_app
from smsaccounts.config import Settings

METHODS = {"get", "post", "put", "delete", "patch"}
SELF = {"/openapi.json", "/docs"}
# The web console serves HTML pages to people, not API operations (docs/console.md).
CONSOLE = "/console"


@pytest.fixture(scope="module")
def app() -> Any:
    # Routes and the document do not touch the database: building the app is enough.
    return create_app(Settings(database_url="sqlite://"), deliver_sms=False)


def served(app: Any) -> set[tuple[str, str]]:
    pairs = set()
    for path, route in _flatten(app.routes):
        if path in SELF or path == CONSOLE or path.startswith(CONSOLE + "/"):
            continue
        # A dialect's endpoint takes every method (a wrong one answers in its own shape)
        # and names the methods it serves.
        methods = route.methods or tuple(getattr(route.endpoint, "methods", ()))
        pairs |= {(path, m.lower()) for m in methods if m.lower() in METHODS}
    return pairs


def _flatten(routes: list[Any], prefix: str = "") -> list[tuple[str, Route]]:
    """Every plain route with its full path, Mounts opened."""
    found: list[tuple[str, Route]] = []
    for route in routes:
        if isinstance(route, Mount):
            found.extend(_flatten(route.routes, prefix + route.path))
        else:
            assert isinstance(route, Route), f"{route!r}: only routes and mounts are expected"
            found.append((prefix + route.path, route))
    return found


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, m) for path, item in doc["paths"].items() for m in item if m in METHODS}


def test_every_served_route_has_an_operation_and_every_operation_is_served(app: Any) -> None:
    doc = openapi.document()
    assert served(app) - documented(doc) == set(), "routes without an operation"
    assert documented(doc) - served(app) == set(), "operations the app does not serve"


def test_the_document_is_valid_openapi_3_1() -> None:
    doc = openapi.document()
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_a_route_missing_from_the_document_is_noticed(app: Any) -> None:
    """The check above can fail: drop one operation and it is reported."""
    ops = openapi.dialect_operations()
    assert ("/v2/ping.{fmt}", "get") in documented(openapi.document(ops))
    fewer = openapi.document([op for op in ops if op[1].path != "/v2/ping.{fmt}"])
    assert served(app) - documented(fewer) == {("/v2/ping.{fmt}", "get")}


def test_schemas_come_from_the_structs_the_code_decodes() -> None:
    from smsaccounts.dialects.mysms.messages import userLoginRequest

    doc = openapi.document()
    login = doc["components"]["schemas"]["userLoginRequest"]
    assert set(login["properties"]) == set(userLoginRequest.__struct_encode_fields__)
    body = doc["paths"]["/xml/user/login"]["post"]["requestBody"]["content"]
    assert body["application/xml"]["schema"]["xml"] == {"name": "userLoginRequest"}


def test_openapi_json_and_docs_are_served(client: Any) -> None:
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == openapi.document()
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "/v2/user/{id}.{fmt}" in page.text
    assert "userLoginRequest" in page.text
    assert "http://" not in page.text  # nothing fetched
    assert "https://" not in page.text


def _body_schemas(doc: dict[str, Any], path: str, method: str) -> list[dict[str, Any]]:
    body = doc["paths"][path][method]["requestBody"]
    assert body["required"] is True
    return [media["schema"] for media in body["content"].values()]


def test_the_reseller_parameters_the_server_requires_are_required_in_the_document() -> None:
    """Every body form (form, JSON) and a GET's query say what `messages.NEEDS` says, which
    tests/api/reseller/test_validation.py holds to what the decoders do."""
    from smsaccounts.dialects.reseller import ENDPOINTS
    from smsaccounts.dialects.reseller.messages import NEEDS

    doc = openapi.document()
    for path, (kind, _decoder, _use) in ENDPOINTS.items():
        needs = NEEDS[kind]
        for schema in _body_schemas(doc, f"/services/rest/{path}", "post"):
            assert schema["required"] == list(needs.required), path
            groups = schema.get("allOf", [schema] if "anyOf" in schema else [])
            found = [tuple(one["required"][0] for one in g["anyOf"]) for g in groups]
            assert found == list(needs.one_of), path
    assert {"integrationId", "name"} <= set(NEEDS[ENDPOINTS["customer/create"][0]].required)
    query = doc["paths"]["/services/rest/admin/balance"]["get"]["parameters"]
    assert {p["name"] for p in query if p["required"]} == {"reseller", "password"}


def test_the_mor_parameters_the_server_requires_are_required_in_the_document() -> None:
    doc = openapi.document()
    for function in ("user_balance_update", "user_balance_change"):
        for schema in _body_schemas(doc, f"/billing/api/{function}", "post"):
            assert schema["required"] == ["u", "user_id", "balance", "hash"]
    for function in ("user_details_get", "user_details"):
        for schema in _body_schemas(doc, f"/billing/api/{function}", "post"):
            assert schema["required"] == ["u", "hash"]
            assert schema["anyOf"] == [{"required": ["user_id"]}, {"required": ["username"]}]
