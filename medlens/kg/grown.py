"""The grown layer of the knowledge graph: what medlens learned from text, kept apart from the ontologies.

``medlens kg grow`` reads documents and writes here; the curated graph file is never touched. The layer is
its own SQLite file beside the graph (``kg.sqlite`` -> ``kg.grown.sqlite``, see :func:`grown_path`):

- ``documents`` -- every counted document: id, SHA-256 of its text, sentences, concept mentions;
- ``doc_concepts`` / ``doc_pairs`` -- per document, the linked concepts (mentions, sentences) and every pair
  of concepts of the document (with the number of sentences holding both);
- ``concept_stats`` / ``pair_stats`` -- the totals over all documents, with the pair's pointwise mutual
  information and Dunning's log-likelihood ratio (G²) over documents, rebuilt at the end of each grow;
- ``edges`` -- extracted relations, one row per evidence: head, predicate, tail, how it was found
  (``model:<name>``, ``pattern:<name>``, ``distant:<source>``), score, the document id, the sentence's
  offsets and text, the mention texts.

A grow is

- incremental: a document whose text (SHA-256) is already counted is skipped, whatever its id; a document id
  counted with another text is replaced (its old rows removed first), so nothing is counted twice;
- atomic: it writes into a partial copy (``.kg.grown.sqlite.partial``) and ``os.replace``-s it over the
  layer only when it has finished, so an interrupted grow leaves the previous layer in use;
- resumable: the partial copy commits every few documents; the next grow over the same layer continues from
  it (documents it holds are not processed again), unless another grow has replaced the layer meanwhile.

Reading::

    layer = GrownLayer.open(grown_path(kg.path))
    layer.stats(); layer.edges("MESH:D056486", predicate="induces", direction="in")
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import shutil
import sqlite3
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medlens.errors import Errors, KnowledgeGraphError
from medlens.io.files import fsync_dir
from medlens.kg.store import KnowledgeGraph

GROWN_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents(
    doc_id TEXT PRIMARY KEY, hash TEXT NOT NULL, n_sentences INTEGER NOT NULL, n_mentions INTEGER NOT NULL,
    added TEXT NOT NULL
);
CREATE INDEX documents_hash ON documents(hash);
CREATE TABLE doc_concepts(
    doc_id TEXT NOT NULL, concept_id TEXT NOT NULL, n_mentions INTEGER NOT NULL, n_sentences INTEGER NOT NULL,
    PRIMARY KEY(doc_id, concept_id)
) WITHOUT ROWID;
CREATE TABLE doc_pairs(
    doc_id TEXT NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL, n_sentences INTEGER NOT NULL,
    PRIMARY KEY(doc_id, a, b)
) WITHOUT ROWID;
CREATE TABLE edges(
    id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, head_id TEXT NOT NULL, predicate TEXT NOT NULL,
    tail_id TEXT NOT NULL, method TEXT NOT NULL, score REAL NOT NULL, head_text TEXT NOT NULL,
    tail_text TEXT NOT NULL, head_start INTEGER NOT NULL, tail_start INTEGER NOT NULL,
    evidence TEXT NOT NULL, sentence TEXT NOT NULL
);
CREATE INDEX edges_head ON edges(head_id, predicate);
CREATE INDEX edges_tail ON edges(tail_id, predicate);
CREATE INDEX edges_doc ON edges(doc_id);
CREATE TABLE concept_stats(
    concept_id TEXT PRIMARY KEY, documents INTEGER NOT NULL, sentences INTEGER NOT NULL, mentions INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE pair_stats(
    a TEXT NOT NULL, b TEXT NOT NULL, documents INTEGER NOT NULL, sentences INTEGER NOT NULL,
    pmi REAL NOT NULL, llr REAL NOT NULL, PRIMARY KEY(a, b)
) WITHOUT ROWID;
CREATE INDEX pair_stats_b ON pair_stats(b);
"""

