"""Schemathesis against /api/v1/openapi.json on a real server, as a visitor and as a signed-in member."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import requests
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server import auth
from server.settings import Settings
from tests.factories import create_cast, create_post, create_session, create_thread
from tests.fuzz.bridge import LoopBridge
from tests.fuzz.profiles import examples
from tests.harness import LiveServer, live_server

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class Visitor:
    """Who sends the requests: cookies and headers as a browser script would have them."""

    name: str
    cookies: dict[str, str]
    headers: dict[str, str]


@dataclass
class Site:
    server: LiveServer
    schema: schemathesis.BaseSchema
    visitors: list[Visitor]
    # Real values for path parameters, so that cases reach the data and not only 404s.
    known: dict[str, Any]


async def _visitor(server: LiveServer, name: str, session: str | None) -> Visitor:
    cookies = {auth.SESSION_COOKIE: session} if session else {}
    async with httpx.AsyncClient(base_url=server.base_url, cookies=cookies) as http:
        response = await http.get("/api/v1/session")
    info = response.json()
    assert info["signed_in"] is (session is not None)
    # A visitor's CSRF token is bound to its CSRF cookie; a member's to the session.
    cookies.update({key: value for key, value in response.cookies.items() if key == auth.CSRF_COOKIE})
    return Visitor(name, cookies, {"X-CSRF-Token": info["csrf_token"], "Origin": server.base_url})


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    """The suite's server with the read limits out of reach: past 300 reads a session gets only 429s (documented
    on every read, tests/server/routes/test_read_limits.py), and the cases would stop reaching the routes."""
    async with live_server(settings.with_overrides(read_limit_session=10**9, read_limit_ip=10**9)) as running:
        yield running


@pytest.fixture
async def site(server: LiveServer, db: asyncpg.Connection) -> AsyncIterator[Site]:
    cast = await create_cast(db)
    thread_id = await create_thread(db, cast["community"], cast["member"], "How do you manage mornings?")
    post_id = await create_post(db, thread_id, cast["leader"], "Slowly, with a routine.")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        document = (await http.get("/api/v1/openapi.json")).json()
    visitors = [
        await _visitor(server, "anonymous", None),
        await _visitor(server, "member", await create_session(db, cast["member"])),
    ]
    known = {
        "slug": "test-condition",
        "username": "member",
        "section": "what_is_it",
        "thread_id": thread_id,
        "post_id": post_id,
    }
    yield Site(server, schemathesis.openapi.from_dict(document), visitors, known)


def _strategy(operation: Any, known: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Cases with generated path parameters, and cases whose known parameters are real ones."""
    names = {parameter.name for parameter in operation.path_parameters}
    real = {name: value for name, value in known.items() if name in names}
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    if real:
        strategies += [operation.as_strategy(generation_mode=mode, path_parameters=real) for mode in modes]
    return st.one_of(strategies)


def _label(operation: Any) -> str:
    return re.sub(r"\W+", "_", f"{operation.method}_{operation.path}").strip("_")


def _fuzz_operation(site: Site, operation: Any, visitor: Visitor, calls: Counter[str]) -> None:
    """Run one operation's property as one visitor; raises the first failing case's report.

    calls: counts the cases sent, by status class ("2xx", "4xx"...), for the run's figures."""
    session = requests.Session()
    session.cookies.update(visitor.cookies)

    @examples(ci=2)
    @given(case=_strategy(operation, site.known))
    def conforms(case: Any) -> None:
        response = case.call(base_url=site.server.base_url, session=session, headers=visitor.headers)
        calls[f"{response.status_code // 100}xx"] += 1
        case.validate_response(response, checks=CHECKS, headers=visitor.headers)

    conforms.__name__ = f"{_label(operation)}_as_{visitor.name}"
    try:
        conforms()
    finally:
        session.close()


async def test_no_api_operation_answers_with_a_server_error_or_outside_its_schema(site: Site) -> None:
    operations = [result.ok() for result in site.schema.get_all_operations()]
    assert len(operations) > 30, "the document lists every API operation"

    def fuzz(_bridge: LoopBridge) -> None:
        failures: list[str] = []
        for operation in operations:
            for visitor in site.visitors:
                try:
                    _fuzz_operation(site, operation, visitor, calls[(operation.method, operation.path, visitor.name)])
                except Exception as failure:  # collect them all: one report lists every broken operation
                    failures.append(f"{operation.method.upper()} {operation.path} as {visitor.name}:\n{failure}")
        assert not failures, "\n\n".join(failures)

    calls: dict[tuple[str, str, str], Counter[str]] = {
        (operation.method, operation.path, visitor.name): Counter()
        for operation in operations
        for visitor in site.visitors
    }
    await LoopBridge.drive(fuzz)
    # The run's figures, shown by `pytest -rP` (as `make fuzz` runs it).
    per_pair = [sum(counter.values()) for counter in calls.values()]
    statuses = sum(calls.values(), Counter())
    print(
        f"API: {len(operations)} operations x {len(site.visitors)} visitors, {sum(per_pair)} requests "
        f"({min(per_pair)}-{max(per_pair)} per operation and visitor; "
        + ", ".join(f"{status} {count}" for status, count in sorted(statuses.items()))
        + ")"
    )
