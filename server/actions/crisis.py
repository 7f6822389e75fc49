"""The crisis path: when members fear someone may be at risk, a leader marks "I reached out", writes to the
person privately (a notification only they can read), or hands the item over to the site admins.

Each step is on the audit log, and the members who raised the alarm are told that someone is on it.
Upholding or dismissing the flags (server/actions/flags.py) still closes the item.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from server.actions import events
from server.actions import flags as flag_actions
from server.actions import notifications as notify
from server.actions.access import Actor, require_moderator
from server.db.queries import audit, communities, flags, review
from server.errors import bad_request, conflict
from server.i18n import _

MAX_SUPPORT = 2000


@dataclass(frozen=True)
class Crisis:
    """An item with open "someone may be at risk" flags, in the actor's community."""

    item: flag_actions.Item
    community_slug: str
    community_name: str


async def _crisis(connection: asyncpg.Connection, actor: Actor, kind: str, item_id: int) -> Crisis:
    require_moderator(actor)
    if kind == "post":
        item = await flag_actions.post_item(connection, actor, item_id)
    else:
        item = await flag_actions.message_item_by_id(connection, actor, item_id)
    reasons = await flags.open_reasons(connection, post_id=item.post_id, message_id=item.message_id)
    if flag_actions.AT_RISK not in reasons:
        raise conflict(_("Nobody is flagged as at risk here any more."))
    community = await communities.by_id(connection, item.community_id)
    assert community is not None
    return Crisis(item, community.slug, community.name)


async def _tell_reporters(connection: asyncpg.Connection, crisis: Crisis, actor_id: int, event: str) -> None:
    """The members whose flags say someone may be at risk learn that someone is on it (never who the person is)."""
    item = crisis.item
    reporters = await flags.at_risk_flaggers(connection, post_id=item.post_id, message_id=item.message_id)
    await notify.create(
        connection,
        [(user_id, "moderation") for user_id in reporters if user_id != item.author_id],
        community_id=item.community_id,
        thread_id=None,
        post_id=None,
        actor_id=actor_id,
        data={"event": event, "what": "flag", "url": f"/c/{crisis.community_slug}"},
    )


async def _record(
    connection: asyncpg.Connection, crisis: Crisis, actor_id: int, action: str, details: dict[str, object]
) -> None:
    item = crisis.item
    await audit.record(
        connection,
        community_id=item.community_id,
        actor_id=actor_id,
        action=action,
        target_user_id=item.author_id,
        target_kind="post" if item.post else "room_message",
        target_id=item.id,
        details=details,
    )


async def do_reached_out(connection: asyncpg.Connection, actor: Actor, kind: str, item_id: int) -> Crisis:
    """A leader reached out to the person (by any means): the queue shows it, the reporters are told."""
    leader = require_moderator(actor)
    crisis = await _crisis(connection, actor, kind, item_id)
    async with events.unit_of_work(connection):
        await flags.mark_reached_out(
            connection, post_id=crisis.item.post_id, message_id=crisis.item.message_id, by=leader.id
        )
        await _record(connection, crisis, leader.id, "crisis_reached_out", {})
        await _tell_reporters(connection, crisis, leader.id, "crisis_care")
    return crisis


def check_support(message: str) -> str:
    clean = message.replace("\r\n", "\n").strip()
    if not clean:
        raise bad_request(_("Please write a few words for them."), "message")
    if len(clean) > MAX_SUPPORT:
        raise bad_request(_("A message can have at most %(max)d characters.") % {"max": MAX_SUPPORT}, "message")
    return clean


async def do_send_support(
    connection: asyncpg.Connection, actor: Actor, kind: str, item_id: int, *, message: str
) -> Crisis:
    """A private, supportive message to the person who may be at risk: a notification only they can read.
    It counts as reaching out. The audit log records that it was sent, not its words."""
    leader = require_moderator(actor)
    crisis = await _crisis(connection, actor, kind, item_id)
    clean = check_support(message)
    if crisis.item.author_id is None:
        raise conflict(_("This member's account no longer exists."))
    async with events.unit_of_work(connection):
        await notify.create(
            connection,
            [(crisis.item.author_id, "moderation")],
            community_id=crisis.item.community_id,
            thread_id=None,
            post_id=None,
            actor_id=leader.id,
            data={"event": "support", "what": "person", "message": clean, "url": f"/c/{crisis.community_slug}"},
        )
        await flags.mark_reached_out(
            connection, post_id=crisis.item.post_id, message_id=crisis.item.message_id, by=leader.id
        )
        await _record(connection, crisis, leader.id, "crisis_support", {"characters": len(clean)})
        await _tell_reporters(connection, crisis, leader.id, "crisis_care")
    return crisis


async def do_hand_over(connection: asyncpg.Connection, actor: Actor, kind: str, item_id: int) -> Crisis:
    """Hand the item over to the site admins now (it joins their queue as escalated); they are told at once."""
    leader = require_moderator(actor)
    crisis = await _crisis(connection, actor, kind, item_id)
    async with events.unit_of_work(connection):
        if not await flags.escalate_item(connection, post_id=crisis.item.post_id, message_id=crisis.item.message_id):
            raise conflict(_("This has already been handed over to the site admins."))
        admins = [user_id for user_id in await review.admin_ids(connection) if user_id != leader.id]
        await notify.tell_waiting(
            connection,
            [(user_id, "crisis") for user_id in admins],
            community_id=crisis.item.community_id,
            community_slug=crisis.community_slug,
            item=flag_actions.item_key(crisis.item),
            actor_id=leader.id,
            data={"event": "handed_over", "what": crisis.item.kind},
            url="/admin/flags",
        )
        await _record(connection, crisis, leader.id, "crisis_handover", {})
        await _tell_reporters(connection, crisis, leader.id, "crisis_handover")
    return crisis
