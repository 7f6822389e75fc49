"""The JSON API rules over HTTP: session and CSRF token, 401/403/400/413/415 as JSON, and the account endpoints."""

from __future__ import annotations

import json

import asyncpg
import httpx
import msgspec
import pytest
from starlette.requests import Request
from starlette.types import Message

from server.errors import AppError
from server.routes.api.support import read_json
from tests.factories import add_member, create_community, create_user, login
from tests.server.routes.test_profiles import create_post


async def _api_token(client: httpx.AsyncClient) -> str:
    session = (await client.get("/api/v1/session")).json()
    token: str = session["csrf_token"]
    return token


async def _patch_me(client: httpx.AsyncClient, body: object, **headers: str) -> httpx.Response:
    token = await _api_token(client)
    return await client.patch(
        "/api/v1/me",
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json", "x-csrf-token": token, **headers},
    )


def _assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code and isinstance(body["message"], str) and body["message"]
    assert set(body) == {"error", "message"}
    return str(body["message"])


async def test_the_session_endpoint_says_who_i_am_and_gives_the_csrf_token(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_user(db, "maria", display_name="María", email="maria@example.org")
    anonymous = (await client.get("/api/v1/session")).json()
    assert anonymous["signed_in"] is False and anonymous["user"] is None and len(anonymous["csrf_token"]) >= 32

    page_token = await login(client, "maria")
    response = await client.get("/api/v1/session")
    assert response.headers["cache-control"] == "no-store"
    session = response.json()
    assert session["signed_in"] is True and session["csrf_token"] == page_token
    assert session["user"]["username"] == "maria" and session["user"]["display_name"] == "María"
    assert "maria@example.org" not in response.text and "email" not in session["user"]


async def test_anonymous_callers_get_401_json_where_sign_in_is_required(client: httpx.AsyncClient) -> None:
    _assert_error(await _patch_me(client, {"bio": "x"}), 401, "unauthorized")
    _assert_error(await client.get("/api/v1/me/export"), 401, "unauthorized")


async def test_unsafe_requests_without_the_right_csrf_header_are_refused_and_change_nothing(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    user_id = await create_user(db, "maria")
    await login(client, "maria")
    body = json.dumps({"bio": "changed"}).encode()
    missing = await client.patch("/api/v1/me", content=body, headers={"content-type": "application/json"})
    _assert_error(missing, 403, "csrf_failed")
    wrong = await client.patch(
        "/api/v1/me", content=body, headers={"content-type": "application/json", "x-csrf-token": "x" * 43}
    )
    _assert_error(wrong, 403, "csrf_failed")
    assert await db.fetchval("SELECT bio FROM users WHERE id = $1", user_id) == ""


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code", "words"),
    [
        (b'{"bio": ', "application/json", 400, "bad_request", "not valid JSON"),
        (b"", "application/json", 400, "bad_request", "empty"),
        (b"[1, 2]", "application/json", 400, "bad_request", "Expected `object`, got `array`"),
        (b'{"bio": 5}', "application/json", 400, "bad_request", "Expected `str`, got `int` - at `$.bio`"),
        (b'{"language": ["fr"]}', "application/json", 400, "bad_request", "at `$.language`"),
        (b'{"nickname": "x"}', "application/json", 400, "bad_request", "unknown field `nickname`"),
        (b'{"bio": "x"}', "text/plain", 415, "unsupported_media_type", "Content-Type: application/json"),
        (b"bio=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type", "JSON"),
        (b'{"bio": "' + b"x" * 300_000 + b'"}', "application/json", 413, "too_large", "too large"),
    ],
)
async def test_bad_json_bodies_get_a_clear_json_error(
    client: httpx.AsyncClient,
    db: asyncpg.Connection,
    content: bytes,
    content_type: str,
    status: int,
    code: str,
    words: str,
) -> None:
    user_id = await create_user(db, "maria")
    await login(client, "maria")
    token = await _api_token(client)
    response = await client.patch(
        "/api/v1/me", content=content, headers={"content-type": content_type, "x-csrf-token": token}
    )
    assert words in _assert_error(response, status, code)
    assert await db.fetchval("SELECT bio FROM users WHERE id = $1", user_id) == ""


class _NewThing(msgspec.Struct):
    title: str
    count: int = 0


def _request(body: bytes, content_type: str = "application/json") -> Request:
    """A real Starlette request for read_json, fed through the ASGI receive channel."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    return Request({"type": "http", "method": "POST", "path": "/api/v1/x", "headers": headers}, receive)


async def test_read_json_names_a_missing_required_field() -> None:
    with pytest.raises(AppError) as refused:
        await read_json(_request(b'{"count": 2}'), _NewThing)
    assert refused.value.status == 400 and "missing required field `title`" in refused.value.message


async def test_read_json_decodes_a_good_body_into_its_type() -> None:
    assert await read_json(_request(b'{"title": "Hi"}', "application/json; charset=utf-8"), _NewThing) == _NewThing(
        title="Hi"
    )


async def test_patch_me_changes_only_the_fields_sent(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    user_id = await create_user(db, "maria", display_name="María")
    await db.execute("UPDATE users SET bio = 'old bio', language = 'fr' WHERE id = $1", user_id)
    await login(client, "maria")

    response = await _patch_me(client, {"bio": "  new bio  ", "time_zone": "Europe/Lisbon"})

    assert response.status_code == 200
    me = response.json()
    assert me["bio"] == "new bio" and me["time_zone"] == "Europe/Lisbon"
    assert me["display_name"] == "María" and me["language"] == "fr"
    row = await db.fetchrow("SELECT display_name, bio, language, time_zone FROM users WHERE id = $1", user_id)
    assert row is not None and tuple(row) == ("María", "new bio", "fr", "Europe/Lisbon")

    cleared = await _patch_me(client, {"language": None, "display_name": "Maria G"})
    assert cleared.status_code == 200 and cleared.json()["language"] is None
    assert await db.fetchval("SELECT display_name FROM users WHERE id = $1", user_id) == "Maria G"


async def test_patch_me_refuses_bad_values_and_changes_nothing(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    user_id = await create_user(db, "maria")
    await login(client, "maria")
    # A valid display name together with an invalid time zone: neither is saved.
    response = await _patch_me(client, {"display_name": "New", "time_zone": "Nowhere/Atlantis"})
    assert "time zone" in _assert_error(response, 400, "bad_request")
    _assert_error(await _patch_me(client, {"language": "de"}), 400, "bad_request")
    _assert_error(await _patch_me(client, {"bio": "x" * 1001}), 400, "bad_request")
    row = await db.fetchrow("SELECT display_name, bio, language, time_zone FROM users WHERE id = $1", user_id)
    assert row is not None and tuple(row) == ("Maria", "", None, "UTC")


async def test_api_errors_are_translated_for_the_reader(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await create_user(db, "maria")
    await login(client, "maria")
    response = await _patch_me(client, {"language": "de"}, **{"accept-language": "fr"})
    assert _assert_error(response, 400, "bad_request") == "Veuillez choisir l'une des langues de la liste."


async def test_a_public_profile_over_the_api_never_includes_an_email(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    maria = await create_user(db, "maria", display_name="María", email="maria@example.org")
    # She chose to show her communities and posts (both off by default).
    await db.execute("UPDATE users SET show_communities = true, show_posts = true WHERE id = $1", maria)
    community = await create_community(db, "cms", "CMS")
    await add_member(db, community, maria, role="leader")
    thread_id, post_id = await create_post(db, community, maria, "Hello **all**", title="Hi")

    response = await client.get("/api/v1/users/MARIA")

    assert response.status_code == 200
    profile = response.json()
    assert profile["username"] == "maria" and profile["display_name"] == "María"
    assert profile["communities"] == [{"slug": "cms", "name": "CMS", "role": "leader", "url": "/c/cms"}]
    [post] = profile["recent_posts"]
    assert post["id"] == post_id and post["excerpt"] == "Hello all" and post["url"] == f"/c/cms/t/{thread_id}"
    assert "maria@example.org" not in response.text and "email" not in profile


async def test_unknown_and_deleted_members_are_404_json(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    user_id = await create_user(db, "maria")
    _assert_error(await client.get("/api/v1/users/nobody"), 404, "not_found")
    await db.execute("UPDATE users SET deleted_at = now() WHERE id = $1", user_id)
    _assert_error(await client.get("/api/v1/users/maria"), 404, "not_found")


async def test_my_export_over_the_api_has_my_email_and_my_posts(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    maria = await create_user(db, "maria", email="maria@example.org")
    community = await create_community(db)
    await create_post(db, community, maria, "my words")
    await login(client, "maria")
    response = await client.get("/api/v1/me/export")
    assert response.status_code == 200
    data = response.json()
    assert data["profile"]["email"] == "maria@example.org"
    assert [post["body_md"] for post in data["posts"]] == ["my words"]


async def test_unknown_api_paths_and_wrong_methods_answer_json(client: httpx.AsyncClient) -> None:
    _assert_error(await client.get("/api/v1/no-such-thing"), 404, "not_found")
    _assert_error(await client.delete("/api/v1/session"), 405, "method_not_allowed")


async def test_a_nul_character_in_a_json_string_is_a_clear_400_not_a_database_failure(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    user_id = await create_user(db, "maria")
    await login(client, "maria")
    response = await _patch_me(client, {"display_name": "Mar\x00ia"})
    assert "U+0000" in _assert_error(response, 400, "bad_request")
    assert await db.fetchval("SELECT display_name FROM users WHERE id = $1", user_id) != "Mar\x00ia"


async def test_read_json_refuses_nul_and_deep_nesting_but_not_an_escaped_backslash() -> None:
    for body in (b'{"title": "a\\u0000b"}', b'{"title": "x", "extra": ' + b"[" * 2000 + b"]" * 2000 + b"}"):
        with pytest.raises(AppError) as refused:
            await read_json(_request(body), _NewThing)
        assert refused.value.code == "bad_request" and refused.value.status == 400
    thing = await read_json(_request(b'{"title": "a\\\\u0000b"}'), _NewThing)
    assert thing.title == "a\\u0000b"
