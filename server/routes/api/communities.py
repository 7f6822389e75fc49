"""JSON API for communities, sections, resources, tips, membership, leaders and proposals (under /api/v1).

Every endpoint calls the same action functions as the pages, so the permission rules are the same.
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg
import msgspec
from msgspec import UNSET, UnsetType
from starlette.requests import Request
from starlette.responses import Response

from server.actions import communities, proposals, resources, sections, tips
from server.actions.access import require_admin
from server.db.queries.communities import Community
from server.db.queries.memberships import Leader
from server.db.queries.proposals import Proposal
from server.db.queries.resources import Resource
from server.db.queries.sections import Revision, Section
from server.db.queries.tips import Tip
from server.db.queries.users import User
from server.presentation import markdown
from server.routes.api.support import api_route, json_response, read_json

# --- Schemas ------------------------------------------------------------------------------------


class CommunitySummary(msgspec.Struct):
    slug: str
    name: str
    synonyms: list[str]
    description: str
    status: str
    member_count: int
    last_activity_at: datetime
    url: str


class CommunityDirectory(msgspec.Struct):
    communities: list[CommunitySummary]
    query: str
    page: int
    pages: int
    total: int


class ConditionSection(msgspec.Struct):
    section: str
    title: str
    body_md: str
    html: str
    updated_at: datetime | None


class CommunityLeader(msgspec.Struct):
    username: str
    display_name: str


class CommunityResource(msgspec.Struct):
    id: int
    kind: str
    kind_label: str
    title: str
    description: str
    url: str
    published_on: date | None
    created_at: datetime
    updated_at: datetime


class CommunityTip(msgspec.Struct):
    id: int
    name: str
    description: str
    hidden: bool
    author_username: str | None
    created_at: datetime


class MyMembership(msgspec.Struct):
    signed_in: bool
    member: bool
    role: str | None
    banned: bool
    can_moderate: bool


class CommunityDetail(msgspec.Struct):
    community: CommunitySummary
    sections: list[ConditionSection]
    leaders: list[CommunityLeader]
    newest_resources: list[CommunityResource]
    newest_tips: list[CommunityTip]
    me: MyMembership
    leadership_offer: bool


class SectionEdit(msgspec.Struct, forbid_unknown_fields=True):
    """The whole new text of the section (Markdown, may be empty) and an optional note for its history."""

    body_md: str
    summary: str = ""


class SectionRevision(msgspec.Struct):
    id: int
    section: str
    body_md: str
    summary: str
    author_username: str | None
    created_at: datetime


class SectionRevisionList(msgspec.Struct):
    revisions: list[SectionRevision]


class ResourceList(msgspec.Struct):
    resources: list[CommunityResource]


class NewResource(msgspec.Struct, forbid_unknown_fields=True):
    """kind: clinical_trial, registry, ebook, podcast, organisation or other; url: http(s) only; date: YYYY-MM-DD."""

    kind: str
    title: str
    url: str
    description: str = ""
    published_on: str | None = None


class ResourceChanges(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent are changed."""

    kind: str | UnsetType = UNSET
    title: str | UnsetType = UNSET
    url: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    published_on: str | UnsetType | None = UNSET


class TipList(msgspec.Struct):
    tips: list[CommunityTip]


