"""JSON API for invite links and requests to join (under /api/v1): the leaders' side and the follower's."""

from __future__ import annotations

from datetime import datetime

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from server import auth
from server.actions import communities, invites
from server.actions.invites import Invite, JoinRequest
from server.routes.api.support import api_route, json_response, path_slug, read_json


class InviteIn(msgspec.Struct, forbid_unknown_fields=True):
    needs_approval: bool = False
    # Days until the link stops working (1 to 365); absent or null: never.
    days: int | None = None


class InviteOut(msgspec.Struct):
    id: int
    needs_approval: bool
    uses: int
    created_at: datetime
    expires_at: datetime | None


class NewInviteOut(msgspec.Struct):
    """The link just made: its url holds the token, returned this once (only a hash is stored)."""

    invite: InviteOut
    url: str


class InvitationOut(msgspec.Struct):
    """What a link leads to: the community, and where the person following it stands."""

    slug: str
    name: str
    description: str
    needs_approval: bool
    member: bool
    pending: bool


class FollowIn(msgspec.Struct, forbid_unknown_fields=True):
    message: str = ""


class FollowOut(msgspec.Struct):
    """'joined' (a member now) or 'asked' (a leader will answer)."""

    outcome: str
    slug: str


class JoinRequestOut(msgspec.Struct):
    id: int
    username: str
    display_name: str
    message: str
    created_at: datetime


class InviteList(msgspec.Struct):
    invites: list[InviteOut]


class JoinRequestList(msgspec.Struct):
    requests: list[JoinRequestOut]


def _invite_out(invite: Invite) -> InviteOut:
    return InviteOut(invite.id, invite.needs_approval, invite.uses, invite.created_at, invite.expires_at)


def _request_out(join_request: JoinRequest) -> JoinRequestOut:
    return JoinRequestOut(
        join_request.id,
        join_request.username,
        join_request.display_name,
        join_request.message,
        join_request.created_at,
    )


