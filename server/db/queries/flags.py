"""SQL for flags: members flag posts and chat messages; the queue of flagged items; escalation to site admins."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from server.db.queries.names import membership_of, shown_name, shown_username

REASONS = ("spam", "unkind", "misinformation", "private_information", "at_risk", "other")


@dataclass(frozen=True)
class Existing:
    """A member's own earlier flag on an item."""

    id: int
    reason: str
    status: str


@dataclass(frozen=True)
class FlagNote:
    """One member's flag on an item, as the review queue shows it."""

    id: int
    reason: str
    note: str
    flagger_display_name: str | None
    created_at: datetime


@dataclass(frozen=True)
class FlaggedItem:
    """A post or chat message with open flags, grouped: the queue handles the item, not each flag."""

    community_id: int
    community_slug: str
    community_name: str
    kind: str  # 'post' or 'message'
    item_id: int
    subject_user_id: int | None
    subject_username: str | None
    subject_display_name: str | None
    about_leader: bool  # the author is a leader of the community or a site admin: site admins handle it
    body: str
    state: str
    state_reason: str
    thread_id: int | None
    thread_title: str | None
    room_slug: str | None
    room_name: str | None
    seq: int | None
    at_risk: bool
    escalated: bool
    first_flagged_at: datetime
    reached_out_at: datetime | None = None  # the latest time a leader marked "I reached out" (crisis path)
    flags: list[FlagNote] = field(default_factory=list)


@dataclass(frozen=True)
class Escalated:
    community_id: int
    community_slug: str
    post_id: int | None
    message_id: int | None


async def create(
    connection: asyncpg.Connection,
    *,
    community_id: int,
    post_id: int | None,
    message_id: int | None,
    subject_user_id: int | None,
    flagger_id: int,
    reason: str,
    note: str,
) -> int | None:
    """Store a flag; None when this member has already flagged the item (one flag per member per item)."""
    flag_id: int | None = await connection.fetchval(
        """INSERT INTO flags (community_id, post_id, message_id, subject_user_id, flagger_id, reason, note)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id""",
        community_id,
        post_id,
        message_id,
        subject_user_id,
        flagger_id,
        reason,
        note,
    )
    return flag_id


async def mine(
    connection: asyncpg.Connection, *, post_id: int | None, message_id: int | None, flagger_id: int
) -> Existing | None:
    record = await connection.fetchrow(
        """SELECT id, reason, status FROM flags
           WHERE flagger_id = $3 AND (post_id = $1 OR message_id = $2)""",
        post_id,
        message_id,
        flagger_id,
    )
    return Existing(**dict(record)) if record else None


async def reopen_as_at_risk(connection: asyncpg.Connection, flag_id: int, note: str) -> None:
    """A member who flagged an item earlier now fears someone is at risk: that flag becomes an open crisis flag."""
    await connection.execute(
        """UPDATE flags SET reason = 'at_risk', status = 'open', handled_by = NULL, handled_at = NULL,
               note = left(CASE WHEN $2 = '' THEN note WHEN note = '' THEN $2 ELSE note || E'\n' || $2 END, 1000)
           WHERE id = $1""",
        flag_id,
        note,
    )


async def open_flaggers(connection: asyncpg.Connection, *, post_id: int | None, message_id: int | None) -> int:
    """How many different members have an open flag on the item."""
    count: int = await connection.fetchval(
        """SELECT count(DISTINCT flagger_id) FROM flags
           WHERE status = 'open' AND (post_id = $1 OR message_id = $2)""",
        post_id,
        message_id,
    )
    return count


async def open_reasons(connection: asyncpg.Connection, *, post_id: int | None, message_id: int | None) -> list[str]:
    records = await connection.fetch(
        """SELECT DISTINCT reason FROM flags WHERE status = 'open' AND (post_id = $1 OR message_id = $2)
           ORDER BY reason""",
        post_id,
        message_id,
    )
    return [record["reason"] for record in records]


