"""Security headers on every response: a strict Content-Security-Policy with no inline script, noindex on members' pages."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import robots

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]

# Members' pages (and the API) are kept out of search engines (server/robots.py).
NOINDEX_HEADERS = [*HEADERS, (b"x-robots-tag", robots.NOINDEX)]


class SecurityHeadersMiddleware:
    """Pure ASGI (not BaseHTTPMiddleware) so websockets and streaming pass through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = HEADERS if robots.indexable(scope["path"]) else NOINDEX_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (name, value) for name, value in headers if name not in present
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
