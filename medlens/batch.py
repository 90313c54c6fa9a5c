"""Processing many documents: all cores, in input order, resumable.

``run_documents`` runs a :class:`BatchTask` (``medlens analyze``'s
:class:`AnalyzeTask`, ``medlens deid``'s job) over documents from a file, a
folder or stdin. With more than one process, each worker process loads the pipeline once
(the knowledge graph is opened read-only, so workers share the page cache) and
reads and analyzes chunks of files; results come back in input order. A
document that cannot be read or analyzed becomes a ``DocumentResult`` with
``error`` set; the batch goes on.

Resuming: pass the ids already done (see :func:`completed_ids`), and those
documents are skipped.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict

from medlens.config import PipelineConfig
from medlens.runtime import THREADS_ENV, available_cores, worker_threads
from medlens.errors import InputError, MedlensError
from medlens.io.readers import DEFAULT_PATTERNS, InputDocument, check_text, discover, read_file, read_stdin
from medlens.results import DocumentResult

if TYPE_CHECKING:  # annotations only: spaCy is imported where a pipeline is built
    from spacy.language import Language


def analyze_one(nlp: Language, doc: InputDocument, include_text: bool = False) -> DocumentResult:
    """Analyze one input document; any failure is reported in the result, not raised."""
    if doc.error is not None or doc.text is None:
        return DocumentResult.failed(doc.id, "InputError", doc.error or "no text")
    try:
        check_text(doc.text, doc.id)
        spacy_doc = nlp(doc.text)
        return DocumentResult.from_doc(spacy_doc, doc_id=doc.id, include_text=include_text)
    except MedlensError as exc:
        return DocumentResult.failed(doc.id, type(exc).__name__, str(exc))
    except Exception as exc:  # noqa: BLE001 - one bad document must not stop a batch; the error is reported
        return DocumentResult.failed(doc.id, type(exc).__name__, f"analysis failed: {exc}")


_WORKER: tuple | None = None


class BatchTask(Protocol):
    """What a batch runs per document. It must pickle (a pydantic model defined at
    module level does), since worker processes receive it."""

    max_chars: int

    def build(self) -> Any:
        """Build the pipeline (once per worker process)."""

    def process(self, nlp: Any, doc: InputDocument) -> BaseModel:
        """One document's result; failures are reported in it, never raised."""


class AnalyzeTask(BaseModel):
    """``medlens analyze``: the pipeline of ``config``, one :class:`DocumentResult` per document."""

    model_config = ConfigDict(frozen=True)

    config: PipelineConfig
    include_text: bool = False

    @property
    def max_chars(self) -> int:
        return self.config.max_chars

    def build(self):
        from medlens.pipeline import build_pipeline

        return build_pipeline(self.config)

    def process(self, nlp: Language, doc: InputDocument) -> DocumentResult:
        return analyze_one(nlp, doc, self.include_text)


def _init_worker(task: BatchTask, threads: int) -> None:
    global _WORKER
    # this worker's share of the cores for its models (see medlens.runtime.default_threads)
    os.environ.setdefault(THREADS_ENV, str(threads))
    _WORKER = (task.build(), task)


def _work(chunk: list[tuple[str, str]]) -> list[BaseModel]:
    nlp, task = _WORKER
    return [task.process(nlp, read_file(doc_id, Path(path), task.max_chars)) for doc_id, path in chunk]


def _work_inputs(chunk: list[InputDocument]) -> list[BaseModel]:
    nlp, task = _WORKER
    return [task.process(nlp, doc) for doc in chunk]


def run_inputs(
    documents: Iterable[InputDocument],
    task: BatchTask,
    *,
    processes: int | None = None,
    chunk_size: int = 8,
    nlp: Language | None = None,
) -> Iterator[BaseModel]:
    """Run ``task`` over documents already read (e.g. the lines of a JSONL corpus), yielding results in
    input order; like :func:`run_documents`, but the texts travel to the workers. Documents are read
    lazily: at most a few chunks per worker are in flight.

    Args:
        documents: the documents (an iterator is consumed as the workers need more).
        task: builds the pipeline and processes one document (see :class:`BatchTask`).
        processes: worker processes; None uses every core, 1 runs in this process.
        chunk_size: documents per task sent to a worker.
        nlp: an already built pipeline to use in-process (only when processes is 1).
    """
    n = processes or default_processes()
    if n <= 1:
        pipeline = nlp
        for doc in documents:
            pipeline = pipeline or task.build()  # built on the first document: nothing to do, nothing loaded
            yield task.process(pipeline, doc)
        return
    it = iter(documents)

    def next_chunk() -> list[InputDocument]:
        chunk = []
        for doc in it:
            chunk.append(doc)
            if len(chunk) >= chunk_size:
                break
        return chunk

    with ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                             initargs=(task, worker_threads(n))) as pool:
        pending = []
        try:
            while True:
                while len(pending) < 3 * n:
                    chunk = next_chunk()
                    if not chunk:
                        break
                    pending.append(pool.submit(_work_inputs, chunk))
                if not pending:
                    return
                yield from pending.pop(0).result()
        except BaseException:
            for f in pending:
                f.cancel()
            raise


