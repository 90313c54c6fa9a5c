"""``medlens kg grow``: read a corpus with the pipeline and the relation components, and add what it holds to
the grown layer of the knowledge graph (:mod:`medlens.kg.grown`).

Each document is run through the medlens pipeline (with the shipped models unless ``model=False``), the trained
relation component ``medlens_relations`` when this installation registers it, and ``medlens_relation_patterns``.
Its linked concepts (the best concept of every entity) feed the co-occurrence counts; its ``doc._.relations``
become edges, each with the document id, the evidence sentence and how it was found. Documents run on every
core (:func:`medlens.batch.run_inputs`); the layer is written by one :class:`~medlens.kg.grown.GrowWriter`
in this process, so a grow is incremental, atomic and resumable.

    report = grow("/tmp/kg.sqlite", ["abstracts.jsonl"], processes=2)
    report.counts.added, report.seconds
"""

from __future__ import annotations

import hashlib
import logging
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from medlens.config import PipelineConfig, make_config, with_model_components
from medlens.errors import InputError, MedlensError, ModelError
from medlens.io.readers import (
    DEFAULT_PATTERNS,
    InputDocument,
    discover,
    iter_jsonl,
    read_file,
)
from medlens.kg.grown import (
    DocumentRows,
    EdgeRow,
    GrowCounts,
    GrowWriter,
    MentionRow,
    grown_path,
)

log = logging.getLogger("medlens.grow")

RELATION_MODEL_FACTORY = "medlens_relations"
PATTERN_FACTORY = "medlens_relation_patterns"
JSONL_SUFFIXES = (".jsonl", ".ndjson")


