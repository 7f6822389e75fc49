"""SQL for community proposals: a member asks for a new condition community, a site admin decides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class Proposal:
    id: int
    community_id: int
    slug: str
    name: str
    synonyms: list[str]
    description: str
    community_status: str
    proposer_id: int | None
    proposer_username: str | None
    reason: str
    status: str  # 'pending', 'approved' or 'declined'
    decided_at: datetime | None
    decision_reason: str
    created_at: datetime
    # The catalogue conditions the community covers, and their genes.
    codes: list[str]
    genes: list[str]


_COLUMNS = """p.id, p.community_id, c.slug, c.name, c.synonyms, c.description, c.status AS community_status,
              p.proposer_id, u.username AS proposer_username, p.reason, p.status, p.decided_at,
              p.decision_reason, p.created_at,
              ARRAY(SELECT code FROM community_conditions WHERE community_id = p.community_id ORDER BY code) AS codes,
              ARRAY(SELECT DISTINCT gene FROM community_conditions l JOIN catalogue_conditions cc USING (code),
                    unnest(cc.genes) AS gene WHERE l.community_id = p.community_id ORDER BY gene) AS genes"""
_FROM = """community_proposals p JOIN communities c ON c.id = p.community_id
           LEFT JOIN users u ON u.id = p.proposer_id"""


def _proposal(row: asyncpg.Record) -> Proposal:
    return Proposal(**dict(row))


async def create(connection: asyncpg.Connection, community_id: int, proposer_id: int, reason: str) -> Proposal:
    proposal_id = await connection.fetchval(
        "INSERT INTO community_proposals (community_id, proposer_id, reason) VALUES ($1, $2, $3) RETURNING id",
        community_id,
        proposer_id,
        reason,
    )
    proposal = await by_id(connection, proposal_id)
    assert proposal is not None
    return proposal


async def by_id(connection: asyncpg.Connection, proposal_id: int) -> Proposal | None:
    row = await connection.fetchrow(f"SELECT {_COLUMNS} FROM {_FROM} WHERE p.id = $1", proposal_id)
    return _proposal(row) if row else None


async def for_community(connection: asyncpg.Connection, community_id: int) -> Proposal | None:
    row = await connection.fetchrow(f"SELECT {_COLUMNS} FROM {_FROM} WHERE p.community_id = $1", community_id)
    return _proposal(row) if row else None


async def list_all(connection: asyncpg.Connection, *, status: str | None = None, limit: int = 200) -> list[Proposal]:
    """Pending first (oldest first, as a queue), then decided ones, newest decision first."""
    rows = await connection.fetch(
        f"""SELECT {_COLUMNS} FROM {_FROM} WHERE ($1::text IS NULL OR p.status = $1)
            ORDER BY p.status <> 'pending', CASE WHEN p.status = 'pending' THEN p.id END, p.decided_at DESC, p.id DESC
            LIMIT $2""",
        status,
        limit,
    )
    return [_proposal(row) for row in rows]


async def for_proposer(connection: asyncpg.Connection, user_id: int) -> list[Proposal]:
    rows = await connection.fetch(
        f"SELECT {_COLUMNS} FROM {_FROM} WHERE p.proposer_id = $1 ORDER BY p.id DESC LIMIT 100", user_id
    )
    return [_proposal(row) for row in rows]


async def pending_count_for(connection: asyncpg.Connection, user_id: int) -> int:
    count = await connection.fetchval(
        "SELECT count(*) FROM community_proposals WHERE proposer_id = $1 AND status = 'pending'", user_id
    )
    return int(count)


async def decide(
    connection: asyncpg.Connection, proposal_id: int, *, status: str, decided_by: int, reason: str
) -> bool:
    """Record the decision; False when the proposal was already decided (first decision wins)."""
    updated = await connection.fetchval(
        """UPDATE community_proposals SET status = $2, decided_by = $3, decided_at = now(), decision_reason = $4
           WHERE id = $1 AND status = 'pending' RETURNING true""",
        proposal_id,
        status,
        decided_by,
        reason,
    )
    return bool(updated)
