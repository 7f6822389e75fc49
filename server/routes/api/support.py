"""JSON API support: routes that carry their OpenAPI operation, typed JSON bodies, CSRF, sign-in, openapi.json.

Declare an endpoint once and it is served, guarded and documented::

    import msgspec
    from server.routes.api.support import api_route, json_response, read_json

    class NewTip(msgspec.Struct, forbid_unknown_fields=True):
        name: str
        description: str

    class TipOut(msgspec.Struct):
        id: int
        name: str

    async def create_tip(request: Request) -> Response:
        body = await read_json(request, NewTip)          # 400/413/415 as JSON when the body is wrong
        user = request.state.user                        # never None here: sign_in=True answered 401 already
        ...
        return json_response(TipOut(id=..., name=body.name), status=201)

    routes = [
        api_route(
            "/api/v1/communities/{slug}/tips", create_tip, methods=["POST"],
            summary="Share a tip", request_body=NewTip,
            responses={201: ("The new tip", TipOut), 404: "No community with that slug."},
            sign_in=True, tags=["tips"],
        ),
    ]

What api_route does for you:
- unsafe methods (POST, PUT, PATCH, DELETE) need the X-CSRF-Token header equal to the session's token
  (GET /api/v1/session gives it), else 403 JSON; sign_in=True answers 401 JSON to anonymous callers;
- the operation (summary, path parameters from {name} / {name:int}, request body, responses, the
  automatic 400/401/403/413/415 errors, the read limit's 429 on reads, security) appears in
  GET /api/v1/openapi.json.
Schemas are msgspec.Struct types (turned into JSON Schema; their class names name the schemas, so keep
them unique across the API) or plain JSON Schema dicts. Raise AppError
(server.errors) for refusals: under /api/ it becomes {"error": code, "message": ...} with its status.
A test fails if a route under /api/ is not declared with api_route.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import msgspec
from starlette.convertors import FloatConvertor, IntegerConvertor, UUIDConvertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from server import ratelimit
from server.auth import tokens_match
from server.errors import AppError, InvalidInput, Refused, SignInRequired, TooLarge, bad_request
from server.i18n import _

Endpoint = Callable[[Request], Awaitable[Response]]
# A msgspec.Struct type (or any type msgspec can describe), or a ready JSON Schema dict.
Schema = type[Any] | dict[str, Any]
ResponseSpec = str | tuple[str, Schema | None]
T = TypeVar("T")
# \u0000 in a JSON string (NUL, which Postgres text cannot hold), not an escaped backslash before "u0000".
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")

# An id in a request body: a row's id is a positive Postgres bigint, so anything else is a 400 here
# rather than a database error (a 500) further in.
RowId = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]

OPENAPI_PATH = "/api/v1/openapi.json"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_BODY_BYTES = 256 * 1024
_REF_TEMPLATE = "#/components/schemas/{name}"


class ApiError(msgspec.Struct):
    """Every API error: a stable machine code and a sentence for people, in the reader's language."""

    error: str
    message: str


@dataclass(frozen=True)
class Operation:
    summary: str
    description: str = ""
    request_body: Schema | None = None
    responses: Mapping[int, ResponseSpec] = field(default_factory=dict)
    sign_in: bool = False
    tags: tuple[str, ...] = ()


class ApiRoute(Route):
    """A Starlette Route that also carries its OpenAPI operation."""

    def __init__(self, path: str, endpoint: Endpoint, *, methods: Sequence[str], operation: Operation) -> None:
        self.operation = operation
        self.api_endpoint = endpoint
        super().__init__(path, _guarded(endpoint, operation), methods=list(methods), name=endpoint.__name__)


def api_route(
    path: str,
    endpoint: Endpoint,
    *,
    methods: Sequence[str] = ("GET",),
    summary: str,
    description: str = "",
    request_body: Schema | None = None,
    responses: Mapping[int, ResponseSpec] | None = None,
    sign_in: bool = False,
    tags: Iterable[str] = (),
) -> ApiRoute:
    """Declare an API route and its OpenAPI operation together (see the module docstring)."""
    if not path.startswith("/api/"):
        raise ValueError(f"API routes live under /api/: {path}")
    operation = Operation(
        summary=summary,
        description=description,
        request_body=request_body,
        responses=dict(responses or {200: "OK"}),
        sign_in=sign_in,
        tags=tuple(tags),
    )
    return ApiRoute(path, endpoint, methods=methods, operation=operation)


