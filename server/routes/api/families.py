"""JSON API for families like mine (under /api/v1/communities/{slug}/families): facts, overlapping families, connections."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from server import auth
from server.actions import communities, families
from server.actions.families import Connection, Facts, Match
from server.routes.api.support import api_route, json_response, path_slug, read_json


class FactsIn(msgspec.Struct, forbid_unknown_fields=True):
    """Any of the facts; at least one. Lists are plain strings, matched without regard to case."""

    gene: str = ""
    variant: str = ""
    subtype: str = ""
    treatments: list[str] = []
    age_band: str = ""
    country: str = ""
    languages: list[str] = []


class FactsOut(msgspec.Struct):
    gene: str
    variant: str
    subtype: str
    treatments: list[str]
    age_band: str
    country: str
    languages: list[str]


class MatchOut(msgspec.Struct):
    """Another opted-in family, under its name in this community; `handle` is what a request is sent to."""

    handle: str
    name: str
    score: int
    facts: FactsOut
    shared: list[str]
    connection_id: int | None
    connection_status: str | None


class ConnectionOut(msgspec.Struct):
    id: int
    status: str
    other_name: str
    asked_by_me: bool
    conversation_url: str | None


class CountsOut(msgspec.Struct):
    opted_in: int
    pending: int
    connected: int


class FamiliesOut(msgspec.Struct):
    """opted_in false: facts null, no families listed. counts: leaders and site admins only (never who)."""

    opted_in: bool
    facts: FactsOut | None
    matches: list[MatchOut]
    requests: list[ConnectionOut]
    connections: list[ConnectionOut]
    counts: CountsOut | None
    gene_suggestions: list[str]


class ConnectIn(msgspec.Struct, forbid_unknown_fields=True):
    handle: str


def _facts(facts: Facts) -> FactsOut:
    return FactsOut(
        facts.gene, facts.variant, facts.subtype, facts.treatments, facts.age_band, facts.country, facts.languages
    )


def _shared(match: Match) -> list[str]:
    flags = {
        "gene": match.same_gene,
        "variant": match.same_variant,
        "subtype": match.same_subtype,
        "treatments": bool(match.shared_treatments),
        "age_band": match.same_age_band,
        "country": match.same_country,
        "languages": bool(match.shared_languages),
    }
    return [name for name, shared in flags.items() if shared]


def _connection(found: Connection, me: int) -> ConnectionOut:
    url = f"/conversations/{found.id}" if found.status == "accepted" else None
    return ConnectionOut(found.id, found.status, found.other_name, found.requester_id == me, url)


async def _answer(request: Request) -> FamiliesOut:
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), user)
        view = await families.view(connection, user, community)
    me = user.id if user else 0
    return FamiliesOut(
        opted_in=view.facts is not None,
        facts=_facts(view.facts) if view.facts else None,
        matches=[
            MatchOut(m.handle, m.name, m.score, _facts(m.facts), _shared(m), m.connection_id, m.connection_status)
            for m in view.matches
        ],
        requests=[_connection(c, me) for c in view.incoming + view.outgoing],
        connections=[_connection(c, me) for c in view.connected],
        counts=CountsOut(view.counts.opted_in, view.counts.pending, view.counts.connected) if view.counts else None,
        gene_suggestions=view.gene_suggestions,
    )


async def get_families(request: Request) -> Response:
    return json_response(await _answer(request))


async def put_facts(request: Request) -> Response:
    body = await read_json(request, FactsIn)
    facts = families.check_facts(
        gene=body.gene,
        variant=body.variant,
        subtype=body.subtype,
        treatments=", ".join(body.treatments),
        age_band=body.age_band,
        country=body.country,
        languages=", ".join(body.languages),
    )
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), user)
        await families.do_opt_in(connection, user, community, facts)
    return json_response(await _answer(request))


async def delete_facts(request: Request) -> Response:
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), user)
        await families.do_opt_out(connection, user, community)
    return Response(status_code=204)


async def post_connection(request: Request) -> Response:
    body = await read_json(request, ConnectIn)
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), user)
        connection_id = await families.do_request(connection, request.app.state.limiter, user, community, body.handle)
        assert user is not None
        found = await families.connection_of(connection, user, connection_id)
    return json_response(_connection(found, user.id), status=201)


async def accept_connection(request: Request) -> Response:
    return await _answer_connection(request, accept=True)


async def decline_connection(request: Request) -> Response:
    return await _answer_connection(request, accept=False)


async def block_connection(request: Request) -> Response:
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), user)
        await families.do_block_request(connection, user, community, request.path_params["connection_id"])
    return Response(status_code=204)


async def _answer_connection(request: Request, *, accept: bool) -> Response:
    user = auth.current_user(request)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), user)
        answered = await families.do_answer(
            connection, user, community, request.path_params["connection_id"], accept=accept
        )
    assert user is not None
    return json_response(_connection(answered, user.id))


_FAMILIES = "/api/v1/communities/{slug}/families"
_REFUSED = "Log in, join, and (to see families or ask one) share your own facts first."

routes = [
    api_route(
        _FAMILIES,
        get_families,
        summary="Families like mine: my facts, opted-in families sharing facts with mine (ranked), requests; leaders: counts",
        responses={
            200: ("The page's data", FamiliesOut),
            401: "Log in first.",
            403: _REFUSED,
            404: "No such community.",
        },
        sign_in=True,
        tags=["families"],
    ),
    api_route(
        _FAMILIES + "/me",
        put_facts,
        methods=["PUT"],
        summary="Opt in (or change what I share): members",
        request_body=FactsIn,
        responses={200: ("The page's data", FamiliesOut), 400: "A fact is not valid.", 403: _REFUSED},
        sign_in=True,
        tags=["families"],
    ),
    api_route(
        _FAMILIES + "/me",
        delete_facts,
        methods=["DELETE"],
        summary="Opt out: my facts here are deleted at once",
        responses={204: "Deleted (or there was nothing to delete).", 403: _REFUSED},
        sign_in=True,
        tags=["families"],
    ),
    api_route(
        _FAMILIES + "/connections",
        post_connection,
        methods=["POST"],
        summary="Ask an opted-in family (by handle) to connect; they are notified",
        request_body=ConnectIn,
        responses={
            201: ("The request", ConnectionOut),
            403: _REFUSED,
            404: "No such family here.",
            409: "Already asked, or connected.",
            429: "Too many requests today.",
        },
        sign_in=True,
        tags=["families"],
    ),
    api_route(
        _FAMILIES + "/connections/{connection_id:int}/accept",
        accept_connection,
        methods=["POST"],
        summary="Accept a request sent to me: a private conversation opens",
        responses={200: ("The connection", ConnectionOut), 404: "No such request.", 409: "Already answered."},
        sign_in=True,
        tags=["families"],
    ),
    api_route(
        _FAMILIES + "/connections/{connection_id:int}/decline",
        decline_connection,
        methods=["POST"],
        summary="Decline a request sent to me",
        responses={200: ("The connection", ConnectionOut), 404: "No such request.", 409: "Already answered."},
        sign_in=True,
        tags=["families"],
    ),
    api_route(
        _FAMILIES + "/connections/{connection_id:int}/block",
        block_connection,
        methods=["POST"],
        summary="Block the family who sent me a request: it ends, and they can never ask again",
        responses={204: "Blocked.", 404: "No such request."},
        sign_in=True,
        tags=["families"],
    ),
]
