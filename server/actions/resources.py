"""Resources of a community: leaders and admins add, edit and remove them; links must be http or https."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

import asyncpg

from server.actions import events
from server.actions.access import actor_for, require_can_manage_resources
from server.db.queries import audit, resources
from server.db.queries.communities import Community
from server.db.queries.resources import Resource as Resource
from server.db.queries.users import User
from server.errors import bad_request, not_found
from server.i18n import _

KINDS = ("clinical_trial", "registry", "ebook", "podcast", "organisation", "other")
MAX_TITLE = 200
MAX_DESCRIPTION = 4000
MAX_URL = 2000


def kind_label(kind: str) -> str:
    labels = {
        "clinical_trial": _("Clinical trial"),
        "registry": _("Patient registry"),
        "ebook": _("E-book"),
        "podcast": _("Podcast"),
        "organisation": _("Organisation"),
        "other": _("Other"),
    }
    return labels.get(kind, kind)


@dataclass(frozen=True)
class ResourceInput:
    """A checked resource, ready to store."""

    kind: str
    title: str
    description: str
    url: str
    published_on: date | None


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise bad_request(_("Please choose what kind of resource this is."), "kind")
    return kind


def check_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise bad_request(_("Please give the resource a title."), "title")
    if len(title) > MAX_TITLE:
        raise bad_request(_("A title can have at most %(max)d characters.") % {"max": MAX_TITLE}, "title")
    return title


def check_description(description: str) -> str:
    description = description.replace("\r\n", "\n").strip()
    if len(description) > MAX_DESCRIPTION:
        raise bad_request(
            _("A description can have at most %(max)d characters.") % {"max": MAX_DESCRIPTION}, "description"
        )
    return description


def check_url(url: str) -> str:
    """Only web links: javascript:, data: or file: links in a resource would be a trap for members."""
    url = url.strip()
    if not url:
        raise bad_request(_("Please give the resource's link."), "url")
    if len(url) > MAX_URL:
        raise bad_request(_("A link can have at most %(max)d characters.") % {"max": MAX_URL}, "url")
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme.lower() not in {"http", "https"}
        or not parts.hostname
        or any(character.isspace() or ord(character) < 32 for character in url)
    ):
        raise bad_request(_("Please give a web link starting with https:// or http://."), "url")
    return url


def check_published_on(value: str | None) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise bad_request(
            _("Please give the date as year-month-day, for example 2024-03-01."), "published_on"
        ) from None


def check_resource(*, kind: str, title: str, description: str, url: str, published_on: str | None) -> ResourceInput:
    """Every field checked; the first problem is raised with the field it belongs to."""
    return ResourceInput(
        kind=check_kind(kind),
        title=check_title(title),
        description=check_description(description),
        url=check_url(url),
        published_on=check_published_on(published_on),
    )


async def check_can_manage(connection: asyncpg.Connection, user: User | None, community: Community) -> User:
    return require_can_manage_resources(await actor_for(connection, user, community.id))


async def get(connection: asyncpg.Connection, community: Community, resource_id: int) -> Resource:
    resource = await resources.get(connection, community.id, resource_id)
    if resource is None:
        raise not_found(_("We could not find that resource."))
    return resource


async def do_add(
    connection: asyncpg.Connection, user: User | None, community: Community, data: ResourceInput
) -> Resource:
    editor = await check_can_manage(connection, user, community)
    return await resources.create(
        connection,
        community.id,
        kind=data.kind,
        title=data.title,
        description=data.description,
        url=data.url,
        published_on=data.published_on,
        created_by=editor.id,
    )


async def do_edit(
    connection: asyncpg.Connection, user: User | None, community: Community, resource_id: int, data: ResourceInput
) -> Resource:
    await check_can_manage(connection, user, community)
    updated = await resources.update(
        connection,
        community.id,
        resource_id,
        kind=data.kind,
        title=data.title,
        description=data.description,
        url=data.url,
        published_on=data.published_on,
    )
    if updated is None:
        raise not_found(_("We could not find that resource."))
    return updated


async def do_remove(connection: asyncpg.Connection, user: User | None, community: Community, resource_id: int) -> None:
    editor = await check_can_manage(connection, user, community)
    async with events.unit_of_work(connection):
        if not await resources.remove(connection, community.id, resource_id):
            raise not_found(_("We could not find that resource."))
        await audit.record(
            connection,
            community_id=community.id,
            actor_id=editor.id,
            action="resource_removed",
            target_kind="resource",
            target_id=resource_id,
        )


async def list_for(connection: asyncpg.Connection, community: Community, kind: str | None) -> list[Resource]:
    """All resources, or those of one kind; an unknown kind filter shows everything rather than failing."""
    return await resources.list_for(connection, community.id, kind=kind if kind in KINDS else None)
