"""SQL for families like mine: a member's opted-in facts, the families whose facts overlap, connection requests, counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from server.db.queries.access import family_listed
from server.db.queries.names import handle, membership_of, shown_name


@dataclass(frozen=True)
class Facts:
    gene: str
    variant: str
    subtype: str
    treatments: list[str]
    age_band: str
    country: str
    languages: list[str]


@dataclass(frozen=True)
class Match:
    """Another opted-in family, under the name shown in this community, with what they share with the viewer."""

    handle: str
    name: str
    facts: Facts
    score: int
    same_gene: bool
    same_variant: bool
    same_subtype: bool
    shared_treatments: list[str]
    same_age_band: bool
    same_country: bool
    shared_languages: list[str]
    # The viewer's connection with them, if any: its id, status, and whether the viewer asked.
    connection_id: int | None
    connection_status: str | None
    asked_by_viewer: bool


@dataclass(frozen=True)
class Connection:
    """A connection request or conversation, seen by one of its two people (`other_*`: the other one)."""

    id: int
    community_id: int
    community_slug: str
    community_name: str
    requester_id: int
    addressee_id: int
    status: str
    created_at: datetime
    last_seq: int
    epoch: str
    other_id: int
    other_name: str
    other_handle: str
    other_alias: int | None
    community_status: str = "active"
    community_visibility: str = "public"
    read_seq: int = 0  # the last seq the viewer has been shown

    @property
    def unread(self) -> int:
        return max(self.last_seq - self.read_seq, 0)


_FACT_COLUMNS = "gene, variant, subtype, treatments, age_band, country, languages"


async def facts_of(connection: asyncpg.Connection, community_id: int, user_id: int) -> Facts | None:
    row = await connection.fetchrow(
        f"SELECT {_FACT_COLUMNS} FROM family_facts WHERE community_id = $1 AND user_id = $2", community_id, user_id
    )
    return Facts(**dict(row)) if row else None


async def save(connection: asyncpg.Connection, community_id: int, user_id: int, facts: Facts) -> None:
    await connection.execute(
        f"""INSERT INTO family_facts (community_id, user_id, {_FACT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (community_id, user_id) DO UPDATE SET gene = $3, variant = $4, subtype = $5, treatments = $6,
                age_band = $7, country = $8, languages = $9, updated_at = now()""",
        community_id,
        user_id,
        facts.gene,
        facts.variant,
        facts.subtype,
        facts.treatments,
        facts.age_band,
        facts.country,
        facts.languages,
    )


async def delete(connection: asyncpg.Connection, community_id: int, user_id: int) -> bool:
    """Opting out: the facts are deleted, not hidden."""
    deleted = await connection.fetchval(
        "DELETE FROM family_facts WHERE community_id = $1 AND user_id = $2 RETURNING true", community_id, user_id
    )
    return bool(deleted)


_BLOCKED = """EXISTS (SELECT 1 FROM person_blocks b
                  WHERE (b.blocker_id = {a} AND b.blocked_id = {b}) OR (b.blocker_id = {b} AND b.blocked_id = {a}))"""


def blocked_between(a: str, b: str) -> str:
    """SQL: either of the two people (id expressions) blocked the other."""
    return _BLOCKED.format(a=a, b=b)


async def matches(connection: asyncpg.Connection, community_id: int, viewer_id: int, *, limit: int) -> list[Match]:
    """Other opted-in families (members not banned, neither blocking the other) sharing at least one fact with
    the viewer's, most overlap first: gene 3, variant and subtype 2 each, then 1 per shared treatment or
    language and for the same age band or country."""
    rows = await connection.fetch(
        f"""WITH me AS (SELECT * FROM family_facts WHERE community_id = $1 AND user_id = $2),
            scored AS (
                SELECT f.*, u.id AS uid,
                       (f.gene <> '' AND f.gene = me.gene) AS same_gene,
                       (f.variant <> '' AND f.gene = me.gene AND lower(f.variant) = lower(me.variant)) AS same_variant,
                       (f.subtype <> '' AND lower(f.subtype) = lower(me.subtype)) AS same_subtype,
                       ARRAY(SELECT unnest(f.treatments) INTERSECT SELECT unnest(me.treatments) ORDER BY 1)
                           AS shared_treatments,
                       (f.age_band <> '' AND f.age_band = me.age_band) AS same_age_band,
                       (f.country <> '' AND f.country = me.country) AS same_country,
                       ARRAY(SELECT unnest(f.languages) INTERSECT SELECT unnest(me.languages) ORDER BY 1)
                           AS shared_languages,
                       {shown_name("u", "ms")} AS name, {handle("u", "ms")} AS handle
                FROM me JOIN family_facts f ON f.community_id = me.community_id AND f.user_id <> me.user_id
                JOIN users u ON u.id = f.user_id AND u.deleted_at IS NULL
                {membership_of("ms", "f.community_id", "u")}
                WHERE {family_listed("f")} AND NOT {blocked_between("$2", "f.user_id")}
            )
            SELECT s.*, 3 * s.same_gene::int + 2 * s.same_variant::int + 2 * s.same_subtype::int
                       + cardinality(s.shared_treatments) + s.same_age_band::int + s.same_country::int
                       + cardinality(s.shared_languages) AS score,
                   fc.id AS connection_id, fc.status AS connection_status,
                   coalesce(fc.requester_id = $2, false) AS asked_by_viewer
            FROM scored s
            LEFT JOIN family_connections fc ON fc.community_id = $1 AND fc.status IN ('pending', 'accepted')
                AND ((fc.requester_id = $2 AND fc.addressee_id = s.uid) OR (fc.requester_id = s.uid AND fc.addressee_id = $2))
            WHERE s.same_gene OR s.same_variant OR s.same_subtype OR s.same_age_band OR s.same_country
                OR cardinality(s.shared_treatments) > 0 OR cardinality(s.shared_languages) > 0
            ORDER BY score DESC, s.updated_at DESC, s.uid
            LIMIT $3""",
        community_id,
        viewer_id,
        limit,
    )
    return [
        Match(
            handle=row["handle"],
            name=row["name"],
            facts=Facts(**{key: row[key] for key in Facts.__dataclass_fields__}),
            score=row["score"],
            same_gene=row["same_gene"],
            same_variant=row["same_variant"],
            same_subtype=row["same_subtype"],
            shared_treatments=list(row["shared_treatments"]),
            same_age_band=row["same_age_band"],
            same_country=row["same_country"],
            shared_languages=list(row["shared_languages"]),
            connection_id=row["connection_id"],
            connection_status=row["connection_status"],
            asked_by_viewer=row["asked_by_viewer"],
        )
        for row in rows
    ]


async def is_listed(connection: asyncpg.Connection, community_id: int, user_id: int) -> bool:
    """The family shares facts here and may be listed (family_listed)."""
    found = await connection.fetchval(
        f"SELECT true FROM family_facts f WHERE f.community_id = $1 AND f.user_id = $2 AND {family_listed('f')}",
        community_id,
        user_id,
    )
    return bool(found)


async def is_blocked(connection: asyncpg.Connection, a: int, b: int) -> bool:
    found = await connection.fetchval(f"SELECT {blocked_between('$1::bigint', '$2::bigint')}", a, b)
    return bool(found)


async def create_request(
    connection: asyncpg.Connection, community_id: int, requester_id: int, addressee_id: int
) -> int | None:
    """A pending request; None when the pair already has one open (pending or accepted) here."""
    try:
        value: int | None = await connection.fetchval(
            """INSERT INTO family_connections (community_id, requester_id, addressee_id) VALUES ($1, $2, $3)
               RETURNING id""",
            community_id,
            requester_id,
            addressee_id,
        )
    except asyncpg.UniqueViolationError:
        return None
    return value


def _connection_select(viewer: str) -> str:
    """A connection as `viewer` (an id expression) sees it: the other person under their name in its community."""
    return f"""SELECT fc.id, fc.community_id, c.slug AS community_slug, c.name AS community_name,
                      fc.requester_id, fc.addressee_id, fc.status, fc.created_at, fc.last_seq, fc.epoch,
                      o.id AS other_id, {shown_name("o", "om")} AS other_name, {handle("o", "om")} AS other_handle,
                      om.alias AS other_alias, c.status AS community_status, c.visibility AS community_visibility,
                      CASE WHEN fc.requester_id = {viewer} THEN fc.requester_read_seq ELSE fc.addressee_read_seq END
                          AS read_seq
               FROM family_connections fc
               JOIN communities c ON c.id = fc.community_id
               JOIN users o ON o.id = CASE WHEN fc.requester_id = {viewer} THEN fc.addressee_id ELSE fc.requester_id END
               {membership_of("om", "fc.community_id", "o")}"""


async def connection_for(connection: asyncpg.Connection, connection_id: int, viewer_id: int) -> Connection | None:
    """One of the viewer's own connections (None for anyone else's)."""
    row = await connection.fetchrow(
        _connection_select("$2") + " WHERE fc.id = $1 AND (fc.requester_id = $2 OR fc.addressee_id = $2)",
        connection_id,
        viewer_id,
    )
    return Connection(**dict(row)) if row else None


async def connections_of(
    connection: asyncpg.Connection, viewer_id: int, *, community_id: int | None = None, statuses: tuple[str, ...]
) -> list[Connection]:
    rows = await connection.fetch(
        _connection_select("$1")
        + """ WHERE (fc.requester_id = $1 OR fc.addressee_id = $1) AND fc.status = ANY($3::text[])
              AND ($2::bigint IS NULL OR fc.community_id = $2) AND o.deleted_at IS NULL
              ORDER BY fc.last_seq > 0 DESC, fc.id DESC LIMIT 200""",
        viewer_id,
        community_id,
        list(statuses),
    )
    return [Connection(**dict(row)) for row in rows]


async def answer(connection: asyncpg.Connection, connection_id: int, addressee_id: int, status: str) -> bool:
    """The addressee accepts or declines a pending request; False when it is not pending for them."""
    done = await connection.fetchval(
        """UPDATE family_connections SET status = $3, answered_at = now()
           WHERE id = $1 AND addressee_id = $2 AND status = 'pending' RETURNING true""",
        connection_id,
        addressee_id,
        status,
    )
    return bool(done)


async def end_between(connection: asyncpg.Connection, a: int, b: int) -> list[int]:
    """Every open request or conversation between two people, in any community, ends; returns their ids."""
    rows = await connection.fetch(
        """UPDATE family_connections SET status = 'ended', answered_at = coalesce(answered_at, now())
           WHERE status IN ('pending', 'accepted')
             AND ((requester_id = $1 AND addressee_id = $2) OR (requester_id = $2 AND addressee_id = $1))
           RETURNING id""",
        a,
        b,
    )
    return [row["id"] for row in rows]


async def block(connection: asyncpg.Connection, blocker_id: int, blocked_id: int) -> None:
    await connection.execute(
        "INSERT INTO person_blocks (blocker_id, blocked_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        blocker_id,
        blocked_id,
    )


@dataclass(frozen=True)
class Counts:
    opted_in: int
    pending: int
    connected: int


async def counts(connection: asyncpg.Connection, community_id: int) -> Counts:
    """What leaders see: how many, never who."""
    row = await connection.fetchrow(
        """SELECT (SELECT count(*) FROM family_facts WHERE community_id = $1) AS opted_in,
                  (SELECT count(*) FROM family_connections WHERE community_id = $1 AND status = 'pending') AS pending,
                  (SELECT count(*) FROM family_connections WHERE community_id = $1 AND status = 'accepted') AS connected""",
        community_id,
    )
    assert row is not None
    return Counts(**dict(row))


async def end_all_of(connection: asyncpg.Connection, user_id: int) -> list[int]:
    """Every open request and conversation of this person ends (their account is deleted); returns the ids."""
    rows = await connection.fetch(
        """UPDATE family_connections SET status = 'ended', answered_at = coalesce(answered_at, now())
           WHERE status IN ('pending', 'accepted') AND (requester_id = $1 OR addressee_id = $1) RETURNING id""",
        user_id,
    )
    return [row["id"] for row in rows]
