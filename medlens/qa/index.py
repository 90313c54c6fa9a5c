"""A sentence index over a user's documents: BM25 (bm25s) and dense vectors (the shipped sentence encoder), fused.

::

    index, stats = build_index("notes/", "notes.index")           # a folder of .txt files or a JSONL corpus
    index = DocumentIndex.open("notes.index")
    index.answer("which patients had chest pain?", top=5)          # ranked AnswerItems with doc ids and offsets

On disk an index is a folder:

- ``medlens-index.json``: format version, encoder fingerprint, counts, source and dates;
- ``store.sqlite``: ``docs`` (id, content hash, length) and ``sentences`` (id, doc id, start/end character
  offsets into the document, text, float16 vector), the source of truth;
- ``bm25/``: the bm25s index of the sentences and ``rows.npy`` (the sentence id of each row), ``vectors.npy``
  (the dense vectors in the same row order), both rewritten from the store after each change.

Updating (``build_index`` on an existing index, ``medlens index update``) reads the source again and splits and
encodes only documents that are new or whose text changed (content hash); ``prune`` drops documents that are gone
from the source. The BM25 matrix is rebuilt from the stored sentences (seconds for 100,000 sentences); the
encoder, the costly part, runs only on the new sentences.

Retrieval: BM25 and cosine similarity each return their best :data:`CANDIDATES` sentences; reciprocal rank fusion
(``1 / (RRF_K + rank)``) merges them. Answer-sentence selection then reranks the fused candidates by encoder
similarity, the share of the question's content words the sentence holds, and the fused rank.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medlens.errors import Errors, InputError
from medlens.qa.models import AnswerItem, Evidence

MANIFEST = "medlens-index.json"
FORMAT = 1
CANDIDATES = 100
"""Sentences each retriever returns before fusion."""
RRF_K = 60
"""Reciprocal rank fusion constant."""
RERANK = 50
"""Fused candidates reranked by answer-sentence selection."""
MIN_COSINE = 0.35
"""Least encoder similarity of an answer sentence that shares no word with the question."""
MAX_SENTENCE_CHARS = 1000
"""Longer sentences (tables, run-on lines) are cut into pieces of at most this length."""
_SENT_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)]|[A-Z][A-Za-z /]{1,40}:))")
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_STOP = frozenset("""a an the of and or in on at to for with without by from is are was were be been being this that these
those it its as which what who whom how why when where do does did can could may might should would will shall has have
had not no any some all there their his her he she they them we you i me my our your than then so such into over under
about after before between during per via also most more other""".split())


@dataclass(frozen=True)
class Passage:
    """A retrieved sentence: its row, document, offsets, text and scores."""

    row: int
    doc_id: str
    start: int
    end: int
    text: str
    score: float
    bm25: float = 0.0
    dense: float = 0.0


def content_words(text: str) -> list[str]:
    """Lower-cased words of two or more characters, stop words left out (the BM25 vocabulary)."""
    return [w for w in _TOKEN.findall(text.lower()) if w not in _STOP]


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (rule-based: end punctuation, blank lines, list items,
    ``Header:`` lines; sentences longer than :data:`MAX_SENTENCE_CHARS` are cut)."""
    spans = []
    last = 0
    for m in _SENT_END.finditer(text):
        spans.append((last, m.start()))
        last = m.end()
    spans.append((last, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        while e - s > MAX_SENTENCE_CHARS:
            cut = text.rfind(" ", s, s + MAX_SENTENCE_CHARS)
            cut = cut if cut > s else s + MAX_SENTENCE_CHARS
            out.append((s, cut))
            s = cut + 1
        if e > s and any(ch.isalnum() for ch in text[s:e]):
            out.append((s, e))
    return out


def iter_source(source: str | Path) -> Iterator[tuple[str, str]]:
    """``(doc id, text)`` of every document of a folder (``.txt``, ``.text``, ``.md``, ``.note`` files, read with
    :mod:`medlens.io.readers`; unreadable files are skipped with a warning on stderr), a text file, or a JSONL
    corpus (one object a line: ``text`` and optional ``id``).

    Raises:
        InputError: no such path, or a bad JSONL line (E357, with its number).
    """
    from medlens.io.readers import discover, read_file

    p = Path(source)
    if p.is_file() and p.suffix.lower() in (".jsonl", ".ndjson"):
        with p.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(Errors.E357.format(path=p, line=n, details=f"not JSON ({exc.msg})")) from exc
                if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                    raise InputError(Errors.E357.format(path=p, line=n, details="no 'text' string"))
                doc_id = obj.get("id", f"{p.name}:{n}")
                yield str(doc_id), obj["text"]
        return
    import sys

    for doc_id, file in discover(p):
        d = read_file(doc_id, file)
        if d.error:
            print(f"warning: skipped {d.error}", file=sys.stderr)
            continue
        yield d.id, d.text


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs(doc_id TEXT PRIMARY KEY, hash TEXT NOT NULL, chars INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sentences(id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, start INTEGER NOT NULL,
    "end" INTEGER NOT NULL, text TEXT NOT NULL, vector BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS sentences_doc ON sentences(doc_id);
"""


@dataclass
class BuildStats:
    """What a build or update did."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    sentences: int = 0
    documents: int = 0
    encoded: int = 0


class DocumentIndex:
    """Sentences of documents with a BM25 index and dense vectors (see the module docstring).

    Use :meth:`open` for an index on disk and :func:`build_index` to make or update one.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path | None, encoder, manifest: dict) -> None:
        self.conn = conn
        self.path = path
        self.encoder = encoder
        self.manifest = manifest
        self.rows = np.zeros(0, dtype=np.int64)
        self.vectors = np.zeros((0, 0), dtype=np.float16)
        self.bm25 = None

    # -- opening -------------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, encoder=None) -> DocumentIndex:
        """Open an index folder written by :func:`build_index`.

        Raises:
            InputError: E353 no index there; E354 corrupt; E355 another format; E356 another encoder.
        """
        p = Path(path)
        manifest = read_manifest(p)
        encoder = encoder or _default_encoder()
        if manifest.get("encoder") != encoder.fingerprint:
            raise InputError(Errors.E356.format(path=p, found=manifest.get("encoder"), expected=encoder.fingerprint))
        try:
            conn = sqlite3.connect(f"file:{(p / 'store.sqlite').resolve()}?mode=rw", uri=True, check_same_thread=False)
            conn.execute("SELECT count(*) FROM sentences").fetchone()
            index = cls(conn, p, encoder, manifest)
            index._load_arrays()
        except (sqlite3.Error, OSError, ValueError, KeyError) as exc:
            raise InputError(Errors.E354.format(path=p, details=exc)) from exc
        return index

    def _load_arrays(self) -> None:
        import bm25s

        assert self.path is not None
        self.rows = np.load(self.path / "rows.npy")
        self.vectors = np.load(self.path / "vectors.npy", mmap_mode="r")
        if len(self.rows) != len(self.vectors):
            raise ValueError(f"rows.npy has {len(self.rows)} rows, vectors.npy {len(self.vectors)}")
        self.bm25 = bm25s.BM25.load(str(self.path / "bm25"), show_progress=False) if len(self.rows) else None

    def close(self) -> None:
        self.conn.close()

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def n_documents(self) -> int:
        return self.conn.execute("SELECT count(*) FROM docs").fetchone()[0]

    # -- writing -------------------------------------------------------------------------------------------------
    def _refresh(self, progress: bool = False) -> None:
        """Rebuild the BM25 matrix and the row-ordered vectors from the store (and save them when on disk)."""
        import bm25s

        ids, texts, vecs = [], [], []
        for sid, text, blob in self.conn.execute("SELECT id, text, vector FROM sentences ORDER BY id"):
            ids.append(sid)
            texts.append(text)
            vecs.append(np.frombuffer(blob, dtype=np.float16))
        self.rows = np.asarray(ids, dtype=np.int64)
        dim = self.encoder.dim or (len(vecs[0]) if vecs else 0)
        self.vectors = np.vstack(vecs) if vecs else np.zeros((0, dim), dtype=np.float16)
        self.bm25 = None
        if texts:
            self.bm25 = bm25s.BM25()
            self.bm25.index([content_words(t) or ["_"] for t in texts], show_progress=progress)
        if self.path is not None:
            np.save(self.path / "rows.npy", self.rows)
            np.save(self.path / "vectors.npy", self.vectors)
            if self.bm25 is not None:
                self.bm25.save(str(self.path / "bm25"), show_progress=False)
            self.manifest.update(documents=self.n_documents, sentences=len(self.rows),
                                 updated=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
            (self.path / MANIFEST).write_text(json.dumps(self.manifest, indent=2) + "\n", encoding="utf-8")

    def add(self, documents: Iterable[tuple[str, str]], prune: bool = False, progress: bool = False) -> BuildStats:
        """Add new documents and replace changed ones (same id, other text); with ``prune``, drop the documents
        of the index that ``documents`` does not hold. Only new sentences are encoded."""
        stats = BuildStats()
        known = dict(self.conn.execute("SELECT doc_id, hash FROM docs"))
        seen: set[str] = set()
        todo: list[tuple[str, str, str]] = []
        for doc_id, text in documents:
            if doc_id in seen:
                continue
            seen.add(doc_id)
            h = _hash(text)
            if known.get(doc_id) == h:
                stats.unchanged += 1
                continue
            if doc_id in known:
                stats.changed += 1
            else:
                stats.added += 1
            todo.append((doc_id, text, h))
        pieces: list[tuple[str, int, int, str]] = []
        for doc_id, text, _ in todo:
            for s, e in split_sentences(text):
                pieces.append((doc_id, s, e, text[s:e]))
        vecs = self.encoder.encode([p[3] for p in pieces], progress=progress, desc="encoding sentences") if pieces else None
        with self.conn:
            for doc_id, text, h in todo:
                self.conn.execute("DELETE FROM sentences WHERE doc_id=?", (doc_id,))
                self.conn.execute("INSERT OR REPLACE INTO docs VALUES (?, ?, ?)", (doc_id, h, len(text)))
            for i, (doc_id, s, e, text) in enumerate(pieces):
                self.conn.execute('INSERT INTO sentences(doc_id, start, "end", text, vector) VALUES (?, ?, ?, ?, ?)',
                                  (doc_id, s, e, text, vecs[i].astype(np.float16).tobytes()))
            if prune:
                gone = [d for d in known if d not in seen]
                for d in gone:
                    self.conn.execute("DELETE FROM sentences WHERE doc_id=?", (d,))
                    self.conn.execute("DELETE FROM docs WHERE doc_id=?", (d,))
                stats.removed = len(gone)
        stats.encoded = len(pieces)
        if todo or stats.removed or self.bm25 is None:
            self._refresh(progress)
        stats.sentences, stats.documents = len(self.rows), self.n_documents
        return stats

    # -- searching -----------------------------------------------------------------------------------------------
    def _sentence(self, row: int) -> tuple[str, int, int, str]:
        sid = int(self.rows[row])
        r = self.conn.execute('SELECT doc_id, start, "end", text FROM sentences WHERE id=?', (sid,)).fetchone()
        return r

    def search(self, question: str, method: str = "fused", k: int = 10) -> list[Passage]:
        """The ``k`` best sentences for ``question``.

        Args:
            question: the question.
            method: ``bm25``, ``dense``, ``fused`` (reciprocal rank fusion of both) or ``answer`` (fused, then
                answer-sentence selection).
            k: how many sentences.
        """
        if not len(self.rows):
            return []
        n = min(CANDIDATES, len(self.rows))
        bm_rank: dict[int, tuple[int, float]] = {}
        qwords = content_words(question)
        if method in ("bm25", "fused", "answer") and self.bm25 is not None and qwords:
            res, scores = self.bm25.retrieve([qwords], k=n, show_progress=False, n_threads=1)
            for rank, (row, sc) in enumerate(zip(res[0], scores[0])):
                if sc > 0:
                    bm_rank[int(row)] = (rank, float(sc))
        de_rank: dict[int, tuple[int, float]] = {}
        qvec = None
        if method in ("dense", "fused", "answer"):
            qvec = self.encoder.encode([question])[0]
            sims = np.asarray(self.vectors @ qvec.astype(np.float16), dtype=np.float32)
            top = np.argpartition(-sims, n - 1)[:n] if n < len(sims) else np.arange(len(sims))
            top = top[np.argsort(-sims[top])]
            for rank, row in enumerate(top):
                de_rank[int(row)] = (rank, float(sims[row]))
        if method == "bm25":
            order = sorted(bm_rank, key=lambda r: bm_rank[r][0])
            fused = {r: bm_rank[r][1] for r in order}
        elif method == "dense":
            order = sorted(de_rank, key=lambda r: de_rank[r][0])
            fused = {r: de_rank[r][1] for r in order}
        else:
            fused = {}
            for ranks in (bm_rank, de_rank):
                for r, (rank, _) in ranks.items():
                    fused[r] = fused.get(r, 0.0) + 1.0 / (RRF_K + rank + 1)
            order = sorted(fused, key=lambda r: -fused[r])
        if method == "answer":
            order, fused = self._select(question, qwords, qvec, order[:RERANK], fused)
        out = []
        for r in order[:k]:
            doc_id, s, e, text = self._sentence(r)
            out.append(Passage(r, doc_id, s, e, text, round(float(fused[r]), 5),
                               bm25=bm_rank.get(r, (0, 0.0))[1], dense=de_rank.get(r, (0, 0.0))[1]))
        return out

    def _select(self, question: str, qwords: list[str], qvec, rows: list[int], fused: dict[int, float]):
        """Answer-sentence selection: encoder similarity, question-word coverage and the fused rank."""
        if not rows:
            return rows, fused
        qset = set(qwords)
        sims = np.asarray(self.vectors[rows] @ qvec.astype(np.float16), dtype=np.float32)
        top_f = max(fused[r] for r in rows)
        scores = {}
        for i, r in enumerate(rows):
            words = set(content_words(self._sentence(r)[3]))
            cover = len(qset & words) / len(qset) if qset else 0.0
            scores[r] = 0.5 * float(sims[i]) + 0.3 * cover + 0.2 * fused[r] / top_f
        return sorted(rows, key=lambda r: -scores[r]), scores

    def answer(self, question: str, top: int = 5, min_cosine: float = MIN_COSINE) -> list[AnswerItem]:
        """Ranked answer passages for ``question``, each with its document id and character offsets.

        A sentence that shares no content word with the question and whose cosine similarity is below
        ``min_cosine`` is not an answer (so an unrelated question gets none rather than the least bad sentences).
        """
        items = []
        for p in self.search(question, method="answer", k=top):
            if p.bm25 <= 0 and p.dense < min_cosine:
                continue
            ev = Evidence(kind="sentence", text=p.text, doc_id=p.doc_id, start=p.start, end=p.end,
                          weight=round(max(0.0, min(1.0, p.score)), 4),
                          provenance=f"bm25 {p.bm25:.2f}, cosine {p.dense:.2f}")
            items.append(AnswerItem(text=p.text, score=p.score, evidence=[ev]))
        return items


def _default_encoder():
    from medlens.tagging.encoder import default_encoder

    return default_encoder()


def read_manifest(path: Path) -> dict:
    """The manifest of the index at ``path``; raises InputError E353/E354/E355."""
    m = path / MANIFEST
    if not m.is_file():
        raise InputError(Errors.E353.format(path=path, manifest=MANIFEST))
    try:
        manifest = json.loads(m.read_text(encoding="utf-8"))
        found = manifest["format"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(Errors.E354.format(path=path, details=f"{MANIFEST}: {exc}")) from exc
    if found != FORMAT:
        raise InputError(Errors.E355.format(path=path, found=found, expected=FORMAT))
    return manifest


def is_index(path: str | Path) -> bool:
    """True when ``path`` is a folder holding an index manifest."""
    return (Path(path) / MANIFEST).is_file()


def build_index(source: str | Path, output: str | Path | None = None, *, encoder=None, prune: bool = False,
                rebuild: bool = False, progress: bool = False) -> tuple[DocumentIndex, BuildStats]:
    """Build an index of ``source`` at ``output``, or update the index already there.

    Args:
        source: a folder of text files, a text file, or a JSONL corpus (``text`` and ``id`` per line).
        output: the index folder; None builds an index in memory (not saved).
        encoder: the sentence encoder (None: the shipped one).
        prune: drop documents of an existing index that ``source`` no longer holds.
        rebuild: start from an empty index even if one exists at ``output``.
        progress: show progress bars on stderr.

    Returns:
        The index and the :class:`BuildStats` of the build.

    Raises:
        InputError: a bad source (E203, E206, E357), no documents (E358), or an existing ``output`` that is not a
            readable index (E353 for a non-empty folder without a manifest, E354-E356).
    """
    encoder = encoder or _default_encoder()
    if output is None:
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        conn.executescript(_SCHEMA)
        index = DocumentIndex(conn, None, encoder, {"format": FORMAT, "encoder": encoder.fingerprint})
    else:
        out = Path(output)
        if out.exists() and not out.is_dir():
            raise InputError(Errors.E353.format(path=out, manifest=MANIFEST))
        if rebuild and is_index(out):
            import shutil

            shutil.rmtree(out)
        if out.is_dir() and any(out.iterdir()):
            index = DocumentIndex.open(out, encoder)
        else:
            out.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(out / "store.sqlite", check_same_thread=False)
            conn.executescript(_SCHEMA)
            now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
            index = DocumentIndex(conn, out, encoder, {"format": FORMAT, "encoder": encoder.fingerprint,
                                                       "source": str(Path(source).resolve()), "created": now})
    docs = list(_with_progress(iter_source(source), progress))
    if not docs and not len(index):
        raise InputError(Errors.E358.format(path=source))
    stats = index.add(docs, prune=prune, progress=progress)
    return index, stats


def _with_progress(it: Iterable, progress: bool) -> Iterator:
    if not progress:
        yield from it
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn

    with Progress(SpinnerColumn(), TextColumn("reading documents: {task.completed}"), console=Console(stderr=True),
                  transient=True) as bar:
        task = bar.add_task("read", total=None)
        for x in it:
            bar.advance(task)
            yield x


def open_docs(docs: str | Path, encoder=None, progress: bool = False) -> DocumentIndex:
    """An index folder opened, or a folder / file / JSONL corpus indexed in memory."""
    p = Path(docs)
    if is_index(p):
        return DocumentIndex.open(p, encoder)
    if not p.exists():
        raise InputError(Errors.E353.format(path=p, manifest=MANIFEST))
    return build_index(p, None, encoder=encoder, progress=progress)[0]


__all__ = ["BuildStats", "DocumentIndex", "Passage", "build_index", "content_words", "is_index", "iter_source",
           "open_docs", "read_manifest", "split_sentences"]