SENTENCE_CHARS = 600
"""Evidence sentences are stored up to this many characters (longer ones are cut with an ellipsis)."""


def grown_path(kg_path: str | os.PathLike[str]) -> Path:
    """The grown layer beside a graph file: ``kg.sqlite`` -> ``kg.grown.sqlite``."""
    p = Path(kg_path).expanduser()
    return p.with_name(f"{p.stem}.grown{p.suffix or '.sqlite'}")


def partial_path(path: Path) -> Path:
    """Where a grow into ``path`` writes until it has finished (kept after an interruption, for resuming)."""
    return path.with_name(f".{path.name}.partial")


# -- records ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MentionRow:
    """One linked concept mention of a document: the concept and the index of its sentence."""

    concept_id: str
    sentence: int


@dataclass(frozen=True, slots=True)
class EdgeRow:
    """One relation read from one document (one evidence of a grown edge)."""

    head_id: str
    predicate: str
    tail_id: str
    method: str
    score: float
    head_text: str
    tail_text: str
    head_start: int
    tail_start: int
    evidence: tuple[tuple[int, int], ...]
    sentence: str


@dataclass(frozen=True, slots=True)
class DocumentRows:
    """What one document adds to the grown layer."""

    doc_id: str
    hash: str
    n_sentences: int
    mentions: tuple[MentionRow, ...] = ()
    edges: tuple[EdgeRow, ...] = ()


@dataclass(frozen=True, slots=True)
class EdgeEvidence:
    """One sentence (or pair of sentences) a grown edge was read from."""

    doc_id: str
    sentence: str
    start: int
    end: int
    head_text: str
    tail_text: str
    score: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, "sentence": self.sentence, "start": self.start, "end": self.end,
                "head_text": self.head_text, "tail_text": self.tail_text, "score": self.score, "method": self.method}


@dataclass(frozen=True, slots=True)
class GrownEdge:
    """``head --predicate--> tail`` as learned from text, with its evidence.

    Attributes:
        score: 0..1, noisy-or over the documents of each one's best evidence score
            (``1 - prod(1 - s_d)``): more independent documents, more confidence.
        documents: documents it was read from; ``mentions``: evidence rows in all.
        methods: how it was found (``model:relations``, ``pattern:treats``, ``distant:omim``, ...).
        evidence: the best evidence sentences, best first (at most the ``evidence`` limit asked for).
        cooccurrence_documents / pmi / llr: the pair's co-occurrence statistics over the grown corpus.
        learned: always True: the edge comes from text, not from a curated source.
    """

    head_id: str
    predicate: str
    tail_id: str
    score: float
    documents: int
    mentions: int
    methods: tuple[str, ...]
    evidence: tuple[EdgeEvidence, ...]
    cooccurrence_documents: int = 0
    pmi: float | None = None
    llr: float | None = None
    head_name: str | None = None
    tail_name: str | None = None
    learned: bool = field(default=True)

    def to_dict(self) -> dict[str, Any]:
        return {"head_id": self.head_id, "head_name": self.head_name, "predicate": self.predicate,
                "tail_id": self.tail_id, "tail_name": self.tail_name, "score": self.score,
                "documents": self.documents, "mentions": self.mentions, "methods": list(self.methods),
                "cooccurrence_documents": self.cooccurrence_documents, "pmi": self.pmi, "llr": self.llr,
                "learned": True, "source": "grown", "evidence": [e.to_dict() for e in self.evidence]}


# -- statistics -------------------------------------------------------------------------------------------
def pmi(n_ab: int, n_a: int, n_b: int, n: int) -> float:
    """Pointwise mutual information (bits) of two concepts over ``n`` documents."""
    if not (n_ab and n_a and n_b and n):
        return 0.0
    return math.log2(n_ab * n / (n_a * n_b))


def _xlogx(*counts: float) -> float:
    return sum(c * math.log(c) for c in counts if c > 0)


