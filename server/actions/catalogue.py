"""The rare-disease catalogue: loading it offline from the repository's file, searching it, its facts for a community."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from server import textfold
from server.actions import events
from server.db.queries import catalogue
from server.db.queries.catalogue import Condition as Condition
from server.db.queries.catalogue import Source as Source
from server.db.queries.catalogue import Symptom as Symptom
from server.errors import bad_request, not_found
from server.i18n import _
from server.textfold import fold

CATALOGUE_FILE = Path(__file__).resolve().parents[1] / "data" / "catalogue.json.gz"
FORMAT = 1
MAX_QUERY_WORDS = 8
MAX_QUERY = 200
# Typo tolerance: words of at least this many letters that start no known word are replaced by the
# known words most like them, if at least this similar (pg_trgm's default threshold is 0.3).
MIN_TYPO_LENGTH = 4
TYPO_SIMILARITY = 0.45
TYPO_CANDIDATES = 3
SUGGESTIONS = 8
# Letters and digits in any script; everything else (tsquery operators included) separates words.
_WORD = re.compile(r"[^\W_]+")
_CODE = re.compile(r"^\s*(ORPHA|ORPHANET|OMIM)\s*[: ]\s*([0-9]{1,7})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class CatalogueFile:
    """The catalogue as written by scripts/build_catalogue.py."""

    source: dict[str, str]
    checksum: str
    # (code, name, genes, [(hpo id, frequency or None), ...])
    conditions: list[tuple[str, str, list[str], list[tuple[int, str | None]]]]
    symptoms: list[tuple[int, str, list[str]]]


def read_file(path: Path = CATALOGUE_FILE) -> CatalogueFile:
    raw = path.read_bytes()
    data: dict[str, Any] = json.loads(gzip.decompress(raw))
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: catalogue format {data.get('format')!r}, expected {FORMAT}")
    return CatalogueFile(
        source=dict(data["source"]),
        checksum=hashlib.sha256(raw).hexdigest(),
        conditions=[
            (code, name, list(genes), [(int(term), frequency) for term, frequency in annotations])
            for code, name, genes, annotations in data["conditions"]
        ],
        symptoms=[(int(term), name, list(synonyms)) for term, name, synonyms in data["symptoms"]],
    )


def subset(catalogue_file: CatalogueFile, codes: set[str]) -> CatalogueFile:
    """Only these conditions (and their symptoms): a small real catalogue for tests."""
    conditions = [condition for condition in catalogue_file.conditions if condition[0] in codes]
    used = {term for condition in conditions for term, _frequency in condition[3]}
    return CatalogueFile(
        source=catalogue_file.source,
        checksum=catalogue_file.checksum,
        conditions=conditions,
        symptoms=[symptom for symptom in catalogue_file.symptoms if symptom[0] in used],
    )


async def replace(connection: asyncpg.Connection, catalogue_file: CatalogueFile) -> None:
    """Load the file into Postgres in one transaction, replacing what was there (communities keep their links)."""
    async with events.unit_of_work(connection):
        await catalogue.lock_for_load(connection)
        await _replace_locked(connection, catalogue_file)


async def _replace_locked(connection: asyncpg.Connection, catalogue_file: CatalogueFile) -> None:
    symptom_text = {term: " ".join([name, *synonyms]) for term, name, synonyms in catalogue_file.symptoms}
    vocabulary: set[str] = set()
    for _code, name, _genes, _annotations in catalogue_file.conditions:
        vocabulary |= textfold.words(name)
    for text in symptom_text.values():
        vocabulary |= textfold.words(text)
    await catalogue.replace_all(
        connection,
        conditions=[
            (
                code,
                name,
                genes,
                fold(" ".join([name, code, *genes])),
            )
            for code, name, genes, _annotations in catalogue_file.conditions
        ],
        symptoms=[(term, name, synonyms, fold(symptom_text[term])) for term, name, synonyms in catalogue_file.symptoms],
        words=[(word, textfold.trigrams(word)) for word in sorted(vocabulary)],
        annotations=(
            (code, term, frequency)
            for code, _name, _genes, annotations in catalogue_file.conditions
            for term, frequency in annotations
        ),
        package=catalogue_file.source.get("package", "unknown"),
        hpo_version=catalogue_file.source.get("hpo_version", "unknown"),
        annotations_version=catalogue_file.source.get("annotations_version", "unknown"),
        checksum=catalogue_file.checksum,
    )


async def load_if_empty(connection: asyncpg.Connection, path: Path = CATALOGUE_FILE) -> bool:
    """Load the catalogue unless one is loaded already (`make run` and the release step); True when loaded now."""
    if await catalogue.source(connection) is not None:
        return False
    async with events.unit_of_work(connection):
        await catalogue.lock_for_load(connection)
        if await catalogue.source(connection) is not None:
            return False  # another process loaded it while this one waited for the lock
        await _replace_locked(connection, read_file(path))
    return True


async def source(connection: asyncpg.Connection) -> Source | None:
    return await catalogue.source(connection)


# --- Search ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    """A visitor's words as a 'simple' tsquery, with the typos it corrected ('myastenic' → 'myasthenic')."""

    tsquery: str | None
    corrections: dict[str, str] = field(default_factory=dict)


def code_of(query: str) -> str | None:
    """'ORPHA:98913', 'orpha 98913', 'Orphanet:98913' → 'ORPHA:98913'; 'OMIM 254300' → 'OMIM:254300'."""
    match = _CODE.match(query)
    if match is None:
        return None
    prefix = "OMIM" if match.group(1).upper() == "OMIM" else "ORPHA"
    return f"{prefix}:{int(match.group(2))}"


