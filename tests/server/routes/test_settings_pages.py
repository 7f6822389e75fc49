"""The settings page over HTTP: profile, password, language and time zone, data export, account deletion."""

from __future__ import annotations

import json

import asyncpg
import httpx
import pytest

from channels.protocol import CloseCode
from server import auth, passwords
from server.db.queries import exports
from tests.factories import DEFAULT_PASSWORD, add_member, create_community, create_user, csrf_from, login
from tests.harness import LiveServer
from tests.live_client import LiveClient
from tests.server.routes.test_profiles import create_post
from tests.test_templates import page_problems

NEW_PASSWORD = "a brand new passphrase"


async def _submit(client: httpx.AsyncClient, path: str, data: dict[str, str]) -> httpx.Response:
    token = csrf_from((await client.get("/settings")).text)
    return await client.post(path, data={**data, "csrf_token": token})


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/settings"),
        ("GET", "/settings/export.json"),
        ("POST", "/settings/profile"),
        ("POST", "/settings/password"),
        ("POST", "/settings/preferences"),
        ("POST", "/settings/delete"),
    ],
)
async def test_anonymous_visitors_are_sent_to_log_in_first(
    client: httpx.AsyncClient, db: asyncpg.Connection, method: str, path: str
) -> None:
    await create_user(db, "maria")
    response = await client.request(method, path, data={"display_name": "x", "confirm_username": "maria"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/settings"
    assert await db.fetchval("SELECT count(*) FROM users WHERE deleted_at IS NULL AND display_name = 'Maria'") == 1


async def test_the_settings_page_is_labelled_and_its_headings_are_in_order(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_user(db, "maria")
    await login(client, "maria")
    response = await client.get("/settings")
    assert response.status_code == 200
    assert page_problems(response.text) == []
    for section in ["profile", "password", "preferences", "data", "delete"]:
        assert f'id="{section}"' in response.text


async def test_a_member_changes_display_name_and_bio(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    user_id = await create_user(db, "maria")
    await login(client, "maria")
    response = await _submit(
        client, "/settings/profile", {"display_name": "  María   G. ", "bio": "Line one\r\nLine two  "}
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/settings?saved=profile")
    row = await db.fetchrow("SELECT display_name, bio FROM users WHERE id = $1", user_id)
    assert (row["display_name"], row["bio"]) == ("María G.", "Line one\nLine two")
    page = (await client.get("/settings?saved=profile")).text
    assert "Your profile has been saved." in page
    assert "María G." in (await client.get("/u/maria")).text


async def test_an_empty_display_name_falls_back_to_the_username(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    user_id = await create_user(db, "maria", display_name="María")
    await login(client, "maria")
    await _submit(client, "/settings/profile", {"display_name": "   ", "bio": ""})
    assert await db.fetchval("SELECT display_name FROM users WHERE id = $1", user_id) == "maria"


async def test_a_too_long_bio_is_refused_and_what_was_typed_is_kept(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    user_id = await create_user(db, "maria")
    await login(client, "maria")
    long_bio = "word " * 300
    response = await _submit(client, "/settings/profile", {"display_name": "New name", "bio": long_bio})
    assert response.status_code == 400
    assert "A bio can have at most 1000 characters." in response.text
    assert 'aria-invalid="true"' in response.text and 'aria-describedby="f-bio-error' in response.text
    assert long_bio in response.text and 'value="New name"' in response.text
    row = await db.fetchrow("SELECT display_name, bio FROM users WHERE id = $1", user_id)
    assert (row["display_name"], row["bio"]) == ("Maria", "")


async def test_settings_forms_without_the_csrf_token_are_refused_and_change_nothing(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    user_id = await create_user(db, "maria")
    await login(client, "maria")
    forms = {
        "/settings/profile": {"display_name": "Changed", "bio": "changed"},
        "/settings/password": {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        "/settings/preferences": {"language": "fr", "time_zone": "Europe/Paris"},
        "/settings/delete": {"confirm_username": "maria"},
    }
    for path, data in forms.items():
        response = await client.post(path, data={**data, "csrf_token": "forged"})
        assert response.status_code == 403, path
    row = await db.fetchrow("SELECT * FROM users WHERE id = $1", user_id)
    assert row["display_name"] == "Maria" and row["bio"] == "" and row["language"] is None
    assert row["time_zone"] == "UTC" and row["deleted_at"] is None
    assert passwords.verify_password(row["password_hash"], DEFAULT_PASSWORD)


async def test_changing_the_password_needs_the_current_one(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    user_id = await create_user(db, "maria")
    await login(client, "maria")
    response = await _submit(
        client, "/settings/password", {"current_password": "not my password", "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 400
    assert "Your current password is not right." in response.text and 'id="f-current_password-error"' in response.text
    assert passwords.verify_password(
        await db.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id), DEFAULT_PASSWORD
    )


async def test_a_weak_new_password_is_refused_next_to_its_field(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_user(db, "maria")
    await login(client, "maria")
    response = await _submit(
        client, "/settings/password", {"current_password": DEFAULT_PASSWORD, "new_password": "short"}
    )
    assert response.status_code == 400
    assert 'id="f-new_password-error"' in response.text and "at least 8 characters" in response.text


async def test_changing_the_password_signs_out_other_devices_but_not_this_one(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_user(db, "maria")
    async with httpx.AsyncClient(base_url=str(client.base_url)) as other_device:
        await login(other_device, "maria")
        await login(client, "maria")
        response = await _submit(
            client, "/settings/password", {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
        )
        assert response.status_code == 303
        assert (await client.get("/settings")).status_code == 200
        assert (await other_device.get("/settings")).status_code == 303
    assert await db.fetchval("SELECT count(*) FROM sessions") == 1
    async with httpx.AsyncClient(base_url=str(client.base_url)) as fresh:
        await login(fresh, "maria", NEW_PASSWORD)


async def test_language_and_time_zone_are_saved_and_used_for_the_next_pages(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    user_id = await create_user(db, "maria")
    await login(client, "maria")
    response = await _submit(client, "/settings/preferences", {"language": "fr", "time_zone": "America/Montreal"})
    assert response.status_code == 303
    row = await db.fetchrow("SELECT language, time_zone FROM users WHERE id = $1", user_id)
    assert (row["language"], row["time_zone"]) == ("fr", "America/Montreal")
    page = await client.get("/settings?saved=preferences", headers={"accept-language": "en"})
    assert '<html lang="fr">' in page.text and "Paramètres" in page.text
    assert '<option value="America/Montreal" selected>' in page.text


async def test_browser_default_clears_the_language_setting(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    user_id = await create_user(db, "maria")
    await db.execute("UPDATE users SET language = 'fr' WHERE id = $1", user_id)
    await login(client, "maria")
    await _submit(client, "/settings/preferences", {"language": "", "time_zone": "UTC"})
    assert await db.fetchval("SELECT language FROM users WHERE id = $1", user_id) is None
    page = await client.get("/settings", headers={"accept-language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in page.text and '<option value="" selected>' in page.text


@pytest.mark.parametrize(
    ("language", "time_zone", "message"),
    [
        ("de", "UTC", "Please choose one of the languages in the list."),
        ("en", "Mars/Olympus_Mons", "Please choose a time zone from the list"),
        ("en", "", "Please choose a time zone from the list"),
        ("en", "../../etc/passwd", "Please choose a time zone from the list"),
    ],
)
async def test_an_unknown_language_or_time_zone_is_refused(
    client: httpx.AsyncClient, db: asyncpg.Connection, language: str, time_zone: str, message: str
) -> None:
    user_id = await create_user(db, "maria")
    await login(client, "maria")
    response = await _submit(client, "/settings/preferences", {"language": language, "time_zone": time_zone})
    assert response.status_code == 400 and message in response.text
    row = await db.fetchrow("SELECT language, time_zone FROM users WHERE id = $1", user_id)
    assert (row["language"], row["time_zone"]) == (None, "UTC")


async def _fill_account(db: asyncpg.Connection, user_id: int, other_id: int) -> dict[str, int]:
    """Some of everything for user_id, and a little for other_id that must stay out of user_id's export."""
    community = await create_community(db, "cms", "CMS")
    await add_member(db, community, user_id)
    await add_member(db, community, other_id)
    thread_id, post_id = await create_post(db, community, user_id, "my first post", title="My thread")
    _other_thread, other_post = await create_post(db, community, other_id, "someone else's post", title="Other")
    await db.execute(
        "INSERT INTO post_revisions (post_id, body_md, editor_id) VALUES ($1, 'my earlier version', $2)",
        post_id,
        user_id,
    )
    room_id = await db.fetchval("SELECT id FROM rooms WHERE community_id = $1", community)
    await db.execute(
        "INSERT INTO room_messages (room_id, seq, author_id, client_msg_id, body) VALUES ($1, 1, $2, 'c1', 'my chat line')",
        room_id,
        user_id,
    )
    await db.execute(
        "INSERT INTO tips (community_id, author_id, name, description) VALUES ($1, $2, 'Straws', 'my tip text')",
        community,
        user_id,
    )
    await db.execute("INSERT INTO reactions (post_id, user_id, kind) VALUES ($1, $2, 'thanks')", other_post, user_id)
    await db.execute(
        "INSERT INTO flags (community_id, post_id, flagger_id, reason, note) VALUES ($1, $2, $3, 'spam', 'my flag note')",
        community,
        other_post,
        user_id,
    )
    await db.execute(
        "INSERT INTO notifications (user_id, kind, community_id, thread_id, data) VALUES ($1, 'reply', $2, $3, '{\"n\": 1}')",
        user_id,
        community,
        thread_id,
    )
    proposed = await db.fetchval(
        "INSERT INTO communities (slug, name, status) VALUES ('new-one', 'New One', 'proposed') RETURNING id"
    )
    await db.execute(
        "INSERT INTO community_proposals (community_id, proposer_id, reason) VALUES ($1, $2, 'my proposal reason')",
        proposed,
        user_id,
    )
    # The live room beyond the message: an earlier version, a reaction, a quote in a proposal; and what
    # leaders decided about her, and whom she blocked.
    mine = await db.fetchval("SELECT id FROM room_messages WHERE room_id = $1 AND seq = 1", room_id)
    await db.execute(
        "INSERT INTO room_message_edits (message_id, body, written_at) VALUES ($1, 'my chat line, first try', now())",
        mine,
    )
    await db.execute(
        "INSERT INTO room_message_reactions (message_id, user_id, kind) VALUES ($1, $2, 'helped')", mine, user_id
    )
    proposal = await db.fetchval(
        """INSERT INTO chat_proposals (community_id, room_id, proposer_id, kind, title, note)
           VALUES ($1, $2, $3, 'tip', 'Night feeds', 'my proposal note') RETURNING id""",
        community, room_id, user_id,
    )  # fmt: skip
    await db.execute(
        "INSERT INTO chat_proposal_quotes (proposal_id, message_id, author_id, consent) VALUES ($1, $2, $3, 'accepted')",
        proposal, mine, user_id,
    )  # fmt: skip
    await db.execute(
        "INSERT INTO sanctions (community_id, user_id, kind, reason, ends_at) VALUES ($1, $2, 'mute', 'my mute reason', now())",
        community, user_id,
    )  # fmt: skip
    await db.execute(
        "INSERT INTO join_requests (community_id, user_id, message) VALUES ($1, $2, 'my join message')",
        proposed,
        user_id,
    )
    await db.execute("INSERT INTO person_blocks (blocker_id, blocked_id) VALUES ($1, $2)", user_id, other_id)
    await db.execute("INSERT INTO person_blocks (blocker_id, blocked_id) VALUES ($1, $2)", other_id, user_id)
    return {"community": community, "thread": thread_id, "post": post_id, "room": room_id}


async def test_download_all_my_data_as_a_json_attachment(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    user_id = await create_user(db, "maria", email="maria@example.org")
    other_id = await create_user(db, "jon", email="jon@example.org")
    ids = await _fill_account(db, user_id, other_id)
    await login(client, "maria")

    response = await client.get("/settings/export.json")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"] == 'attachment; filename="kindred-data-maria.json"'
    data = json.loads(response.content)
    assert data["profile"]["username"] == "maria" and data["profile"]["email"] == "maria@example.org"
    assert [m["community_slug"] for m in data["memberships"]] == ["cms"]
    assert [t["id"] for t in data["threads"]] == [ids["thread"]]
    assert [p["body_md"] for p in data["posts"]] == ["my first post"]
    assert [r["body_md"] for r in data["post_revisions"]] == ["my earlier version"]
    assert [m["body"] for m in data["chat_messages"]] == ["my chat line"]
    assert [t["description"] for t in data["tips"]] == ["my tip text"]
    assert [r["kind"] for r in data["reactions"]] == ["thanks"]
    assert [f["note"] for f in data["flags"]] == ["my flag note"]
    assert [n["data"] for n in data["notifications"]] == [{"n": 1}]
    assert [p["reason"] for p in data["proposals"]] == ["my proposal reason"]
    assert [v["body"] for v in data["chat_message_versions"]] == ["my chat line, first try"]
    assert [r["kind"] for r in data["chat_reactions"]] == ["helped"]
    assert [(p["title"], p["note"]) for p in data["chat_proposals"]] == [("Night feeds", "my proposal note")]
    assert [(q["title"], q["seq"], q["consent"]) for q in data["chat_quotes"]] == [("Night feeds", 1, "accepted")]
    assert [(s["kind"], s["reason"]) for s in data["sanctions"]] == [("mute", "my mute reason")]
    assert [j["message"] for j in data["join_requests"]] == ["my join message"]
    assert [b["blocked_username"] for b in data["person_blocks"]] == ["jon"]  # not that jon blocked her
    assert len(data["sessions"]) == 1
    text = response.text
    assert "jon@example.org" not in text and "someone else's post" not in text
    # Secrets are not personal data: no password hash, session id or CSRF token.
    assert "argon2" not in text and "password" not in text and "csrf" not in text.lower()


async def test_deleting_needs_the_username_typed_exactly(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    user_id = await create_user(db, "maria")
    await login(client, "maria")
    response = await _submit(client, "/settings/delete", {"confirm_username": "Maria"})
    assert response.status_code == 400
    assert "Type your username exactly as shown to confirm." in response.text
    assert 'value="Maria"' in response.text
    assert await db.fetchval("SELECT deleted_at FROM users WHERE id = $1", user_id) is None
    assert (await client.get("/settings")).status_code == 200


async def test_the_settings_page_explains_what_deleting_keeps(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_user(db, "maria")
    await login(client, "maria")
    page = (await client.get("/settings")).text
    assert "cannot be undone" in page and "Former member" in page and "chat messages stay" in page


async def test_deleting_the_account_anonymizes_it_and_keeps_posts_as_former_member(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    user_id = await create_user(db, "maria", email="maria@example.org")
    other_id = await create_user(db, "jon")
    ids = await _fill_account(db, user_id, other_id)
    await db.execute("UPDATE users SET bio = 'my bio', language = 'fr' WHERE id = $1", user_id)
    async with httpx.AsyncClient(base_url=str(client.base_url)) as other_device:
        await login(other_device, "maria")
        await login(client, "maria")

        response = await _submit(client, "/settings/delete", {"confirm_username": "maria"})

        assert response.status_code == 303 and response.headers["location"] == "/settings/deleted"
        cleared = [c for c in response.headers.get_list("set-cookie") if c.startswith(auth.SESSION_COOKIE + "=")]
        assert cleared and ("Max-Age=0" in cleared[0] or "expires=" in cleared[0].lower())
        assert (await other_device.get("/settings")).status_code == 303
    done = await client.get("/settings/deleted")
    assert done.status_code == 200 and "Your account has been deleted" in done.text

    row = await db.fetchrow("SELECT * FROM users WHERE id = $1", user_id)
    assert row["username"] == f"deleted-{user_id}" and row["display_name"] == "Former member"
    assert row["bio"] == "" and row["email"] is None and row["password_hash"] is None
    assert row["deleted_at"] is not None and row["language"] is None
    assert await db.fetchval("SELECT count(*) FROM sessions WHERE user_id = $1", user_id) == 0
    assert await db.fetchval("SELECT count(*) FROM memberships WHERE user_id = $1", user_id) == 0
    assert await db.fetchval("SELECT member_count FROM communities WHERE id = $1", ids["community"]) == 1
    assert await db.fetchval("SELECT count(*) FROM notifications WHERE user_id = $1", user_id) == 0
    # What they wrote stays, attributed to the anonymized row.
    assert await db.fetchval("SELECT author_id FROM posts WHERE id = $1", ids["post"]) == user_id
    assert await db.fetchval("SELECT count(*) FROM room_messages WHERE author_id = $1", user_id) == 1
    assert await db.fetchval("SELECT count(*) FROM tips WHERE author_id = $1", user_id) == 1
    # The other member is untouched.
    assert await db.fetchval("SELECT count(*) FROM memberships WHERE user_id = $1", other_id) == 1
    # No one can sign in as maria any more, and the profile is gone.
    page = await client.get("/login")
    refused = await client.post(
        "/login", data={"username": "maria", "password": DEFAULT_PASSWORD, "csrf_token": csrf_from(page.text)}
    )
    assert refused.status_code == 400
    assert (await client.get("/u/maria")).status_code == 404
    # The name can be taken again by someone new.
    assert await create_user(db, "maria")


async def test_deleting_the_account_closes_its_live_connections(
    server: LiveServer, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_user(db, "maria")
    await login(client, "maria")
    session = client.cookies[auth.SESSION_COOKIE]
    socket = await LiveClient.connect(server.ws_url, server.base_url, session)
    try:
        start = len(socket.frames)
        await socket.send({"type": "ping"})
        await socket.wait_for(lambda frame: frame["type"] == "pong", start=start)
        assert (await _submit(client, "/settings/delete", {"confirm_username": "maria"})).status_code == 303
        assert await socket.wait_closed(timeout=5) == CloseCode.LOGGED_OUT
    finally:
        await socket.close()


async def test_every_column_naming_a_member_is_in_the_export_or_left_out_for_a_stated_reason(
    db: asyncpg.Connection,
) -> None:
    """A new table about members must join "download all my data" (or say why not): checked on the live schema."""
    columns = {
        f"{row['table_name']}.{row['column_name']}"
        for row in await db.fetch(
            """SELECT kcu.table_name, kcu.column_name
               FROM information_schema.referential_constraints rc
               JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = rc.constraint_name
               JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = rc.unique_constraint_name
               WHERE ccu.table_name = 'users' AND ccu.column_name = 'id'"""
        )
    } | {"users.id"}
    parts = exports._PARTS.values()

    def exported(column: str) -> bool:
        table, name = column.split(".")
        return any(table in sql and f"{name} = $1" in sql for sql in parts)

    missing = sorted(column for column in columns if not exported(column) and column not in exports.NOT_EXPORTED)
    assert missing == [], "export these columns' rows (server/db/queries/exports.py) or say in NOT_EXPORTED why not"
    assert sorted(set(exports.NOT_EXPORTED) - columns) == [], "NOT_EXPORTED names columns that no longer exist"
