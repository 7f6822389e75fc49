"""Templates: no visible English outside gettext, no inline script or style, and pages that send a strict CSP.

The checkers here (english_outside_gettext, inline_code, page_problems) are also used by page tests.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import asyncpg
import httpx
import jinja2
import pytest
from starlette.routing import Route

from server.app import build_routes
from server.routes.api.support import flatten_routes
from server.templating import Templates
from tests.factories import create_user, login
from tests.harness import ROOT

TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
# Words that are the same in every language (the name of the site) may appear as they are.
ALLOWED_WORDS = {"Kindred"}
# Attributes whose text a reader (or a screen reader) gets; they must be translated too.
TEXT_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label", "aria-description", "aria-placeholder"}
_MARK = "\x00"  # stands for a Jinja expression or tag inside the HTML that is left
_LETTERS = re.compile(r"[^\W\d_]{2,}")


def _jinja_env() -> jinja2.Environment:
    return Templates().env


def _html_outside_jinja(source: str) -> str:
    """The template's literal HTML, with every Jinja construct replaced by a mark and {% trans %} blocks dropped."""
    pieces: list[str] = []
    in_trans = False
    previous = ""
    for _lineno, kind, value in _jinja_env().lex(source):
        if kind == "name" and previous == "block_begin":
            if value == "trans":
                in_trans = True
            elif value == "endtrans":
                in_trans = False
        if kind == "data":
            if not in_trans:
                pieces.append(value)
        elif kind in {"variable_begin", "block_begin"}:
            pieces.append(_MARK)
        if kind != "whitespace":
            previous = kind
    return "".join(pieces)


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self.skipping += 1
        for name, value in attrs:
            if name in TEXT_ATTRIBUTES and value:
                self.texts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.texts.append(data)


def english_outside_gettext(source: str) -> list[str]:
    """Visible words written straight into the template instead of going through _() or {% trans %}."""
    collector = _TextCollector()
    collector.feed(_html_outside_jinja(source))
    collector.close()
    found = []
    for text in collector.texts:
        words = [word for word in _LETTERS.findall(text.replace(_MARK, " ")) if word not in ALLOWED_WORDS]
        if words:
            found.append(" ".join(text.replace(_MARK, "…").split()))
    return found