class NewTip(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    description: str


class TipVisibility(msgspec.Struct, forbid_unknown_fields=True):
    """Send {"hidden": false} to show a hidden tip again; no body hides it."""

    hidden: bool = True


class MembershipState(msgspec.Struct):
    member: bool
    role: str | None
    member_count: int


class NewProposal(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    description: str
    reason: str
    synonyms: list[str] = msgspec.field(default_factory=list)


class CommunityProposal(msgspec.Struct):
    id: int
    slug: str
    name: str
    synonyms: list[str]
    description: str
    reason: str
    status: str
    decision_reason: str
    proposer_username: str | None
    created_at: datetime
    decided_at: datetime | None


class ProposalList(msgspec.Struct):
    proposals: list[CommunityProposal]


class ProposalDecision(msgspec.Struct, forbid_unknown_fields=True):
    """decision: "approve" or "decline" (declining needs a reason, which the proposer reads)."""

    decision: str
    reason: str = ""


# --- Converters ---------------------------------------------------------------------------------


def community_out(community: Community) -> CommunitySummary:
    return CommunitySummary(
        slug=community.slug,
        name=community.name,
        synonyms=community.synonyms,
        description=community.description,
        status=community.status,
        member_count=community.member_count,
        last_activity_at=community.last_activity_at,
        url=f"/c/{community.slug}",
    )


def section_out(key: str, section: Section | None) -> ConditionSection:
    body = section.body_md if section else ""
    return ConditionSection(
        section=key,
        title=sections.section_title(key),
        body_md=body,
        html=markdown.html(body, below=0) if body else "",
        updated_at=section.updated_at if section else None,
    )


def leader_out(leader: Leader) -> CommunityLeader:
    return CommunityLeader(username=leader.username, display_name=leader.display_name)


def resource_out(resource: Resource) -> CommunityResource:
    return CommunityResource(
        id=resource.id,
        kind=resource.kind,
        kind_label=resources.kind_label(resource.kind),
        title=resource.title,
        description=resource.description,
        url=resource.url,
        published_on=resource.published_on,
        created_at=resource.created_at,
        updated_at=resource.updated_at,
    )


def tip_out(tip: Tip) -> CommunityTip:
    return CommunityTip(
        id=tip.id,
        name=tip.name,
        description=tip.description,
        hidden=tip.hidden,
        author_username=tip.author_username,
        created_at=tip.created_at,
    )


def revision_out(revision: Revision) -> SectionRevision:
    return SectionRevision(
        id=revision.id,
        section=revision.section,
        body_md=revision.body_md,
        summary=revision.summary,
        author_username=revision.author_username,
        created_at=revision.created_at,
    )


def proposal_out(proposal: Proposal) -> CommunityProposal:
    return CommunityProposal(
        id=proposal.id,
        slug=proposal.slug,
        name=proposal.name,
        synonyms=proposal.synonyms,
        description=proposal.description,
        reason=proposal.reason,
        status=proposal.status,
        decision_reason=proposal.decision_reason,
        proposer_username=proposal.proposer_username,
        created_at=proposal.created_at,
        decided_at=proposal.decided_at,
    )


def _user(request: Request) -> User | None:
    user: User | None = request.state.user
    return user


async def _community(connection: asyncpg.Connection, request: Request) -> Community:
    return await communities.load(connection, request.path_params["slug"], _user(request))


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
        )
    )


