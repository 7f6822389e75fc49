"""Notifications: who hears about a new post, @mentions, the notifications page, read marks and opt-outs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from server.actions import events
from server.db.queries import notifications
from server.db.queries.notifications import FORUM_KINDS as FORUM_KINDS
from server.db.queries.notifications import PREFERENCE_KINDS as PREFERENCE_KINDS
from server.db.queries.notifications import Created, Notification, Preference
from server.db.queries.users import User
from server.errors import SignInRequired, bad_request, not_found
from server.i18n import _, format_time, ngettext

# @name, not inside an email address or a word; usernames are 3-32 of [A-Za-z0-9_.-].
MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9_.-]{3,32})")
# In a live room a member is mentioned by the name the community shows: "@username", or their
# pseudonym there, "@Name" or, with spaces, "@[Name with spaces]" (what the composer's list inserts).
ROOM_MENTION = re.compile(r"(?<![\w@.])@(?:\[([^\]\n]{2,40})\]|([\w.'-]{2,40}))")
MAX_MENTIONS = 20  # more than this in one post is a broadcast, not a mention
PAGE_SIZE = 30

# When one post concerns someone in several ways, they get one notification: the most specific kind.
PRIORITY = {"welcome": 0, "answer": 0, "accepted": 0, "reply": 1, "mention": 2, "introduction": 3}


def mentioned_usernames(body: str) -> list[str]:
    """Usernames @mentioned in a post, in order, without repeats (a trailing dot ends a sentence, not a name)."""
    seen: dict[str, str] = {}
    for match in MENTION.finditer(body):
        name = match.group(1).rstrip(".")
        if len(name) >= 3 and name.lower() not in seen:
            seen[name.lower()] = name
    return list(seen.values())[:MAX_MENTIONS]


def room_mentioned_names(body: str) -> list[str]:
    """Names @mentioned in a chat message, in order, without repeats (a trailing dot ends a sentence)."""
    seen: dict[str, str] = {}
    for match in ROOM_MENTION.finditer(body):
        name = (match.group(1) or match.group(2).rstrip(".")).strip()
        if len(name) >= 2 and name.lower() not in seen:
            seen[name.lower()] = name
    return list(seen.values())[:MAX_MENTIONS]


def room_mention_data(room_name: str, community_slug: str, room_slug: str, seq: int) -> dict[str, Any]:
    """What a chat mention's notification keeps: the room's name, and the way to the message."""
    return {"event": "mention", "room": room_name, "url": f"/c/{community_slug}/live/{room_slug}#message-{seq}"}


async def notify_room_mentions(
    connection: asyncpg.Connection,
    *,
    room_id: int,
    community_id: int,
    actor_id: int,
    body: str,
    already: str = "",
    data: dict[str, Any],
) -> list[Created]:
    """Notify the members a chat message mentions (not those `already` mentioned by its earlier text) who
    may read the room; nothing is read from the database for a message that mentions nobody."""
    before = {name.lower() for name in room_mentioned_names(already)}
    names = [name for name in room_mentioned_names(body) if name.lower() not in before]
    if not names:
        return []
    users = await notifications.room_readers_named(connection, room_id, names)
    return await create(
        connection,
        [(user_id, "mention") for user_id in users],
        community_id=community_id,
        thread_id=None,
        post_id=None,
        actor_id=actor_id,
        data=data,
    )


class Recipients:
    """Collects (user, kind) candidates for one event; each member gets at most one notification,
    of the most specific kind they have not switched off (chosen in SQL, where the preferences are)."""

    def __init__(self) -> None:
        self.candidates: set[tuple[int, str]] = set()

    def add(self, user_id: int | None, kind: str) -> None:
        if user_id is not None:
            self.candidates.add((user_id, kind))

    def pairs(self) -> list[tuple[int, str]]:
        return sorted(self.candidates, key=lambda pair: (pair[0], PRIORITY.get(pair[1], 9), pair[1]))


async def add_mentions(
    connection: asyncpg.Connection, recipients: Recipients, community_id: int, body: str, *, already: str = ""
) -> None:
    """Mentions in `body` that were not already in `already` (an earlier version of the same post)."""
    before = {name.lower() for name in mentioned_usernames(already)}
    names = [name for name in mentioned_usernames(body) if name.lower() not in before]
    for user_id in await notifications.members_named(connection, community_id, names):
        recipients.add(user_id, "mention")


async def create(
    connection: asyncpg.Connection,
    recipients: list[tuple[int, str]],
    *,
    community_id: int | None,
    thread_id: int | None,
    post_id: int | None,
    actor_id: int | None,
    data: dict[str, Any] | None = None,
    review: str = "",
) -> list[Created]:
    """Store notifications; once the unit of work commits, each member's open pages count theirs
    (review: the slug of the community whose review queue they are about, for leaders' badges there)."""
    created = await notifications.create_many(
        connection,
        recipients,
        community_id=community_id,
        thread_id=thread_id,
        post_id=post_id,
        actor_id=actor_id,
        data=data,
    )
    for row in created:
        events.emit(events.Notified(row.user_id, row.id, review))
    return created


async def tell_waiting(
    connection: asyncpg.Connection,
    people: list[tuple[int, str]],
    *,
    community_id: int | None,
    community_slug: str,
    item: str,
    actor_id: int | None,
    data: dict[str, Any],
    url: str,
) -> list[Created]:
    """Tell leaders (or site admins) that an item waits for them: a held post or message, a flag, someone at
    risk, a proposal. `item` names it ("message:12", "post:3", "proposal:5") so that `settle` marks every one
    of these notifications read, for everyone, once someone deals with it."""
    return await create(
        connection,
        people,
        community_id=community_id,
        thread_id=None,
        post_id=None,
        actor_id=actor_id,
        data={**data, "item": item, "url": url},
        review=community_slug if community_id is not None else "",
    )


async def settle(connection: asyncpg.Connection, *, community_id: int | None, community_slug: str, item: str) -> None:
    """The item no longer waits: its notifications are read for everyone told, and their badges drop live."""
    for user_id, count in (await notifications.settle_item(connection, community_id, item)).items():
        review = community_slug if community_id is not None else ""
        events.emit(events.NotificationsSettled(user_id, count, review, item))


async def waiting_count(connection: asyncpg.Connection, user_id: int, community_id: int) -> int:
    """How many unread notices about items in this community's review queue the leader has (their badge)."""
    return await notifications.waiting_count(connection, user_id, community_id)


async def send(
    connection: asyncpg.Connection,
    recipients: Recipients,
    *,
    actor_id: int | None,
    community_id: int | None,
    thread_id: int | None,
    post_id: int | None,
) -> list[Created]:
    """Store the notifications (the actor never notifies themself; opt-outs and visibility apply in SQL)."""
    return await create(
        connection,
        recipients.pairs(),
        community_id=community_id,
        thread_id=thread_id,
        post_id=post_id,
        actor_id=actor_id,
    )


def _consent_texts() -> dict[tuple[str, str], str]:
    """Chat to knowledge: the quoted author asked, and the proposer told of the outcome (event, what)."""
    return {
        ("consent", "tip"): _(
            "Someone would like to quote your words from %(room)s in a tip, “%(title)s”: nothing is "
            "published until you accept or decline."
        ),
        ("consent", "thread"): _(
            "Someone would like to quote your words from %(room)s in a new thread, “%(title)s”: nothing is "
            "published until you accept or decline."
        ),
        ("consent", "resource"): _(
            "Someone would like to quote your words from %(room)s in a resource, “%(title)s”: nothing is "
            "published until you accept or decline."
        ),
        ("published", "tip"): _("Every quoted author answered: your tip “%(title)s” is published."),
        ("published", "thread"): _("Every quoted author answered: your thread “%(title)s” is published."),
        ("dropped", "tip"): _("Your tip “%(title)s” was not published: no quoted message was left to publish."),
        ("dropped", "thread"): _("Your thread “%(title)s” was not published: no quoted message was left to publish."),
        ("published", "resource"): _("Every quoted author answered: your resource “%(title)s” is published."),
        ("dropped", "resource"): _(
            "Your resource “%(title)s” was not published: no quoted message was left to publish, or you can "
            "no longer add resources here."
        ),
    }


def _text_from_data(kind: str, data: dict[str, object], *, title: str, community: str) -> str | None:
    """The sentence of a moderation, flag, crisis or proposal notification, built from its data in the
    reader's language (the data holds facts, not sentences, so each reader gets their own language)."""
    values = {
        "title": str(data.get("title") or title),
        "community": str(data.get("community") or community),
        "room": str(data.get("room") or ""),
        "reason": str(data.get("reason") or ""),
        "until": _until(data.get("ends_at")),
        "message": str(data.get("message") or ""),
    }
    event, what = data.get("event"), data.get("what")
    if kind == "moderation":
        texts = {
            ("approved", "thread"): _("A leader approved your thread “%(title)s”: everyone can see it now."),
            ("approved", "post"): _("A leader approved your post in “%(title)s”: everyone can see it now."),
            ("approved", "message"): _("A leader approved your message in %(room)s: everyone can see it now."),
            ("rejected", "thread"): _("A leader did not approve your thread “%(title)s”. Reason: %(reason)s"),
            ("rejected", "post"): _("A leader did not approve your post in “%(title)s”. Reason: %(reason)s"),
            ("rejected", "message"): _("A leader did not approve your message in %(room)s. Reason: %(reason)s"),
            ("hidden", "post"): _("A leader hid your post in “%(title)s”. Reason: %(reason)s"),
            ("hidden", "message"): _("A leader hid your message in %(room)s. Reason: %(reason)s"),
            ("removed", "message"): _("A leader removed your message in %(room)s."),
            ("restored", "post"): _("A leader restored your post in “%(title)s”."),
            ("join_requested", "community"): _(
                "Someone asked to join %(community)s: answer them on the page “Who can read and join”."
            ),
            ("join_approved", "community"): _("A leader approved your request: you are a member of %(community)s now."),
            ("join_declined", "community"): _("A leader declined your request to join %(community)s."),
            ("held_again", "post"): _(
                "A leader sent your post in “%(title)s” back for review: it is hidden until a leader looks again."
            ),
            ("held_again", "message"): _(
                "A leader sent your message in %(room)s back for review: it is hidden until a leader looks again."
            ),
            ("muted", "room"): _("A leader muted you in %(room)s until %(until)s. Reason: %(reason)s"),
            ("muted", "community"): _("A leader muted you in %(community)s until %(until)s. Reason: %(reason)s"),
            ("support", "person"): _("A leader of %(community)s writes to you, privately: %(message)s"),
            ("crisis_care", "flag"): _(
                "A leader of %(community)s is looking after the person you were worried about. Thank you for telling us."
            ),
            ("crisis_handover", "flag"): _(
                "The Kindred team is now also looking after the person you were worried about in %(community)s."
            ),
        }
        # Consent requests sent before migration 0011 gave them their own kind are moderation notices.
        texts.update({key: text for key, text in _consent_texts().items() if key[0] == "consent"})
        template = texts.get((str(event), str(what)))
        return template % values if template else None
    if kind == "consent":
        template = _consent_texts().get((str(event), str(what)))
        return template % values if template else None
    if kind == "flag":
        if event == "escalated":
            count = int(str(data.get("count") or 1))
            return ngettext(
                "A flag in %(community)s has waited for a leader too long: please look at it.",
                "%(num)d flags in %(community)s have waited for a leader too long: please look at them.",
                count,
            ) % {**values, "num": count}
        return _("Something in %(community)s was flagged for review.") % values
    if kind == "crisis":
        if event == "handed_over":
            return (
                _("A leader of %(community)s handed someone who may be at risk over to you: please look now.") % values
            )
        return _("Someone may be at risk in %(community)s: please look at the review queue now.") % values
    if kind == "review":
        waiting = {
            "message": _("A new member's first message in %(room)s waits for review in %(community)s."),
            "post": _("A new member's post in “%(title)s” waits for review in %(community)s."),
            "thread": _("A new member's thread “%(title)s” waits for review in %(community)s."),
            "introduction": _(
                "A new member introduced themselves in %(community)s: their introduction waits for review."
            ),
            "proposal": _("Someone proposed a community for %(community)s: it waits for a site admin."),
        }
        template = waiting.get(str(what))
        return template % values if template else None
    if kind == "proposal":
        if data.get("status") == "approved":
            return _("Your proposal for %(community)s was approved: the community is open.") % values
        if data.get("status") == "declined":
            return _("Your proposal for %(community)s was declined. Reason: %(reason)s") % values
    return None


def _private_text(kind: str, data: dict[str, object], *, who: str, community: str) -> str | None:
    """Families like mine and private conversations: who (under their name in that community), never what was said."""
    values = {"who": who, "community": community}
    texts = {
        ("family", "requested"): _("%(who)s would like to connect with your family (%(community)s)."),
        ("family", "accepted"): _("%(who)s accepted your request: you can write to each other now."),
        ("family", "declined"): _("%(who)s declined your request to connect."),
        ("conversation", "message"): _("%(who)s wrote to you in a private conversation."),
        ("conversation", "reported"): _("A private conversation was reported to site admins."),
    }
    template = texts.get((kind, str(data.get("event"))))
    return template % values if template else None


def _until(ends_at: object) -> str:
    """A mute's end in the reader's language and time zone ("until a leader lifts it" for none)."""
    if not isinstance(ends_at, str) or not ends_at:
        return _("a leader lifts it")
    try:
        return format_time(datetime.fromisoformat(ends_at))
    except ValueError:
        return ends_at


@dataclass(frozen=True)
class Item:
    """A notification ready to show: a sentence and where it leads."""

    notification: Notification
    text: str
    url: str


def describe(notification: Notification) -> Item:
    who = notification.actor_display_name or _("Someone")
    title = notification.thread_title or ""
    community = notification.community_name or ""
    texts = {
        "reply": _("%(who)s replied to “%(title)s”"),
        "mention": _("%(who)s mentioned you in “%(title)s”"),
        "answer": _("%(who)s answered your question “%(title)s”"),
        "accepted": _("%(who)s accepted your answer in “%(title)s”"),
        "welcome": _("%(who)s welcomed you in “%(title)s”"),
        "introduction": _("%(who)s introduced themselves in %(community)s: “%(title)s”"),
    }
    template = texts.get(notification.kind)
    data = notification.data if isinstance(notification.data, dict) else {}
    if notification.kind == "mention" and data.get("room"):
        template = _("%(who)s mentioned you in the live room %(room)s")
    from_data = _text_from_data(notification.kind, data, title=title, community=community)
    private = _private_text(notification.kind, data, who=who, community=community)
    if template is not None:
        text = template % {"who": who, "title": title, "community": community, "room": str(data.get("room", ""))}
    elif private is not None:
        text = private
    elif from_data is not None:
        text = from_data
    else:
        message = notification.data.get("message") if isinstance(notification.data, dict) else None
        text = str(message) if message else _("You have a new notification.")
    url = "/notifications"
    if notification.thread_id is not None and notification.community_slug:
        url = f"/c/{notification.community_slug}/t/{notification.thread_id}"
        if notification.post_id is not None:
            # The post's permalink finds the page of a long thread it is on.
            url = f"/c/{notification.community_slug}/posts/{notification.post_id}"
    elif isinstance(notification.data, dict) and str(notification.data.get("url", "")).startswith("/"):
        url = str(notification.data["url"])
    return Item(notification, text, url)


@dataclass(frozen=True)
class Page:
    items: list[Item]
    next_before: int | None


def _require_user(user: User | None) -> User:
    if user is None:
        raise SignInRequired(_("Please log in first."))
    return user


async def page_for(connection: asyncpg.Connection, user: User | None, *, before: str | None = None) -> Page:
    member = _require_user(user)
    before_id: int | None = None
    if before:
        if not before.isdigit() or len(before) > 18:
            raise bad_request(_("That page link is not valid."), "before")
        before_id = int(before)
    rows = await notifications.listing(connection, member.id, before_id=before_id, limit=PAGE_SIZE + 1)
    next_before = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    return Page([describe(row) for row in rows[:PAGE_SIZE]], next_before)


async def do_open(connection: asyncpg.Connection, user: User | None, notification_id: int) -> str:
    """Mark one notification read and return where it leads (404 for someone else's)."""
    member = _require_user(user)
    found = await notifications.one(connection, member.id, notification_id)
    if found is None:
        raise not_found(_("That notification does not exist."))
    await notifications.mark_read(connection, member.id, [notification_id])
    return describe(found).url


async def do_mark_read(connection: asyncpg.Connection, user: User | None, ids: list[int] | None) -> int:
    """Mark the member's own notifications read: the listed ones, or all of them when ids is None."""
    member = _require_user(user)
    if ids is not None and len(ids) > 500:
        raise bad_request(_("Too many notifications at once."), "ids")
    return await notifications.mark_read(connection, member.id, ids)


async def unread_count(connection: asyncpg.Connection, user_id: int) -> int:
    return await notifications.unread_count(connection, user_id)


async def preferences_for(connection: asyncpg.Connection, user: User | None) -> dict[str, Preference]:
    return await notifications.preferences(connection, _require_user(user).id)


async def do_set_preferences(
    connection: asyncpg.Connection, user: User | None, *, in_app: set[str], email: set[str]
) -> None:
    """Keep in-app (and email) only for the kinds listed; every other kind one may choose is switched off."""
    member = _require_user(user)
    unknown = (in_app | email) - set(PREFERENCE_KINDS)
    if unknown:
        raise bad_request(_("Unknown kind of notification: %(kind)s") % {"kind": sorted(unknown)[0]}, "kinds")
    chosen = [Preference(kind, kind in in_app, kind in email) for kind in PREFERENCE_KINDS]
    await notifications.set_preferences(connection, member.id, chosen)
