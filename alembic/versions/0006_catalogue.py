"""The rare-disease catalogue (ORPHA and OMIM conditions, genes, HPO symptoms), directory and site-wide search.

Loaded from server/data/catalogue.json.gz by server.catalogue (docs/catalogue.md). Search folds case and
accents with kindred_fold() (the same table as server/textfold.py) and tolerates small typos with a
vocabulary of words and their trigrams (kindred_trigrams, as pg_trgm computes them), so it needs no
extension: neither unaccent nor pg_trgm is in the embedded Postgres.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Frozen copies of server/textfold.py's tables (a later change there needs a new migration).
ACCENTED = "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĲĳĴĵĶķĹĺĻļĽľĿŀŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǇǈǉǊǋǌǍǎǏǐǑǒǓǔǦǧǨǩǪǫǰǱǲǳǴǵǸǹȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȮȯȲȳøØłŁđĐħĦıŧŦðÐþÞ"
UNACCENTED = "AAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyyAaAaAaCcCcCcCcDdEeEeEeEeEeGgGgGgGgHhIiIiIiIiIIiJjKkLlLlLlLlNnNnNnOoOoOoRrRrRrSsSsSsSsTtTtUuUuUuUuUuUuWwYyYZzZzZzOoUuLLlNNnAaIiOoUuGgKkOojDDdGgNnAaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoYyoOlLdDhHitTdDtT"

FUNCTIONS = r"""
CREATE FUNCTION kindred_fold(value text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    -- Plain ASCII (most posts and chat messages) only needs lower case; other text has its ligatures spelt
    -- out, is decomposed (NFD), loses its combining marks, and the letters that do not decompose are mapped.
    -- (A translate() over every accented letter instead cost about 160 µs for one chat message; this, 11 µs.)
    SELECT CASE WHEN octet_length(value) = char_length(value) THEN lower(value) ELSE
        lower(translate(regexp_replace(normalize(
            replace(replace(replace(replace(replace(value, 'œ', 'oe'), 'Œ', 'oe'), 'æ', 'ae'), 'Æ', 'ae'), 'ß', 'ss'),
            NFD), '[\u0300-\u036f]', '', 'g'), 'øØłŁđĐħĦıŧŦðÐþÞ', 'oollddhhittddtt'))
    END
$$;

-- Diacritics off, case and length kept: search highlights are placed in this copy, then moved to the original.
CREATE FUNCTION kindred_unaccent(value text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT translate(value, 'ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĲĳĴĵĶķĹĺĻļĽľĿŀŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǇǈǉǊǋǌǍǎǏǐǑǒǓǔǦǧǨǩǪǫǰǱǲǳǴǵǸǹȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȮȯȲȳøØłŁđĐħĦıŧŦðÐþÞ', 'AAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyyAaAaAaCcCcCcCcDdEeEeEeEeEeGgGgGgGgHhIiIiIiIiIIiJjKkLlLlLlLlNnNnNnOoOoOoRrRrRrSsSsSsSsTtTtUuUuUuUuUuUuWwYyYZzZzZzOoUuLLlNNnAaIiOoUuGgKkOojDDdGgNnAaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoYyoOlLdDhHitTdDtT')
$$;

-- The trigrams pg_trgm would take of one word: two spaces before, one after.
CREATE FUNCTION kindred_trigrams(word text) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr('  ' || word || ' ', i, 3)), '{}')
    FROM generate_series(1, char_length(word) + 1) AS i
$$;

CREATE FUNCTION kindred_words(value text) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT DISTINCT w FROM regexp_split_to_table(kindred_fold(value), '[[:space:][:punct:]]+') AS w
    WHERE char_length(w) BETWEEN 3 AND 40 AND w !~ '[0-9]'
$$;

CREATE TABLE search_words (
    word            text PRIMARY KEY,
    trigram_count   integer NOT NULL
);
CREATE TABLE search_word_trigrams (
    trigram         text NOT NULL,
    word            text NOT NULL,  -- a search_words word (no foreign key: both are rebuilt together)
    PRIMARY KEY (trigram, word)
);
CREATE INDEX search_words_prefix ON search_words (word text_pattern_ops);

-- Add the words of a text to the typo-tolerance vocabulary.
CREATE FUNCTION kindred_add_words(value text) RETURNS void
    LANGUAGE sql VOLATILE AS $$
    WITH new_words AS (
        INSERT INTO search_words (word, trigram_count)
        SELECT w, cardinality(kindred_trigrams(w)) FROM kindred_words(value) AS w
        ON CONFLICT (word) DO NOTHING RETURNING word
    )
    INSERT INTO search_word_trigrams (trigram, word)
    SELECT unnest(kindred_trigrams(word)), word FROM new_words
$$;

CREATE FUNCTION communities_add_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM kindred_add_words(NEW.name || ' ' || immutable_array_join(NEW.synonyms));
    RETURN NEW;
END $$;

CREATE AGGREGATE kindred_tsvector_agg(tsvector) (SFUNC = tsvector_concat, STYPE = tsvector, INITCOND = '');
"""

UPGRADE = r"""
CREATE TABLE catalogue_conditions (
    code            text PRIMARY KEY CHECK (code ~ '^(ORPHA|OMIM):[0-9]+$'),
    name            text NOT NULL,
    genes           text[] NOT NULL DEFAULT '{}',
    search          tsvector NOT NULL DEFAULT ''
);
CREATE INDEX catalogue_conditions_search ON catalogue_conditions USING gin (search);

