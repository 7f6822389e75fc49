"""SQL for the rare-disease catalogue: loading it, conditions and their symptoms, links to communities, the typo vocabulary."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

LOAD_LOCK_KEY = 7_301_002  # pg advisory lock id: two processes starting at once load the catalogue once


@dataclass(frozen=True)
class Source:
    package: str
    hpo_version: str
    annotations_version: str
    checksum: str
    loaded_at: datetime


@dataclass(frozen=True)
class Condition:
    code: str
    name: str
    genes: list[str]
    # The open (active or proposed) community covering it, if any.
    community_slug: str | None = None
    community_name: str | None = None
    community_status: str | None = None


@dataclass(frozen=True)
class Symptom:
    hpo_id: int
    name: str
    frequency: str | None


async def source(connection: asyncpg.Connection) -> Source | None:
    row = await connection.fetchrow(
        "SELECT package, hpo_version, annotations_version, checksum, loaded_at FROM catalogue_source"
    )
    return Source(**dict(row)) if row else None


async def lock_for_load(connection: asyncpg.Connection) -> None:
    """Hold the load lock until the transaction ends."""
    await connection.execute("SELECT pg_advisory_xact_lock($1)", LOAD_LOCK_KEY)


async def replace_all(
    connection: asyncpg.Connection,
    *,
    conditions: Sequence[tuple[str, str, list[str], str]],
    symptoms: Sequence[tuple[int, str, list[str], str]],
    annotations: Iterable[tuple[str, int, str | None]],
    words: Sequence[tuple[str, list[str]]],
    package: str,
    hpo_version: str,
    annotations_version: str,
    checksum: str,
) -> None:
    """Replace the whole catalogue inside the caller's transaction, then the vocabulary and communities' vectors.

    `conditions` are (code, name, genes, folded name, code and genes); `symptoms` (HPO id, name, other names,
    folded names); `words` the
    catalogue's vocabulary with each word's trigrams (folded in Python, server/textfold.py: kindred_fold()
    is the same function but too slow over the whole catalogue).
    """
    await connection.execute("TRUNCATE catalogue_condition_symptoms, catalogue_conditions, catalogue_symptoms")
    await connection.copy_records_to_table(
        "catalogue_symptoms", records=[symptom[:3] for symptom in symptoms], columns=["hpo_id", "name", "synonyms"]
    )
    await connection.copy_records_to_table(
        "catalogue_condition_symptoms", records=list(annotations), columns=["code", "hpo_id", "frequency"]
    )
    # Each symptom's words are parsed once; a condition's vector is its name, code and genes (weight A)
    # and its symptoms' vectors (weight C), concatenated.
    await connection.execute(
        """CREATE TEMP TABLE catalogue_load_symptoms (hpo_id integer PRIMARY KEY, folded text, vector tsvector)
           ON COMMIT DROP"""
    )
    await connection.copy_records_to_table(
        "catalogue_load_symptoms",
        records=[(symptom[0], symptom[3]) for symptom in symptoms],
        columns=["hpo_id", "folded"],
    )
    await connection.execute(
        "UPDATE catalogue_load_symptoms SET vector = setweight(to_tsvector('simple', folded), 'C')"
    )
    await connection.execute(
        "CREATE TEMP TABLE catalogue_load (code text, name text, genes text[], head text) ON COMMIT DROP"
    )
    await connection.copy_records_to_table("catalogue_load", records=conditions)
    # Building the index once afterwards is faster than updating it row by row.
    await connection.execute("DROP INDEX catalogue_conditions_search")
    await connection.execute(
        """INSERT INTO catalogue_conditions (code, name, genes, search)
           SELECT l.code, l.name, l.genes, setweight(to_tsvector('simple', l.head), 'A') || coalesce(s.vector, '')
           FROM catalogue_load l LEFT JOIN (
               SELECT cs.code, kindred_tsvector_agg(ls.vector) AS vector
               FROM catalogue_condition_symptoms cs JOIN catalogue_load_symptoms ls USING (hpo_id)
               GROUP BY cs.code) s ON s.code = l.code"""
    )
    await connection.execute("DROP TABLE catalogue_load, catalogue_load_symptoms")
    await connection.execute("CREATE INDEX catalogue_conditions_search ON catalogue_conditions USING gin (search)")
    await connection.execute("TRUNCATE search_word_trigrams, search_words")
    await connection.copy_records_to_table(
        "search_words", records=[(word, len(trigrams)) for word, trigrams in words], columns=["word", "trigram_count"]
    )
    await connection.copy_records_to_table(
        "search_word_trigrams",
        records=[(trigram, word) for word, trigrams in words for trigram in trigrams],
        columns=["trigram", "word"],
    )
    await connection.execute("SELECT kindred_add_words(name || ' ' || immutable_array_join(synonyms)) FROM communities")
    await refresh_community_search(connection, None)
    await connection.execute(
        """INSERT INTO catalogue_source (id, package, hpo_version, annotations_version, checksum, loaded_at)
           VALUES (true, $1, $2, $3, $4, now())
           ON CONFLICT (id) DO UPDATE SET package = $1, hpo_version = $2, annotations_version = $3,
               checksum = $4, loaded_at = now()""",
        package,
        hpo_version,
        annotations_version,
        checksum,
    )


async def refresh_community_search(connection: asyncpg.Connection, community_id: int | None) -> None:
    """Copy the linked conditions' search vectors onto one community (or every community, for None)."""
    await connection.execute(
        """UPDATE communities c SET catalogue_search = coalesce(
               (SELECT kindred_tsvector_agg(cc.search) FROM community_conditions l
                JOIN catalogue_conditions cc ON cc.code = l.code WHERE l.community_id = c.id), ''::tsvector)
           WHERE $1::bigint IS NULL OR c.id = $1""",
        community_id,
    )


