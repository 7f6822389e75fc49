"""AppError(code, status, message) and the handlers that turn it into HTML, JSON or a websocket error."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class AppError(Exception):
    """A refusal the user should see: a machine code, an HTTP status and a plain sentence."""

    def __init__(self, code: str, status: int, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.field = field


def bad_request(message: str, field: str | None = None) -> AppError:
    return AppError("bad_request", 400, message, field=field)


def forbidden(message: str = "You are not allowed to do that.") -> AppError:
    return AppError("forbidden", 403, message)


def not_found(message: str = "Not found.") -> AppError:
    return AppError("not_found", 404, message)


def conflict(message: str) -> AppError:
    return AppError("conflict", 409, message)


def rate_limited(message: str = "Too many attempts; please wait a little and try again.") -> AppError:
    return AppError("rate_limited", 429, message)


def unavailable(message: str = "The service is briefly unavailable; please try again in a moment.") -> AppError:
    return AppError("unavailable", 503, message)


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
    return await render_error(request, exc.code, exc.status, exc.message)


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
