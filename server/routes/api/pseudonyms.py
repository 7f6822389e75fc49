"""JSON API for per-community pseudonyms (under /api/v1): a member's name in a community, and leaders revealing its account."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from server import auth
from server.actions import communities, pseudonyms
from server.routes.api.support import api_route, json_response, path_slug, read_json


class PseudonymIn(msgspec.Struct, forbid_unknown_fields=True):
    # Null or empty: use the display name in this community again.
    pseudonym: str | None = None


class PseudonymOut(msgspec.Struct):
    pseudonym: str | None


class RevealedAccount(msgspec.Struct):
    username: str


async def set_pseudonym(request: Request) -> Response:
    body = await read_json(request, PseudonymIn)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), auth.current_user(request))
        chosen = await pseudonyms.set_pseudonym(connection, auth.current_user(request), community, body.pseudonym or "")
    return json_response(PseudonymOut(chosen))


async def reveal(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community, _actor = await communities.with_actor(connection, auth.current_user(request), path_slug(request))
        account = await pseudonyms.reveal(
            connection, auth.current_user(request), community, request.path_params["handle"]
        )
    return json_response(RevealedAccount(account.username))


_COMMUNITY = "/api/v1/communities/{slug}"

routes = [
    api_route(
        _COMMUNITY + "/pseudonym",
        set_pseudonym,
        methods=["PUT"],
        summary="Post and chat in this community under a name chosen for it (null: the display name again): members",
        request_body=PseudonymIn,
        responses={
            200: ("The name others see here now (null: the display name)", PseudonymOut),
            400: "2 to 40 letters, digits, spaces, dots, dashes or apostrophes, and not your own username.",
            403: "Members only.",
            404: "No such community.",
            409: "Someone's username, or another member's pseudonym here.",
        },
        sign_in=True,
        tags=["communities"],
    ),
    api_route(
        _COMMUNITY + "/members/{handle}/reveal",
        reveal,
        methods=["POST"],
        summary="The account behind a pseudonym (its handle, '~' and a number, from the members list): leaders and site admins; audited",
        responses={
            200: ("The account", RevealedAccount),
            403: "Only this community's leaders and site admins may do this.",
            404: "No such community or member.",
        },
        sign_in=True,
        tags=["moderation"],
    ),
]