async def search_query(connection: asyncpg.Connection, query: str) -> SearchQuery:
    """Every word must match, as a prefix, accents and case aside; numbers match whole (a code's digits).

    A word that starts no known word (catalogue names, symptoms, community names) is taken as a typo
    and replaced by the most similar known words.
    """
    code = code_of(query)
    words = [fold(word) for word in _WORD.findall(code.replace("ORPHA:", "orpha ") if code else query)]
    words = words[:MAX_QUERY_WORDS]
    if not words:
        return SearchQuery(None)
    typo_candidates = [word for word in words if len(word) >= MIN_TYPO_LENGTH and not any(c.isdigit() for c in word)]
    known = await catalogue.known_prefixes(connection, typo_candidates) if typo_candidates else set()
    parts: list[str] = []
    corrections: dict[str, str] = {}
    for word in words:
        if word.isdigit():
            parts.append(word)
            continue
        if word in typo_candidates and word not in known:
            closest = await catalogue.closest_words(connection, word, threshold=TYPO_SIMILARITY, limit=TYPO_CANDIDATES)
            if closest:
                corrections[word] = closest[0]
                parts.append("(" + " | ".join(f"{candidate}:*" for candidate in closest) + ")")
                continue
        parts.append(f"{word}:*")
    return SearchQuery(" & ".join(parts), corrections)


def _check_query(query: str) -> str:
    return " ".join(query.split())[:MAX_QUERY]


async def suggest(connection: asyncpg.Connection, query: str, *, limit: int = SUGGESTIONS) -> list[Condition]:
    """Catalogue conditions for a type-ahead or a plain search: by code, name, gene or symptom."""
    query = _check_query(query)
    code = code_of(query)
    if code is not None:
        found = await catalogue.by_code(connection, code)
        return [found] if found else []
    if len(query) < 2:
        return []
    parsed = await search_query(connection, query)
    if parsed.tsquery is None:
        return []
    return await catalogue.search(connection, parsed.tsquery, limit=limit)


async def uncovered(connection: asyncpg.Connection, tsquery: str, *, limit: int) -> list[Condition]:
    """Catalogue conditions matching a search that no open community covers yet."""
    return await catalogue.search(connection, tsquery, limit=limit, uncovered_only=True)


def check_code(value: str) -> str:
    code = code_of(value)
    if code is None:
        raise bad_request(_("A catalogue code looks like ORPHA:590 or OMIM:254300."), "code")
    return code


async def condition(connection: asyncpg.Connection, value: str) -> Condition:
    """One catalogue condition by its code, or a clear 404."""
    found = await catalogue.by_code(connection, check_code(value))
    if found is None:
        raise not_found(_("There is no condition with the code %(code)s in the catalogue.") % {"code": value})
    return found


async def link_conditions(connection: asyncpg.Connection, community_id: int, codes: list[str]) -> None:
    """The community covers these catalogue conditions (its directory entry is found by their names, genes...)."""
    async with events.unit_of_work(connection):
        await catalogue.link(connection, community_id, codes)


# --- Facts for a community page -------------------------------------------------------------------


@dataclass(frozen=True)
class ConditionFacts:
    condition: Condition
    symptoms: list[Symptom]


@dataclass(frozen=True)
class Facts:
    """What the catalogue says about the conditions a community covers: shown as catalogue data, not members' words."""

    conditions: list[ConditionFacts]
    genes: list[str]
    source: Source | None


async def facts_for(connection: asyncpg.Connection, community_id: int) -> Facts | None:
    """The catalogue facts of a community's conditions (three queries however many conditions), or None."""
    conditions = await catalogue.for_community(connection, community_id)
    if not conditions:
        return None
    genes = sorted({gene for condition in conditions for gene in condition.genes})
    symptoms = await catalogue.symptoms_of_codes(connection, [c.code for c in conditions])
    return Facts(
        conditions=[ConditionFacts(c, symptoms.get(c.code, [])) for c in conditions],
        genes=genes,
        source=await catalogue.source(connection),
    )


@dataclass(frozen=True)
class OneCondition:
    condition: Condition
    symptoms: list[Symptom]
    source: Source | None


async def condition_facts(connection: asyncpg.Connection, value: str) -> OneCondition:
    found = await condition(connection, value)
    symptoms = await catalogue.symptoms_of_codes(connection, [found.code])
    return OneCondition(found, symptoms.get(found.code, []), await catalogue.source(connection))


def acknowledgement(source: Source | None) -> str:
    """The statement the HPO licence asks every service using it to show, with the version used."""
    version = source.hpo_version if source else "unknown"
    return _(
        "This service is using the Human Phenotype Ontology (version %(version)s). "
        "Find out more at https://hpo.jax.org. Disease data from Orphanet and OMIM, through the HPO annotations."
    ) % {"version": version}


def source_url(code: str) -> str:
    """The condition's page at Orphanet or OMIM."""
    prefix, number = code.split(":", 1)
    if prefix == "ORPHA":
        return f"https://www.orpha.net/en/disease/detail/{number}"
    return f"https://omim.org/entry/{number}"


def frequency_label(frequency: str | None) -> str:
    """HPO's frequency terms in the reader's language; fractions and percentages as given."""
    labels = {
        "obligate": _("always (100%)"),
        "very_frequent": _("very frequent (80–99%)"),
        "frequent": _("frequent (30–79%)"),
        "occasional": _("occasional (5–29%)"),
        "very_rare": _("very rare (1–4%)"),
    }
    if frequency is None:
        return ""
    if "/" in frequency:
        seen, of = frequency.split("/", 1)
        return _("%(seen)s of %(of)s people described") % {"seen": seen, "of": of}
    return labels.get(frequency, frequency)