def llr(n_ab: int, n_a: int, n_b: int, n: int) -> float:
    """Dunning's log-likelihood ratio G² of the 2x2 document table of two concepts (0 = independent).

    Signed: negative when the pair co-occurs less often than chance would have it.
    """
    k11, k12, k21 = n_ab, n_a - n_ab, n_b - n_ab
    k22 = n - n_a - n_b + n_ab
    if min(k11, k12, k21, k22) < 0 or n <= 0:
        return 0.0
    g2 = 2 * (_xlogx(k11, k12, k21, k22) - _xlogx(k11 + k12, k21 + k22) - _xlogx(k11 + k21, k12 + k22) + _xlogx(n))
    g2 = max(g2, 0.0)
    return g2 if k11 * n >= n_a * n_b else -g2


def noisy_or(scores: Iterable[float]) -> float:
    """``1 - prod(1 - s)``: the chance that at least one of independent pieces of evidence is right."""
    miss = 1.0
    for s in scores:
        miss *= 1.0 - min(max(s, 0.0), 1.0)
    return 1.0 - miss


# -- reading ---------------------------------------------------------------------------------------------
def _check_schema(conn: sqlite3.Connection, path: Path) -> None:
    try:
        row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise KnowledgeGraphError(Errors.E321.format(path=path, found="none", expected=GROWN_SCHEMA_VERSION,
                                                     details=exc)) from exc
    found = int(row[0]) if row else None
    if found != GROWN_SCHEMA_VERSION:
        raise KnowledgeGraphError(Errors.E321.format(path=path, found=found, expected=GROWN_SCHEMA_VERSION,
                                                     details="grow it again into a new layer"))