_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_STYLE_BLOCK = re.compile(r"<style\b", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""<[a-zA-Z][^>]*?\s(style|on[a-z]+)\s*=""", re.IGNORECASE | re.DOTALL)
_JAVASCRIPT_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def inline_code(source: str) -> list[str]:
    """Inline <script> code, <style> blocks, style= and on...= attributes and javascript: URLs (CSP forbids them)."""
    problems = []
    for match in _SCRIPT.finditer(source):
        if match.group(2).strip() or "src=" not in match.group(1):
            problems.append("inline <script>")
    if _STYLE_BLOCK.search(source):
        problems.append("<style> block")
    problems += [f"{match.group(1)}= attribute" for match in _ATTRIBUTE.finditer(source)]
    problems += ["javascript: URL" for _match in _JAVASCRIPT_URL.finditer(source)]
    return problems


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[int] = []
        self.label_for: set[str] = set()
        self.controls: list[tuple[str, dict[str, str | None]]] = []
        self.inside_label = 0
        self.styled: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if "style" in attributes:
            self.styled.append(tag)
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        elif tag == "label":
            self.inside_label += 1
            if attributes.get("for"):
                self.label_for.add(str(attributes["for"]))
        elif tag in {"input", "select", "textarea"}:
            if tag == "input" and attributes.get("type") in {"hidden", "submit", "button", "reset", "image"}:
                return
            wrapped = {"wrapped": "yes"} if self.inside_label else {}
            self.controls.append((tag, {**attributes, **wrapped}))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self.inside_label:
            self.inside_label -= 1


def page_problems(html: str) -> list[str]:
    """Basic accessibility of a rendered page: one h1, headings that never skip a level, labelled fields."""
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    problems = []
    if parser.headings.count(1) != 1:
        problems.append(f"{parser.headings.count(1)} h1 headings")
    for before, after in zip(parser.headings, parser.headings[1:], strict=False):
        if after > before + 1:
            problems.append(f"heading h{after} follows h{before}")
    for tag, attributes in parser.controls:
        labelled = (
            attributes.get("wrapped")
            or attributes.get("aria-label")
            or attributes.get("aria-labelledby")
            or attributes.get("id") in parser.label_for
        )
        if not labelled:
            problems.append(f"unlabelled <{tag} name={attributes.get('name')}>")
    problems += [f"style= on <{tag}>" for tag in parser.styled]
    # A form macro imported without context renders an empty token: the form can never be sent.
    problems += ["a form with an empty csrf_token"] * html.count('name="csrf_token" value=""')
    return problems


# --- The checkers themselves catch what they are meant to catch --------------------------


def test_the_page_checker_flags_a_form_whose_csrf_token_is_empty() -> None:
    page = '<h1>Hi</h1><form method="post"><input type="hidden" name="csrf_token" value=""></form>'
    assert page_problems(page) == ["a form with an empty csrf_token"]


def test_the_english_checker_flags_text_attributes_and_text_outside_gettext() -> None:
    source = """{% extends "base.html" %}{% block main %}
      <h1>{{ _("Welcome") }}</h1>
      <p>Join us today</p>
      <a href="/x" title="Read more">{{ _("More") }}</a>
      <p>{{ count }} members</p>
    {% endblock %}"""
    assert english_outside_gettext(source) == ["Join us today", "Read more", "… members"]


def test_the_english_checker_accepts_translated_text_trans_blocks_comments_and_the_site_name() -> None:
    source = """{# A comment in English is fine #}
      <title>{% block title %}Kindred{% endblock %} · Kindred</title>
      <a href="/u/{{ user.username }}" aria-label="{{ _('Main') }}">@{{ user.username }}</a>
      <p>{% trans name=user.name %}Hello {{ name }}, welcome back{% endtrans %}</p>
      <p>{{ _("Member since %(date)s", date=when) }} · 42 &middot; {{ x }}</p>
      <input type="hidden" name="csrf_token" value="{{ csrf_token }}">"""
    assert english_outside_gettext(source) == []


def test_the_inline_code_checker_flags_script_style_and_event_handlers() -> None:
    assert inline_code('<script src="/static/js/site.js" defer></script>') == []
    assert inline_code("<script>alert(1)</script>") == ["inline <script>"]
    assert inline_code("<style>p { color: red }</style>") == ["<style> block"]
    assert inline_code('<p style="color: red">x</p>') == ["style= attribute"]
    assert inline_code('<button\n  onclick="go()">x</button>') == ["onclick= attribute"]
    assert inline_code('<a href="javascript:go()">x</a>') == ["javascript: URL"]
    # Words in text and data attributes are not attributes.
    assert inline_code('<p data-style="x">style="plain text" onward</p>') == []


def test_the_page_checker_flags_skipped_headings_unlabelled_fields_and_extra_h1() -> None:
    good = (
        '<h1>A</h1><h2>B</h2><h3>C</h3><h2>D</h2><label for="a">A</label><input id="a" name="a">'
        '<label>B <input name="b"></label><input type="hidden" name="c"><select aria-label="x"></select>'
    )
    assert page_problems(good) == []
    assert page_problems("<h1>A</h1><h3>C</h3>") == ["heading h3 follows h1"]
    assert page_problems("<h1>A</h1><h1>B</h1>") == ["2 h1 headings"]
    assert page_problems('<h1>A</h1><textarea name="bio"></textarea>') == ["unlabelled <textarea name=bio>"]


# --- The templates of the site -----------------------------------------------------------


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: str(Path(path).relative_to(ROOT / "templates")))
def test_no_template_shows_english_text_outside_gettext(path: Path) -> None:
    assert english_outside_gettext(path.read_text()) == []


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: str(Path(path).relative_to(ROOT / "templates")))
def test_no_template_has_inline_script_or_style(path: Path) -> None:
    assert inline_code(path.read_text()) == []


def test_every_template_compiles() -> None:
    env = _jinja_env()
    for path in TEMPLATES:
        env.get_template(str(path.relative_to(ROOT / "templates")))


# --- The Content-Security-Policy on every page -------------------------------------------


def _assert_strict_csp(response: httpx.Response) -> None:
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy, response.request.url
    assert "default-src 'self'" in policy and "object-src 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def _pages_without_parameters() -> list[str]:
    return sorted(
        {
            path
            for path, route in flatten_routes(build_routes())
            if isinstance(route, Route) and "GET" in (route.methods or set()) and "{" not in path
        }
    )


async def test_every_page_sends_a_strict_csp_without_unsafe_inline(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_user(db, "maria")
    paths = [*_pages_without_parameters(), "/u/maria", "/no/such/page", "/api/v1/no-such-endpoint"]
    assert "/" in paths and "/settings" in paths and "/api/v1/session" in paths
    for path in paths:
        _assert_strict_csp(await client.get(path))
    await login(client, "maria")
    for path in paths:
        _assert_strict_csp(await client.get(path))
