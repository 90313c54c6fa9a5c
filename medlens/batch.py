"""Analyzing many documents: all cores, in input order, resumable.

``analyze_documents`` runs the pipeline over documents from a file, a folder or
stdin. With more than one process, each worker process loads the pipeline once
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

from medlens.config import PipelineConfig
from medlens.errors import InputError, MedlensError
from medlens.io.readers import DEFAULT_PATTERNS, InputDocument, discover, read_file, read_stdin
from medlens.results import DocumentResult

_WORKER_NLP = None


def analyze_one(nlp, doc: InputDocument, include_text: bool = False) -> DocumentResult:
    """Analyze one input document; any failure is reported in the result, not raised."""
    if doc.error is not None or doc.text is None:
        return DocumentResult.failed(doc.id, "InputError", doc.error or "no text")
    try:
        spacy_doc = nlp(doc.text)
        return DocumentResult.from_doc(spacy_doc, doc_id=doc.id, include_text=include_text)
    except MedlensError as exc:
        return DocumentResult.failed(doc.id, type(exc).__name__, str(exc))
    except Exception as exc:  # noqa: BLE001 - one bad document must not stop a batch; the error is reported
        return DocumentResult.failed(doc.id, type(exc).__name__, f"analysis failed: {exc}")


def _init_worker(config_json: str) -> None:
    global _WORKER_NLP
    from medlens.pipeline import build_pipeline

    _WORKER_NLP = build_pipeline(PipelineConfig.model_validate_json(config_json))


def _work(chunk: list[tuple[str, str]], max_chars: int, include_text: bool) -> list[str]:
    return [analyze_one(_WORKER_NLP, read_file(doc_id, Path(path), max_chars), include_text).model_dump_json()
            for doc_id, path in chunk]


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
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


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
    nlp=None,
) -> Iterator[DocumentResult]:
    """Analyze every document of ``source``, yielding results in input order.

    Args:
        source: a text file, a folder (searched recursively for ``patterns``) or ``-`` for stdin.
        config: the pipeline config (each worker builds its pipeline from it).
        processes: worker processes; None uses every core, 1 runs in this process.
        skip_ids: ids to skip (documents finished by an earlier run).
        patterns: file name patterns searched in a folder.
        include_text: put each document's text in its result.
        chunk_size: documents per task sent to a worker.
        on_total: called once with the number of documents to analyze.
        nlp: an already loaded pipeline to use in-process (only when processes is 1 or
            the batch is small).

    Raises:
        InputError: ``source`` does not exist or a folder has no matching files.
    """
    skip = set(skip_ids)
    if str(source) == "-":
        doc = read_stdin(config.max_chars)
        if on_total:
            on_total(0 if doc.id in skip else 1)
        if doc.id not in skip:
            yield analyze_one(nlp or _load(config), doc, include_text)
        return
    todo = [(i, str(p)) for i, p in discover(source, patterns) if i not in skip]
    if on_total:
        on_total(len(todo))
    if not todo:
        return
    n = processes or default_processes()
    if n <= 1 or len(todo) < 4 * chunk_size:
        pipeline = nlp or _load(config)
        for doc_id, path in todo:
            yield analyze_one(pipeline, read_file(doc_id, Path(path), config.max_chars), include_text)
        return
    chunks = [todo[i : i + chunk_size] for i in range(0, len(todo), chunk_size)]
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_init_worker,
                             initargs=(config.model_dump_json(),)) as pool:
        futures = [pool.submit(_work, c, config.max_chars, include_text) for c in chunks]
        try:
            for fut in futures:
                for line in fut.result():
                    yield DocumentResult.model_validate_json(line)
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def _load(config: PipelineConfig):
    from medlens.pipeline import build_pipeline

    return build_pipeline(config)


__all__ = ["InputError", "analyze_documents", "analyze_one", "completed_ids", "default_processes"]
