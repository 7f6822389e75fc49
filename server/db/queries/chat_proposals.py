"""SQL for chat turned into knowledge: proposals of chat messages as a tip, thread or resource, and each author's
consent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class Proposal:
    id: int
    community_id: int
    room_id: int
    proposer_id: int | None
    kind: str  # tip, thread or resource
    title: str
    note: str
    status: str  # waiting, published or dropped
    tip_id: int | None
    thread_id: int | None
    created_at: datetime
    resource_kind: str | None  # a resource's kind and link; None for tips and threads
    url: str | None
    resource_id: int | None


@dataclass(frozen=True)
class Quote:
    message_id: int
    author_id: int | None
    consent: str  # asked, accepted or declined


_COLUMNS = (
    "id, community_id, room_id, proposer_id, kind, title, note, status, tip_id, thread_id, created_at,"
    " resource_kind, url, resource_id"
)


async def create(
    connection: asyncpg.Connection,
    *,
    community_id: int,
    room_id: int,
    proposer_id: int,
    kind: str,
    title: str,
    note: str,
    quotes: list[tuple[int, int | None, str]],
    resource_kind: str | None = None,
    url: str | None = None,
) -> Proposal:
    """A proposal with its quotes: (message id, author id, consent) each; a resource's kind and link with it."""
    row = await connection.fetchrow(
        f"""INSERT INTO chat_proposals (community_id, room_id, proposer_id, kind, title, note, resource_kind, url)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_COLUMNS}""",
        community_id,
        room_id,
        proposer_id,
        kind,
        title,
        note,
        resource_kind,
        url,
    )
    assert row is not None
    await connection.execute(
        """INSERT INTO chat_proposal_quotes (proposal_id, message_id, author_id, consent, decided_at)
           SELECT $1, q.message_id, q.author_id, q.consent, CASE WHEN q.consent = 'asked' THEN NULL ELSE now() END
           FROM unnest($2::bigint[], $3::bigint[], $4::text[]) AS q(message_id, author_id, consent)""",
        row["id"],
        [quote[0] for quote in quotes],
        [quote[1] for quote in quotes],
        [quote[2] for quote in quotes],
    )
    return Proposal(**dict(row))


async def by_id(connection: asyncpg.Connection, community_id: int, proposal_id: int) -> Proposal | None:
    row = await connection.fetchrow(
        f"SELECT {_COLUMNS} FROM chat_proposals WHERE id = $1 AND community_id = $2", proposal_id, community_id
    )
    return Proposal(**dict(row)) if row is not None else None


async def quotes(connection: asyncpg.Connection, proposal_id: int) -> list[Quote]:
    rows = await connection.fetch(
        "SELECT message_id, author_id, consent FROM chat_proposal_quotes WHERE proposal_id = $1", proposal_id
    )
    return [Quote(**dict(row)) for row in rows]


async def answer(connection: asyncpg.Connection, proposal_id: int, author_id: int, consent: str) -> int:
    """An author's answer for all their quotes still awaiting it; how many it answered."""
    result = await connection.execute(
        """UPDATE chat_proposal_quotes SET consent = $3, decided_at = now()
           WHERE proposal_id = $1 AND author_id = $2 AND consent = 'asked'""",
        proposal_id,
        author_id,
        consent,
    )
    return int(result.split()[-1])


async def finish(
    connection: asyncpg.Connection,
    proposal_id: int,
    status: str,
    *,
    tip_id: int | None = None,
    thread_id: int | None = None,
    resource_id: int | None = None,
) -> None:
    await connection.execute(
        """UPDATE chat_proposals SET status = $2, tip_id = $3, thread_id = $4, resource_id = $5
           WHERE id = $1 AND status = 'waiting'""",
        proposal_id,
        status,
        tip_id,
        thread_id,
        resource_id,
    )