def int_query(request: Request, name: str) -> int | None:
    """An optional whole-number query parameter (400 with its name otherwise)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise bad_request(_("%(name)s must be a whole number.") % {"name": name}, name)
    return int(raw)


def path_slug(request: Request) -> str:
    """The community slug of an endpoint under /api/v1/communities/{slug}."""
    slug: str = request.path_params["slug"]
    return slug


def unauthorized() -> AppError:
    return SignInRequired(_("Please log in first."))


def _guarded(endpoint: Endpoint, operation: Operation) -> Endpoint:
    async def guarded(request: Request) -> Response:
        if operation.sign_in and request.state.user is None:
            raise unauthorized()
        if request.method not in SAFE_METHODS and not tokens_match(
            request.state.csrf_token, request.headers.get("x-csrf-token")
        ):
            raise Refused(
                _("Send the X-CSRF-Token header with the token from GET /api/v1/session."), code="csrf_failed"
            )
        return await endpoint(request)

    guarded.__name__ = endpoint.__name__
    guarded.__doc__ = endpoint.__doc__
    return guarded


async def read_json(request: Request, type_: type[T], *, limit: int = MAX_BODY_BYTES) -> T:
    """The request's JSON body decoded into type_; clear 400/413/415 JSON errors otherwise."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise InvalidInput(
            _("Send a JSON body with the header Content-Type: application/json."),
            code="unsupported_media_type",
            status=415,
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    if not body.strip():
        raise bad_request(_("The request body is empty; send a JSON object."))
    if _NUL_ESCAPE.search(body):
        raise bad_request(_("The JSON body cannot contain the NUL character (U+0000) in a string."))
    try:
        return msgspec.json.decode(bytes(body), type=type_)
    except msgspec.ValidationError as error:
        raise bad_request(_("The JSON body is not right: %(detail)s") % {"detail": str(error)}) from None
    except msgspec.DecodeError as error:
        raise bad_request(_("The request body is not valid JSON: %(detail)s") % {"detail": str(error)}) from None
    except RecursionError:
        raise bad_request(_("The JSON body nests arrays or objects too deep.")) from None


def _too_large(limit: int) -> AppError:
    return TooLarge(_("The request body is too large (at most %(limit)d bytes).") % {"limit": limit})