async def resolve(
    connection: asyncpg.Connection, *, post_id: int | None, message_id: int | None, status: str, handled_by: int
) -> int:
    """Close every open flag on the item as upheld or dismissed; returns how many."""
    result = await connection.execute(
        """UPDATE flags SET status = $3, handled_by = $4, handled_at = now()
           WHERE status = 'open' AND (post_id = $1 OR message_id = $2)""",
        post_id,
        message_id,
        status,
        handled_by,
    )
    return int(result.split()[-1])


async def escalate_overdue(connection: asyncpg.Connection, minutes: int) -> list[Escalated]:
    """Mark open flags nobody handled in time as escalated; each is returned once, whatever the processes."""
    records = await connection.fetch(
        """WITH marked AS (
               UPDATE flags SET escalated_at = now()
               WHERE status = 'open' AND escalated_at IS NULL
                 AND created_at <= now() - make_interval(mins => $1)
               RETURNING community_id, post_id, message_id)
           SELECT DISTINCT m.community_id, c.slug AS community_slug, m.post_id, m.message_id
           FROM marked m JOIN communities c ON c.id = m.community_id
           ORDER BY m.community_id, m.post_id, m.message_id""",
        minutes,
    )
    return [Escalated(**dict(record)) for record in records]


async def move_to_community(connection: asyncpg.Connection, thread_id: int, community_id: int) -> None:
    """Open flags on a moved thread's posts go to the queue of the community it now belongs to."""
    await connection.execute(
        """UPDATE flags SET community_id = $2
           WHERE status = 'open' AND post_id IN (SELECT id FROM posts WHERE thread_id = $1)""",
        thread_id,
        community_id,
    )


_ITEMS = f"""
    WITH open_items AS (
        SELECT f.community_id, f.post_id, f.message_id, min(f.subject_user_id) AS subject_user_id,
               bool_or(f.reason = 'at_risk') AS at_risk, bool_or(f.escalated_at IS NOT NULL) AS escalated,
               min(f.created_at) AS first_flagged_at, max(f.reached_out_at) AS reached_out_at
        FROM flags f
        WHERE f.status = 'open' AND ($1::bigint IS NULL OR f.community_id = $1)
        GROUP BY f.community_id, f.post_id, f.message_id
    ), items AS (
        SELECT o.community_id, c.slug AS community_slug, c.name AS community_name,
               CASE WHEN o.post_id IS NOT NULL THEN 'post' ELSE 'message' END AS kind,
               coalesce(o.post_id, o.message_id) AS item_id,
               o.subject_user_id, {shown_username("su", "sm")} AS subject_username,
               {shown_name("su", "sm")} AS subject_display_name,
               (coalesce(su.is_admin, false) OR EXISTS (
                   SELECT 1 FROM memberships lm
                   WHERE lm.community_id = o.community_id AND lm.user_id = o.subject_user_id AND lm.role = 'leader'
               )) AS about_leader,
               coalesce(p.body_md, m.body, '') AS body, coalesce(p.state, m.state) AS state,
               coalesce(p.state_reason, m.state_reason, '') AS state_reason,
               t.id AS thread_id, t.title AS thread_title, r.slug AS room_slug, r.name AS room_name, m.seq,
               o.at_risk, o.escalated, o.first_flagged_at, o.reached_out_at
        FROM open_items o
        JOIN communities c ON c.id = o.community_id
        LEFT JOIN users su ON su.id = o.subject_user_id {membership_of("sm", "o.community_id", "su")}
        LEFT JOIN posts p ON p.id = o.post_id
        LEFT JOIN threads t ON t.id = p.thread_id
        LEFT JOIN room_messages m ON m.id = o.message_id
        LEFT JOIN rooms r ON r.id = m.room_id
    )
    SELECT * FROM items
    WHERE subject_user_id IS DISTINCT FROM $2
"""

# Someone who may be at risk comes first; then the longest waiting.
_ORDER = " ORDER BY at_risk DESC, first_flagged_at, kind, item_id LIMIT $3"


