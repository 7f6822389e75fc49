"""Permission matrix, generated from the route table and the websocket frame types.

Every moderation or admin action is tried as each kind of person; exactly the expected ones
succeed, the rest are refused (401/403, or an error frame) and leave the database unchanged.
A new unsafe route that is not classified here makes the first test fail.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.routing import Route

from channels import protocol
from server.app import build_routes
from server.settings import Settings
from tests.factories import create_cast, create_post, create_session, create_thread, csrf_from
from tests.harness import live_server
from tests.live_client import LiveClient

ROLES = ["anonymous", "member", "muted", "banned", "other_leader", "leader", "admin"]
MODERATORS = {"leader", "admin"}
ADMINS = {"admin"}

Setup = Callable[[asyncpg.Connection, dict[str, int]], Awaitable[dict[str, Any]]]


async def _nothing(db: asyncpg.Connection, ids: dict[str, int]) -> dict[str, Any]:
    return {}


async def _thread(db: asyncpg.Connection, ids: dict[str, int]) -> dict[str, Any]:
    return {"thread_id": await create_thread(db, ids["community"], ids["member"], "A member's thread")}


async def _post(db: asyncpg.Connection, ids: dict[str, int], **columns: Any) -> dict[str, Any]:
    thread_id = await create_thread(db, ids["community"], ids["member"], "A member's thread")
    return {"post_id": await create_post(db, thread_id, ids["member"], "A reply to moderate.", **columns)}


async def _held_post(db: asyncpg.Connection, ids: dict[str, int]) -> dict[str, Any]:
    found = await _post(db, ids, state="held")
    return {"item_id": found["post_id"]}


async def _flagged_post(db: asyncpg.Connection, ids: dict[str, int]) -> dict[str, Any]:
    found = await _post(db, ids)
    await db.execute(
        "INSERT INTO flags (community_id, post_id, subject_user_id, flagger_id, reason) VALUES ($1, $2, $3, $4, 'spam')",
        ids["community"], found["post_id"], ids["member"], ids["muted"],
    )  # fmt: skip
    return {"item_id": found["post_id"]}


async def _message(db: asyncpg.Connection, ids: dict[str, int], state: str = "visible") -> int:
    room = await db.fetchval("SELECT id FROM rooms WHERE community_id = $1 AND is_main", ids["community"])
    seq = await db.fetchval("UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq", room)
    message_id: int = await db.fetchval(
        "INSERT INTO room_messages (room_id, seq, author_id, client_msg_id, body, state) VALUES ($1, $2, $3, $4, 'hi', $5) RETURNING id",
        room, seq, ids["member"], f"c{seq}", state,
    )  # fmt: skip
    return message_id


async def _held_message(db: asyncpg.Connection, ids: dict[str, int]) -> dict[str, Any]:
    return {"item_id": await _message(db, ids, "held")}


async def _flagged_message(db: asyncpg.Connection, ids: dict[str, int]) -> dict[str, Any]:
    message_id = await _message(db, ids)
    await db.execute(
        "INSERT INTO flags (community_id, message_id, subject_user_id, flagger_id, reason) VALUES ($1, $2, $3, $4, 'spam')",
        ids["community"], message_id, ids["member"], ids["muted"],
    )  # fmt: skip
    return {"item_id": message_id}


async def _chat_message(db: asyncpg.Connection, ids: dict[str, int]) -> dict[str, Any]:
    message_id = await _message(db, ids)
    return {"seq": await db.fetchval("SELECT seq FROM room_messages WHERE id = $1", message_id)}


async def _at_risk(db: asyncpg.Connection, ids: dict[str, int], kind: str) -> dict[str, Any]:
    """A post or chat message of a member someone fears is at risk (an open at_risk flag)."""
    if kind == "post":
        item_id = (await _post(db, ids))["post_id"]
    else:
        item_id = await _message(db, ids)
    await db.execute(
        f"INSERT INTO flags (community_id, {kind}_id, subject_user_id, flagger_id, reason) VALUES ($1, $2, $3, $4, 'at_risk')",
        ids["community"], item_id, ids["member"], ids["muted"],
    )  # fmt: skip
    return {"item_id": item_id}


async def _at_risk_post(db: asyncpg.Connection, ids: dict[str, int]) -> dict[str, Any]:
    return await _at_risk(db, ids, "post")


async def _at_risk_message(db: asyncpg.Connection, ids: dict[str, int]) -> dict[str, Any]:
    return await _at_risk(db, ids, "message")


async def _tip(db: asyncpg.Connection, ids: dict[str, int]) -> dict[str, Any]:
    tip_id = await db.fetchval(
        "INSERT INTO tips (community_id, author_id, name, description) VALUES ($1, $2, 'Rest', 'Rest a lot') RETURNING id",
        ids["community"], ids["member"],
    )  # fmt: skip
    return {"tip_id": tip_id}


async def _resource(db: asyncpg.Connection, ids: dict[str, int]) -> dict[str, Any]:
    resource_id = await db.fetchval(
        "INSERT INTO resources (community_id, kind, title, url) VALUES ($1, 'registry', 'A registry', 'https://example.org') RETURNING id",
        ids["community"],
    )  # fmt: skip
    return {"resource_id": resource_id}


async def _proposal(db: asyncpg.Connection, ids: dict[str, int]) -> dict[str, Any]:
    number = await db.fetchval("SELECT count(*) + 1 FROM communities")
    community = await db.fetchval(
        "INSERT INTO communities (slug, name, status) VALUES ($1, $2, 'proposed') RETURNING id",
        f"proposed-{number}",
        f"Proposed {number}",
    )
    proposal = await db.fetchval(
        "INSERT INTO community_proposals (community_id, proposer_id, reason) VALUES ($1, $2, 'No one else') RETURNING id",
        community, ids["member"],
    )  # fmt: skip
    return {"proposal_id": proposal}


async def _a_leader(db: asyncpg.Connection, ids: dict[str, int]) -> dict[str, Any]:
    # Each attempt targets a leader (an earlier allowed attempt may have removed the last one).
    await db.execute("UPDATE memberships SET role = 'leader' WHERE user_id = $1", ids["leader"])
    return {"username": "leader"}


async def _room_name(db: asyncpg.Connection, ids: dict[str, int]) -> dict[str, Any]:
    number = await db.fetchval("SELECT count(*) + 1 FROM rooms")
    return {"form": {"name": f"Parents {number}"}}


async def _invite(db: asyncpg.Connection, ids: dict[str, int]) -> dict[str, Any]:
    number = await db.fetchval("SELECT count(*) + 1 FROM community_invites")
    invite_id = await db.fetchval(
        "INSERT INTO community_invites (community_id, token_hash, created_by) VALUES ($1, $2, $3) RETURNING id",
        ids["community"], f"token {number}".encode(), ids["leader"],
    )  # fmt: skip
    return {"invite_id": invite_id}


async def _join_request(db: asyncpg.Connection, ids: dict[str, int]) -> dict[str, Any]:
    # Each attempt answers a fresh request from the signed-up outsider (an allowed attempt closes it).
    request_id = await db.fetchval(
        """INSERT INTO join_requests (community_id, user_id, message) VALUES ($1, $2, 'Hello')
           ON CONFLICT (community_id, user_id) WHERE status = 'pending' DO UPDATE SET message = 'Hello'
           RETURNING id""",
        ids["community"], ids["outsider"],
    )  # fmt: skip
    await db.execute(
        "DELETE FROM memberships WHERE user_id = $1 AND community_id = $2", ids["outsider"], ids["community"]
    )
    return {"request_id": request_id, "decision": "approve"}


async def _pseudonymous_member(db: asyncpg.Connection, ids: dict[str, int]) -> dict[str, Any]:
    await db.execute(
        "UPDATE memberships SET pseudonym = 'Rose', alias = 777 WHERE user_id = $1 AND community_id = $2",
        ids["member"], ids["community"],
    )  # fmt: skip
    return {"username": "~777", "handle": "~777"}


async def _conversation_report(db: asyncpg.Connection, ids: dict[str, int]) -> dict[str, Any]:
    # A conversation between two members, reported by one of them (a new report for each attempt).
    conversation = await db.fetchval(
        """SELECT id FROM family_connections WHERE requester_id = $1 AND addressee_id = $2 AND status = 'accepted'""",
        ids["member"], ids["muted"],
    )  # fmt: skip
    if conversation is None:
        conversation = await db.fetchval(
            """INSERT INTO family_connections (community_id, requester_id, addressee_id, status)
               VALUES ($1, $2, $3, 'accepted') RETURNING id""",
            ids["community"], ids["member"], ids["muted"],
        )  # fmt: skip
    report = await db.fetchval(
        """INSERT INTO conversation_reports (conversation_id, reporter_id, reason, up_to_seq)
           VALUES ($1, $2, 'Unkind words', 0) RETURNING id""",
        conversation, ids["member"],
    )  # fmt: skip
    return {"report_id": report}


async def _an_expert(db: asyncpg.Connection, ids: dict[str, int]) -> dict[str, Any]:
    await db.execute("UPDATE users SET is_expert = true, expert_credential = 'Nurse' WHERE id = $1", ids["member"])
    return {}


@dataclass(frozen=True)
class Case:
    """One moderation or admin action: who may do it, and how to set up and send it."""

    allowed: frozenset[str]
    setup: Setup = _nothing
    form: dict[str, str] = field(default_factory=dict)
    json_body: dict[str, Any] | None = None


def case(
    allowed: set[str],
    setup: Setup = _nothing,
    form: dict[str, str] | None = None,
    json_body: dict[str, Any] | None = None,
) -> Case:
    return Case(frozenset(allowed), setup, form or {}, json_body)


RESOURCE_FORM = {
    "kind": "registry",
    "title": "New registry",
    "url": "https://example.org/r",
    "description": "",
    "published_on": "",
}

# Every unsafe route that moderates or administers, with who may use it.
MATRIX: dict[tuple[str, str], Case] = {
    ("POST", "/admin/experts"): case(ADMINS, form={"username": "member", "credential": "Neurologist"}),
    ("POST", "/admin/experts/{username}/revoke"): case(ADMINS, _an_expert, form={"reason": "Left"}),
    ("POST", "/admin/proposals/{proposal_id:int}/decision"): case(
        ADMINS, _proposal, form={"decision": "approve", "reason": ""}
    ),
    ("POST", "/api/v1/proposals/{proposal_id:int}/decision"): case(
        ADMINS, _proposal, json_body={"decision": "approve"}
    ),
    ("POST", "/c/{slug}/leaders"): case(ADMINS, form={"username": "member"}),
    ("POST", "/c/{slug}/leaders/{username}/remove"): case(ADMINS, _a_leader),
    ("PUT", "/api/v1/communities/{slug}/leaders/{username}"): case(ADMINS),
    ("DELETE", "/api/v1/communities/{slug}/leaders/{username}"): case(ADMINS, _a_leader),
    ("POST", "/c/{slug}/members/{username}/mute"): case(MODERATORS, form={"duration": "1h", "reason": "Please pause"}),
    ("POST", "/c/{slug}/members/{username}/unmute"): case(MODERATORS),
    ("POST", "/c/{slug}/members/{username}/ban"): case(MODERATORS, form={"reason": "Spam"}),
    ("POST", "/c/{slug}/members/{username}/unban"): case(MODERATORS),
    ("POST", "/c/{slug}/live/{room}/slow-mode"): case(MODERATORS, form={"seconds": "30"}),
    ("POST", "/c/{slug}/rooms"): case(MODERATORS, _room_name),
    ("POST", "/c/{slug}/sections/{section}/edit"): case(MODERATORS, form={"body": "New text", "summary": "x"}),
    ("PUT", "/api/v1/communities/{slug}/sections/{section}"): case(MODERATORS, json_body={"body_md": "New text"}),
    ("POST", "/c/{slug}/resources/new"): case(MODERATORS, form=RESOURCE_FORM),
    ("POST", "/c/{slug}/resources/{resource_id:int}/edit"): case(MODERATORS, _resource, form=RESOURCE_FORM),
    ("POST", "/c/{slug}/resources/{resource_id:int}/remove"): case(MODERATORS, _resource),
    ("POST", "/api/v1/communities/{slug}/resources"): case(
        MODERATORS, json_body={"kind": "registry", "title": "R", "url": "https://example.org"}
    ),
    ("PATCH", "/api/v1/communities/{slug}/resources/{resource_id:int}"): case(
        MODERATORS, _resource, json_body={"title": "Renamed"}
    ),
    ("DELETE", "/api/v1/communities/{slug}/resources/{resource_id:int}"): case(MODERATORS, _resource),
    ("POST", "/c/{slug}/tips/{tip_id:int}/hide"): case(MODERATORS, _tip),
    ("POST", "/c/{slug}/tips/{tip_id:int}/unhide"): case(MODERATORS, _tip),
    ("POST", "/api/v1/communities/{slug}/tips/{tip_id:int}/hide"): case(MODERATORS, _tip, json_body={"hidden": True}),
    ("POST", "/c/{slug}/t/{thread_id:int}/lock"): case(MODERATORS, _thread, form={"value": "on"}),
    ("POST", "/c/{slug}/t/{thread_id:int}/pin"): case(MODERATORS, _thread, form={"value": "on"}),
    ("POST", "/c/{slug}/t/{thread_id:int}/move"): case(
        MODERATORS, _thread, form={"target": "other-condition", "reason": "Better there"}
    ),
    ("POST", "/c/{slug}/posts/{post_id:int}/hide"): case(MODERATORS, _post, form={"reason": "Private information"}),
    ("POST", "/c/{slug}/posts/{post_id:int}/unhide"): case(MODERATORS, lambda db, ids: _post(db, ids, state="hidden")),
    ("POST", "/api/v1/posts/{post_id:int}/hide"): case(MODERATORS, _post, json_body={"reason": "Private information"}),
    ("POST", "/api/v1/posts/{post_id:int}/restore"): case(MODERATORS, lambda db, ids: _post(db, ids, state="hidden")),
    ("POST", "/api/v1/threads/{thread_id:int}/flags"): case(MODERATORS, _thread, json_body={"locked": True}),
    ("POST", "/c/{slug}/reading"): case(MODERATORS, form={"visibility": "members"}),
    ("PUT", "/api/v1/communities/{slug}/reading"): case(MODERATORS, json_body={"visibility": "members"}),
    ("POST", "/c/{slug}/members/{username}/reveal"): case(MODERATORS, _pseudonymous_member),
    ("POST", "/api/v1/communities/{slug}/members/{handle}/reveal"): case(MODERATORS, _pseudonymous_member),
    ("POST", "/c/{slug}/invites"): case(MODERATORS, form={"needs_approval": "on", "days": "7"}),
    ("POST", "/c/{slug}/invites/{invite_id:int}/revoke"): case(MODERATORS, _invite),
    ("POST", "/c/{slug}/requests/{request_id:int}/{decision:str}"): case(MODERATORS, _join_request),
    ("POST", "/api/v1/communities/{slug}/invites"): case(MODERATORS, json_body={"needs_approval": False}),
    ("DELETE", "/api/v1/communities/{slug}/invites/{invite_id:int}"): case(MODERATORS, _invite),
    ("POST", "/api/v1/communities/{slug}/join-requests/{request_id:int}/approve"): case(MODERATORS, _join_request),
    ("POST", "/api/v1/communities/{slug}/join-requests/{request_id:int}/decline"): case(MODERATORS, _join_request),
    ("POST", "/c/{slug}/review/settings"): case(
        MODERATORS, form={"hold_first_posts": "on", "hold_release_after": "3", "flag_hide_threshold": "3"}
    ),
    ("POST", "/c/{slug}/review/posts/{item_id:int}/approve"): case(MODERATORS, _held_post),
    ("POST", "/c/{slug}/review/posts/{item_id:int}/reject"): case(
        MODERATORS, _held_post, form={"reason": "Not for here"}
    ),
    ("POST", "/c/{slug}/review/posts/{item_id:int}/uphold"): case(MODERATORS, _flagged_post, form={"reason": "Spam"}),
    ("POST", "/c/{slug}/review/posts/{item_id:int}/dismiss"): case(MODERATORS, _flagged_post),
    ("POST", "/c/{slug}/review/messages/{item_id:int}/approve"): case(MODERATORS, _held_message),
    ("POST", "/c/{slug}/review/messages/{item_id:int}/reject"): case(
        MODERATORS, _held_message, form={"reason": "Not for here"}
    ),
    ("POST", "/c/{slug}/review/messages/{item_id:int}/uphold"): case(
        MODERATORS, _flagged_message, form={"reason": "Spam"}
    ),
    ("POST", "/c/{slug}/review/messages/{item_id:int}/dismiss"): case(MODERATORS, _flagged_message),
    # A reported private conversation goes to site admins, never to leaders.
    ("POST", "/admin/conversation-reports/{report_id:int}/resolve"): case(ADMINS, _conversation_report),
    # Moderation from a message's own menu (server/routes/pages/message_moderation.py).
    ("POST", "/c/{slug}/live/{room}/messages/{seq:int}/remove"): case(
        MODERATORS, _chat_message, form={"reason": "Spam"}
    ),
    ("POST", "/c/{slug}/live/{room}/messages/{seq:int}/hold"): case(MODERATORS, _chat_message),
    ("POST", "/c/{slug}/live/{room}/messages/{seq:int}/mute"): case(
        MODERATORS, _chat_message, form={"scope": "room", "duration": "1h", "mute_reason": "Please pause"}
    ),
    ("POST", "/c/{slug}/posts/{post_id:int}/hold"): case(MODERATORS, _post),
    ("POST", "/c/{slug}/posts/{post_id:int}/mute"): case(
        MODERATORS, _post, form={"duration": "1h", "mute_reason": "Please pause"}
    ),
    # The crisis path (server/routes/pages/crisis.py).
    **{
        ("POST", f"/c/{{slug}}/review/{kind}s/{{item_id:int}}/{step}"): case(
            MODERATORS,
            _at_risk_post if kind == "post" else _at_risk_message,
            form={"message": "We are here for you."} if step == "support" else {},
        )
        for kind in ("post", "message")
        for step in ("reached-out", "support", "hand-over")
    },
}

# Unsafe routes that are not moderation: what members do for themselves (their own rules are
# tested with each feature). Listed so that a new route has to be put on one side or the other.
MEMBER_ROUTES = {
    ("POST", "/login"), ("POST", "/logout"), ("POST", "/register"),
    ("POST", "/settings/delete"), ("POST", "/settings/password"), ("POST", "/settings/preferences"), ("POST", "/settings/profile"),
    ("PATCH", "/api/v1/me"),
    ("POST", "/communities/new"), ("POST", "/api/v1/proposals"),
    ("POST", "/c/{slug}/join"), ("POST", "/c/{slug}/leave"), ("POST", "/c/{slug}/leadership"), ("POST", "/c/{slug}/welcomer"),
    ("POST", "/api/v1/communities/{slug}/membership"), ("DELETE", "/api/v1/communities/{slug}/membership"),
    ("POST", "/api/v1/communities/{slug}/leadership"),
    ("POST", "/c/{slug}/tips"), ("POST", "/api/v1/communities/{slug}/tips"),
    ("POST", "/c/{slug}/forum/new"), ("POST", "/c/{slug}/ask"), ("POST", "/c/{slug}/introductions/new"),
    ("POST", "/api/v1/communities/{slug}/threads"), ("POST", "/api/v1/threads/{thread_id:int}/posts"),
    ("POST", "/c/{slug}/t/{thread_id:int}/reply"), ("POST", "/c/{slug}/t/{thread_id:int}/accept"),
    ("POST", "/api/v1/threads/{thread_id:int}/accept"),
    ("POST", "/c/{slug}/posts/{post_id:int}/edit"), ("POST", "/c/{slug}/posts/{post_id:int}/delete"),
    ("POST", "/c/{slug}/posts/{post_id:int}/restore"), ("POST", "/c/{slug}/posts/{post_id:int}/react"),
    ("PATCH", "/api/v1/posts/{post_id:int}"), ("DELETE", "/api/v1/posts/{post_id:int}"),
    ("POST", "/api/v1/posts/{post_id:int}/reaction"), ("DELETE", "/api/v1/posts/{post_id:int}/reaction"),
    ("POST", "/c/{slug}/posts/{post_id:int}/flag"), ("POST", "/c/{slug}/live/{room}/messages/{seq:int}/flag"),
    ("POST", "/c/{slug}/live/{room}/presence"),
    # Chat to knowledge: leaders or an author propose, each quoted author answers for their own words
    # (tests/server/routes/test_chat_knowledge.py).
    ("POST", "/c/{slug}/live/{room}/propose"), ("POST", "/c/{slug}/quotes/{proposal_id:int}/answer"),
    ("POST", "/notifications/preferences"), ("POST", "/notifications/read"), ("POST", "/notifications/{notification_id:int}/read"),
    ("POST", "/api/v1/notifications/read"),
    ("POST", "/join/{token}"), ("POST", "/api/v1/invites/{token}/join"),
    ("POST", "/c/{slug}/pseudonym"), ("PUT", "/api/v1/communities/{slug}/pseudonym"),
    # Families like mine and private conversations: a member's own facts, requests and conversations
    # (tests/server/actions/test_families.py, tests/server/actions/test_conversations.py).
    ("POST", "/c/{slug}/families"), ("POST", "/c/{slug}/families/opt-out"), ("POST", "/c/{slug}/families/connect"),
    ("POST", "/c/{slug}/families/requests/{connection_id:int}/{decision:str}"),
    ("PUT", "/api/v1/communities/{slug}/families/me"), ("DELETE", "/api/v1/communities/{slug}/families/me"),
    ("POST", "/api/v1/communities/{slug}/families/connections"),
    ("POST", "/api/v1/communities/{slug}/families/connections/{connection_id:int}/accept"),
    ("POST", "/api/v1/communities/{slug}/families/connections/{connection_id:int}/decline"),
    ("POST", "/api/v1/communities/{slug}/families/connections/{connection_id:int}/block"),
    ("POST", "/conversations/{conversation_id:int}/messages"), ("POST", "/conversations/{conversation_id:int}/report"),
    ("POST", "/conversations/{conversation_id:int}/block"),
    ("POST", "/api/v1/conversations/{conversation_id:int}/messages"), ("POST", "/api/v1/conversations/{conversation_id:int}/report"),
    ("POST", "/api/v1/conversations/{conversation_id:int}/block"),
}  # fmt: skip

# Websocket frames: `remove` moderates and `edits` reads what only leaders may (a message's earlier texts);
# the rest are a member's own actions (`edit` and `delete` only of one's own message: test_live_messages.py).
MODERATION_FRAMES = {protocol.Remove, protocol.AskEdits}
MEMBER_FRAMES = {
    protocol.EditMessage,
    protocol.DeleteMessage,
    protocol.React,
    protocol.FindMembers,
    protocol.Join,
    protocol.Leave,
    protocol.Send,
    protocol.Typing,
    protocol.Read,
    protocol.Ping,
    protocol.Watch,
    protocol.Unwatch,
}

# Tables whose rows must not change when an action is refused (sessions are touched on reads).
TABLES = [
    "users", "communities", "community_proposals", "condition_sections", "section_revisions", "memberships",
    "threads", "posts", "post_revisions", "rooms", "room_messages", "resources", "tips", "reactions", "flags",
    "moderation_actions", "sanctions", "notifications", "community_invites", "join_requests",
    "family_facts", "family_connections", "conversation_messages", "person_blocks", "conversation_reports",
    "room_message_edits", "room_message_reactions",
]  # fmt: skip


def unsafe_routes() -> set[tuple[str, str]]:
    found = set()
    for route in build_routes():
        if isinstance(route, Route):
            for method in (route.methods or set()) - {"GET", "HEAD"}:
                found.add((method, route.path))
    return found


def test_every_unsafe_route_and_frame_type_is_classified() -> None:
    routes = unsafe_routes()
    unclassified = sorted(routes - set(MATRIX) - MEMBER_ROUTES)
    assert unclassified == [], "classify these routes in MATRIX (moderation/admin) or MEMBER_ROUTES"
    assert sorted(set(MATRIX) - routes) == [], "these matrix routes no longer exist"
    frames = set(typing.get_args(protocol.AnyClientFrame))
    assert frames == MODERATION_FRAMES | MEMBER_FRAMES


async def _snapshot(db: asyncpg.Connection) -> dict[str, list[Any]]:
    return {table: sorted(map(tuple, await db.fetch(f"SELECT * FROM {table}")), key=repr) for table in TABLES}


def _fill(path: str, params: dict[str, Any]) -> str:
    values = {"slug": "test-condition", "username": "member", "room": "main", "section": "causes", **params}
    for name, value in values.items():
        for pattern in (f"{{{name}:int}}", f"{{{name}:str}}", f"{{{name}}}"):
            path = path.replace(pattern, str(value))
    return path


async def _as(role: str, db: asyncpg.Connection, ids: dict[str, int], base_url: str) -> httpx.AsyncClient:
    cookies = {}
    if role != "anonymous":
        cookies["kindred_session"] = await create_session(db, ids[role])
    return httpx.AsyncClient(base_url=base_url, cookies=cookies, timeout=10)


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX), ids=lambda value: str(value))
async def test_only_the_expected_roles_can_use_each_moderation_route(
    settings: Settings, db: asyncpg.Connection, method: str, path: str
) -> None:
    entry = MATRIX[(method, path)]
    ids = await create_cast(db)
    async with live_server(settings) as server:
        # Refused roles first: each must leave the database exactly as it was.
        for role in [r for r in ROLES if r not in entry.allowed] + [r for r in ROLES if r in entry.allowed]:
            params = await entry.setup(db, ids)
            form = {**entry.form, **params.pop("form", {})}
            url = _fill(path, params)
            before = await _snapshot(db)
            async with await _as(role, db, ids, server.base_url) as http:
                if path.startswith("/api/"):
                    session = (await http.get("/api/v1/session")).json()
                    headers = {"x-csrf-token": session.get("csrf_token") or ""}
                    body = json.dumps(entry.json_body) if entry.json_body is not None else None
                    response = await http.request(
                        method, url, content=body, headers={**headers, "content-type": "application/json"}
                    )
                else:
                    token = csrf_from((await http.get("/login")).text)
                    response = await http.request(method, url, data={**form, "csrf_token": token})
            if role in entry.allowed:
                assert response.status_code < 400, (role, response.status_code, response.text[:300])
            else:
                assert response.status_code in {401, 403}, (role, response.status_code, response.text[:300])
                assert await _snapshot(db) == before, f"{role} changed the database"


@pytest.mark.parametrize("role", ROLES)
async def test_only_leaders_and_admins_can_remove_a_live_message(
    settings: Settings, db: asyncpg.Connection, role: str
) -> None:
    ids = await create_cast(db)
    # Rooms open to everyone, so visitors and leaders of elsewhere join and are refused at the remove itself.
    await db.execute("UPDATE communities SET rooms_open = true WHERE id = $1", ids["community"])
    await _message(db, ids)
    async with live_server(settings) as server:
        session = await create_session(db, ids[role]) if role != "anonymous" else None
        client = await LiveClient.connect(server.ws_url, server.base_url, session)
        joined = await client.join("test-condition/main")
        before = await _snapshot(db)
        if joined["type"] != "joined":
            assert role == "banned" and joined["code"] == "banned"
            assert await _snapshot(db) == before
            return
        start = len(client.frames)
        await client.send({"type": "remove", "room": "test-condition/main", "seq": 1, "reason": "test"})
        answer = await client.wait_for(lambda f: f["type"] in {"remove", "error"}, start=start)
        if role in MODERATORS:
            assert answer == {"type": "remove", "room": "test-condition/main", "seq": 1}
            assert await db.fetchval("SELECT state FROM room_messages") == "hidden"
        else:
            assert answer["type"] == "error" and answer["code"] in {"forbidden"}
            assert await _snapshot(db) == before
        await client.close()


@pytest.mark.parametrize("role", ROLES)
async def test_only_leaders_and_admins_can_read_the_earlier_texts_of_an_edited_live_message(
    settings: Settings, db: asyncpg.Connection, role: str
) -> None:
    ids = await create_cast(db)
    await db.execute("UPDATE communities SET rooms_open = true WHERE id = $1", ids["community"])
    await _message(db, ids)
    message_id = await db.fetchval("SELECT id FROM room_messages")
    await db.execute(
        "INSERT INTO room_message_edits (message_id, body, written_at) VALUES ($1, 'the first words', now())",
        message_id,
    )
    async with live_server(settings) as server:
        session = await create_session(db, ids[role]) if role != "anonymous" else None
        client = await LiveClient.connect(server.ws_url, server.base_url, session)
        joined = await client.join("test-condition/main")
        if joined["type"] != "joined":
            assert role == "banned" and joined["code"] == "banned"
            return
        start = len(client.frames)
        await client.send({"type": "edits", "room": "test-condition/main", "seq": 1})
        answer = await client.wait_for(lambda f: f["type"] in {"edits", "error"}, start=start)
        if role in MODERATORS:
            assert [version["body"] for version in answer["versions"]] == ["the first words"]
        else:
            assert answer["type"] == "error" and answer["code"] == "forbidden"
            assert "the first words" not in str(client.frames)
        await client.close()