def json_response(value: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """Encode with msgspec: Structs, dataclasses, datetimes and dates become JSON directly."""
    return Response(msgspec.json.encode(value), status_code=status, media_type="application/json", headers=headers)


# --- The OpenAPI document ------------------------------------------------------------------


def flatten_routes(routes: Iterable[BaseRoute], prefix: str = "") -> list[tuple[str, Route]]:
    """Every Route in the table (inside Mounts too) with its full path format."""
    found: list[tuple[str, Route]] = []
    for route in routes:
        if isinstance(route, Mount):
            found += flatten_routes(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            found.append((prefix + route.path_format, route))
    return found


def _parameter_schema(convertor: object) -> dict[str, Any]:
    if isinstance(convertor, IntegerConvertor):
        return {"type": "integer", "minimum": 0}
    if isinstance(convertor, FloatConvertor):
        return {"type": "number"}
    if isinstance(convertor, UUIDConvertor):
        return {"type": "string", "format": "uuid"}
    return {"type": "string"}


class _Schemas:
    """Turns Struct types into $refs and collects their definitions once for components."""

    def __init__(self, types: list[type[Any]]) -> None:
        names = [kind.__name__ for kind in types]
        clashes = sorted({name for name in names if names.count(name) > 1})
        if clashes:
            raise ValueError(f"Two API schema types share a class name (rename one): {', '.join(clashes)}")
        try:
            refs, self.components = msgspec.json.schema_components(types, ref_template=_REF_TEMPLATE)
        except KeyError as error:  # msgspec's way of saying two nested types share a name
            raise ValueError(f"Two API schema types share a class name (rename one): {error}") from None
        self.refs = dict(zip(types, refs, strict=True))

    def __call__(self, schema: Schema) -> dict[str, Any]:
        if isinstance(schema, dict):
            return schema
        return dict(self.refs[schema])


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def openapi_document(routes: Iterable[BaseRoute], *, title: str = "Kindred API", version: str = "1") -> dict[str, Any]:
    """OpenAPI 3.1 from the route table: every ApiRoute, nothing else."""
    declared = [(path, route) for path, route in flatten_routes(routes) if isinstance(route, ApiRoute)]
    types: list[type[Any]] = [ApiError]
    for _path, route in declared:
        operation = route.operation
        schemas = [operation.request_body] + [
            spec[1] for spec in operation.responses.values() if isinstance(spec, tuple)
        ]
        types += [schema for schema in schemas if schema is not None and not isinstance(schema, dict)]
    schema_of = _Schemas(list(dict.fromkeys(types)))
    error = schema_of(ApiError)

    paths: dict[str, dict[str, Any]] = {}
    for path, route in declared:
        operation = route.operation
        methods = sorted(method for method in (route.methods or set()) if method != "HEAD")
        for method in methods:
            unsafe = method not in SAFE_METHODS
            item: dict[str, Any] = {
                "operationId": _operation_id(route, method, len(methods) > 1),
                "summary": operation.summary,
            }
            if operation.description:
                item["description"] = operation.description
            if operation.tags:
                item["tags"] = list(operation.tags)
            if route.param_convertors:
                item["parameters"] = [
                    {"name": name, "in": "path", "required": True, "schema": _parameter_schema(convertor)}
                    for name, convertor in route.param_convertors.items()
                ]
            if operation.request_body is not None:
                item["requestBody"] = {"required": True, "content": _json_content(schema_of(operation.request_body))}
            responses: dict[str, Any] = {}
            for status, spec in sorted(operation.responses.items()):
                description, schema = (spec, None) if isinstance(spec, str) else spec
                if schema is None and status >= 400:
                    schema = ApiError
                responses[str(status)] = {"description": description}
                if schema is not None:
                    responses[str(status)]["content"] = _json_content(schema_of(schema))
            automatic = {
                400: operation.request_body is not None,
                401: operation.sign_in,
                403: unsafe,
                413: operation.request_body is not None,
                415: operation.request_body is not None,
                429: ratelimit.counts_as_read(method, path),
            }
            for status, applies in automatic.items():
                if applies and str(status) not in responses:
                    responses[str(status)] = {"description": _AUTOMATIC[status], "content": _json_content(error)}
                    if status == 429:
                        responses["429"]["headers"] = {
                            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
                        }
            item["responses"] = responses
            security: dict[str, list[str]] = {}
            if operation.sign_in:
                security["session"] = []
            if unsafe:
                security["csrfHeader"] = []
            if security:
                item["security"] = [security]
            paths.setdefault(path, {})[method.lower()] = item

    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": (
                "Kindred's JSON API. It uses the same session cookie as the site; unsafe methods also need "
                "the X-CSRF-Token header (GET /api/v1/session gives the token). Errors are "
                '{"error": code, "message": sentence} with the matching HTTP status.'
            ),
        },
        "paths": paths,
        "components": {
            "schemas": schema_of.components,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "kindred_session"},
                "csrfHeader": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }


_AUTOMATIC = {
    400: "The JSON body is missing, malformed, or has a wrong or missing field.",
    401: "Sign-in is required.",
    403: "The X-CSRF-Token header is missing or wrong, or you may not do this.",
    413: "The request body is too large.",
    415: "The body is not JSON (Content-Type must be application/json).",
    429: "Too many reads in a short time (a limit against copying communities wholesale): wait Retry-After seconds.",
}


def _operation_id(route: ApiRoute, method: str, several: bool) -> str:
    module = route.api_endpoint.__module__.rsplit(".", 1)[-1]
    base = f"{module}_{route.api_endpoint.__name__}"
    return f"{base}_{method.lower()}" if several else base


async def openapi_json(request: Request) -> Response:
    """The OpenAPI document, built once per app from its own route table."""
    document = getattr(request.app.state, "openapi_document", None)
    if document is None:
        document = openapi_document(request.app.routes)
        request.app.state.openapi_document = document
    return json_response(document)


routes = [
    api_route(
        OPENAPI_PATH,
        openapi_json,
        summary="This OpenAPI 3.1 description of the API",
        responses={200: ("The OpenAPI document", {"type": "object"})},
        tags=["meta"],
    )
]
