"""SQL for invite links to a community and the requests to join made through them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from server.db.queries.names import membership_of, shown_name


@dataclass(frozen=True)
class Invite:
    id: int
    community_id: int
    needs_approval: bool
    uses: int
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    created_by_name: str | None = None

    @property
    def usable(self) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > datetime.now(self.created_at.tzinfo)
        )


@dataclass(frozen=True)
class JoinRequest:
    id: int
    community_id: int
    user_id: int
    username: str
    display_name: str
    message: str
    created_at: datetime
    invite_id: int | None = None


_INVITE = "i.id, i.community_id, i.needs_approval, i.uses, i.created_at, i.expires_at, i.revoked_at"


async def create(
    connection: asyncpg.Connection,
    community_id: int,
    *,
    token_hash: bytes,
    created_by: int,
    needs_approval: bool,
    expires_at: datetime | None,
) -> Invite:
    row = await connection.fetchrow(
        f"""INSERT INTO community_invites AS i (community_id, token_hash, created_by, needs_approval, expires_at)
            VALUES ($1, $2, $3, $4, $5) RETURNING {_INVITE}""",
        community_id,
        token_hash,
        created_by,
        needs_approval,
        expires_at,
    )
    assert row is not None
    return Invite(**dict(row))


async def by_token(connection: asyncpg.Connection, token_hash: bytes) -> Invite | None:
    row = await connection.fetchrow(f"SELECT {_INVITE} FROM community_invites i WHERE i.token_hash = $1", token_hash)
    return Invite(**dict(row)) if row else None


async def in_force(connection: asyncpg.Connection, community_id: int) -> list[Invite]:
    """The links not revoked and not expired, newest first, with who made each."""
    rows = await connection.fetch(
        f"""SELECT {_INVITE}, {shown_name("u", "cm")} AS created_by_name
            FROM community_invites i LEFT JOIN users u ON u.id = i.created_by {membership_of("cm", "i.community_id", "u")}
            WHERE i.community_id = $1 AND i.revoked_at IS NULL AND (i.expires_at IS NULL OR i.expires_at > now())
            ORDER BY i.id DESC""",
        community_id,
    )
    return [Invite(**dict(row)) for row in rows]


async def revoke(connection: asyncpg.Connection, community_id: int, invite_id: int) -> bool:
    """False when there is no such link in force in this community."""
    done = await connection.fetchval(
        """UPDATE community_invites SET revoked_at = now()
           WHERE id = $1 AND community_id = $2 AND revoked_at IS NULL RETURNING true""",
        invite_id,
        community_id,
    )
    return bool(done)


async def count_use(connection: asyncpg.Connection, invite_id: int) -> None:
    await connection.execute("UPDATE community_invites SET uses = uses + 1 WHERE id = $1", invite_id)


async def ask(connection: asyncpg.Connection, community_id: int, user_id: int, *, invite_id: int, message: str) -> int:
    """Open a request to join (asking again while one is pending replaces its message); its id."""
    request_id = await connection.fetchval(
        """INSERT INTO join_requests (community_id, user_id, invite_id, message) VALUES ($1, $2, $3, $4)
           ON CONFLICT (community_id, user_id) WHERE status = 'pending'
           DO UPDATE SET message = EXCLUDED.message, invite_id = EXCLUDED.invite_id
           RETURNING id""",
        community_id,
        user_id,
        invite_id,
        message,
    )
    return int(request_id)


async def pending_request_of(connection: asyncpg.Connection, community_id: int, user_id: int) -> int | None:
    value = await connection.fetchval(
        "SELECT id FROM join_requests WHERE community_id = $1 AND user_id = $2 AND status = 'pending'",
        community_id,
        user_id,
    )
    return int(value) if value is not None else None


async def pending_requests(connection: asyncpg.Connection, community_id: int) -> list[JoinRequest]:
    rows = await connection.fetch(
        """SELECT r.id, r.community_id, r.user_id, u.username, u.display_name, r.message, r.created_at
           FROM join_requests r JOIN users u ON u.id = r.user_id
           WHERE r.community_id = $1 AND r.status = 'pending' AND u.deleted_at IS NULL
           ORDER BY r.id""",
        community_id,
    )
    return [JoinRequest(**dict(row)) for row in rows]


async def decide(
    connection: asyncpg.Connection, community_id: int, request_id: int, *, approved: bool, decided_by: int
) -> JoinRequest | None:
    """Close a pending request; None when there is no such pending request in this community."""
    row = await connection.fetchrow(
        """UPDATE join_requests r SET status = $3, decided_by = $4, decided_at = now()
           FROM users u
           WHERE r.id = $1 AND r.community_id = $2 AND r.status = 'pending' AND u.id = r.user_id
           RETURNING r.id, r.community_id, r.user_id, u.username, u.display_name, r.message, r.created_at, r.invite_id""",
        request_id,
        community_id,
        "approved" if approved else "declined",
        decided_by,
    )
    return JoinRequest(**dict(row)) if row else None
