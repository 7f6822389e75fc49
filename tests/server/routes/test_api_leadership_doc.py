"""POST /api/v1/communities/{slug}/leadership documents every status it answers with (found by tests/fuzz)."""

from __future__ import annotations

import asyncpg
import httpx

from server import auth
from tests.factories import create_session, create_user


async def test_taking_up_leadership_of_no_such_community_is_a_documented_404(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session = await create_session(db, await create_user(db, "lucia"))
    client.cookies.set(auth.SESSION_COOKIE, session)
    token = (await client.get("/api/v1/session")).json()["csrf_token"]
    response = await client.post(
        "/api/v1/communities/no-such-community/leadership",
        headers={"X-CSRF-Token": token, "Origin": str(client.base_url).rstrip("/")},
    )
    assert response.status_code == 404
    document = (await client.get("/api/v1/openapi.json")).json()
    assert "404" in document["paths"]["/api/v1/communities/{slug}/leadership"]["post"]["responses"]
