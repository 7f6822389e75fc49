"""GET /api/v1/openapi.json: a valid OpenAPI 3.1 document that matches the route table both ways."""

from __future__ import annotations

import re
from typing import Any

import httpx
import msgspec
import pytest
from openapi_spec_validator import validate
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route

from server.app import build_routes
from server.routes.api.support import ApiRoute, api_route, flatten_routes, json_response, openapi_document

SAFE = {"GET", "HEAD", "OPTIONS"}


def undocumented_api_routes(routes: list[BaseRoute]) -> list[str]:
    """Routes under /api/ that were not declared with api_route (so the document cannot describe them)."""
    return [
        f"{sorted(route.methods or [])} {path}"
        for path, route in flatten_routes(routes)
        if path.startswith("/api/") and not isinstance(route, ApiRoute)
    ]


def operations_missing_from(document: dict[str, Any], routes: list[BaseRoute]) -> list[str]:
    """Documented path + method pairs that no route in the table serves."""
    missing = []
    for path, item in document["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for method in item:
            scope = {"type": "http", "path": concrete, "method": method.upper()}
            if not any(route.matches(scope)[0] == Match.FULL for route in routes):
                missing.append(f"{method.upper()} {path}")
    return missing


def methods_missing_from(document: dict[str, Any], routes: list[BaseRoute]) -> list[str]:
    """API routes (and methods) in the table that the document does not describe."""
    missing = []
    for path, route in flatten_routes(routes):
        if not path.startswith("/api/"):
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            if method.lower() not in document["paths"].get(path, {}):
                missing.append(f"{method} {path}")
    return missing


async def test_the_document_is_served_as_valid_openapi_3_1(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert document["openapi"].startswith("3.1")
    validate(document)
    assert {"/api/v1/openapi.json", "/api/v1/session", "/api/v1/users/{username}", "/api/v1/me"} <= set(
        document["paths"]
    )


def test_every_documented_operation_exists_in_the_route_table() -> None:
    routes = build_routes()
    assert operations_missing_from(openapi_document(routes), routes) == []


def test_every_api_route_is_declared_with_its_openapi_operation() -> None:
    routes = build_routes()
    assert undocumented_api_routes(routes) == []
    assert methods_missing_from(openapi_document(routes), routes) == []


async def test_every_documented_operation_answers_over_http(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    for path, item in document["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for method in item:
            response = await client.request(method.upper(), concrete)
            # Whatever the answer (401 without a session, 403 without CSRF, 404 for an unknown id),
            # the route exists for this method and answers JSON.
            assert response.status_code != 405, f"{method} {path}"
            assert response.headers["content-type"].startswith("application/json"), f"{method} {path}"


def test_operation_ids_are_unique_and_errors_share_one_schema() -> None:
    document = openapi_document(build_routes())
    ids = [operation["operationId"] for item in document["paths"].values() for operation in item.values()]
    assert len(ids) == len(set(ids))
    me = document["paths"]["/api/v1/me"]["patch"]
    assert set(me["responses"]) >= {"200", "400", "401", "403", "413", "415"}
    assert me["responses"]["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ApiError"}
    assert me["security"] == [{"session": [], "csrfHeader": []}]
    assert me["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/MeChanges"}
    assert document["components"]["schemas"]["MeChanges"]["additionalProperties"] is False
    profile = document["paths"]["/api/v1/users/{username}"]["get"]
    assert profile["parameters"] == [{"name": "username", "in": "path", "required": True, "schema": {"type": "string"}}]
    assert "security" not in profile


# --- The checks above catch what they are meant to catch -------------------------------


async def _endpoint(request: Request) -> Response:
    return json_response({})


class Thing(msgspec.Struct):
    name: str


def test_an_undocumented_api_route_is_noticed() -> None:
    routes: list[BaseRoute] = [*build_routes(), Route("/api/v1/secret", _endpoint, methods=["POST"])]
    assert undocumented_api_routes(routes) == ["['POST'] /api/v1/secret"]
    assert methods_missing_from(openapi_document(routes), routes) == ["POST /api/v1/secret"]


def test_a_documented_operation_without_a_route_is_noticed() -> None:
    routes = build_routes()
    document = openapi_document([*routes, api_route("/api/v1/ghost/{id:int}", _endpoint, summary="Ghost")])
    assert document["paths"]["/api/v1/ghost/{id}"]["get"]["parameters"][0]["schema"]["type"] == "integer"
    assert operations_missing_from(document, routes) == ["GET /api/v1/ghost/{id}"]


def test_a_declared_route_is_documented_with_body_responses_and_security() -> None:
    route = api_route(
        "/api/v1/things",
        _endpoint,
        methods=["POST"],
        summary="Make a thing",
        request_body=Thing,
        responses={201: ("The new thing", Thing), 409: "It exists."},
        sign_in=True,
        tags=["things"],
    )
    document = openapi_document([route])
    validate(document)
    operation = document["paths"]["/api/v1/things"]["post"]
    assert operation["tags"] == ["things"] and operation["summary"] == "Make a thing"
    assert set(operation["responses"]) == {"201", "400", "401", "403", "409", "413", "415"}
    assert operation["responses"]["409"]["description"] == "It exists."
    assert document["components"]["schemas"]["Thing"]["required"] == ["name"]


def test_two_schema_types_with_the_same_name_are_reported_clearly() -> None:
    class Other(msgspec.Struct):
        size: int

    Other.__name__ = "Thing"
    routes = [
        api_route("/api/v1/a", _endpoint, summary="A", responses={200: ("A", Thing)}),
        api_route("/api/v1/b", _endpoint, summary="B", responses={200: ("B", Other)}),
    ]
    with pytest.raises(ValueError, match="share a class name"):
        openapi_document(routes)


def test_api_routes_must_live_under_api() -> None:
    with pytest.raises(ValueError, match="under /api/"):
        api_route("/things", _endpoint, summary="Things")


async def test_an_id_too_long_for_the_database_is_not_found_on_pages_and_the_api(client: httpx.AsyncClient) -> None:
    # Found by fuzzing: a 21-digit thread id reached Postgres's bigint and answered 500.
    huge = "874155623928674648064"
    assert (await client.get(f"/api/v1/threads/{huge}")).status_code == 404
    assert (await client.get(f"/c/test-condition/t/{huge}")).status_code == 404


def test_every_read_documents_the_read_limit_with_retry_after() -> None:
    route = api_route("/api/v1/things", _endpoint, summary="List things", responses={200: ("Things", Thing)})
    document = openapi_document([route])
    validate(document)
    limited = document["paths"]["/api/v1/things"]["get"]["responses"]["429"]
    assert "Retry-After" in limited["headers"] and "wait" in limited["description"]
    # And the served document lists it on every GET of the API.
    served = openapi_document(build_routes())
    gets = [operation for path in served["paths"].values() for method, operation in path.items() if method == "get"]
    assert gets and all("429" in operation["responses"] for operation in gets)
