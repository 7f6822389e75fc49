"""Accounts over HTTP: register, log in, log out, sessions, CSRF and login limits."""

from __future__ import annotations

import base64

import asyncpg
import httpx
import pytest

from server import auth
from server.embedded import free_port
from server.settings import Settings
from tests.factories import DEFAULT_PASSWORD, create_user, csrf_token, login
from tests.harness import live_server


def _session_cookie(response: httpx.Response) -> str:
    headers = [
        value for value in response.headers.get_list("set-cookie") if value.startswith(auth.SESSION_COOKIE + "=")
    ]
    assert len(headers) == 1, response.headers
    return headers[0]


async def _register(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    token = await csrf_token(client, "/register")
    data = {"username": "maria", "password": "a long enough passphrase", "display_name": "", "email": ""}
    data.update(fields)
    return await client.post("/register", data={**data, "csrf_token": token})


async def test_register_signs_in_with_a_random_httponly_lax_cookie(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    response = await _register(client, display_name="María G.")
    assert response.status_code == 303
    cookie = _session_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    assert len(base64.urlsafe_b64decode(token + "==")) >= 16  # at least 128 random bits
    home = await client.get("/")
    assert "María G." in home.text
    # The cookie holds only the id; the server keeps a hash of it, not the id itself.
    stored = await db.fetchval("SELECT id_hash FROM sessions")
    assert stored == auth.hash_token(token) and token.encode() != stored


async def test_cookies_are_secure_outside_development(settings: Settings) -> None:
    async with (
        live_server(settings.with_overrides(environment="production")) as server,
        httpx.AsyncClient(base_url=server.base_url) as client,
    ):
        page = await client.get("/register")
        csrf_cookie = page.headers["set-cookie"]
        assert csrf_cookie.startswith(auth.CSRF_COOKIE) and "Secure" in csrf_cookie and "HttpOnly" in csrf_cookie
        value = csrf_cookie.split(";")[0].split("=", 1)[1]
        # httpx keeps Secure cookies off plain http, as a browser would; send it by hand.
        response = await client.post(
            "/register",
            data={"username": "maria", "password": "a long enough passphrase", "csrf_token": value},
            headers={"cookie": f"{auth.CSRF_COOKIE}={value}"},
        )
        assert "Secure" in _session_cookie(response)


async def test_passwords_are_stored_with_argon2id_at_owasp_strength(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await _register(client)
    stored = await db.fetchval("SELECT password_hash FROM users WHERE username = 'maria'")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert "a long enough passphrase" not in stored


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short77", "at least 8 characters"),
        ("x" * 129, "at most 128 characters"),
        ("password123", "too common"),
        ("Qwerty123", "too common"),
    ],
)
async def test_weak_passwords_are_refused_and_the_form_keeps_what_was_typed(
    client: httpx.AsyncClient, db: asyncpg.Connection, password: str, message: str
) -> None:
    response = await _register(client, password=password, display_name="Keep Me")
    assert response.status_code == 400
    assert message in response.text
    assert 'value="Keep Me"' in response.text and 'value="maria"' in response.text
    assert await db.fetchval("SELECT count(*) FROM users") == 0


async def test_a_128_character_password_is_accepted(client: httpx.AsyncClient) -> None:
    assert (await _register(client, password="y" * 128)).status_code == 303


async def test_email_is_optional_and_never_displayed(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    response = await _register(client, email="maria@example.org", display_name="Maria")
    assert response.status_code == 303
    assert await db.fetchval("SELECT email FROM users") == "maria@example.org"
    for path in ["/", "/login", "/register"]:
        assert "maria@example.org" not in (await client.get(path)).text


async def test_a_taken_or_reserved_username_gets_the_same_answer(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_user(db, "maria")
    taken = await _register(client, username="MARIA")
    reserved = await _register(client, username="moderator")
    assert taken.status_code == reserved.status_code == 409
    assert "That username is not available" in taken.text and "That username is not available" in reserved.text


async def test_login_rotates_the_session_and_logout_ends_it_on_the_server(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_user(db, "amara")
    await login(client, "amara")
    first = client.cookies[auth.SESSION_COOKIE]
    await login(client, "amara")
    second = client.cookies[auth.SESSION_COOKIE]
    assert first != second
    assert await db.fetchval("SELECT count(*) FROM sessions") == 2

    token = (await client.get("/")).text.split('name="csrf_token" value="')[1].split('"')[0]
    response = await client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert await db.fetchval("SELECT count(*) FROM sessions WHERE id_hash = $1", auth.hash_token(second)) == 0
    # The old cookie, replayed, no longer signs anyone in.
    async with httpx.AsyncClient(base_url=str(client.base_url), cookies={auth.SESSION_COOKIE: second}) as replay:
        assert "Log out" not in (await replay.get("/")).text


async def test_unknown_username_and_wrong_password_get_the_same_answer(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await create_user(db, "amara")
    token = await csrf_token(client)
    wrong = await client.post("/login", data={"username": "amara", "password": "not it at all", "csrf_token": token})
    unknown = await client.post(
        "/login", data={"username": "nobody-here", "password": "not it at all", "csrf_token": token}
    )
    assert wrong.status_code == unknown.status_code == 400
    assert "The username or password is not right." in wrong.text
    assert wrong.text.replace("amara", "X") == unknown.text.replace("nobody-here", "X")


@pytest.mark.parametrize("token", [None, "", "forged-token-forged-token-forged-token"])
async def test_forms_without_the_right_csrf_token_are_refused(
    client: httpx.AsyncClient, db: asyncpg.Connection, token: str | None
) -> None:
    await create_user(db, "amara")
    await client.get("/login")
    data = {"username": "amara", "password": DEFAULT_PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = await client.post("/login", data=data)
    assert response.status_code == 403
    assert auth.SESSION_COOKIE not in client.cookies
    register = await client.post(
        "/register",
        data={
            "username": "newone",
            "password": "a long passphrase",
            **({} if token is None else {"csrf_token": token}),
        },
    )
    assert register.status_code == 403
    assert await db.fetchval("SELECT count(*) FROM users") == 1


async def test_failed_logins_are_limited_across_processes_and_the_lock_is_short(
    settings: Settings, db: asyncpg.Connection
) -> None:
    await create_user(db, "amara")
    async with live_server(settings) as first, live_server(settings.with_overrides(port=free_port())) as second:
        statuses = []
        for attempt in range(10):
            server = first if attempt % 2 == 0 else second  # alternate processes sharing one Redis
            async with httpx.AsyncClient(base_url=server.base_url) as client:
                token = await csrf_token(client)
                response = await client.post(
                    "/login", data={"username": "amara", "password": "guess-" + str(attempt), "csrf_token": token}
                )
                statuses.append(response.status_code)
        assert statuses[:8] == [400] * 8
        assert statuses[8:] == [429, 429]
        # Even the right password is held back while the account is cooling down...
        async with httpx.AsyncClient(base_url=first.base_url) as client:
            token = await csrf_token(client)
            held = await client.post(
                "/login", data={"username": "amara", "password": DEFAULT_PASSWORD, "csrf_token": token}
            )
            assert held.status_code == 429
        # ...but only for minutes, not for good.
        ttl = await first.app.state.redis.ttl(f"{settings.redis_prefix}rl:login-account:amara")
        assert 0 < ttl <= 5 * 60


async def test_a_nul_character_in_a_form_field_is_a_clear_400_not_a_database_failure(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    response = await _register(client, display_name="Mar\x00ía")
    assert response.status_code == 400
    assert "U+0000" in response.text
    assert await db.fetchval("SELECT count(*) FROM users") == 0