async def _with_notes(connection: asyncpg.Connection, records: list[asyncpg.Record]) -> list[FlaggedItem]:
    items = [FlaggedItem(**dict(record)) for record in records]
    post_ids = [item.item_id for item in items if item.kind == "post"]
    message_ids = [item.item_id for item in items if item.kind == "message"]
    if not items:
        return items
    notes = await connection.fetch(
        f"""SELECT f.id, f.reason, f.note, {shown_name("u", "fm")} AS flagger_display_name, f.created_at, f.post_id,
                  f.message_id
           FROM flags f LEFT JOIN users u ON u.id = f.flagger_id AND u.deleted_at IS NULL
           {membership_of("fm", "f.community_id", "u")}
           WHERE f.status = 'open' AND (f.post_id = ANY($1::bigint[]) OR f.message_id = ANY($2::bigint[]))
           ORDER BY f.created_at, f.id""",
        post_ids,
        message_ids,
    )
    by_item: dict[tuple[str, int], list[FlagNote]] = {}
    for note in notes:
        key = ("post", note["post_id"]) if note["post_id"] is not None else ("message", note["message_id"])
        by_item.setdefault(key, []).append(
            FlagNote(note["id"], note["reason"], note["note"], note["flagger_display_name"], note["created_at"])
        )
    for item in items:
        item.flags.extend(by_item.get((item.kind, item.item_id), []))
    return items


async def community_queue(
    connection: asyncpg.Connection, community_id: int, *, viewer_id: int, include_about_leaders: bool, limit: int = 200
) -> list[FlaggedItem]:
    """Flagged items of one community, without those about the viewer (recusal); flags about leaders and
    admins only when the viewer is a site admin (a leader cannot moderate a fellow leader), except that
    someone who may be at risk is shown to every leader."""
    records = await connection.fetch(
        _ITEMS + " AND ($4 OR at_risk OR NOT about_leader)" + _ORDER,
        community_id,
        viewer_id,
        limit,
        include_about_leaders,
    )
    return await _with_notes(connection, records)


async def admin_queue(connection: asyncpg.Connection, *, viewer_id: int, limit: int = 200) -> list[FlaggedItem]:
    """Flagged items for site admins: escalated ones and those about leaders or admins, in every community."""
    records = await connection.fetch(_ITEMS + " AND (escalated OR about_leader)" + _ORDER, None, viewer_id, limit)
    return await _with_notes(connection, records)


async def at_risk_flaggers(connection: asyncpg.Connection, *, post_id: int | None, message_id: int | None) -> list[int]:
    """Members with an open "someone may be at risk" flag on the item."""
    records = await connection.fetch(
        """SELECT DISTINCT flagger_id FROM flags
           WHERE status = 'open' AND reason = 'at_risk' AND flagger_id IS NOT NULL AND (post_id = $1 OR message_id = $2)
           ORDER BY flagger_id""",
        post_id,
        message_id,
    )
    return [record["flagger_id"] for record in records]


async def mark_reached_out(
    connection: asyncpg.Connection, *, post_id: int | None, message_id: int | None, by: int
) -> None:
    """A leader reached out to the person an item's open flags fear for."""
    await connection.execute(
        """UPDATE flags SET reached_out_by = $3, reached_out_at = now()
           WHERE status = 'open' AND (post_id = $1 OR message_id = $2)""",
        post_id,
        message_id,
        by,
    )


async def escalate_item(connection: asyncpg.Connection, *, post_id: int | None, message_id: int | None) -> int:
    """Escalate an item's open flags to the site admins now (a leader handed it over); how many were not yet."""
    result = await connection.execute(
        """UPDATE flags SET escalated_at = now()
           WHERE status = 'open' AND escalated_at IS NULL AND (post_id = $1 OR message_id = $2)""",
        post_id,
        message_id,
    )
    return int(result.split()[-1])


async def open_escalated(connection: asyncpg.Connection, community_id: int) -> bool:
    """Whether the community still has an open flag escalated to the site admins."""
    found: bool = await connection.fetchval(
        "SELECT EXISTS (SELECT 1 FROM flags WHERE community_id = $1 AND status = 'open' AND escalated_at IS NOT NULL)",
        community_id,
    )
    return found