async def list_invites(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community, _actor = await communities.with_actor(connection, auth.current_user(request), path_slug(request))
        links = await invites.in_force(connection, auth.current_user(request), community)
    return json_response(InviteList([_invite_out(invite) for invite in links]))


async def create_invite(request: Request) -> Response:
    body = await read_json(request, InviteIn)
    async with request.app.state.db.acquire() as connection:
        community, _actor = await communities.with_actor(connection, auth.current_user(request), path_slug(request))
        made = await invites.create(
            connection,
            auth.current_user(request),
            community,
            needs_approval=body.needs_approval,
            days=invites.check_days(body.days),
        )
    url = f"{str(request.base_url).rstrip('/')}/join/{made.token}"
    return json_response(NewInviteOut(_invite_out(made.invite), url), status=201)


async def revoke_invite(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community, _actor = await communities.with_actor(connection, auth.current_user(request), path_slug(request))
        await invites.revoke(connection, auth.current_user(request), community, request.path_params["invite_id"])
    return Response(status_code=204)


async def list_requests(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community, _actor = await communities.with_actor(connection, auth.current_user(request), path_slug(request))
        waiting = await invites.pending_requests(connection, auth.current_user(request), community)
    return json_response(JoinRequestList([_request_out(join_request) for join_request in waiting]))


async def _decide(request: Request, *, approve: bool) -> Response:
    async with request.app.state.db.acquire() as connection:
        community, _actor = await communities.with_actor(connection, auth.current_user(request), path_slug(request))
        decided = await invites.decide(
            connection, auth.current_user(request), community, request.path_params["request_id"], approve=approve
        )
    return json_response(_request_out(decided))


async def approve_request(request: Request) -> Response:
    return await _decide(request, approve=True)


async def decline_request(request: Request) -> Response:
    return await _decide(request, approve=False)


async def get_invitation(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        invitation = await invites.open_link(connection, auth.current_user(request), request.path_params["token"])
    community = invitation.community
    return json_response(
        InvitationOut(
            community.slug,
            community.name,
            community.description,
            invitation.invite.needs_approval,
            invitation.already_member,
            invitation.pending,
        )
    )


async def follow_invite(request: Request) -> Response:
    body = await read_json(request, FollowIn)
    token = request.path_params["token"]
    async with request.app.state.db.acquire() as connection:
        followed = await invites.follow(connection, auth.current_user(request), token, message=body.message)
    return json_response(FollowOut(followed.outcome, followed.community.slug))


_COMMUNITY = "/api/v1/communities/{slug}"
_NOT_LEADER = "Only this community's leaders and site admins may do this."
_NO_COMMUNITY = "No such community (a hidden one is not found for people who are not its members)."
_NO_LINK = "The link is wrong, revoked or expired (the same answer for each)."

routes = [
    api_route(
        _COMMUNITY + "/invites",
        list_invites,
        summary="The invite links in force: leaders and site admins",
        responses={200: ("The links, newest first", InviteList), 403: _NOT_LEADER, 404: _NO_COMMUNITY},
        sign_in=True,
        tags=["invites"],
    ),
    api_route(
        _COMMUNITY + "/invites",
        create_invite,
        methods=["POST"],
        summary="Make an invite link (joins at once, or after a leader approves): leaders and site admins; audited",
        request_body=InviteIn,
        responses={
            201: ("The link, with its token this once", NewInviteOut),
            400: "Days are between 1 and 365.",
            403: _NOT_LEADER,
            404: _NO_COMMUNITY,
            409: "The community is archived.",
        },
        sign_in=True,
        tags=["invites"],
    ),
    api_route(
        _COMMUNITY + "/invites/{invite_id:int}",
        revoke_invite,
        methods=["DELETE"],
        summary="Revoke an invite link: it stops letting anyone in at once; leaders and site admins; audited",
        responses={204: "Revoked.", 403: _NOT_LEADER, 404: "No such link in force in this community."},
        sign_in=True,
        tags=["invites"],
    ),
    api_route(
        _COMMUNITY + "/join-requests",
        list_requests,
        summary="Requests to join waiting for an answer: leaders and site admins",
        responses={200: ("The requests, oldest first", JoinRequestList), 403: _NOT_LEADER, 404: _NO_COMMUNITY},
        sign_in=True,
        tags=["invites"],
    ),
    api_route(
        _COMMUNITY + "/join-requests/{request_id:int}/approve",
        approve_request,
        methods=["POST"],
        summary="Approve a request to join: the person becomes a member and is told; leaders and site admins; audited",
        responses={
            200: ("The request", JoinRequestOut),
            403: _NOT_LEADER,
            404: _NO_COMMUNITY,
            409: "Already answered.",
        },
        sign_in=True,
        tags=["invites"],
    ),
    api_route(
        _COMMUNITY + "/join-requests/{request_id:int}/decline",
        decline_request,
        methods=["POST"],
        summary="Decline a request to join: the person is told; leaders and site admins; audited",
        responses={
            200: ("The request", JoinRequestOut),
            403: _NOT_LEADER,
            404: _NO_COMMUNITY,
            409: "Already answered.",
        },
        sign_in=True,
        tags=["invites"],
    ),
    api_route(
        "/api/v1/invites/{token}",
        get_invitation,
        summary="What an invite link leads to, for anyone holding it",
        responses={200: ("The invitation", InvitationOut), 404: _NO_LINK},
        tags=["invites"],
    ),
    api_route(
        "/api/v1/invites/{token}/join",
        follow_invite,
        methods=["POST"],
        summary="Follow an invite link: join at once, or ask a leader (with an optional message)",
        request_body=FollowIn,
        responses={
            200: ("Joined or asked", FollowOut),
            400: "The message has at most 1,000 characters.",
            403: "Banned from this community.",
            404: _NO_LINK,
        },
        sign_in=True,
        tags=["invites"],
    ),
]
