"""Jinja2 pages: one environment per app, gettext from the first template, a render helper."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from server import i18n, robots
from server.actions import access
from server.presentation.markdown import markdown

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


class Templates:
    """Renders templates with the request's user, CSRF token, language and translations."""

    def __init__(self, directory: Path = TEMPLATES_DIR) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(directory)),
            autoescape=jinja2.select_autoescape(["html", "xml"]),
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
            enable_async=False,
        )
        # The callables read the request's language from a context variable, so one shared
        # environment serves concurrent requests in different languages.
        self.env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
        self.env.filters["localtime"] = i18n.format_time
        self.env.globals["LANGUAGE_NAMES"] = i18n.LANGUAGE_NAMES
        # The reader's time zone, for a script that writes a time the server would write (a mute's end).
        self.env.globals["reader_time_zone"] = i18n.current_time_zone
        # The one way member text becomes HTML in a template: {{ markdown(text) }} (sanitized, cached).
        self.env.globals["markdown"] = markdown
        # Templates ask the access policy, never re-derive it (server/actions/access.py).
        self.env.globals["can_write"] = access.can_write
        self.env.globals["can_moderate_author"] = access.can_moderate_author
        self.env.globals["rank_of"] = access.rank_of

    def render_string(self, name: str, context: dict[str, Any]) -> str:
        return self.env.get_template(name).render(context)

    def render(
        self, request: Request, name: str, context: dict[str, Any] | None = None, *, status: int = 200
    ) -> HTMLResponse:
        full: dict[str, Any] = {
            "request": request,
            "user": getattr(request.state, "user", None),
            "csrf_token": getattr(request.state, "csrf_token", ""),
            "language": i18n.current_language(),
            "cookie_notice_dismissed": request.cookies.get("kindred_notice") == "dismissed",
            # Members' pages carry <meta name="robots" content="noindex"> (server/robots.py).
            "noindex": not robots.indexable(request.url.path),
        }
        full.update(context or {})
        return HTMLResponse(self.render_string(name, full), status_code=status)


def render(request: Request, name: str, context: dict[str, Any] | None = None, *, status: int = 200) -> HTMLResponse:
    """Render a page with the app's templates (the usual way routes answer with HTML)."""
    templates: Templates = request.app.state.templates
    return templates.render(request, name, context, status=status)


def environment(request: Request) -> jinja2.Environment:
    """The app's Jinja environment (fragment caches key on it: one per app)."""
    templates: Templates = request.app.state.templates
    return templates.env
