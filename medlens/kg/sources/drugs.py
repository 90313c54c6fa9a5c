"""Drug names from the dictionary shipped in the installed
``drug-named-entity-recognition`` package
(``drug_named_entity_recognition/drug_ner_dictionary.pkl.bz2``).

Only the package's data is used, never its matcher functions.

Combination products: a record of the dictionary with no id of its own whose
name joins drugs that have one ("lopinavir/ritonavir", "fluticasone and
salmeterol") becomes a concept ``COMBO:<ids>`` (label DRUG) with a
``has_ingredient`` relation to each drug, so its brand names (Kaletra,
Bactrim, Unasyn) are linked. Brands the dictionary lacks (Versed, Percocet,
Augmentin) come from the reviewed ``resources/en/medications/brands.json``
(:class:`BrandsFile`).

Data quality: the ``mesh_id`` values of this dictionary are not the drugs'
own descriptors but (for every drug checked) the id of a pharmacological
action or related descriptor — aspirin and acetaminophen both carry D058633,
metformin and insulin D007004. By default they are therefore neither used as
concept ids nor turned into ``xref`` relations; they are kept in
``attrs["mesh_id_in_source"]``. ``trust_mesh_ids=True`` restores them.
"""

from __future__ import annotations

import importlib.metadata
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from spacy.lang.en.stop_words import STOP_WORDS

from medlens.errors import Errors, SourceError
from medlens.kg.sources.base import SourceData
from medlens.kg.sources.mesh import load_pickle, repair_trees
from medlens.kg.store import Concept, Relation, SourceInfo, Synonym
from medlens.normalize import simple_norm
from medlens.resources import load_resource, resource_path

SOURCE = "drugs"
TITLE = "Drug names with DrugBank and MedlinePlus ids via drug-named-entity-recognition"
LICENSE = ("drug-named-entity-recognition: MIT; DrugBank vocabulary CC0 1.0; "
           "MeSH: NLM terms and conditions; MedlinePlus: NLM (public domain)")
DIST = "drug-named-entity-recognition"
MIN_VARIANT_CHARS = 3
BRANDS_FILE = "medications/brands.json"
_COMBO_SPLIT = re.compile(r"\s*/\s*|,?\s+and\s+|,\s*")


class Brand(BaseModel):
    """A brand name and the generic name(s) it stands for (the dictionary's spelling)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    brand: str = Field(min_length=3)
    generics: list[str] = Field(min_length=1)


class BrandsFile(BaseModel):
    """``resources/en/medications/brands.json``: brands the drug dictionary lacks or cannot link."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    description: str
    brands: list[Brand]


def combo_id(ingredient_ids: list[str]) -> str:
    """The concept id of a combination product: ``COMBO:`` and its ingredients' ids, sorted, joined by ``+``."""
    return "COMBO:" + "+".join(sorted(set(ingredient_ids)))


def _ingredients(name: str, canon: dict[str, dict[str, Any]], concept_of: dict[str, str]) -> list[str] | None:
    """The concept ids of the drugs a combination's name joins, or None unless every part is such a drug."""
    parts = [p for p in _COMBO_SPLIT.split(name.casefold().strip()) if p]
    if len(parts) < 2:
        return None
    ids = [concept_of.get(p) for p in parts]
    if any(i is None or not canon.get(p, {}).get("drugbank_id") for i, p in zip(ids, parts)):
        return None
    return [i for i in ids if i]


def _concept_id(rec: dict[str, Any], trust_mesh_ids: bool, headings: dict[str, str] | None = None) -> str | None:
    if rec.get("drugbank_id"):
        return str(rec["drugbank_id"])
    if trust_mesh_ids and rec.get("mesh_id"):
        return f"MESH:{rec['mesh_id']}"
    if rec.get("medline_plus_id"):
        return f"MEDLINEPLUS:{rec['medline_plus_id']}"
    trees = sorted(repair_trees(list(rec.get("mesh_tree") or [])))
    if trees and headings:
        found = headings.get(simple_norm(str(rec.get("name") or "")))
        if found:
            return found
    if trees:
        return f"MESHTREE:{trees[0]}"
    return None


def read_drugs(trust_mesh_ids: bool = False, descriptors: dict[str, str] | None = None) -> SourceData:
    """Drugs with their generic and brand names.

    Args:
        trust_mesh_ids: use the dictionary's MeSH ids (as concept ids of drugs
            without a DrugBank id, and as ``xref`` DBxxxx -> MESH:xxx); the
            default ``False`` leaves them out (see the module doc).
        descriptors: MeSH descriptor id -> heading
            (:func:`medlens.kg.sources.mesh_ids.read_descriptors_table`): a record known
            only by MeSH tree numbers whose name is a heading gets that heading's id
            (``MESH:D010710``) instead of ``MESHTREE:...``.

    Returns:
        Source ``drugs``: concepts labelled DRUG with the bare DrugBank id
        (``DB00945``), else ``MEDLINEPLUS:a682878`` (``MESH:<id>`` first when
        trusted), else the MeSH descriptor id of its name when ``descriptors`` has it,
        else ``MESHTREE:<first MeSH tree number>`` (as the MeSH
        reader names records whose id it cannot trust); records with none of
        these are skipped (:func:`read_drugs_report` counts them). Synonyms: the
        name (``preferred``), variants (``exact``, or ``brand`` for brand names).
        Variants that are English stop words (spaCy's list) or shorter than 3
        characters are dropped.

    Raises:
        SourceError: E104 when the dictionary is missing or not in the expected shape.
    """
    data, _ = read_drugs_report(trust_mesh_ids, descriptors)
    return data


