"""Profiles and settings: public profile, editing it, preferences, data export and account deletion."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import asyncpg

from server.actions import events
from server.actions.accounts import check_display_name
from server.db.queries import exports, families, users
from server.db.queries.users import JoinedCommunity, PublicPost, User
from server.errors import bad_request, not_found
from server.i18n import SUPPORTED_LANGUAGES, _, valid_time_zone
from server.markdown import render_markdown

BIO_LIMIT = 1000
# Stored as the display name of a deleted account, so threads and chat keep making sense.
FORMER_MEMBER = "Former member"


EXCERPT_LENGTH = 200
# Block-level tags separate words; inline ones (<strong>, <a>...) must not split "lot</strong>." apart.
_BLOCK_TAG = re.compile(r"</?(?:p|li|ul|ol|h[1-6]|blockquote|pre|br|hr|tr|td|th|table|div)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


def excerpt(body_md: str, length: int = EXCERPT_LENGTH) -> str:
    """The start of a post as plain text (Markdown rendered, then its tags dropped), for listings."""
    plain = " ".join(html.unescape(_TAG.sub("", _BLOCK_TAG.sub(" ", render_markdown(body_md)))).split())
    return plain if len(plain) <= length else plain[: length - 1].rstrip() + "…"


@dataclass(frozen=True)
class Profile:
    user: User
    communities: list[JoinedCommunity]
    posts: list[PublicPost]


@cache
def time_zones() -> tuple[str, ...]:
    """The IANA zones a member can choose from, sorted for the settings menu."""
    return tuple(sorted(zone for zone in available_timezones() if "/" in zone or zone == "UTC"))


def check_bio(bio: str) -> str:
    # Line breaks are kept (a bio may be a few short lines); trailing spaces and blank edges are not.
    bio = "\n".join(line.rstrip() for line in bio.replace("\r\n", "\n").split("\n")).strip()
    if len(bio) > BIO_LIMIT:
        raise bad_request(_("A bio can have at most %(limit)d characters.") % {"limit": BIO_LIMIT}, "bio")
    return bio


def check_language(language: str | None) -> str | None:
    """None (or an empty choice) means "follow my browser"."""
    if not language:
        return None
    if language not in SUPPORTED_LANGUAGES:
        raise bad_request(_("Please choose one of the languages in the list."), "language")
    return language


def check_time_zone(time_zone: str) -> str:
    time_zone = time_zone.strip()
    if not time_zone or not valid_time_zone(time_zone) or time_zone.startswith(("posix/", "right/")):
        raise bad_request(_("Please choose a time zone from the list, such as Europe/Paris."), "time_zone")
    return time_zone


async def profile(connection: asyncpg.Connection, username: str, *, viewer: User | None) -> Profile:
    """A member's public profile; deleted and unknown accounts are simply not found."""
    user = await users.active_by_username(connection, username)
    if user is None:
        raise not_found(_("There is no member with that username."))
    viewer_id = viewer.id if viewer is not None else None
    communities = await users.joined_communities(connection, user.id, viewer_id=viewer_id, shown=user.show_communities)
    posts = await users.public_posts(connection, user.id, viewer_id=viewer_id, shown=user.show_posts)
    return Profile(user, communities, posts)


async def do_update_profile(
    connection: asyncpg.Connection,
    user: User,
    *,
    display_name: str,
    bio: str,
    show_communities: bool | None = None,
    show_posts: bool | None = None,
) -> User:
    """Name, bio and what the profile shows to others (None: unchanged)."""
    clean_name = check_display_name(display_name, user.username)
    clean_bio = check_bio(bio)
    return await users.update_profile(
        connection,
        user.id,
        display_name=clean_name,
        bio=clean_bio,
        show_communities=user.show_communities if show_communities is None else show_communities,
        show_posts=user.show_posts if show_posts is None else show_posts,
    )


async def do_set_preferences(
    connection: asyncpg.Connection, user: User, *, language: str | None, time_zone: str
) -> User:
    clean_language = check_language(language)
    clean_zone = check_time_zone(time_zone)
    return await users.set_preferences(connection, user.id, language=clean_language, time_zone=clean_zone)


async def do_update_me(
    connection: asyncpg.Connection,
    user: User,
    *,
    display_name: str | None = None,
    bio: str | None = None,
    language: str | None = None,
    time_zone: str | None = None,
    change_language: bool = False,
    show_communities: bool | None = None,
    show_posts: bool | None = None,
) -> User:
    """The API's PATCH /me: any of name, bio, profile choices, language and zone, all or nothing
    (left out: unchanged)."""
    async with events.unit_of_work(connection):
        if display_name is not None or bio is not None or show_communities is not None or show_posts is not None:
            user = await do_update_profile(
                connection,
                user,
                display_name=user.display_name if display_name is None else display_name,
                bio=user.bio if bio is None else bio,
                show_communities=show_communities,
                show_posts=show_posts,
            )
        if change_language or time_zone is not None:
            user = await do_set_preferences(
                connection,
                user,
                language=language if change_language else user.language,
                time_zone=user.time_zone if time_zone is None else time_zone,
            )
    return user


async def export_data(connection: asyncpg.Connection, user: User) -> dict[str, Any]:
    """Everything Kindred holds about the member, including their own email, ready for JSON."""
    export = await exports.for_user(connection, user.id)
    parts = dict(export.parts)
    profile_rows = parts.pop("profile")
    return {
        "format": "kindred-export-1",
        "exported_at": datetime.now(UTC),
        "profile": profile_rows[0] if profile_rows else None,
        **parts,
    }


async def do_delete_account(connection: asyncpg.Connection, user: User, *, confirmation: str) -> None:
    """Anonymize the account: the person goes, their posts and messages stay as "Former member"."""
    if confirmation.strip() != user.username:
        raise bad_request(_("Type your username exactly as shown to confirm."), "confirm_username")
    async with events.unit_of_work(connection):
        if not await users.anonymize(connection, user.id, display_name=FORMER_MEMBER):
            raise not_found(_("This account has already been deleted."))
        await users.forget_personal_rows(connection, user.id)
        # Their private conversations end, for the other family too (the messages stay, as "Former member").
        for ended in await families.end_all_of(connection, user.id):
            events.emit(events.ConversationEnded(ended))