def completed_ids(output: Path) -> set[str]:
    """Ids of documents already in a JSONL output file.

    A truncated last line (an interrupted run) is dropped from the file so that
    appending continues cleanly.
    """
    if not output.is_file():
        return set()
    done: set[str] = set()
    good_lines: list[str] = []
    dirty = False
    with output.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                done.add(json.loads(line)["id"])
                good_lines.append(line if line.endswith("\n") else line + "\n")
            except (json.JSONDecodeError, KeyError, TypeError):
                dirty = True
    if dirty:
        tmp = output.with_suffix(output.suffix + ".tmp")
        tmp.write_text("".join(good_lines), encoding="utf-8")
        os.replace(tmp, output)
    return done


def default_processes() -> int:
    """Cores available to this process."""
    return available_cores()


def run_documents(
    source: str | Path,
    task: BatchTask,
    *,
    processes: int | None = None,
    skip_ids: Iterable[str] = (),
    patterns: tuple[str, ...] = DEFAULT_PATTERNS,
    chunk_size: int = 8,
    on_total: Callable[[int], None] | None = None,
    nlp: Language | None = None,
) -> Iterator[BaseModel]:
    """Run ``task`` over every document of ``source``, yielding results in input order.

    Args:
        source: a text file, a folder (searched recursively for ``patterns``) or ``-`` for stdin.
        task: builds the pipeline and processes one document (see :class:`BatchTask`).
        processes: worker processes; None uses every core, 1 runs in this process.
        skip_ids: ids to skip (documents finished by an earlier run).
        patterns: file name patterns searched in a folder.
        chunk_size: documents per task sent to a worker.
        on_total: called once with the number of documents to process.
        nlp: an already built pipeline to use in-process (only when processes is 1 or
            the batch is small).

    Raises:
        InputError: ``source`` does not exist or a folder has no matching files.
    """
    skip = set(skip_ids)
    if str(source) == "-":
        doc = read_stdin(task.max_chars)
        if on_total:
            on_total(0 if doc.id in skip else 1)
        if doc.id not in skip:
            yield task.process(nlp or task.build(), doc)
        return
    todo = [(i, str(p)) for i, p in discover(source, patterns) if i not in skip]
    if on_total:
        on_total(len(todo))
    if not todo:
        return
    n = processes or default_processes()
    if n <= 1 or len(todo) < 4 * chunk_size:
        pipeline = nlp or task.build()
        for doc_id, path in todo:
            yield task.process(pipeline, read_file(doc_id, Path(path), task.max_chars))
        return
    chunks = [todo[i : i + chunk_size] for i in range(0, len(todo), chunk_size)]
    with ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                             initargs=(task, worker_threads(n))) as pool:
        futures = [pool.submit(_work, c) for c in chunks]
        try:
            for fut in futures:
                yield from fut.result()
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def analyze_documents(
    source: str | Path,
    config: PipelineConfig,
    *,
    processes: int | None = None,
    skip_ids: Iterable[str] = (),
    patterns: tuple[str, ...] = DEFAULT_PATTERNS,
    include_text: bool = False,
    chunk_size: int = 8,
    on_total: Callable[[int], None] | None = None,
    nlp: Language | None = None,
) -> Iterator[DocumentResult]:
    """Analyze every document of ``source`` with the pipeline of ``config``, in input order
    (:func:`run_documents` with an :class:`AnalyzeTask`; ``include_text`` puts each
    document's text in its result)."""
    return run_documents(source, AnalyzeTask(config=config, include_text=include_text), processes=processes,
                         skip_ids=skip_ids, patterns=patterns, chunk_size=chunk_size, on_total=on_total, nlp=nlp)


__all__ = ["AnalyzeTask", "BatchTask", "InputError", "analyze_documents", "analyze_one", "completed_ids",
           "default_processes", "run_documents", "run_inputs"]