def text_hash(text: str) -> str:
    """The content hash by which a document is counted once: SHA-256 of its UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- the corpus ------------------------------------------------------------------------------------------
def iter_corpus(paths: Sequence[str | Path], patterns: tuple[str, ...] = DEFAULT_PATTERNS,
                max_chars: int | None = None) -> Iterator[InputDocument]:
    """The documents of one or more corpus paths, lazily read.

    A path is a JSON Lines file (``.jsonl``/``.ndjson``: one ``{"id": ..., "text": ...}`` a line), a folder
    (files matching ``patterns``, recursively; id = the path inside the folder) or any other text file (one
    document; id = its name). With several paths, a folder's ids start with the folder's name
    (``notes/a.txt``), so two folders cannot give the same id.

    Raises:
        InputError: a path does not exist, a folder has no matching file, or a JSONL line is malformed.
    """
    several = len(paths) > 1
    for path in paths:
        p = Path(path)
        if p.is_file() and p.suffix.lower() in JSONL_SUFFIXES:
            yield from iter_jsonl(p, max_chars)
        elif p.is_dir():
            for doc_id, f in discover(p, patterns):
                yield read_file(f"{p.name}/{doc_id}" if several else doc_id, f, max_chars)
        else:
            for doc_id, f in discover(p, patterns):
                yield read_file(doc_id, f, max_chars)


def count_corpus(paths: Sequence[str | Path], patterns: tuple[str, ...] = DEFAULT_PATTERNS) -> int:
    """How many documents :func:`iter_corpus` will give (JSONL: non-blank lines)."""
    n = 0
    for path in paths:
        p = Path(path)
        if p.is_file() and p.suffix.lower() in JSONL_SUFFIXES:
            with p.open("rb") as fh:
                n += sum(1 for line in fh if line.strip())
        else:
            n += len(discover(p, patterns))
    return n


# -- one document ----------------------------------------------------------------------------------------
class GrowResult(BaseModel):
    """What a worker sends back for one document (plain data, so it pickles)."""

    model_config = ConfigDict(frozen=True)

    id: str
    hash: str = ""
    error: str | None = None
    n_sentences: int = 0
    mentions: list[tuple[str, int]] = []
    edges: list[tuple] = []
    pipeline: list[str] = []

    def rows(self) -> DocumentRows:
        """The rows this document adds to the grown layer."""
        return DocumentRows(self.id, self.hash, self.n_sentences,
                            tuple(MentionRow(c, s) for c, s in self.mentions),
                            tuple(EdgeRow(*e[:9], tuple(tuple(x) for x in e[9]), e[10]) for e in self.edges))


def build_grow_pipeline(config: PipelineConfig, patterns: bool = True):
    """The pipeline of ``config`` plus ``medlens_relations`` (when its factory is registered: the trained
    relation model ships with this installation) and ``medlens_relation_patterns``."""
    from spacy.language import Language

    import medlens.relations.patterns  # noqa: F401 - registers medlens_relation_patterns
    from medlens.pipeline import build_pipeline, check_order

    nlp = build_pipeline(config)
    if Language.has_factory(RELATION_MODEL_FACTORY) and RELATION_MODEL_FACTORY not in nlp.pipe_names:
        defaults = Language.get_factory_meta(RELATION_MODEL_FACTORY).default_config or {}
        try:
            nlp.add_pipe(RELATION_MODEL_FACTORY, config={"kg_path": config.kg_path} if "kg_path" in defaults else {})
        except ModelError as exc:  # registered, but this installation ships no relation model
            log.warning("kg grow runs without %s: %s", RELATION_MODEL_FACTORY, exc)
    if patterns and PATTERN_FACTORY not in nlp.pipe_names:
        nlp.add_pipe(PATTERN_FACTORY, config={"kg_path": config.kg_path})
    check_order(nlp)
    return nlp


def read_document(nlp, doc: InputDocument) -> GrowResult:
    """One document's mentions and relations; a failure is reported in the result, never raised."""
    from medlens.components.drug_attributes import sentence_bounds

    if doc.error is not None or doc.text is None:
        return GrowResult(id=doc.id, error=doc.error or "no text")
    text = doc.text
    try:
        sdoc = nlp(text)
    except MedlensError as exc:
        return GrowResult(id=doc.id, error=f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # noqa: BLE001 - one bad document must not stop a grow; the error is reported
        return GrowResult(id=doc.id, error=f"analysis failed: {type(exc).__name__}: {exc}")
    sents = sentence_bounds(sdoc) or [(0, len(text))]
    starts = [a for a, _ in sents]
    mentions = []
    for ent in sdoc.ents:
        concepts = ent._.concepts or []
        best = concepts[0].concept_id if concepts else (ent._.match_ids[0] if ent._.match_ids else None)
        if best:
            mentions.append((best, max(0, bisect_right(starts, ent.start_char) - 1)))
    edges = []
    for r in sdoc._.relations or ():
        if r.head_id == r.tail_id:
            continue
        evidence = tuple(r.evidence) or _sentences_of(sents, r.head_start, r.tail_start)
        sentence = " … ".join(text[a:b].strip() for a, b in evidence)
        edges.append((r.head_id, r.predicate, r.tail_id, r.method, float(r.score), r.head, r.tail, r.head_start,
                      r.tail_start, [list(x) for x in evidence], sentence))
    return GrowResult(id=doc.id, hash=text_hash(text), n_sentences=len(sents), mentions=mentions, edges=edges,
                      pipeline=list(nlp.pipe_names))


def _sentences_of(sents: list[tuple[int, int]], *offsets: int) -> tuple[tuple[int, int], ...]:
    starts = [a for a, _ in sents]
    picked = sorted({max(0, bisect_right(starts, o) - 1) for o in offsets})
    return tuple(sents[i] for i in picked)


class GrowTask(BaseModel):
    """The batch task of a grow (see :class:`medlens.batch.BatchTask`)."""

    model_config = ConfigDict(frozen=True)

    config: PipelineConfig
    patterns: bool = True

    @property
    def max_chars(self) -> int:
        return self.config.max_chars

    def build(self):
        return build_grow_pipeline(self.config, self.patterns)

    def process(self, nlp, doc: InputDocument) -> GrowResult:
        return read_document(nlp, doc)


# -- the grow --------------------------------------------------------------------------------------------
@dataclass
class GrowReport:
    """What :func:`grow` did.

    Attributes:
        path: the grown layer.
        counts: documents added / replaced / skipped (already counted) / failed / resumed, edges added.
        seen: documents read from the corpus; ``processed``: those that ran through the pipeline.
        seconds: wall time; ``docs_per_second``: processed documents per second of it.
        pipeline: the components the documents ran through.
        stats: the layer's statistics after the grow (:meth:`GrownLayer.stats`).
    """

    path: Path
    counts: GrowCounts
    seen: int = 0
    processed: int = 0
    seconds: float = 0.0
    pipeline: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    @property
    def docs_per_second(self) -> float:
        return self.processed / self.seconds if self.seconds else 0.0


def grow_config(kg_path: str | Path | None, model: bool = True) -> PipelineConfig:
    """The pipeline settings of a grow: the shipped models (without the document classifier) or rules only."""
    from medlens.config import RULES_ONLY

    comps = tuple(c for c in with_model_components() if c != "classifier") if model else RULES_ONLY
    return make_config(kg_path=str(kg_path) if kg_path else None, components=comps)


def grow(kg_path: str | Path | None, corpus: Sequence[str | Path], *, processes: int | None = None,
         model: bool = True, patterns: tuple[str, ...] = DEFAULT_PATTERNS, commit_every: int = 32,
         chunk_size: int = 8, limit: int | None = None, on_total: Callable[[int], None] | None = None,
         on_document: Callable[[GrowResult, str], None] | None = None, nlp=None) -> GrowReport:
    """Grow the layer beside ``kg_path`` from ``corpus``.

    Args:
        kg_path: the knowledge graph (None: the default graph); the layer is :func:`grown_path` of it.
        corpus: JSONL files, folders or text files (see :func:`iter_corpus`).
        processes: worker processes (None: every core; 1: this process).
        model: run the shipped models (transformer recognizer, ADE tagger); False: rules only (~10x faster).
        patterns: file name patterns in folders.
        commit_every: documents per transaction of the partial layer (at most this many are redone after a kill).
        chunk_size: documents per task sent to a worker.
        limit: read at most this many documents of the corpus (None: all).
        on_total: called once with the number of documents in the corpus.
        on_document: called after each document read with its result and ``added``, ``replaced``,
            ``skipped`` or ``failed``.
        nlp: an already built grow pipeline (in-process runs).

    Returns:
        A :class:`GrowReport`.

    Raises:
        KnowledgeGraphError: no graph at ``kg_path``, or another grow holds the layer.
        InputError: a corpus path does not exist or a JSONL line is malformed (what was grown before that
            line stays in the partial layer; the next grow resumes from it).
    """
    from medlens.batch import run_inputs
    from medlens.pipeline import shared_graph

    started = time.perf_counter()
    graph = shared_graph(kg_path)  # fail fast: no graph, no grow
    config = grow_config(graph.path, model)
    for p in corpus:
        if not Path(p).exists():
            from medlens.errors import Errors

            raise InputError(Errors.E203.format(path=p))
    if on_total:
        total = count_corpus(corpus, patterns)
        on_total(min(total, limit) if limit is not None else total)
    writer = GrowWriter(grown_path(graph.path), graph=str(graph.path), commit_every=commit_every)
    report = GrowReport(writer.path, writer.counts)
    pipeline: list[str] = []
    try:
        def todo() -> Iterator[InputDocument]:
            for i, doc in enumerate(iter_corpus(corpus, patterns, config.max_chars)):
                if limit is not None and i >= limit:
                    return
                report.seen += 1
                if doc.text is not None and writer.is_counted(doc.id, text_hash(doc.text)):
                    writer.counts.skipped += 1
                    if on_document:
                        on_document(GrowResult(id=doc.id), "skipped")
                    continue
                yield doc

        for res in run_inputs(todo(), GrowTask(config=config),
                              processes=1 if nlp is not None else processes, chunk_size=chunk_size, nlp=nlp):
            report.processed += 1
            if res.error is not None:
                writer.counts.failed += 1
                writer.counts.errors.append(f"{res.id}: {res.error}")
                outcome = "failed"
            else:
                pipeline = pipeline or res.pipeline
                outcome = writer.add(res.rows())
            if on_document:
                on_document(res, outcome)
        if pipeline:
            import json

            from medlens import __version__

            writer.set_meta("pipeline", json.dumps(pipeline))
            writer.set_meta("medlens_version", __version__)
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    from medlens.kg.grown import GrownLayer

    with GrownLayer.open(report.path) as layer:
        report.stats = layer.stats()
    report.pipeline = pipeline
    report.seconds = time.perf_counter() - started
    writer.counts.seconds = report.seconds
    return report
