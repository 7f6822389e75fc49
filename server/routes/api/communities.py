"""JSON API for communities: the directory, a community, membership and leaders (under /api/v1).

Every endpoint calls the same action functions as the pages, so the permission rules are the same.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from server import auth
from server.actions import communities, proposals, sections
from server.actions.access import Actor
from server.actions.communities import Community
from server.routes.api.community_schemas import (
    CommunityDetail,
    CommunityDirectory,
    CommunityLeader,
    MembershipState,
    MyMembership,
    ReadingRulesIn,
    ReadingRulesOut,
    catalogue_condition_out,
    community_out,
    leader_out,
    resource_out,
    section_out,
    tip_out,
)
from server.routes.api.support import api_route, json_response, path_slug, read_json

# --- Communities and membership -----------------------------------------------------------------


async def list_communities(request: Request) -> Response:
    query = request.query_params.get("q", "")
    page = communities.check_page(request.query_params.get("page"))
    async with request.app.state.db.acquire() as connection:
        found = await communities.directory(connection, query, page)
    return json_response(
        CommunityDirectory(
            communities=[community_out(community) for community in found.communities],
            query=found.query,
            page=found.page,
            pages=found.pages,
            total=found.total,
            corrections=found.corrections,
            uncovered=[catalogue_condition_out(condition) for condition in found.uncovered],
        )
    )


async def get_community(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), auth.current_user(request))
        view = await communities.overview(connection, community, auth.current_user(request))
    actor = view.actor
    return json_response(
        CommunityDetail(
            community=community_out(community),
            sections=[section_out(key, view.sections.get(key)) for key in sections.SECTION_KEYS],
            leaders=[leader_out(leader) for leader in view.leaders],
            newest_resources=[resource_out(resource) for resource in view.resources],
            newest_tips=[tip_out(tip) for tip in view.tips],
            me=MyMembership(
                signed_in=actor.user is not None,
                member=actor.is_member,
                role=actor.standing.role,
                banned=actor.standing.banned,
                can_moderate=actor.can_moderate,
            ),
            leadership_offer=view.leadership_offer,
        )
    )


def _membership_state(community: Community, actor: Actor) -> MembershipState:
    return MembershipState(member=actor.is_member, role=actor.standing.role, member_count=community.member_count)


async def join(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), auth.current_user(request))
        await communities.do_join(connection, auth.current_user(request), community)
        state = _membership_state(
            *await communities.membership(connection, auth.current_user(request), path_slug(request))
        )
    return json_response(state)


async def leave(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), auth.current_user(request))
        await communities.do_leave(connection, auth.current_user(request), community)
        state = _membership_state(
            *await communities.membership(connection, auth.current_user(request), path_slug(request))
        )
    return json_response(state)


async def appoint_leader(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), auth.current_user(request))
        target = await communities.do_appoint_leader(
            connection, auth.current_user(request), community, request.path_params["username"]
        )
    return json_response(CommunityLeader(username=target.username, display_name=target.display_name))


async def remove_leader(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), auth.current_user(request))
        await communities.do_remove_leader(
            connection, auth.current_user(request), community, request.path_params["username"]
        )
    return Response(status_code=204)


async def accept_leadership(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), auth.current_user(request))
        await proposals.do_accept_leadership(connection, auth.current_user(request), community)
        state = _membership_state(
            *await communities.membership(connection, auth.current_user(request), path_slug(request))
        )
    return json_response(state)


async def set_reading(request: Request) -> Response:
    body = await read_json(request, ReadingRulesIn)
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), auth.current_user(request))
        rules = communities.check_reading_rules(
            body.visibility, introductions_open=body.introductions_open, rooms_open=body.rooms_open
        )
        updated = await communities.do_set_reading_rules(connection, auth.current_user(request), community, rules)
    return json_response(ReadingRulesOut(updated.visibility, updated.introductions_open, updated.rooms_open))


_COMMUNITY = "/api/v1/communities/{slug}"
_NOT_FOUND = "No community with that slug (proposed and declined ones are visible only to admins and the proposer)."

routes = [
    api_route(
        "/api/v1/communities",
        list_communities,
        summary="Active communities, searchable by name, other names, gene, ORPHA/OMIM code or symptom, 20 per page",
        description=(
            "Query parameters: q (words, each matched as a prefix, accents and case aside; small typos are "
            "corrected and listed in corrections), page (from 1). Genes, codes and symptoms are those of the "
            "catalogue conditions a community covers."
        ),
        responses={200: ("One page of the directory", CommunityDirectory)},
        tags=["communities"],
    ),
    api_route(
        _COMMUNITY,
        get_community,
        summary="A community: condition sections in page order, leaders, newest resources and tips, my membership",
        responses={200: ("The community", CommunityDetail), 404: _NOT_FOUND},
        tags=["communities"],
    ),
    api_route(
        _COMMUNITY + "/membership",
        join,
        methods=["POST"],
        summary="Join the community",
        responses={
            200: ("My membership after joining", MembershipState),
            403: "Banned from this community.",
            404: _NOT_FOUND,
            409: "The community is not open yet.",
        },
        sign_in=True,
        tags=["communities"],
    ),
    api_route(
        _COMMUNITY + "/membership",
        leave,
        methods=["DELETE"],
        summary="Leave the community",
        responses={200: ("My membership after leaving", MembershipState), 404: _NOT_FOUND},
        sign_in=True,
        tags=["communities"],
    ),
    api_route(
        _COMMUNITY + "/leaders/{username}",
        appoint_leader,
        methods=["PUT"],
        summary="Appoint a leader (site admins only)",
        responses={
            200: ("The new leader", CommunityLeader),
            403: "Only site admins may appoint leaders.",
            404: "No such community or member.",
            409: "The member is banned from this community, or the community is not open.",
        },
        sign_in=True,
        tags=["communities"],
    ),
    api_route(
        _COMMUNITY + "/leaders/{username}",
        remove_leader,
        methods=["DELETE"],
        summary="Make a leader a plain member again (site admins only)",
        responses={
            204: "Done.",
            403: "Only site admins may remove leaders.",
            404: "No such community or member.",
            409: "That member is not a leader here.",
        },
        sign_in=True,
        tags=["communities"],
    ),
    api_route(
        _COMMUNITY + "/leadership",
        accept_leadership,
        methods=["POST"],
        summary="Take up the offer to lead a community you proposed (the proposer of an approved proposal only)",
        responses={
            200: ("My membership, now as leader", MembershipState),
            403: "The offer is not open to you.",
            404: "No such community.",
        },
        sign_in=True,
        tags=["proposals"],
    ),
    api_route(
        _COMMUNITY + "/reading",
        set_reading,
        methods=["PUT"],
        summary="Who may read the community: leaders and site admins; audited, and in force at once on every process",
        request_body=ReadingRulesIn,
        responses={
            200: ("The reading rules now", ReadingRulesOut),
            400: "Visibility is public or members.",
            403: "Only this community's leaders and site admins may do this.",
            404: _NOT_FOUND,
        },
        sign_in=True,
        tags=["communities"],
    ),
]