CREATE TABLE catalogue_symptoms (
    hpo_id          integer PRIMARY KEY,
    name            text NOT NULL,
    synonyms        text[] NOT NULL DEFAULT '{}'
);

CREATE TABLE catalogue_condition_symptoms (
    -- No foreign keys: the three tables are only ever replaced together, by server/db/queries/catalogue.py
    -- (checking a quarter of a million rows one by one would triple the first start's load time).
    code            text NOT NULL,
    hpo_id          integer NOT NULL,
    frequency       text,
    PRIMARY KEY (code, hpo_id)
);
CREATE INDEX catalogue_condition_symptoms_hpo ON catalogue_condition_symptoms (hpo_id);

-- One row: what the catalogue tables were loaded from.
CREATE TABLE catalogue_source (
    id              boolean PRIMARY KEY DEFAULT true CHECK (id),
    package         text NOT NULL,
    hpo_version     text NOT NULL,
    annotations_version text NOT NULL,
    checksum        text NOT NULL,
    loaded_at       timestamptz NOT NULL DEFAULT now()
);

-- The catalogue conditions a community covers (by code, so a catalogue refresh keeps the links).
CREATE TABLE community_conditions (
    community_id    bigint NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    code            text NOT NULL CHECK (code ~ '^(ORPHA|OMIM):[0-9]+$'),
    PRIMARY KEY (community_id, code)
);
CREATE INDEX community_conditions_code ON community_conditions (code);

ALTER TABLE communities
    ADD COLUMN folded_search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', kindred_fold(name || ' ' || immutable_array_join(synonyms))), 'A') ||
        setweight(to_tsvector('simple', kindred_fold(description)), 'D')
    ) STORED,
    -- The search vectors of the conditions it covers, kept by server/db/queries/catalogue.py.
    ADD COLUMN catalogue_search tsvector NOT NULL DEFAULT '';

-- Site-wide search (issue 14, point 4): every searchable text gets an accent-folded vector.
ALTER TABLE posts DROP COLUMN search;
ALTER TABLE posts ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('english', kindred_fold(body_md))) STORED;
CREATE INDEX posts_search ON posts USING gin (search);
DROP INDEX threads_title_search;
CREATE INDEX threads_title_search ON threads USING gin (to_tsvector('english', kindred_fold(title)));
ALTER TABLE condition_sections ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('english', kindred_fold(body_md))) STORED;
CREATE INDEX condition_sections_search ON condition_sections USING gin (search);
ALTER TABLE tips ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', kindred_fold(name)), 'A') ||
    setweight(to_tsvector('english', kindred_fold(description)), 'B')) STORED;
CREATE INDEX tips_search ON tips USING gin (search);
ALTER TABLE resources ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', kindred_fold(title)), 'A') ||
    setweight(to_tsvector('english', kindred_fold(description)), 'B')) STORED;
CREATE INDEX resources_search ON resources USING gin (search);
-- Chat history too (a GIN index's pending list keeps the cost of each message small).
ALTER TABLE room_messages ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('english', kindred_fold(body))) STORED;
CREATE INDEX room_messages_search ON room_messages USING gin (search);

CREATE TRIGGER communities_add_words AFTER INSERT OR UPDATE OF name, synonyms ON communities
    FOR EACH ROW EXECUTE FUNCTION communities_add_words();
SELECT kindred_add_words(name || ' ' || immutable_array_join(synonyms)) FROM communities;
"""

DOWNGRADE = r"""
DROP INDEX IF EXISTS room_messages_search, resources_search, tips_search, condition_sections_search;
ALTER TABLE room_messages DROP COLUMN IF EXISTS search;
ALTER TABLE resources DROP COLUMN IF EXISTS search;
ALTER TABLE tips DROP COLUMN IF EXISTS search;
ALTER TABLE condition_sections DROP COLUMN IF EXISTS search;
DROP INDEX IF EXISTS threads_title_search;
CREATE INDEX threads_title_search ON threads USING gin (to_tsvector('english', title));
ALTER TABLE posts DROP COLUMN search;
ALTER TABLE posts ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('english', body_md)) STORED;
CREATE INDEX posts_search ON posts USING gin (search);
DROP TRIGGER IF EXISTS communities_add_words ON communities;
ALTER TABLE communities DROP COLUMN IF EXISTS folded_search, DROP COLUMN IF EXISTS catalogue_search;
DROP TABLE IF EXISTS community_conditions, catalogue_source, catalogue_condition_symptoms, catalogue_symptoms,
    catalogue_conditions, search_word_trigrams, search_words CASCADE;
DROP AGGREGATE IF EXISTS kindred_tsvector_agg(tsvector);
DROP FUNCTION IF EXISTS communities_add_words();
DROP FUNCTION IF EXISTS kindred_add_words(text);
DROP FUNCTION IF EXISTS kindred_words(text);
DROP FUNCTION IF EXISTS kindred_trigrams(text);
DROP FUNCTION IF EXISTS kindred_unaccent(text);
DROP FUNCTION IF EXISTS kindred_fold(text);
"""


def run_script(sql: str) -> None:
    """Run a multi-statement script through asyncpg's simple-query path (prepared statements allow one)."""
    from sqlalchemy.util.concurrency import await_

    driver = op.get_bind().connection.driver_connection
    assert driver is not None
    await_(driver.execute(sql))


def upgrade() -> None:
    run_script(FUNCTIONS)
    run_script(UPGRADE)


def downgrade() -> None:
    run_script(DOWNGRADE)