class GrownLayer:
    """Read access to a grown layer (read-only; safe to share between threads)."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> GrownLayer:
        """Open a grown layer read-only.

        Raises:
            KnowledgeGraphError: E320 when there is no layer at ``path``; E321 when it is not one.
        """
        p = Path(path).expanduser()
        if not p.is_file():
            raise KnowledgeGraphError(Errors.E320.format(path=p))
        conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True, check_same_thread=False)
        _check_schema(conn, p)
        return cls(p, conn)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> GrownLayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def query(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        """A read-only SQL query on the layer."""
        return self._conn.execute(sql, params)

    def stats(self) -> dict[str, Any]:
        """Documents, sentences, concepts, pairs and edges (per predicate and per method) of the layer."""
        q = self._conn.execute
        docs, sents, mentions = q("SELECT COUNT(*), COALESCE(SUM(n_sentences),0), COALESCE(SUM(n_mentions),0) "
                                  "FROM documents").fetchone()
        per_pred: dict[str, dict[str, int]] = {}
        for pred, n_rows, n_edges in q("SELECT predicate, COUNT(*), COUNT(DISTINCT head_id || '\x1f' || tail_id) "
                                       "FROM edges GROUP BY predicate ORDER BY predicate"):
            per_pred[pred] = {"evidence": n_rows, "edges": n_edges}
        per_method = {m: n for m, n in q("SELECT method, COUNT(*) FROM edges GROUP BY method ORDER BY method")}
        return {
            "path": str(self.path),
            "documents": docs, "sentences": sents, "mentions": mentions,
            "concepts": q("SELECT COUNT(*) FROM concept_stats").fetchone()[0],
            "pairs": q("SELECT COUNT(*) FROM pair_stats").fetchone()[0],
            "pairs_in_a_sentence": q("SELECT COUNT(*) FROM pair_stats WHERE sentences > 0").fetchone()[0],
            "edges": sum(v["edges"] for v in per_pred.values()),
            "evidence": sum(v["evidence"] for v in per_pred.values()),
            "predicates": per_pred, "methods": per_method,
            "updated": self.meta("updated"), "grows": int(self.meta("grows", "0") or 0),
            "pipeline": json.loads(self.meta("pipeline", "[]") or "[]"), "medlens": self.meta("medlens_version"),
            "size_bytes": self.path.stat().st_size,
        }

    def document_count(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]

    def concept_stats(self, concept_id: str) -> dict[str, int] | None:
        row = self._conn.execute("SELECT documents, sentences, mentions FROM concept_stats WHERE concept_id=?",
                                 (concept_id,)).fetchone()
        return {"documents": row[0], "sentences": row[1], "mentions": row[2]} if row else None

    def pair(self, a: str, b: str) -> dict[str, float] | None:
        """Co-occurrence statistics of two concepts (in either order), or None when they never co-occur."""
        x, y = sorted((a, b))
        row = self._conn.execute("SELECT documents, sentences, pmi, llr FROM pair_stats WHERE a=? AND b=?",
                                 (x, y)).fetchone()
        return {"documents": row[0], "sentences": row[1], "pmi": row[2], "llr": row[3]} if row else None

    def cooccurring(self, concept_id: str, limit: int = 20, min_documents: int = 2) -> list[tuple[str, dict]]:
        """The concepts that co-occur with ``concept_id`` most strongly (by G², then documents)."""
        rows = self._conn.execute(
            "SELECT b, documents, sentences, pmi, llr FROM pair_stats WHERE a=? AND documents>=? UNION ALL "
            "SELECT a, documents, sentences, pmi, llr FROM pair_stats WHERE b=? AND documents>=? "
            "ORDER BY 5 DESC, 2 DESC LIMIT ?", (concept_id, min_documents, concept_id, min_documents, limit))
        return [(r[0], {"documents": r[1], "sentences": r[2], "pmi": r[3], "llr": r[4]}) for r in rows]

    def edges(self, concept_id: str, predicate: str | Sequence[str] | None = None, direction: str = "both",
              min_score: float = 0.0, limit: int = 50, evidence: int = 3) -> list[GrownEdge]:
        """The grown edges touching a concept, best score first.

        Args:
            concept_id: the concept.
            predicate: one predicate (``induces``, ``treats``, ``has_finding``, ``detects``, ``adverse_event``),
                several, or None for all.
            direction: ``out`` (the concept is the head), ``in`` (the tail) or ``both``.
            min_score: drop edges whose combined score is lower.
            limit: most edges returned.
            evidence: most evidence sentences kept per edge.

        Raises:
            KnowledgeGraphError: E106 for an unknown direction.
        """
        if direction not in ("out", "in", "both"):
            raise KnowledgeGraphError(Errors.E106.format(value=direction, opts="out, in, both"))
        preds = [predicate] if isinstance(predicate, str) else list(predicate or ())
        rows: list[tuple] = []
        for col, d in (("head_id", "out"), ("tail_id", "in")):
            if direction not in (d, "both"):
                continue
            sql = (f"SELECT head_id, predicate, tail_id, doc_id, method, score, sentence, evidence, head_text, "
                   f"tail_text FROM edges WHERE {col}=?")
            args: list[object] = [concept_id]
            if preds:
                sql += f" AND predicate IN ({','.join('?' * len(preds))})"
                args += preds
            rows.extend(self._conn.execute(sql, args))
        grouped: dict[tuple[str, str, str], list[tuple]] = defaultdict(list)
        for r in rows:
            grouped[(r[0], r[1], r[2])].append(r)
        out: list[GrownEdge] = []
        for (head, pred, tail), rs in grouped.items():
            best_per_doc: dict[str, float] = {}
            for r in rs:
                best_per_doc[r[3]] = max(best_per_doc.get(r[3], 0.0), r[5])
            score = round(noisy_or(best_per_doc.values()), 4)
            if score < min_score:
                continue
            rs_sorted = sorted(rs, key=lambda r: (-r[5], r[3]))
            ev: list[EdgeEvidence] = []
            docs_used: set[str] = set()
            for r in rs_sorted:  # one sentence per document first, so the evidence shows independent sources
                if r[3] in docs_used:
                    continue
                docs_used.add(r[3])
                spans = json.loads(r[7]) or [[0, 0]]
                ev.append(EdgeEvidence(r[3], r[6], spans[0][0], spans[-1][1], r[8], r[9], round(r[5], 4), r[4]))
                if len(ev) >= evidence:
                    break
            co = self.pair(head, tail)
            out.append(GrownEdge(head, pred, tail, score, len(best_per_doc), len(rs),
                                 tuple(sorted({r[4] for r in rs})), tuple(ev),
                                 cooccurrence_documents=int(co["documents"]) if co else 0,
                                 pmi=round(co["pmi"], 3) if co else None, llr=round(co["llr"], 2) if co else None))
        out.sort(key=lambda e: (-e.score, -e.documents, e.predicate, e.head_id, e.tail_id))
        return out[:limit]


_OPEN_LOCK = threading.Lock()
_OPEN: dict[str, tuple[tuple[int, int], GrownLayer]] = {}


def open_grown(kg_path: str | os.PathLike[str]) -> GrownLayer | None:
    """The grown layer beside the graph at ``kg_path``, or None when it has never been grown.

    Opened once per process, and again when a grow has replaced the file (its inode or time changed).

    Raises:
        KnowledgeGraphError: E321 when the file beside the graph is not a grown layer.
    """
    path = grown_path(kg_path)
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    key, stamp = str(path.resolve()), (st.st_ino, st.st_mtime_ns)
    with _OPEN_LOCK:
        cached = _OPEN.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        layer = GrownLayer.open(path)
        _OPEN[key] = (stamp, layer)
        return layer


# -- writing ---------------------------------------------------------------------------------------------
def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class GrowCounts:
    """What a grow did: documents added, replaced (same id, new text), skipped (already counted), failed,
    and those resumed from an interrupted grow."""

    added: int = 0
    replaced: int = 0
    skipped: int = 0
    failed: int = 0
    resumed: int = 0
    edges: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


class GrowWriter:
    """Adds documents to a grown layer atomically and resumably (see the module docstring).

    Use as a context manager::

        with GrowWriter(grown_path(kg_path), graph=str(kg_path)) as w:
            if not w.is_counted(doc_id, text_hash): w.add(rows)

    The ``with`` block publishes the layer when it ends without an error; on an error (or Ctrl-C) the
    partial copy is kept and the next ``GrowWriter`` on the same layer resumes from it.

    Args:
        path: the grown layer file (created on the first grow).
        graph: the graph file it grows beside (recorded in the layer's meta).
        commit_every: documents per transaction of the partial copy (what a kill can lose).

    Raises:
        KnowledgeGraphError: E322 when another grow holds the layer's lock; E321 when ``path`` is not a layer.
    """

    def __init__(self, path: str | os.PathLike[str], graph: str = "", commit_every: int = 32) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.partial = partial_path(self.path)
        self.commit_every = max(1, commit_every)
        self._lock_fh = open(self.path.with_name(f".{self.path.name}.lock"), "w")  # noqa: SIM115 - held until close
        try:
            fcntl.flock(self._lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock_fh.close()
            raise KnowledgeGraphError(Errors.E322.format(path=self.path)) from exc
        self.counts = GrowCounts()
        self._pending = 0
        self._closed = False
        try:
            self._open_partial(graph)
        except BaseException:
            self._release()
            raise

    def _open_partial(self, graph: str) -> None:
        """Resume the partial copy left by an interrupted grow of this layer, or start a new one."""
        base = self._generation(self.path)
        if self.partial.is_file() and self._partial_base() == base:
            self._conn = sqlite3.connect(self.partial)
            base_docs = self._conn.execute("SELECT value FROM meta WHERE key='base_documents'").fetchone()
            self.counts.resumed = max(0, self._conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
                                      - int(base_docs[0] if base_docs else 0))
        else:
            self.partial.unlink(missing_ok=True)
            if self.path.is_file():
                shutil.copyfile(self.path, self.partial)
                self._conn = sqlite3.connect(self.partial)
                _check_schema(self._conn, self.path)
            else:
                self._conn = sqlite3.connect(self.partial)
                self._conn.executescript(_SCHEMA)
                self._conn.executemany("INSERT INTO meta VALUES(?, ?)", [
                    ("schema_version", str(GROWN_SCHEMA_VERSION)), ("generation", "none"), ("created", _now()),
                    ("grows", "0")])
            n_docs = self._conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            self._conn.executemany("INSERT OR REPLACE INTO meta VALUES(?, ?)", [
                ("base_generation", base), ("base_documents", str(n_docs)), ("grow_started", _now()), ("graph", graph)])
            self._conn.commit()
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._by_hash: dict[str, str] = {}
        self._by_id: dict[str, str] = {}
        for doc_id, h in self._conn.execute("SELECT doc_id, hash FROM documents"):
            self._by_hash[h] = doc_id
            self._by_id[doc_id] = h

    @staticmethod
    def _generation(path: Path) -> str:
        if not path.is_file():
            return "none"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            _check_schema(conn, path)
            row = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
            return row[0] if row else "none"
        finally:
            conn.close()

    def _partial_base(self) -> str | None:
        try:
            conn = sqlite3.connect(self.partial)
            try:
                row = conn.execute("SELECT value FROM meta WHERE key='base_generation'").fetchone()
                return row[0] if row else None
            finally:
                conn.close()
        except sqlite3.DatabaseError:
            return None

    def set_meta(self, key: str, value: str) -> None:
        """Record a fact about the grow in the layer (``pipeline``: the components that read the documents)."""
        self._conn.execute("INSERT OR REPLACE INTO meta VALUES(?, ?)", (key, value))

    def is_counted(self, doc_id: str, text_hash: str) -> bool:
        """Whether this text is already in the layer (under any id): then it must not be added again."""
        return text_hash in self._by_hash

    def counted_ids(self) -> dict[str, str]:
        """``doc_id -> hash`` of every document in the layer (including those a resumed grow added)."""
        return dict(self._by_id)

    def add(self, doc: DocumentRows) -> str:
        """Add one document's rows. Returns ``added``, ``replaced`` (same id, other text: the old rows go)
        or ``skipped`` (this text is already counted)."""
        if doc.hash in self._by_hash:
            self.counts.skipped += 1
            return "skipped"
        c = self._conn
        outcome = "added"
        if doc.doc_id in self._by_id:
            for table in ("documents", "doc_concepts", "doc_pairs", "edges"):
                c.execute(f"DELETE FROM {table} WHERE doc_id=?", (doc.doc_id,))
            self._by_hash.pop(self._by_id.pop(doc.doc_id), None)
            outcome = "replaced"
        sents: dict[str, set[int]] = defaultdict(set)
        mentions: dict[str, int] = defaultdict(int)
        for m in doc.mentions:
            sents[m.concept_id].add(m.sentence)
            mentions[m.concept_id] += 1
        c.execute("INSERT INTO documents VALUES(?,?,?,?,?)",
                  (doc.doc_id, doc.hash, doc.n_sentences, len(doc.mentions), _now()))
        c.executemany("INSERT INTO doc_concepts VALUES(?,?,?,?)",
                      [(doc.doc_id, cid, mentions[cid], len(s)) for cid, s in sents.items()])
        ids = sorted(sents)
        c.executemany("INSERT INTO doc_pairs VALUES(?,?,?,?)",
                      [(doc.doc_id, a, b, len(sents[a] & sents[b])) for i, a in enumerate(ids) for b in ids[i + 1:]])
        c.executemany(
            "INSERT INTO edges(doc_id, head_id, predicate, tail_id, method, score, head_text, tail_text, head_start, "
            "tail_start, evidence, sentence) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
            [(doc.doc_id, e.head_id, e.predicate, e.tail_id, e.method, float(e.score), e.head_text, e.tail_text,
              e.head_start, e.tail_start, json.dumps([list(x) for x in e.evidence]), _cut(e.sentence))
             for e in doc.edges])
        self._by_hash[doc.hash] = doc.doc_id
        self._by_id[doc.doc_id] = doc.hash
        self.counts.edges += len(doc.edges)
        if outcome == "added":
            self.counts.added += 1
        else:
            self.counts.replaced += 1
        self._pending += 1
        if self._pending >= self.commit_every:
            c.commit()
            self._pending = 0
        return outcome

    def _rebuild_stats(self) -> None:
        c = self._conn
        c.execute("DELETE FROM concept_stats")
        c.execute("INSERT INTO concept_stats SELECT concept_id, COUNT(*), SUM(n_sentences), SUM(n_mentions) "
                  "FROM doc_concepts GROUP BY concept_id")
        n = c.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        df = dict(c.execute("SELECT concept_id, documents FROM concept_stats"))
        c.execute("DELETE FROM pair_stats")
        rows = c.execute("SELECT a, b, COUNT(*), SUM(n_sentences) FROM doc_pairs GROUP BY a, b").fetchall()
        c.executemany("INSERT INTO pair_stats VALUES(?,?,?,?,?,?)",
                      [(a, b, k, s, pmi(k, df[a], df[b], n), llr(k, df[a], df[b], n)) for a, b, k, s in rows])

    def finish(self) -> Path:
        """Rebuild the statistics and move the layer into place. Returns its path."""
        c = self._conn
        self._rebuild_stats()
        grows = int(c.execute("SELECT value FROM meta WHERE key='grows'").fetchone()[0]) + 1
        c.executemany("INSERT OR REPLACE INTO meta VALUES(?, ?)", [
            ("generation", uuid.uuid4().hex), ("updated", _now()), ("grows", str(grows))])
        c.execute("DELETE FROM meta WHERE key IN ('base_generation', 'base_documents', 'grow_started')")
        c.commit()
        c.close()
        os.replace(self.partial, self.path)
        fsync_dir(self.path.parent)
        self._release()
        return self.path

    def abort(self) -> None:
        """Stop without publishing: what was added so far stays in the partial copy, for resuming."""
        try:
            self._conn.commit()
            self._conn.close()
        finally:
            self._release()

    def _release(self) -> None:
        if not self._closed:
            self._closed = True
            fcntl.flock(self._lock_fh, fcntl.LOCK_UN)
            self._lock_fh.close()

    def __enter__(self) -> GrowWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.abort()


def _cut(sentence: str) -> str:
    s = " ".join(sentence.split())
    return s if len(s) <= SENTENCE_CHARS else s[: SENTENCE_CHARS - 1] + "…"


# -- reading the grown layer of a graph (the public API: also re-exported by medlens.relations.grown) --


PREDICATES = ("induces", "adverse_event", "treats", "has_finding", "detects")
"""The predicates medlens reads (a layer may hold others, written by a user's own relation component)."""


def grown_layer(kg: KnowledgeGraph | str | os.PathLike[str]) -> GrownLayer | None:
    """The grown layer beside ``kg`` (a graph or its path), or None when it has never been grown
    (:func:`medlens.kg.grown.open_grown`)."""
    return open_grown(kg.path if isinstance(kg, KnowledgeGraph) else Path(kg))


EQUIVALENT_VOCABULARIES = ("mesh", "icd10cm", "hpo", "drugs")
"""Where :func:`relations_of` looks for the same concept under other ids (``equivalents=True``)."""


def equivalent_ids(kg: KnowledgeGraph, concept_id: str) -> list[str]:
    """``concept_id`` and the ids that stand for the same concept in the other shipped vocabularies
    (``KnowledgeGraph.map_to`` without climbing: cross-references and shared names). Text links one mention
    of "hepatitis" to ``ICD10CM:K75.9`` and another to ``MESH:D006505``; this finds both."""
    names = {s.name for s in kg.sources()}
    out = [concept_id]
    for vocabulary in EQUIVALENT_VOCABULARIES:
        if vocabulary in names:
            out += [m.concept_id for m in kg.map_to(concept_id, vocabulary, broader=0) if m.via != "same"]
    return list(dict.fromkeys(out))


def relations_of(kg: KnowledgeGraph, concept_id: str, predicate: str | Sequence[str] | None = None,
                 direction: str = "both", min_score: float = 0.0, limit: int = 50, *,
                 equivalents: bool = False) -> list[GrownEdge]:
    """The edges learned from text that touch a concept, best first, each with its evidence sentences.

    Args:
        kg: the knowledge graph (its grown layer is the file beside it, see :func:`medlens.kg.grown.grown_path`).
        concept_id: the concept (``MESH:D006505``, ``DB00951``, ``HP:0001945``, ...).
        predicate: ``induces`` (chemical induces disease, the trained model), ``adverse_event``, ``treats``,
            ``has_finding``, ``detects``; several as a list; None for all.
        direction: ``out`` (the concept is the head: what a drug induces or treats), ``in`` (the tail: what
            induces a disease) or ``both``.
        min_score: drop edges with a lower combined score (noisy-or over documents, 0..1).
        limit: most edges returned.
        equivalents: also the edges of the same concept under the ids of the other vocabularies
            (:func:`equivalent_ids`: ``MESH:D006505`` Hepatitis brings in ``ICD10CM:K75.9``'s edges).

    Returns:
        :class:`~medlens.kg.grown.GrownEdge` records (``learned`` is always True) with the head's and tail's
        names from the graph, documents, methods, co-occurrence statistics and up to three evidence sentences
        from different documents; empty when the graph has no grown layer.

    Raises:
        KnowledgeGraphError: an unknown ``direction`` (E106) or predicate (E324: neither one medlens reads nor
            one of the layer's).
    """
    layer = grown_layer(kg)
    if layer is None:
        if direction not in ("out", "in", "both"):
            from medlens.errors import Errors, KnowledgeGraphError

            raise KnowledgeGraphError(Errors.E106.format(value=direction, opts="out, in, both"))
        return []
    wanted = [predicate] if isinstance(predicate, str) else list(predicate or ())
    if wanted:
        known = set(PREDICATES) | {r[0] for r in layer.query("SELECT DISTINCT predicate FROM edges")}
        unknown = [p for p in wanted if p not in known]
        if unknown:
            from medlens.errors import Errors, KnowledgeGraphError

            raise KnowledgeGraphError(Errors.E324.format(value=unknown[0], opts=", ".join(sorted(known))))
    ids = equivalent_ids(kg, concept_id) if equivalents else [concept_id]
    edges = [e for cid in ids
             for e in layer.edges(cid, predicate=predicate, direction=direction, min_score=min_score, limit=limit)]
    if len(ids) > 1:
        edges = list({(e.head_id, e.predicate, e.tail_id): e for e in edges}.values())
        edges.sort(key=lambda e: (-e.score, -e.documents, e.predicate, e.head_id, e.tail_id))
        edges = edges[:limit]
    names = kg.concepts({x for e in edges for x in (e.head_id, e.tail_id)})
    from dataclasses import replace

    return [replace(e, head_name=names[e.head_id].name if e.head_id in names else None,
                    tail_name=names[e.tail_id].name if e.tail_id in names else None) for e in edges]


def grown_stats(kg: KnowledgeGraph) -> dict[str, Any] | None:
    """Statistics of the grown layer beside ``kg`` (documents, sentences, concepts, pairs, edges per
    predicate and per method), or None when the graph has never been grown."""
    layer = grown_layer(kg)
    return layer.stats() if layer is not None else None
