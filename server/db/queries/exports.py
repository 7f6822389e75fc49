"""SQL for "download all my data": every row a member wrote or that is about them, as plain values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

# One query per part of the export, each taking the user id as $1. Password hashes, session
# ids and CSRF tokens are secrets, not data about the person, so they are never exported.
_PARTS: dict[str, str] = {
    "profile": """
        SELECT id, username, display_name, bio, email, is_admin, is_expert, language, time_zone, created_at,
               show_communities, show_posts
        FROM users WHERE id = $1""",
    "sessions": """
        SELECT created_at, last_seen_at, expires_at, user_agent FROM sessions WHERE user_id = $1 ORDER BY created_at""",
    "memberships": """
        SELECT c.slug AS community_slug, c.name AS community_name, m.role, m.is_welcomer, m.approved_posts,
               m.joined_at, m.pseudonym
        FROM memberships m JOIN communities c ON c.id = m.community_id WHERE m.user_id = $1 ORDER BY m.joined_at""",
    "threads": """
        SELECT t.id, c.slug AS community_slug, t.kind, t.title, t.state, t.audience, t.pinned, t.locked, t.intro,
               t.created_at
        FROM threads t JOIN communities c ON c.id = t.community_id WHERE t.author_id = $1 ORDER BY t.id""",
    "posts": """
        SELECT p.id, p.thread_id, p.body_md, p.state, p.audience, p.reply_to_post_id, p.created_at, p.edited_at
        FROM posts p WHERE p.author_id = $1 ORDER BY p.id""",
    "post_revisions": """
        SELECT r.id, r.post_id, r.body_md, (r.editor_id = $1) AS edited_by_me, r.created_at
        FROM post_revisions r JOIN posts p ON p.id = r.post_id
        WHERE p.author_id = $1 OR r.editor_id = $1 ORDER BY r.id""",
    "chat_messages": """
        SELECT m.id, c.slug AS community_slug, r.slug AS room_slug, m.seq, m.body, m.state, m.created_at,
               m.edited_at
        FROM room_messages m JOIN rooms r ON r.id = m.room_id JOIN communities c ON c.id = r.community_id
        WHERE m.author_id = $1 ORDER BY m.id""",
    "tips": """
        SELECT t.id, c.slug AS community_slug, t.name, t.description, t.hidden, t.created_at
        FROM tips t JOIN communities c ON c.id = t.community_id WHERE t.author_id = $1 ORDER BY t.id""",
    "reactions": """
        SELECT post_id, kind, created_at FROM reactions WHERE user_id = $1 ORDER BY created_at, post_id""",
    "flags": """
        SELECT f.id, c.slug AS community_slug, f.post_id, f.message_id, f.reason, f.note, f.status, f.created_at
        FROM flags f JOIN communities c ON c.id = f.community_id WHERE f.flagger_id = $1 ORDER BY f.id""",
    "notifications": """
        SELECT id, kind, community_id, thread_id, post_id, data, created_at, read_at
        FROM notifications WHERE user_id = $1 ORDER BY id""",
    "notification_preferences": """
        SELECT kind, in_app, email FROM notification_preferences WHERE user_id = $1 ORDER BY kind""",
    "proposals": """
        SELECT p.id, c.slug AS community_slug, c.name AS community_name, p.reason, p.status, p.decision_reason,
               p.created_at, p.decided_at
        FROM community_proposals p JOIN communities c ON c.id = p.community_id
        WHERE p.proposer_id = $1 ORDER BY p.id""",
    "section_revisions": """
        SELECT s.id, c.slug AS community_slug, s.section, s.body_md, s.summary, s.created_at
        FROM section_revisions s JOIN communities c ON c.id = s.community_id WHERE s.author_id = $1 ORDER BY s.id""",
    "resources": """
        SELECT r.id, c.slug AS community_slug, r.kind, r.title, r.description, r.url, r.published_on, r.created_at
        FROM resources r JOIN communities c ON c.id = r.community_id WHERE r.created_by = $1 ORDER BY r.id""",
    # Families like mine and private conversations: one's own facts, requests and words (never the other's).
    "family_facts": """
        SELECT c.slug AS community_slug, f.gene, f.variant, f.subtype, f.treatments, f.age_band, f.country,
               f.languages, f.updated_at
        FROM family_facts f JOIN communities c ON c.id = f.community_id WHERE f.user_id = $1 ORDER BY c.slug""",
    "family_connections": """
        SELECT fc.id, c.slug AS community_slug, fc.status, (fc.requester_id = $1) AS asked_by_me, fc.created_at,
               fc.answered_at
        FROM family_connections fc JOIN communities c ON c.id = fc.community_id
        WHERE fc.requester_id = $1 OR fc.addressee_id = $1 ORDER BY fc.id""",
    "conversation_messages": """
        SELECT m.conversation_id, m.seq, m.body, m.created_at
        FROM conversation_messages m WHERE m.author_id = $1 ORDER BY m.id""",
    "conversation_reports": """
        SELECT conversation_id, reason, up_to_seq, created_at FROM conversation_reports WHERE reporter_id = $1
        ORDER BY id""",
    "person_blocks": """
        SELECT u.username AS blocked_username, b.created_at
        FROM person_blocks b JOIN users u ON u.id = b.blocked_id WHERE b.blocker_id = $1 ORDER BY b.created_at""",
    # The live rooms beyond the messages themselves: their earlier versions and one's reactions.
    "chat_message_versions": """
        SELECT e.message_id, e.body, e.written_at, e.replaced_at
        FROM room_message_edits e JOIN room_messages m ON m.id = e.message_id WHERE m.author_id = $1 ORDER BY e.id""",
    "chat_reactions": """
        SELECT message_id, kind, created_at FROM room_message_reactions WHERE user_id = $1 ORDER BY created_at,
        message_id""",
    # Chat to knowledge: what one proposed, and one's answer for each message of one's own that was quoted.
    "chat_proposals": """
        SELECT p.id, c.slug AS community_slug, r.slug AS room_slug, p.kind, p.title, p.note, p.status,
               p.resource_kind, p.url, p.created_at
        FROM chat_proposals p JOIN communities c ON c.id = p.community_id JOIN rooms r ON r.id = p.room_id
        WHERE p.proposer_id = $1 ORDER BY p.id""",
    "chat_quotes": """
        SELECT q.proposal_id, p.kind, p.title, c.slug AS community_slug, r.slug AS room_slug, m.seq, q.consent,
               q.decided_at
        FROM chat_proposal_quotes q JOIN chat_proposals p ON p.id = q.proposal_id
        JOIN room_messages m ON m.id = q.message_id JOIN rooms r ON r.id = m.room_id
        JOIN communities c ON c.id = r.community_id
        WHERE q.author_id = $1 ORDER BY q.proposal_id, m.seq""",
    # What leaders decided about one: mutes and bans with their reasons (not who decided), and join requests.
    "sanctions": """
        SELECT c.slug AS community_slug, r.slug AS room_slug, s.kind, s.reason, s.created_at, s.ends_at, s.lifted_at
        FROM sanctions s JOIN communities c ON c.id = s.community_id LEFT JOIN rooms r ON r.id = s.room_id
        WHERE s.user_id = $1 ORDER BY s.id""",
    "join_requests": """
        SELECT c.slug AS community_slug, j.message, j.status, j.created_at, j.decided_at
        FROM join_requests j JOIN communities c ON c.id = j.community_id WHERE j.user_id = $1 ORDER BY j.id""",
}

# Columns naming a user that no part exports, and why (tests/server/routes/test_settings_pages.py checks that
# every column referring to users is here or in a part's SQL).
NOT_EXPORTED: dict[str, str] = {
    "sessions.user_id": "exported as the 'sessions' part without the secret id",
    "room_members.user_id": "read positions in rooms: bookkeeping for unread counts",
    "conversation_messages.author_id": "exported as 'conversation_messages' (one's own words only)",
    "moderation_actions.actor_id": "the audit log of leaders' actions, the community's record",
    "moderation_actions.target_user_id": "the audit log; what it decided about the member is in 'sanctions'",
    "sanctions.created_by": "who decided is the leader's data, not the member's",
    "sanctions.lifted_by": "who decided is the leader's data, not the member's",
    "join_requests.decided_by": "who decided is the leader's data, not the member's",
    "notifications.actor_id": "whoever caused a notification is their data; the notification is exported",
    "flags.handled_by": "the leader who handled a flag",
    "community_invites.created_by": "a leader's invitation links",
    "room_messages.state_changed_by": "the leader or author who changed a message's state",
    "tips.hidden_by": "the leader who hid a tip",
    "community_proposals.decided_by": "the site admin who decided a proposal",
    "condition_sections.updated_by": "the last editor of a condition page section (one's own edits are in "
    "'section_revisions')",
    "conversation_reports.resolved_by": "the site admin who dealt with a report",
    "flags.reached_out_by": "the leader who reached out to someone at risk",
    # Kept out on purpose: a report that the member may be at risk would tell them that someone, perhaps a
    # fellow parent, asked for help for them. What leaders wrote to them is in 'notifications'.
    "flags.subject_user_id": "a report that the member may be at risk, to protect whoever asked for help for them",
    "person_blocks.blocked_id": "that someone blocked the member is the blocker's data ('person_blocks' has one's own)",
    "chat_proposal_quotes.author_id": "exported as 'chat_quotes'",
}


@dataclass(frozen=True)
class Export:
    """Each part is a list of rows as dicts of plain values (the profile part has one row)."""

    parts: dict[str, list[dict[str, Any]]]


async def for_user(connection: asyncpg.Connection, user_id: int) -> Export:
    parts: dict[str, list[dict[str, Any]]] = {}
    # One snapshot for every part, so the export is consistent even while the member is active.
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        for name, sql in _PARTS.items():
            parts[name] = [dict(row) for row in await connection.fetch(sql, user_id)]
    return Export(parts)