async def link(connection: asyncpg.Connection, community_id: int, codes: Sequence[str]) -> None:
    """The community covers these conditions (codes already linked stay as they are)."""
    await connection.execute(
        """INSERT INTO community_conditions (community_id, code) SELECT $1, unnest($2::text[])
           ON CONFLICT DO NOTHING""",
        community_id,
        list(codes),
    )
    await refresh_community_search(connection, community_id)


# The open community covering a condition: active before proposed, the oldest first. A hidden one is
# never named (to everyone but its members it does not exist; access.can_see_community).
_COVERING = """LEFT JOIN LATERAL (
        SELECT cm.slug, cm.name, cm.status FROM community_conditions l JOIN communities cm ON cm.id = l.community_id
        WHERE l.code = c.code AND cm.status IN ('active', 'proposed') AND cm.visibility <> 'hidden'
        ORDER BY cm.status = 'active' DESC, cm.id LIMIT 1) cov ON true"""
_CONDITION_COLUMNS = (
    "c.code, c.name, c.genes, cov.slug AS community_slug, cov.name AS community_name, cov.status AS community_status"
)


async def by_code(connection: asyncpg.Connection, code: str) -> Condition | None:
    row = await connection.fetchrow(
        f"SELECT {_CONDITION_COLUMNS} FROM catalogue_conditions c {_COVERING} WHERE c.code = $1", code
    )
    return Condition(**dict(row)) if row else None


async def search(
    connection: asyncpg.Connection, tsquery: str, *, limit: int, uncovered_only: bool = False
) -> list[Condition]:
    """Conditions matching a 'simple' tsquery, best first; optionally only those no open community covers."""
    rows = await connection.fetch(
        f"""SELECT {_CONDITION_COLUMNS} FROM catalogue_conditions c {_COVERING}
            WHERE c.search @@ to_tsquery('simple', $1) AND (NOT $3 OR cov.slug IS NULL)
            ORDER BY ts_rank(c.search, to_tsquery('simple', $1)) DESC, char_length(c.name), c.code
            LIMIT $2""",
        tsquery,
        limit,
        uncovered_only,
    )
    return [Condition(**dict(row)) for row in rows]


async def symptoms_of_codes(connection: asyncpg.Connection, codes: Sequence[str]) -> dict[str, list[Symptom]]:
    """Each condition's symptoms: those with a known frequency first (most frequent first), then by name."""
    rows = await connection.fetch(
        """SELECT cs.code, s.hpo_id, s.name, cs.frequency FROM catalogue_condition_symptoms cs
           JOIN catalogue_symptoms s USING (hpo_id) WHERE cs.code = ANY($1::text[])
           ORDER BY cs.code,
                    CASE cs.frequency WHEN 'obligate' THEN 0 WHEN 'very_frequent' THEN 1 WHEN 'frequent' THEN 2
                    WHEN 'occasional' THEN 3 WHEN 'very_rare' THEN 4 ELSE 5 END,
                    cs.frequency IS NULL, s.name""",
        list(codes),
    )
    result: dict[str, list[Symptom]] = {}
    for row in rows:
        result.setdefault(row["code"], []).append(Symptom(row["hpo_id"], row["name"], row["frequency"]))
    return result


async def for_community(connection: asyncpg.Connection, community_id: int) -> list[Condition]:
    """The catalogue conditions a community covers, ORPHA before OMIM, by name."""
    rows = await connection.fetch(
        """SELECT c.code, c.name, c.genes FROM community_conditions l JOIN catalogue_conditions c USING (code)
           WHERE l.community_id = $1 ORDER BY c.code LIKE 'OMIM:%', c.name""",
        community_id,
    )
    return [Condition(**dict(row)) for row in rows]


async def known_prefixes(connection: asyncpg.Connection, words: Sequence[str]) -> set[str]:
    """Those of `words` that start some word of the vocabulary (so they are not typos)."""
    rows = await connection.fetch(
        """SELECT q FROM unnest($1::text[]) AS q
           WHERE EXISTS (SELECT 1 FROM search_words WHERE word LIKE q || '%')""",
        list(words),
    )
    return {row["q"] for row in rows}


async def closest_words(connection: asyncpg.Connection, word: str, *, threshold: float, limit: int) -> list[str]:
    """Vocabulary words most like `word` by trigram similarity (shared / all trigrams, as pg_trgm's similarity())."""
    rows = await connection.fetch(
        """WITH q AS (SELECT kindred_trigrams($1) AS trigrams)
           SELECT w.word, count(*)::real / (cardinality(q.trigrams) + w.trigram_count - count(*)) AS similarity
           FROM q, search_word_trigrams t JOIN search_words w USING (word)
           WHERE t.trigram = ANY(q.trigrams)
           GROUP BY w.word, w.trigram_count, q.trigrams
           HAVING count(*)::real / (cardinality(q.trigrams) + w.trigram_count - count(*)) >= $2
           ORDER BY similarity DESC, w.word LIMIT $3""",
        word,
        threshold,
        limit,
    )
    return [row["word"] for row in rows]