def read_drugs_report(trust_mesh_ids: bool = False, descriptors: dict[str, str] | None = None,
                      brands_path: str | None = None) -> tuple[SourceData, dict[str, int]]:
    """:func:`read_drugs`, plus counts of what was left out.

    Args:
        trust_mesh_ids, descriptors: as in :func:`read_drugs`.
        brands_path: another brands file (default: the shipped ``medications/brands.json``).

    Returns:
        The source data and a dict with ``combinations`` (combination concepts made),
        ``curated_brands`` (brand synonyms from the brands file), ``skipped_records`` (no usable id),
        ``duplicate_ids`` (a later record with an id already used: its variants
        join the first record's concept),
        ``dropped_stopword_variants`` and ``dropped_short_variants``.
    """
    data, path = load_pickle(DIST, "drug_named_entity_recognition/drug_ner_dictionary.pkl.bz2", SOURCE)
    try:
        canon: dict[str, dict[str, Any]] = data["drug_canonical_to_data"]
        variants: dict[str, list[str]] = data["drug_variant_to_canonical"]
        variant_data: dict[str, dict[str, Any]] = data.get("drug_variant_to_variant_data", {})
    except KeyError as exc:
        raise SourceError(Errors.E104.format(source=SOURCE, path=path, details=f"missing key {exc}")) from exc

    report = {"combinations": 0, "curated_brands": 0, "skipped_records": 0, "duplicate_ids": 0,
              "dropped_stopword_variants": 0, "dropped_short_variants": 0}
    concept_of: dict[str, str] = {}
    names: dict[str, str] = {}
    concepts: list[Concept] = []
    synonyms: list[Synonym] = []
    relations: list[Relation] = []
    headings = {simple_norm(name): cid for cid, name in (descriptors or {}).items()}
    for key, rec in canon.items():
        cid = _concept_id(rec, trust_mesh_ids, headings)
        if cid is None:
            report["skipped_records"] += 1
            continue
        concept_of[key] = cid
        if cid in names:
            report["duplicate_ids"] += 1
            continue
        name = str(rec.get("name") or key)
        names[cid] = name.casefold()
        attrs = {k: rec[k] for k in ("drugbank_id", "medline_plus_id", "formula", "wikipedia_url") if rec.get(k)}
        if rec.get("mesh_id"):
            attrs["mesh_id_in_source"] = rec["mesh_id"]
        if rec.get("mesh_tree"):
            attrs["mesh_trees"] = list(rec["mesh_tree"])
        concepts.append(Concept(cid, name, SOURCE, "DRUG", None, attrs))
        synonyms.append(Synonym(cid, name, "preferred", SOURCE))
        if trust_mesh_ids and rec.get("mesh_id") and rec.get("drugbank_id"):
            relations.append(Relation(cid, "xref", f"MESH:{rec['mesh_id']}", SOURCE))

    def add_combo(name: str, ids: list[str]) -> str:
        cid = combo_id(ids)
        if cid not in names:
            names[cid] = name.casefold()
            concepts.append(Concept(cid, name, SOURCE, "DRUG", None, {"ingredients": sorted(set(ids))}))
            synonyms.append(Synonym(cid, name, "preferred", SOURCE))
            relations.extend(Relation(cid, "has_ingredient", i, SOURCE) for i in sorted(set(ids)))
            report["combinations"] += 1
        return cid

    # combination records without an id of their own ("lopinavir/ritonavir": Kaletra)
    for key, rec in canon.items():
        if key in concept_of:
            continue
        ids = _ingredients(key, canon, concept_of)
        if ids is not None:
            concept_of[key] = add_combo(str(rec.get("name") or key), ids)
            report["skipped_records"] -= 1

    seen: set[tuple[str, str]] = set()
    brands = load_resource(brands_path or resource_path(BRANDS_FILE), BrandsFile)
    for b in brands.brands:
        ids = []
        for generic in b.generics:
            cid = concept_of.get(generic.casefold())
            if cid is None:
                raise SourceError(Errors.E104.format(
                    source=SOURCE, path=brands_path or BRANDS_FILE,
                    details=f"brand '{b.brand}': generic '{generic}' is not a drug of the dictionary"))
            ids.append(cid)
        cid = ids[0] if len(ids) == 1 else add_combo("/".join(b.generics), ids)
        if (cid, b.brand.casefold()) not in seen:
            seen.add((cid, b.brand.casefold()))
            synonyms.append(Synonym(cid, b.brand, "brand", SOURCE))
            report["curated_brands"] += 1

    for variant, targets in variants.items():
        text = variant.strip()
        if text.casefold() in STOP_WORDS:
            report["dropped_stopword_variants"] += 1
            continue
        if len(text) < MIN_VARIANT_CHARS:
            report["dropped_short_variants"] += 1
            continue
        kind = "brand" if (variant_data.get(variant) or {}).get("is_brand") else "exact"
        for target in targets:
            cid = concept_of.get(target)
            if cid is None or text.casefold() == names[cid] or (cid, text.casefold()) in seen:
                continue
            seen.add((cid, text.casefold()))
            synonyms.append(Synonym(cid, text, kind, SOURCE))

    version = importlib.metadata.version(DIST)
    info = SourceInfo(SOURCE, f"{DIST} {version}", TITLE, LICENSE, f"{DIST} {version} ({path.name})")
    return SourceData(info, concepts, synonyms, relations), report
