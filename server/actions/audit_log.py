"""The audit log as leaders read it: each entry as a sentence in the reader's language, and its filters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg

from server.actions.access import Actor, require_moderator
from server.db.queries import audit
from server.db.queries.audit import AuditEntry
from server.db.queries.audit import AuditFilter as AuditFilter
from server.errors import bad_request
from server.i18n import _, current_time_zone, format_time, ngettext

# How a mute's end reads in a sentence ("3 Dec, 14:00"), in the reader's language and time zone.
WHEN_FORMAT = "d MMM, HH:mm"


def _member(entry: AuditEntry) -> str:
    return entry.target_name or entry.target_username or _("a former member")


def _thing(entry: AuditEntry) -> str:
    return _("a chat message") if entry.target_kind == "room_message" else _("a post")


def _on_off(value: Any) -> str:
    return _("on") if value else _("off")


def _visibility(value: Any) -> str:
    labels = {
        "public": _("everyone"),
        "members": _("members only"),
        "hidden": _("members only, unlisted"),
    }
    return labels.get(str(value), str(value))


def _mute(entry: AuditEntry) -> str:
    ends = entry.details.get("ends_at")
    room = str(entry.details.get("room") or "")
    if not ends:
        what = _("muted %(member)s until a leader lifts it") % {"member": _member(entry)}
    else:
        try:
            when = format_time(datetime.fromisoformat(str(ends)), WHEN_FORMAT)
        except ValueError:
            when = str(ends)
        what = _("muted %(member)s until %(time)s") % {"member": _member(entry), "time": when}
    # A mute scoped to one room (set from a message's menu) names it.
    return _("%(what)s, in the room %(room)s") % {"what": what, "room": room} if room else what


def _slow_mode(entry: AuditEntry) -> str:
    seconds = int(entry.details.get("seconds") or 0)
    room = str(entry.details.get("room") or "")
    if seconds == 0:
        return _("turned slow mode off in the room %(room)s") % {"room": room}
    return _("set slow mode to %(seconds)s s in the room %(room)s") % {"seconds": seconds, "room": room}


def _flags(entry: AuditEntry, uphold: bool) -> str:
    values = {"thing": _thing(entry), "member": _member(entry)}
    if uphold:
        return _("upheld the flags on %(thing)s by %(member)s") % values
    return _("dismissed the flags on %(thing)s by %(member)s") % values


def _hidden_by_flags(entry: AuditEntry) -> str:
    count = int(entry.details.get("flags") or 0)
    return ngettext(
        "flagged %(thing)s by %(member)s, which was hidden automatically after %(num)s flag",
        "flagged %(thing)s by %(member)s, which was hidden automatically after %(num)s flags",
        count,
    ) % {"thing": _thing(entry), "member": _member(entry), "num": count}


def _review_settings(entry: AuditEntry) -> str:
    def now(key: str) -> Any:
        value = entry.details.get(key)
        return value[-1] if isinstance(value, list) and value else value

    return _(
        "changed the review settings: hold new members' first posts %(hold)s, until %(after)s are approved, "
        "hide after %(flags)s flags"
    ) % {
        "hold": _on_off(now("hold_first_posts")),
        "after": now("hold_release_after"),
        "flags": now("flag_hide_threshold"),
    }


def _reading_rules(entry: AuditEntry) -> str:
    details = entry.details
    return _("set who can read to %(who)s (introductions open: %(introductions)s, live rooms open: %(rooms)s)") % {
        "who": _visibility(details.get("visibility")),
        "introductions": _on_off(details.get("introductions_open")),
        "rooms": _on_off(details.get("rooms_open")),
    }


def _simple(message: Callable[[], str]) -> Callable[[AuditEntry], str]:
    """A sentence naming only the member concerned (%(member)s), translated when it is shown."""
    return lambda entry: message() % {"member": _member(entry)}


def _detail(message: Callable[[], str], key: str) -> Callable[[AuditEntry], str]:
    """A sentence naming one value of the entry's details (%(value)s) and the member (%(member)s)."""
    return lambda entry: message() % {"value": entry.details.get(key, ""), "member": _member(entry)}