async def get_community(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await _community(connection, request)
        view = await communities.overview(connection, community, _user(request))
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


async def _membership_state(connection: asyncpg.Connection, request: Request) -> MembershipState:
    community = await _community(connection, request)
    view = await communities.overview(connection, community, _user(request))
    return MembershipState(
        member=view.actor.is_member, role=view.actor.standing.role, member_count=community.member_count
    )


async def join(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await _community(connection, request)
        await communities.do_join(connection, _user(request), community)
        state = await _membership_state(connection, request)
    return json_response(state)


async def leave(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await _community(connection, request)
        await communities.do_leave(connection, _user(request), community)
        state = await _membership_state(connection, request)
    return json_response(state)


async def appoint_leader(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await _community(connection, request)
        target = await communities.do_appoint_leader(
            connection, _user(request), community, request.path_params["username"]
        )
    return json_response(CommunityLeader(username=target.username, display_name=target.display_name))


async def remove_leader(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await _community(connection, request)
        await communities.do_remove_leader(connection, _user(request), community, request.path_params["username"])
    return Response(status_code=204)


async def accept_leadership(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await _community(connection, request)
        await proposals.do_accept_leadership(connection, _user(request), community)
        state = await _membership_state(connection, request)
    return json_response(state)


# --- Sections -----------------------------------------------------------------------------------


async def get_section(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await _community(connection, request)
        key = sections.check_section(request.path_params["section"])
        section = await sections.get_section(connection, community, key)
    return json_response(section_out(key, section))


async def put_section(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await _community(connection, request)
        key = sections.check_section(request.path_params["section"])
        # Refusals come before any judgement of the body.
        await sections.check_can_edit(connection, _user(request), community)
        edit = await read_json(request, SectionEdit)
        await sections.do_edit_section(connection, _user(request), community, key, edit.body_md, edit.summary)
        section = await sections.get_section(connection, community, key)
    return json_response(section_out(key, section))


async def section_revisions(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await _community(connection, request)
        revisions = await sections.history(connection, community, request.path_params["section"])
    return json_response(SectionRevisionList([revision_out(revision) for revision in revisions]))


# --- Resources ----------------------------------------------------------------------------------


async def list_resources(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await _community(connection, request)
        listed = await resources.list_for(connection, community, request.query_params.get("kind") or None)
    return json_response(ResourceList([resource_out(resource) for resource in listed]))


async def add_resource(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await _community(connection, request)
        await resources.check_can_manage(connection, _user(request), community)
        body = await read_json(request, NewResource)
        data = resources.check_resource(
            kind=body.kind,
            title=body.title,
            description=body.description,
            url=body.url,
            published_on=body.published_on,
        )
        resource = await resources.do_add(connection, _user(request), community, data)
    return json_response(resource_out(resource), status=201)


async def edit_resource(request: Request) -> Response:
    resource_id: int = request.path_params["resource_id"]
    async with request.app.state.db.acquire() as connection:
        community = await _community(connection, request)
        await resources.check_can_manage(connection, _user(request), community)
        current = await resources.get(connection, community, resource_id)
        changes = await read_json(request, ResourceChanges)
        published = current.published_on.isoformat() if current.published_on else None
        data = resources.check_resource(
            kind=current.kind if changes.kind is UNSET else changes.kind,
            title=current.title if changes.title is UNSET else changes.title,
            description=current.description if changes.description is UNSET else changes.description,
            url=current.url if changes.url is UNSET else changes.url,
            published_on=published if changes.published_on is UNSET else changes.published_on,
        )
        resource = await resources.do_edit(connection, _user(request), community, resource_id, data)
    return json_response(resource_out(resource))


async def remove_resource(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await _community(connection, request)
        await resources.do_remove(connection, _user(request), community, request.path_params["resource_id"])
    return Response(status_code=204)


# --- Tips ---------------------------------------------------------------------------------------


async def list_tips(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await _community(connection, request)
        listed = await tips.list_for(connection, _user(request), community)
    return json_response(TipList([tip_out(tip) for tip in listed]))


async def add_tip(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await _community(connection, request)
        await tips.check_can_add(connection, _user(request), community)
        body = await read_json(request, NewTip)
        tip = await tips.do_add(connection, _user(request), community, body.name, body.description)
    return json_response(tip_out(tip), status=201)


async def hide_tip(request: Request) -> Response:
    has_body = request.headers.get("content-length", "0") not in {"", "0"} or "transfer-encoding" in request.headers
    async with request.app.state.db.acquire() as connection:
        community = await _community(connection, request)
        # Refusals come before any judgement of the body.
        await tips.check_can_moderate(connection, _user(request), community)
        visibility = await read_json(request, TipVisibility) if has_body else TipVisibility()
        tip = await tips.do_set_hidden(
            connection, _user(request), community, request.path_params["tip_id"], hidden=visibility.hidden
        )
    return json_response(tip_out(tip))


# --- Proposals ----------------------------------------------------------------------------------


async def propose(request: Request) -> Response:
    body = await read_json(request, NewProposal)
    data = proposals.check_proposal(
        name=body.name, synonyms=body.synonyms, description=body.description, reason=body.reason
    )
    async with request.app.state.db.acquire() as connection:
        proposal = await proposals.do_propose(connection, _user(request), data)
    return json_response(proposal_out(proposal), status=201)


async def list_proposals(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        listed = await proposals.list_for_admin(connection, _user(request))
    return json_response(ProposalList([proposal_out(proposal) for proposal in listed]))


async def decide_proposal(request: Request) -> Response:
    require_admin(_user(request))
    body = await read_json(request, ProposalDecision)
    async with request.app.state.db.acquire() as connection:
        decided = await proposals.do_decide(
            connection, _user(request), request.path_params["proposal_id"], body.decision, body.reason
        )
    return json_response(proposal_out(decided))


# --- Route table --------------------------------------------------------------------------------

_COMMUNITY = "/api/v1/communities/{slug}"
_NOT_FOUND = "No community with that slug (proposed and declined ones are visible only to admins and the proposer)."
_LEADERS_ONLY = "Only this community's leaders and site admins may do this."

routes = [
    api_route(
        "/api/v1/communities",
        list_communities,
        summary="Active communities, searchable by name and other names (prefix match), 20 per page",
        description="Query parameters: q (words, each matched as a prefix), page (from 1).",
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
        responses={200: ("My membership, now as leader", MembershipState), 403: "The offer is not open to you."},
        sign_in=True,
        tags=["proposals"],
    ),
    api_route(
        _COMMUNITY + "/sections/{section}",
        get_section,
        summary="One condition section (empty body_md when it has not been written yet)",
        description="section: what_is_it, causes, symptoms, diagnosis, diagnostic_tests, treatments, prognosis, "
        "synonyms, acknowledgement or references.",
        responses={200: ("The section", ConditionSection), 404: "No such community or section."},
        tags=["sections"],
    ),
    api_route(
        _COMMUNITY + "/sections/{section}",
        put_section,
        methods=["PUT"],
        summary="Replace a section's text; the edit is kept as a revision (leaders and site admins)",
        request_body=SectionEdit,
        responses={
            200: ("The section after the edit", ConditionSection),
            403: _LEADERS_ONLY,
            404: "No such community or section.",
        },
        sign_in=True,
        tags=["sections"],
    ),
    api_route(
        _COMMUNITY + "/sections/{section}/revisions",
        section_revisions,
        summary="Every edit of a section, newest first (who, when, what)",
        responses={200: ("The revisions", SectionRevisionList), 404: "No such community or section."},
        tags=["sections"],
    ),
    api_route(
        _COMMUNITY + "/resources",
        list_resources,
        summary="The community's resources, newest first; ?kind= filters by kind",
        responses={200: ("The resources", ResourceList), 404: _NOT_FOUND},
        tags=["resources"],
    ),
    api_route(
        _COMMUNITY + "/resources",
        add_resource,
        methods=["POST"],
        summary="Add a resource (leaders and site admins); links must be http or https",
        request_body=NewResource,
        responses={201: ("The new resource", CommunityResource), 403: _LEADERS_ONLY, 404: _NOT_FOUND},
        sign_in=True,
        tags=["resources"],
    ),
    api_route(
        _COMMUNITY + "/resources/{resource_id:int}",
        edit_resource,
        methods=["PATCH"],
        summary="Change a resource (leaders and site admins)",
        request_body=ResourceChanges,
        responses={
            200: ("The resource after the change", CommunityResource),
            403: _LEADERS_ONLY,
            404: "No such community or resource.",
        },
        sign_in=True,
        tags=["resources"],
    ),
    api_route(
        _COMMUNITY + "/resources/{resource_id:int}",
        remove_resource,
        methods=["DELETE"],
        summary="Remove a resource (leaders and site admins)",
        responses={204: "Removed.", 403: _LEADERS_ONLY, 404: "No such community or resource."},
        sign_in=True,
        tags=["resources"],
    ),
    api_route(
        _COMMUNITY + "/tips",
        list_tips,
        summary="Members' tips, newest first (hidden tips only for leaders and site admins)",
        responses={200: ("The tips", TipList), 404: _NOT_FOUND},
        tags=["tips"],
    ),
    api_route(
        _COMMUNITY + "/tips",
        add_tip,
        methods=["POST"],
        summary="Share a tip (members who are not banned or muted)",
        request_body=NewTip,
        responses={
            201: ("The new tip", CommunityTip),
            403: "Not a member, or banned or muted.",
            404: _NOT_FOUND,
        },
        sign_in=True,
        tags=["tips"],
    ),
    api_route(
        _COMMUNITY + "/tips/{tip_id:int}/hide",
        hide_tip,
        methods=["POST"],
        summary='Hide a tip from members, or show it again with {"hidden": false} (leaders and site admins)',
        description="The body is optional; without one the tip is hidden.",
        responses={200: ("The tip", CommunityTip), 403: _LEADERS_ONLY, 404: "No such community or tip."},
        sign_in=True,
        tags=["tips"],
    ),
    api_route(
        "/api/v1/proposals",
        propose,
        methods=["POST"],
        summary="Propose a new condition community (it waits for a site admin's decision)",
        request_body=NewProposal,
        responses={
            201: ("The proposal", CommunityProposal),
            409: "A community with that name exists or is already proposed.",
            429: "Too many proposals waiting for a decision.",
        },
        sign_in=True,
        tags=["proposals"],
    ),
    api_route(
        "/api/v1/proposals",
        list_proposals,
        summary="All proposals, pending first (site admins only)",
        responses={200: ("The proposals", ProposalList), 403: "Only site admins may see proposals."},
        sign_in=True,
        tags=["proposals"],
    ),
    api_route(
        "/api/v1/proposals/{proposal_id:int}/decision",
        decide_proposal,
        methods=["POST"],
        summary="Approve (the community opens with its main room) or decline with a reason (site admins only)",
        request_body=ProposalDecision,
        responses={
            200: ("The decided proposal", CommunityProposal),
            403: "Only site admins may decide.",
            404: "No such proposal.",
            409: "Already decided.",
        },
        sign_in=True,
        tags=["proposals"],
    ),
]
