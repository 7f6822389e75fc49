"""What waits for leaders and site admins: telling them of each held item, and settling it once dealt with.

A newcomer's held post, thread, introduction or first chat message notifies the community's leaders
(the site admins when it has none yet); a community proposal notifies the site admins. Each notice
names its item ("post:3", "message:12", "proposal:5"), as flag and crisis notices do, so that whoever
deals with the item settles it: the notices about it are read for everyone told, and their badges drop
live on every process (events.NotificationsSettled, after the commit).
"""

from __future__ import annotations

import asyncpg

from server.actions import notifications as notify
from server.actions.access import Actor
from server.db.queries import communities, review
from server.db.queries.notifications import Created


async def review_badge(connection: asyncpg.Connection, actor: Actor) -> int:
    """The count on a leader's review-queue link (the community page, the live room, the forum's sections):
    their unread notices about items waiting in this community's queue. No query for anyone else."""
    if not actor.can_moderate or actor.user is None:
        return 0
    return await notify.waiting_count(connection, actor.user.id, actor.community_id)


async def leaders_or_admins(connection: asyncpg.Connection, community_id: int) -> list[int]:
    """Who handles this community's queue: its leaders, or the site admins while it has none."""
    return await review.leader_ids(connection, community_id) or await review.admin_ids(connection)


async def tell_held(
    connection: asyncpg.Connection,
    *,
    community_id: int,
    community_slug: str,
    item: str,
    what: str,
    author_id: int,
    title: str = "",
    room: str = "",
) -> list[Created]:
    """A newcomer's words wait for review (what: post, thread, introduction or message): the leaders are told."""
    people = await leaders_or_admins(connection, community_id)
    return await notify.tell_waiting(
        connection,
        [(user_id, "review") for user_id in people if user_id != author_id],
        community_id=community_id,
        community_slug=community_slug,
        item=item,
        actor_id=author_id,
        data={"event": "held", "what": what, "title": title, "room": room},
        url=f"/c/{community_slug}/review",
    )


async def tell_proposal(
    connection: asyncpg.Connection, *, proposal_id: int, name: str, proposer_id: int
) -> list[Created]:
    """A community was proposed: every site admin is told (not tied to the community row, which is not open)."""
    return await notify.tell_waiting(
        connection,
        [(user_id, "review") for user_id in await review.admin_ids(connection)],
        community_id=None,
        community_slug="",
        item=f"proposal:{proposal_id}",
        actor_id=proposer_id,
        data={"event": "proposed", "what": "proposal", "community": name},
        url="/admin/proposals",
    )


async def settle(connection: asyncpg.Connection, community_id: int | None, item: str) -> None:
    """The item was dealt with (approved, rejected, removed, flags answered, proposal decided)."""
    slug = ""
    if community_id is not None:
        community = await communities.by_id(connection, community_id)
        slug = community.slug if community is not None else ""
    await notify.settle(connection, community_id=community_id, community_slug=slug, item=item)
