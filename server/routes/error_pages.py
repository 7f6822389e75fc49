"""How errors are answered over HTTP: a page in the reader's language, or JSON for the API."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.errors import AppError, RateLimited


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def error_json(code: str, status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


async def render_error(request: Request, code: str, status: int, message: str) -> Response:
    if wants_json(request):
        return error_json(code, status, message)
    templates = getattr(request.app.state, "templates", None)
    if templates is None:
        return Response(message, status_code=status, media_type="text/plain")
    page: Response = templates.render(
        request, "error.html", {"status": status, "code": code, "message": message}, status=status
    )
    return page


async def app_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    response = await render_error(request, exc.code, exc.status, exc.message)
    if isinstance(exc, RateLimited) and exc.retry_after:
        response.headers["retry-after"] = str(exc.retry_after)
    return response


_HTTP_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else "Error"
    if exc.status_code == 404:
        message = "We could not find that page."
    response = await render_error(request, code, exc.status_code, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response
