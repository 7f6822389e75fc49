"""The catalogue JSON API (the type-ahead) and the directory API's catalogue search (issue 14)."""

from __future__ import annotations

import asyncpg
import httpx

from server.actions import catalogue
from tests.factories import create_community, create_user, load_catalogue, login


async def _catalogue_with_cms(db: asyncpg.Connection) -> None:
    await load_catalogue(db, {"ORPHA:98913", "OMIM:254300", "ORPHA:33069", "ORPHA:79414"})
    cms = await create_community(
        db, "cms", "Congenital Myasthenic Syndromes", synonyms=["Syndromes myasthéniques congénitaux"]
    )
    await catalogue.link_conditions(db, cms, ["ORPHA:98913", "OMIM:254300"])


async def test_the_type_ahead_answers_conditions_with_their_covering_community(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await _catalogue_with_cms(db)
    body = (await client.get("/api/v1/catalogue", params={"q": "dok7"})).json()
    assert body["query"] == "dok7"
    by_code = {condition["code"]: condition for condition in body["conditions"]}
    assert set(by_code) == {"ORPHA:98913", "OMIM:254300"}
    assert by_code["ORPHA:98913"]["community"] == {
        "slug": "cms",
        "name": "Congenital Myasthenic Syndromes",
        "status": "active",
        "url": "/c/cms",
    }
    assert by_code["ORPHA:98913"]["source_url"] == "https://www.orpha.net/en/disease/detail/98913"
    dravet = (await client.get("/api/v1/catalogue", params={"q": "dravett"})).json()["conditions"]
    assert [c["code"] for c in dravet] == ["ORPHA:33069"] and dravet[0]["community"] is None
    assert (await client.get("/api/v1/catalogue", params={"q": "d"})).json()["conditions"] == []


async def test_one_condition_comes_with_its_symptoms_frequencies_and_source(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await _catalogue_with_cms(db)
    body = (await client.get("/api/v1/catalogue/OMIM:254300")).json()
    assert body["condition"]["genes"] == ["DOK7"]
    ptosis = next(symptom for symptom in body["symptoms"] if symptom["hpo_id"] == "HP:0000508")
    assert ptosis == {
        "hpo_id": "HP:0000508",
        "name": "Ptosis",
        "frequency": "13/19",
        "frequency_label": "13 of 19 people described",
    }
    assert "Human Phenotype Ontology (version 2025-01-16)" in body["source"]
    bad = await client.get("/api/v1/catalogue/DOK7")
    assert bad.status_code == 400 and "ORPHA:590 or OMIM:254300" in bad.json()["message"]
    missing = await client.get("/api/v1/catalogue/ORPHA:1")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


async def test_the_directory_api_searches_genes_codes_french_names_typos_and_offers_the_uncovered(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await _catalogue_with_cms(db)
    for query in ("DOK7", "ORPHA:98913", "syndromes myastheniques", "myastenic"):
        found = (await client.get("/api/v1/communities", params={"q": query})).json()
        assert [c["slug"] for c in found["communities"]] == ["cms"], query
    typo = (await client.get("/api/v1/communities", params={"q": "myastenic"})).json()
    assert typo["corrections"] == {"myastenic": "myasthenic"}
    woolly = (await client.get("/api/v1/communities", params={"q": "woolly hair"})).json()
    assert woolly["communities"] == [] and [c["code"] for c in woolly["uncovered"]] == ["ORPHA:79414"]


async def test_a_proposal_through_the_api_carries_codes_and_genes_and_a_covered_code_is_refused(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await _catalogue_with_cms(db)
    await create_user(db, "proposer")
    await login(client, "proposer")
    headers = {"X-CSRF-Token": (await client.get("/api/v1/session")).json()["csrf_token"]}
    proposal = {"name": "Dravet", "description": "An epilepsy.", "reason": "Needed.", "codes": ["ORPHA:33069"]}
    created = await client.post("/api/v1/proposals", json=proposal, headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["codes"] == ["ORPHA:33069"] and "SCN1A" in body["genes"]
    assert body["synonyms"] == ["Dravet syndrome"]
    covered = await client.post(
        "/api/v1/proposals", json={**proposal, "name": "DOK7 CMS", "codes": ["OMIM:254300"]}, headers=headers
    )
    assert covered.status_code == 409 and "Congenital Myasthenic Syndromes" in covered.json()["message"]
    bad = await client.post("/api/v1/proposals", json={**proposal, "name": "X y", "codes": ["nope"]}, headers=headers)
    assert bad.status_code == 400


async def test_a_hidden_community_is_never_named_as_covering_a_condition(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await _catalogue_with_cms(db)
    await db.execute("UPDATE communities SET visibility = 'hidden' WHERE slug = 'cms'")
    for url, params in (("/api/v1/catalogue", {"q": "dok7"}), ("/api/v1/catalogue/OMIM:254300", {})):
        answer = await client.get(url, params=params)
        assert (
            answer.status_code == 200 and "Congenital Myasthenic" not in answer.text and '"/c/cms"' not in answer.text
        )
