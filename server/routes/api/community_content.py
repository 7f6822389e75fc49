"""JSON API for what leaders keep in a community: condition sections, resources and tips (under /api/v1)."""

from __future__ import annotations

from msgspec import UNSET
from starlette.requests import Request
from starlette.responses import Response

from server import auth
from server.actions import communities, resources, sections, tips
from server.routes.api.community_schemas import (
    CommunityResource,
    CommunityTip,
    ConditionSection,
    NewResource,
    NewTip,
    ResourceChanges,
    ResourceList,
    SectionEdit,
    SectionRevisionList,
    TipList,
    TipVisibility,
    resource_out,
    revision_out,
    section_out,
    tip_out,
)
from server.routes.api.support import api_route, json_response, path_slug, read_json

# --- Sections -----------------------------------------------------------------------------------


async def get_section(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), auth.current_user(request))
        key = sections.check_section(request.path_params["section"])
        section = await sections.get_section(connection, community, key)
    return json_response(section_out(key, section))


async def put_section(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), auth.current_user(request))
        key = sections.check_section(request.path_params["section"])
        # Refusals come before any judgement of the body.
        await sections.check_can_edit(connection, auth.current_user(request), community)
        edit = await read_json(request, SectionEdit)
        await sections.do_edit_section(
            connection, auth.current_user(request), community, key, edit.body_md, edit.summary
        )
        section = await sections.get_section(connection, community, key)
    return json_response(section_out(key, section))


async def section_revisions(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), auth.current_user(request))
        revisions = await sections.history(connection, community, request.path_params["section"])
    return json_response(SectionRevisionList([revision_out(revision) for revision in revisions]))


# --- Resources ----------------------------------------------------------------------------------


async def list_resources(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), auth.current_user(request))
        listed = await resources.list_for(connection, community, request.query_params.get("kind") or None)
    return json_response(ResourceList([resource_out(resource) for resource in listed]))


async def add_resource(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), auth.current_user(request))
        await resources.check_can_manage(connection, auth.current_user(request), community)
        body = await read_json(request, NewResource)
        data = resources.check_resource(
            kind=body.kind,
            title=body.title,
            description=body.description,
            url=body.url,
            published_on=body.published_on,
        )
        resource = await resources.do_add(connection, auth.current_user(request), community, data)
    return json_response(resource_out(resource), status=201)


async def edit_resource(request: Request) -> Response:
    resource_id: int = request.path_params["resource_id"]
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), auth.current_user(request))
        await resources.check_can_manage(connection, auth.current_user(request), community)
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
        resource = await resources.do_edit(connection, auth.current_user(request), community, resource_id, data)
    return json_response(resource_out(resource))


async def remove_resource(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), auth.current_user(request))
        await resources.do_remove(connection, auth.current_user(request), community, request.path_params["resource_id"])
    return Response(status_code=204)


# --- Tips ---------------------------------------------------------------------------------------


async def list_tips(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), auth.current_user(request))
        listed = await tips.list_for(connection, auth.current_user(request), community)
    return json_response(TipList([tip_out(tip) for tip in listed]))


async def add_tip(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), auth.current_user(request))
        await tips.check_can_add(connection, auth.current_user(request), community)
        body = await read_json(request, NewTip)
        tip = await tips.do_add(connection, auth.current_user(request), community, body.name, body.description)
    return json_response(tip_out(tip), status=201)


async def hide_tip(request: Request) -> Response:
    has_body = request.headers.get("content-length", "0") not in {"", "0"} or "transfer-encoding" in request.headers
    async with request.app.state.db.acquire() as connection:
        community = await communities.load(connection, path_slug(request), auth.current_user(request))
        # Refusals come before any judgement of the body.
        await tips.check_can_moderate(connection, auth.current_user(request), community)
        visibility = await read_json(request, TipVisibility) if has_body else TipVisibility()
        tip = await tips.do_set_hidden(
            connection, auth.current_user(request), community, request.path_params["tip_id"], hidden=visibility.hidden
        )
    return json_response(tip_out(tip))


_COMMUNITY = "/api/v1/communities/{slug}"
_NOT_FOUND = "No community with that slug (proposed and declined ones are visible only to admins and the proposer)."
_LEADERS_ONLY = "Only this community's leaders and site admins may do this."

routes = [
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
]
