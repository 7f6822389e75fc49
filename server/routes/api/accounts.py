"""JSON API for accounts: who am I (with the CSRF token), public profiles, editing my settings, my data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType
from starlette.requests import Request
from starlette.responses import Response

from server.actions import profiles
from server.actions.access import User
from server.i18n import current_language
from server.routes.api.support import api_route, json_response, read_json


class Me(msgspec.Struct):
    id: int
    username: str
    display_name: str
    bio: str
    language: str | None
    time_zone: str
    is_admin: bool
    is_expert: bool
    created_at: datetime
    # What the public profile shows to others: the communities, and excerpts of posts to all readers.
    show_communities: bool
    show_posts: bool


class SessionInfo(msgspec.Struct):
    signed_in: bool
    user: Me | None
    csrf_token: str
    language: str


class ProfileCommunity(msgspec.Struct):
    slug: str
    name: str
    role: str
    url: str


class ProfilePost(msgspec.Struct):
    id: int
    thread_id: int
    thread_title: str
    community_slug: str
    community_name: str
    excerpt: str
    created_at: datetime
    url: str


class PublicProfile(msgspec.Struct):
    username: str
    display_name: str
    bio: str
    member_since: datetime
    communities: list[ProfileCommunity]
    recent_posts: list[ProfilePost]


class MeChanges(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent are changed; language null means "follow my browser"."""

    display_name: str | UnsetType = UNSET
    bio: str | UnsetType = UNSET
    language: str | UnsetType | None = UNSET
    time_zone: str | UnsetType = UNSET
    show_communities: bool | UnsetType = UNSET
    show_posts: bool | UnsetType = UNSET


def me_from(user: User) -> Me:
    return Me(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        bio=user.bio,
        language=user.language,
        time_zone=user.time_zone,
        is_admin=user.is_admin,
        is_expert=user.is_expert,
        created_at=user.created_at,
        show_communities=user.show_communities,
        show_posts=user.show_posts,
    )


async def session_info(request: Request) -> Response:
    user: User | None = request.state.user
    return json_response(
        SessionInfo(
            signed_in=user is not None,
            user=me_from(user) if user else None,
            csrf_token=request.state.csrf_token,
            language=current_language(),
        ),
        headers={"cache-control": "no-store"},
    )


async def public_profile(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        found = await profiles.profile(connection, request.path_params["username"], viewer=request.state.user)
    user = found.user
    return json_response(
        PublicProfile(
            username=user.username,
            display_name=user.display_name,
            bio=user.bio,
            member_since=user.created_at,
            communities=[
                ProfileCommunity(slug=c.slug, name=c.name, role=c.role, url=f"/c/{c.slug}") for c in found.communities
            ],
            recent_posts=[
                ProfilePost(
                    id=post.id,
                    thread_id=post.thread_id,
                    thread_title=post.thread_title,
                    community_slug=post.community_slug,
                    community_name=post.community_name,
                    excerpt=profiles.excerpt(post.body_md),
                    created_at=post.created_at,
                    url=f"/c/{post.community_slug}/t/{post.thread_id}",
                )
                for post in found.posts
            ],
        )
    )


async def update_me(request: Request) -> Response:
    changes = await read_json(request, MeChanges)
    user: User = request.state.user
    async with request.app.state.db.acquire() as connection:
        user = await profiles.do_update_me(
            connection,
            user,
            display_name=None if changes.display_name is UNSET else changes.display_name,
            bio=None if changes.bio is UNSET else changes.bio,
            change_language=changes.language is not UNSET,
            language=None if changes.language is UNSET else changes.language,
            time_zone=None if changes.time_zone is UNSET else changes.time_zone,
            show_communities=None if changes.show_communities is UNSET else changes.show_communities,
            show_posts=None if changes.show_posts is UNSET else changes.show_posts,
        )
    return json_response(me_from(user))


async def export_me(request: Request) -> Response:
    async with request.app.state.db.acquire() as connection:
        data: dict[str, Any] = await profiles.export_data(connection, request.state.user)
    return json_response(data, headers={"cache-control": "no-store"})


routes = [
    api_route(
        "/api/v1/session",
        session_info,
        summary="Who am I, and the CSRF token to send as X-CSRF-Token on unsafe requests",
        responses={200: ("The current session (signed_in is false for visitors)", SessionInfo)},
        tags=["accounts"],
    ),
    api_route(
        "/api/v1/users/{username}",
        public_profile,
        summary="A member's public profile",
        description="Never includes an email address. Deleted accounts are not found.",
        responses={200: ("The profile", PublicProfile), 404: "There is no member with that username."},
        tags=["accounts"],
    ),
    api_route(
        "/api/v1/me",
        update_me,
        methods=["PATCH"],
        summary="Change my display name, bio, language or time zone",
        request_body=MeChanges,
        responses={200: ("My account after the change", Me)},
        sign_in=True,
        tags=["accounts"],
    ),
    api_route(
        "/api/v1/me/export",
        export_me,
        summary="All my data as JSON",
        description="The same content as the download on the settings page, including my own email address.",
        responses={200: ("Everything Kindred holds about me", {"type": "object"})},
        sign_in=True,
        tags=["accounts"],
    ),
]