# Every action the code records (tests/server/actions/test_audit_log.py checks none is missing).
SENTENCES: dict[str, Callable[[AuditEntry], str]] = {
    "remove_message": _simple(lambda: _("removed a message from %(member)s")),
    "hide_post": _simple(lambda: _("hid a post by %(member)s")),
    "hold_message": _simple(lambda: _("sent a chat message from %(member)s back for review")),
    "hold_post": _simple(lambda: _("sent a post by %(member)s back for review")),
    "crisis_reached_out": _simple(lambda: _("reached out to %(member)s, who may be at risk")),
    "crisis_support": _simple(lambda: _("wrote privately to %(member)s, who may be at risk")),
    "crisis_handover": _simple(lambda: _("handed the care of %(member)s, who may be at risk, over to site admins")),
    "restore_post": _simple(lambda: _("restored a post by %(member)s")),
    "approve_post": _simple(lambda: _("approved a held post by %(member)s")),
    "reject_post": _simple(lambda: _("declined a held post by %(member)s")),
    "approve_message": _simple(lambda: _("approved a held chat message from %(member)s")),
    "reject_message": _simple(lambda: _("declined a held chat message from %(member)s")),
    "hide_by_flags": _hidden_by_flags,
    "uphold_flags": lambda entry: _flags(entry, True),
    "dismiss_flags": lambda entry: _flags(entry, False),
    "mute": _mute,
    "unmute": _simple(lambda: _("lifted the mute on %(member)s")),
    "ban": _simple(lambda: _("banned %(member)s")),
    "unban": _simple(lambda: _("lifted the ban on %(member)s")),
    "slow_mode": _slow_mode,
    "add_room": _detail(lambda: _("added the room %(value)s"), "name"),
    "pin": _simple(lambda: _("pinned a thread by %(member)s")),
    "unpin": _simple(lambda: _("unpinned a thread by %(member)s")),
    "lock": _simple(lambda: _("locked a thread by %(member)s")),
    "unlock": _simple(lambda: _("unlocked a thread by %(member)s")),
    "move_thread": _detail(lambda: _("moved a thread by %(member)s to %(value)s"), "to"),
    "move_thread_in": _detail(lambda: _("moved a thread by %(member)s here from %(value)s"), "from"),
    "invite_created": _detail(lambda: _("created an invite link valid for %(value)s days"), "days"),
    "invite_revoked": _simple(lambda: _("revoked an invite link")),
    "join_approved": _simple(lambda: _("let %(member)s join")),
    "join_declined": _simple(lambda: _("declined the request of %(member)s to join")),
    "tip_hidden": _simple(lambda: _("hid a tip by %(member)s")),
    "tip_shown": _simple(lambda: _("showed a tip by %(member)s again")),
    "resource_removed": _simple(lambda: _("removed a resource")),
    "moderation_settings": _review_settings,
    "reading_rules": _reading_rules,
    "leader_appointed": _simple(lambda: _("made %(member)s a leader")),
    "leader_removed": _simple(lambda: _("removed %(member)s as a leader")),
    "pseudonym_revealed": _simple(lambda: _("looked at who is behind the pseudonym %(member)s")),
    "expert_marked": _simple(lambda: _("gave %(member)s the expert badge")),
    "expert_unmarked": _simple(lambda: _("took the expert badge from %(member)s")),
}


def sentence(entry: AuditEntry) -> str:
    """What happened, as a sentence without its subject ("removed a message from Lucía: spam")."""
    describe = SENTENCES.get(entry.action)
    try:
        what = describe(entry) if describe is not None else entry.action  # an action added later: its code
    except (KeyError, TypeError, ValueError):
        what = entry.action
    if entry.reason:
        return _("%(what)s: %(reason)s") % {"what": what, "reason": entry.reason}
    return what


# Filter labels for actions whose sentence needs details a placeholder entry does not have.
_LABELS: dict[str, Callable[[], str]] = {
    "mute": lambda: _("muted a member"),
    "slow_mode": lambda: _("set slow mode"),
    "hide_by_flags": lambda: _("hidden automatically after flags"),
    "moderation_settings": lambda: _("changed the review settings"),
    "reading_rules": lambda: _("changed who can read"),
    "add_room": lambda: _("added a room"),
    "move_thread": lambda: _("moved a thread away"),
    "move_thread_in": lambda: _("moved a thread here"),
    "invite_created": lambda: _("created an invite link"),
}


def action_label(action: str) -> str:
    """An action in the filter's list: its sentence about a placeholder member ("banned a member")."""
    if action in _LABELS:
        return _LABELS[action]()
    example = AuditEntry(
        id=0, community_id=None, actor_id=None, actor_username="", action=action, target_user_id=None,
        target_username="", target_kind="", target_id=None, reason="", details={}, created_at=datetime.now(UTC),
        target_name=_("a member"),
    )  # fmt: skip
    return sentence(example)


def action_choices() -> list[tuple[str, str]]:
    """(code, label) for every action, by label in the reader's language."""
    return sorted(((code, action_label(code)) for code in SENTENCES), key=lambda choice: choice[1].casefold())


@dataclass(frozen=True)
class AuditLine:
    entry: AuditEntry
    sentence: str


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise bad_request(_("Please give a date as year-month-day, for example 2026-12-03."), field) from None


def read_filter(member: str = "", action: str = "", since: str = "", until: str = "") -> AuditFilter:
    """The audit page's filter form (kept in the URL): dates are whole days in the reader's time zone."""
    member = member.strip().removeprefix("@")[:80]
    action = action.strip()
    if action and action not in SENTENCES:
        raise bad_request(_("Please choose an action from the list."), "action")
    first, last = _day(since.strip(), "since"), _day(until.strip(), "until")
    if first and last and last < first:
        raise bad_request(_("The end date is before the start date."), "until")
    try:
        zone = ZoneInfo(current_time_zone())
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return AuditFilter(
        member=member or None,
        actions=(action,) if action else (),
        since=datetime.combine(first, time(), zone) if first else None,
        until=datetime.combine(last + timedelta(days=1), time(), zone) if last else None,
    )


async def read_log(
    connection: asyncpg.Connection,
    moderator: Actor,
    *,
    before_id: int | None,
    limit: int,
    where: AuditFilter | None = None,
) -> list[AuditLine]:
    """The community's audit log, newest first, each entry with its sentence (leaders and admins)."""
    require_moderator(moderator)
    entries = await audit.for_community(
        connection, moderator.community_id, before_id=before_id, limit=limit, where=where
    )
    return [AuditLine(entry, sentence(entry)) for entry in entries]
