"""Micro-batching: concurrent requests share model calls, off the event loop, on every core.

Requests put their documents on a bounded asyncio queue and await a future.
One collector task takes a free worker slot, then gathers queued documents into
one ``nlp.pipe`` call of at most ``max_documents``. Idle (no other worker
busy), it waits ``wait_ms`` for the next document, again after each arrival;
under load (another worker busy) it waits up to ``max_wait_ms`` in all, since
the clients just answered by a finished batch come back together a few
milliseconds later (with ``balance``, it stops at its fair share of the
documents in sight, queued and running elsewhere, divided by the workers; off
by default: it made batches smaller and was not measurably better). While every
worker is busy, new requests pile up in the queue, so batches grow with the
load and shrink to one document when the service is idle.
A 300-word note read alone runs at about 60 % of the words/s of batches of 4
or more (benchmarks/README.md, "Service under load").

Bounded: when the queue already holds ``max_queue_documents`` documents, a
new request is refused at once with :class:`QueueFull` (the service answers
503 with a ``Retry-After`` estimated from the measured seconds per document).
Cancel-safe: a request that is cancelled (timeout, client gone) while queued
leaves the queue and never reaches a worker; each item carries its deadline,
and a worker skips the items whose deadline has passed before it starts them
(and the per-item extras: FHIR, differential, summary) rather than work for
nobody.

Garbage collector: a worker's pipeline is ~100,000 objects with large dicts (lexicons, vocabularies),
and Python's full (generation-2) collection walks all of them: 0.1-0.35 s each, every ~10 batches, a
pause for every request of the batch (the service's p99 over a long run). With ``gc_freeze`` (on by
default), each worker collects and then moves what is alive to the permanent generation
(:func:`freeze_heap`) after its warm-up and again after its 8th, 64th and 512th batch (caches and
lazily loaded tables that appear with traffic); full collections then walk only what came later.
Objects frozen are still freed when nothing refers to them (reference counting), only cycles among
them are not collected, so every freeze collects first.

Backends:

- :class:`ProcessBackend`: a ``ProcessPoolExecutor`` (spawn) with one process per
  core, each building its own pipeline in the pool initializer; the knowledge
  graph is opened read-only, so the processes share the OS page cache. Results
  come back as JSON strings, which the service writes out without re-encoding.
- :class:`ThreadBackend`: one pipeline in this process, run in one thread (spaCy
  holds the GIL, so more threads would not help); quick to start, for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import multiprocessing as mp
import os
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace

log = logging.getLogger("medlens.serve")

DEADLINE_KEY = "medlens.deadline"
"""ASGI scope key holding the request's deadline (``time.time()`` seconds), set by the service middleware
(:class:`medlens.serve.app.ServiceMiddleware`) and carried into each :class:`WorkItem` by the routes."""


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One document to analyze. ``fhir`` also asks for a FHIR Bundle."""

    id: str
    text: str
    include_text: bool = False
    fhir: bool = False
    diagnose_top: int = 0
    diagnose_mode: str = "auto"
    summarize: str = ""  # "note" or "dialogue": also summarize (medlens.summarize)
    summary_format: str = "json"  # json, fhir or text
    deadline: float = 0.0  # time.time() after which nobody waits for the result (0: none)


@dataclass(frozen=True, slots=True)
class WorkResult:
    """The analysis of one document, serialized in the worker.

    Attributes:
        json: the ``DocumentResult`` as JSON (``exclude_none``).
        labels: entity counts per label.
        error: the error type when the document failed, else None.
        fhir: the FHIR Bundle as JSON when asked for, else None.
        diagnosis: the ``Differential`` as JSON when asked for (``diagnose_top``), else None.
    """

    json: str
    labels: dict[str, int]
    error: str | None = None
    fhir: str | None = None
    diagnosis: str | None = None
    summary: str | None = None


def analyze_items(nlp, items: Sequence[WorkItem], zones: MemoryZones | None = None) -> list[WorkResult]:
    """Analyze documents with one ``nlp.pipe`` call; a failing batch falls back to one by one.

    Args:
        nlp: a medlens pipeline.
        items: the documents.
        zones: the worker's :class:`MemoryZones` (a zone spanning several batches); None: a memory
            zone for this call alone.

    Returns:
        One :class:`WorkResult` per item, in order; failures are reported in the result.
    """
    import json as _json

    from medlens.io.fhir import to_fhir_bundle
    from medlens.results import DocumentResult

    if any(it.deadline for it in items):
        now = time.time()
        live = [it for it in items if not it.deadline or it.deadline > now]
        if len(live) < len(items):  # their requests were answered 504 already: do not analyze them
            done = iter(analyze_items(nlp, live, zones) if live else [])
            return [next(done) if not it.deadline or it.deadline > now else _expired(it) for it in items]
    # Strings and lexemes the batch adds to the vocabulary (every new word, id and date of a request) are
    # freed when the zone closes, so a long-running service does not grow with the words it has seen;
    # every result leaves the zone as JSON text (spaCy's memory zones).
    with _memory_zone(nlp) if zones is None else zones.batch(len(items)):
        try:
            docs = list(nlp.pipe([it.text for it in items]))
            results = [DocumentResult.from_doc(d, doc_id=it.id, include_text=it.include_text) for d, it in zip(docs, items)]
        except Exception:  # noqa: BLE001 - one bad document must not fail the others: redo one by one, errors reported
            docs = [None] * len(items)
            results = [_analyze_single(nlp, it) for it in items]
        out = []
        for it, res, doc in zip(items, results, docs):
            if it.deadline and (it.fhir or it.diagnose_top or it.summarize) and time.time() > it.deadline:
                out.append(_expired(it))  # the extras are skipped too once nobody waits for them
                continue
            bundle = _json.dumps(to_fhir_bundle(res, it.text), ensure_ascii=False) if it.fhir else None
            diagnosis = _diagnose(nlp, doc, it.diagnose_top, it.diagnose_mode) if it.diagnose_top and doc is not None else None
            summary = _summarize(nlp, doc, it) if it.summarize and (doc is not None or it.summarize == "dialogue") else None
            out.append(WorkResult(res.model_dump_json(exclude_none=True), dict(Counter(e.label for e in res.entities)),
                                  res.error.type if res.error else None, bundle, diagnosis, summary))
        return out


def _memory_zone(nlp):
    """``nlp.memory_zone()`` where the pipeline has one (spaCy >= 3.8), else a context that does nothing."""
    zone = getattr(nlp, "memory_zone", None)
    return zone() if zone is not None else contextlib.nullcontext()


class MemoryZones:
    """spaCy memory zones that span a worker's batches until they have read ``documents`` documents.

    A zone per batch frees each batch's new words at once, but it also makes the strings, lexemes
    and tokenizer entries of every common word again for every batch (3-5 % of a worker's time,
    benchmarks/README.md); a zone kept open over several batches makes them once per zone, and
    the memory it frees is still bounded (the words of ``documents`` documents). Results leave
    the zone as JSON text, so nothing refers to a closed zone's strings.

    Args:
        nlp: the worker's pipeline.
        documents: close the zone after a batch that brings it to this many documents (1: a zone
            per batch; 0: no zones, the vocabulary keeps every word).
    """

    def __init__(self, nlp, documents: int = 64) -> None:
        self.nlp = nlp
        self.documents = documents
        self.seen = 0  # documents read in the open zone
        self.closed = 0  # zones closed so far
        self._zone = None

    @contextlib.contextmanager
    def batch(self, n: int):
        """Run one batch of ``n`` documents inside the open zone (opened first if none is)."""
        if self.documents <= 0 or getattr(self.nlp, "memory_zone", None) is None:
            yield
            return
        if self._zone is None:
            self._zone = self.nlp.memory_zone()
            self._zone.__enter__()
        try:
            yield
        except BaseException:
            self.close()
            raise
        self.seen += n
        if self.seen >= self.documents:
            self.close()

    def close(self) -> None:
        """Close the open zone, if any: the strings and lexemes it added are freed."""
        if self._zone is not None:
            zone, self._zone, self.seen = self._zone, None, 0
            zone.__exit__(None, None, None)
            self.closed += 1


def freeze_heap() -> int:
    """Collect garbage, then move every object still alive to the garbage collector's permanent generation.

    Full collections then skip them (a loaded pipeline: ~100,000 objects and large dicts, 0.1-0.35 s
    per full collection otherwise). They are still freed by reference counting; cycles among them
    are not collected, hence the collection first.

    Returns:
        The number of objects in the permanent generation.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


FREEZE_AFTER_BATCHES = frozenset({8, 64, 512})
"""A worker freezes its heap again after these batches: what traffic adds (caches, tables loaded on first use)."""


class HeapFreezer:
    """Counts a worker's batches and calls :func:`freeze_heap` after the warm-up and the batches of
    :data:`FREEZE_AFTER_BATCHES` (nothing when ``enabled`` is False)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.batches = 0
        self.freezes = 0

    def warmed_up(self) -> None:
        if self.enabled:
            freeze_heap()
            self.freezes += 1

    def after_batch(self) -> None:
        self.batches += 1
        if self.enabled and self.batches in FREEZE_AFTER_BATCHES:
            freeze_heap()
            self.freezes += 1


def _expired(item: WorkItem) -> WorkResult:
    """The result of an item whose deadline passed before it was analyzed (nobody reads it)."""
    import json as _json

    return WorkResult(_json.dumps({"id": item.id, "error": {"type": "Cancelled", "message": "deadline passed"}}),
                      {}, "Cancelled")


_ENGINES: dict[int, object] = {}


def _diagnose(nlp, doc, top: int, mode: str = "auto") -> str:
    """The differential for an analyzed Doc as JSON, or an ``{"error": ...}`` JSON object."""
    import json as _json

    from medlens.errors import MedlensError

    try:
        engine = _ENGINES.get(id(nlp))
        if engine is None:
            from medlens.pipeline import shared_graph
            from medlens.reasoning.engine import DiagnosisEngine

            engine = _ENGINES[id(nlp)] = DiagnosisEngine(shared_graph(nlp.meta["medlens"]["kg_path"]), nlp=nlp)
        return engine.diagnose(doc, top=top, mode=mode).model_dump_json()
    except MedlensError as exc:
        return _json.dumps({"error": {"type": type(exc).__name__, "message": str(exc)}})
    except Exception as exc:  # noqa: BLE001 - reported to the caller as a 500 without the text
        return _json.dumps({"error": {"type": "InternalError", "message": f"diagnosis failed ({type(exc).__name__})"}})


def _summarize(nlp, doc, item: WorkItem) -> str:
    """The note summary or visit note as JSON (or FHIR / text per ``item.summary_format``), or an ``{"error": ...}`` object."""
    import json as _json

    from medlens.errors import MedlensError

    try:
        from medlens.summarize import summarize
        from medlens.summarize.fhir import summary_to_fhir, visit_note_to_fhir

        if item.summarize == "dialogue":
            result = summarize(item.text, kind="dialogue", nlp=nlp, doc_id=item.id)
        else:
            result = summarize(doc, doc_id=item.id)
        if item.summary_format == "fhir":
            bundle = visit_note_to_fhir(result) if item.summarize == "dialogue" else summary_to_fhir(result)
            return _json.dumps(bundle, ensure_ascii=False)
        if item.summary_format == "text":
            return _json.dumps({"text": result.text})
        return result.model_dump_json()
    except MedlensError as exc:
        return _json.dumps({"error": {"type": type(exc).__name__, "message": str(exc)}})
    except Exception as exc:  # noqa: BLE001 - reported to the caller as a 500 without the text
        return _json.dumps({"error": {"type": "InternalError", "message": f"summary failed ({type(exc).__name__})"}})


def _analyze_single(nlp, item: WorkItem):
    from medlens.errors import MedlensError
    from medlens.results import DocumentResult

    try:
        return DocumentResult.from_doc(nlp(item.text), doc_id=item.id, include_text=item.include_text)
    except MedlensError as exc:
        return DocumentResult.failed(item.id, type(exc).__name__, str(exc))
    except Exception as exc:  # noqa: BLE001 - reported in the result; the message is left out (it may quote the text)
        return DocumentResult.failed(item.id, type(exc).__name__, "analysis failed")


# -- process backend ---------------------------------------------------------------
_WORKER_NLP = None
_WORKER_HEAP = HeapFreezer(False)
_WORKER_ZONES: MemoryZones | None = None


def _init_process(config_json: str, threads: int, gc_freeze: bool = True, zone_documents: int = 64) -> None:
    global _WORKER_NLP, _WORKER_HEAP, _WORKER_ZONES
    from medlens.config import PipelineConfig
    from medlens.runtime import THREADS_ENV
    from medlens.pipeline import build_pipeline

    os.environ.setdefault(THREADS_ENV, str(threads))  # this worker's share of the cores for its models
    _WORKER_NLP = build_pipeline(PipelineConfig.model_validate_json(config_json))
    _WORKER_HEAP = HeapFreezer(gc_freeze)
    _WORKER_ZONES = MemoryZones(_WORKER_NLP, zone_documents)


def _process_run(items: Sequence[WorkItem]) -> list[WorkResult]:
    try:
        return analyze_items(_WORKER_NLP, items, _WORKER_ZONES)
    finally:
        _WORKER_HEAP.after_batch()


def _process_warm(seconds: float) -> int:
    analyze_items(_WORKER_NLP, [WorkItem("warmup", "Denies chest pain. History of MI.")])
    if not _WORKER_HEAP.freezes:
        _WORKER_HEAP.warmed_up()
    time.sleep(seconds)  # keep this worker busy so the next warm-up task lands on another one
    return os.getpid()


class ProcessBackend:
    """One pipeline per worker process (all cores; each worker's models get its share of them).

    Args:
        config: the :class:`~medlens.config.PipelineConfig` each worker builds.
        workers: number of processes.
        gc_freeze: freeze each worker's heap after its warm-up and a few early batches (:class:`HeapFreezer`).
        zone_documents: each worker's memory zones span batches until they have read this many
            documents (:class:`MemoryZones`; 0: no zones).
    """

    def __init__(self, config, workers: int, gc_freeze: bool = True, zone_documents: int = 64) -> None:
        self.config_json = config.model_dump_json()
        self.workers = workers
        self.gc_freeze = gc_freeze
        self.zone_documents = zone_documents
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        from medlens.runtime import worker_threads

        return ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"),
                                   initializer=_init_process,
                                   initargs=(self.config_json, worker_threads(self.workers), self.gc_freeze,
                                             self.zone_documents))

    async def start(self) -> None:
        """Start the processes and wait until each has loaded its pipeline."""
        self._pool = self._new_pool()
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._pool, _process_warm, 0.3) for _ in range(self.workers)))

    async def run(self, items: Sequence[WorkItem]) -> list[WorkResult]:
        assert self._pool is not None, "backend not started"
        pool = self._pool
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, _process_run, list(items))
        except BrokenProcessPool:
            log.error("an analysis worker process died; starting a new pool")
            if self._pool is pool:
                self._pool = self._new_pool()
                pool.shutdown(wait=False, cancel_futures=True)
            raise

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class ThreadBackend:
    """One pipeline in this process, run in one worker thread.

    Args:
        nlp: the pipeline to use (built by the caller).
        gc_freeze: freeze this process's heap again after a few early batches (:class:`HeapFreezer`; the
            service freezes it once after start-up).
        zone_documents: memory zones span batches until they have read this many documents
            (:class:`MemoryZones`; 0: no zones).
    """

    workers = 1

    def __init__(self, nlp, gc_freeze: bool = False, zone_documents: int = 64) -> None:
        self.nlp = nlp
        self.heap = HeapFreezer(gc_freeze)
        self.zones = MemoryZones(nlp, zone_documents)
        self._pool: Executor | None = None

    async def start(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="medlens-nlp")
        await asyncio.get_running_loop().run_in_executor(
            self._pool, analyze_items, self.nlp, [WorkItem("warmup", "Denies chest pain.")])

    def _run(self, items: list[WorkItem]) -> list[WorkResult]:
        try:
            return analyze_items(self.nlp, items, self.zones)
        finally:
            self.heap.after_batch()

    async def run(self, items: Sequence[WorkItem]) -> list[WorkResult]:
        assert self._pool is not None, "backend not started"
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._run, list(items))

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class QueueFull(Exception):
    """The work queue holds ``max_queue_documents`` documents already: answer 503 and retry later.

    Attributes:
        queued: documents waiting.
        limit: the queue's size (the ``max_queue_documents`` setting).
        retry_after: seconds after which the queue has probably room again (at least 1).
    """

    def __init__(self, queued: int, limit: int, retry_after: int) -> None:
        super().__init__(f"The analysis queue is full ({queued} documents waiting, the limit is {limit}: "
                         f"the max_queue_documents setting); retry after {retry_after} s.")
        self.queued, self.limit, self.retry_after = queued, limit, retry_after


@dataclass(eq=False)
class _Job:
    items: list[WorkItem]
    future: asyncio.Future = field(repr=False)
    queued: bool = True  # counted in the batcher's queued documents


class MicroBatcher:
    """Collects concurrent requests into batches for a backend, with a bounded queue.

    Args:
        backend: a started :class:`ProcessBackend` or :class:`ThreadBackend`.
        max_documents: most documents per backend call.
        wait_ms: how long to wait for the next document once one has arrived (each arrival
            restarts the wait: a burst of requests joins one batch) while no other worker is busy.
        on_batch: called with the size of each batch sent (for metrics).
        max_queue_documents: most documents waiting for a worker; :meth:`submit` raises
            :class:`QueueFull` beyond (None: unbounded). An empty queue always takes a request,
            so a batch larger than the queue is still served.
        max_wait_ms: the longest a batch waits for more documents in all; while another worker is
            busy it waits that long (unless full): the clients of a batch just answered are sending
            their next requests.
        balance: while another worker is busy, stop a batch at this worker's fair share of the
            documents in sight (queued, taken, running elsewhere, divided by the workers), so that
            the workers finish at about the same time instead of one taking the whole queue.
    """

    def __init__(self, backend, max_documents: int = 16, wait_ms: float = 2.0, on_batch=None,
                 max_queue_documents: int | None = None, max_wait_ms: float | None = None,
                 balance: bool = False) -> None:
        self.backend = backend
        self.max_documents = max_documents
        self.wait_s = wait_ms / 1000.0
        self.max_wait_s = (max_wait_ms if max_wait_ms is not None else 50.0) / 1000.0
        self.on_batch = on_batch
        self.max_queue_documents = max_queue_documents
        self.workers = max(1, backend.workers)
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._queued_documents = 0
        self._slots = asyncio.Semaphore(self.workers)
        self._collector: asyncio.Task | None = None
        self._running: set[asyncio.Task] = set()
        self._seconds_per_document = 0.0  # moving average over batches, per worker
        self._busy = 0  # batches running on a worker
        self._running_documents = 0
        self.balance = balance
        self.rejected = 0
        self.expired = 0  # documents dropped because their request was cancelled before they started

    @property
    def pending(self) -> int:
        """Requests (jobs) waiting in the queue, cancelled ones included until the collector drops them."""
        return self._queue.qsize()

    @property
    def pending_documents(self) -> int:
        """Documents waiting for a worker (cancelled requests not counted)."""
        return self._queued_documents

    def retry_after(self) -> int:
        """Seconds until the queue has probably drained by half (from the measured seconds per document)."""
        per_doc = self._seconds_per_document or 1.0
        return max(1, min(60, math.ceil(per_doc * self._queued_documents / 2 / self.workers)))

    def start(self) -> None:
        self._collector = asyncio.create_task(self._collect(), name="medlens-batcher")

    async def close(self) -> None:
        if self._collector is not None:
            self._collector.cancel()
            await asyncio.gather(self._collector, return_exceptions=True)
        await asyncio.gather(*self._running, return_exceptions=True)
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.future.done():
                job.future.set_exception(RuntimeError("the service is shutting down"))

    async def submit(self, items: Sequence[WorkItem], deadline: float | None = None) -> list[WorkResult]:
        """Analyze documents; large lists are split across workers. Cancel-safe.

        Args:
            items: the documents.
            deadline: ``time.time()`` after which the result is no longer wanted; workers skip
                items whose deadline passed before they started.

        Raises:
            QueueFull: the queue is full (nothing was queued).
        """
        n = len(items)
        limit = self.max_queue_documents
        if limit is not None and self._queued_documents and self._queued_documents + n > limit:
            self.rejected += 1
            raise QueueFull(self._queued_documents, limit, self.retry_after())
        if deadline:
            items = [replace(it, deadline=deadline) for it in items]
        loop = asyncio.get_running_loop()
        jobs = [_Job(list(items[i:i + self.max_documents]), loop.create_future())
                for i in range(0, n, self.max_documents)]
        for job in jobs:
            self._queued_documents += len(job.items)
            job.future.add_done_callback(lambda _f, job=job: self._unqueue(job, cancelled=True))
            self._queue.put_nowait(job)
        try:
            parts = await asyncio.gather(*(j.future for j in jobs))
        except BaseException:
            for j in jobs:
                j.future.cancel()
            raise
        return [r for part in parts for r in part]

    def _unqueue(self, job: _Job, cancelled: bool = False) -> None:
        if job.queued:
            job.queued = False
            self._queued_documents -= len(job.items)
            if cancelled and job.future.cancelled():
                self.expired += len(job.items)

    def _take(self, job: _Job) -> bool:
        """Take a job off the queue for a batch; False when its request is gone already."""
        self._unqueue(job)
        return not job.future.done()

    async def _collect(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._slots.acquire()
            try:
                job = await self._queue.get()
                while not self._take(job):
                    job = await self._queue.get()
                batch, n = [job], len(job.items)
                first = loop.time()
                while n < self.max_documents:
                    if self.balance and self._busy and n >= self._share(n):
                        break  # this worker's share of the work in sight: the others take the rest
                    if not self._queue.empty():
                        job = self._queue.get_nowait()
                    else:
                        # idle service: wait_ms for the next arrival; another worker busy: up to max_wait_ms in
                        # all, for the requests its answered clients are sending again (a fuller batch)
                        remaining = first + self.max_wait_s - loop.time()
                        if not self._busy:
                            remaining = min(self.wait_s, remaining)
                        if remaining <= 0:
                            break
                        try:
                            job = await asyncio.wait_for(self._queue.get(), remaining)
                        except TimeoutError:
                            break
                    if not self._take(job):
                        continue
                    if n + len(job.items) > self.max_documents:
                        # does not fit: send it alone right after this batch
                        task = asyncio.create_task(self._dispatch(batch, release=True))
                        self._track(task)
                        await self._slots.acquire()
                        batch, n = [job], len(job.items)
                        break
                    batch.append(job)
                    n += len(job.items)
            except BaseException:
                self._slots.release()
                raise
            self._track(asyncio.create_task(self._dispatch(batch, release=True)))

    def _share(self, n: int) -> int:
        """One worker's fair share of the documents in sight: taken, queued and running on the others."""
        return math.ceil((n + self._queued_documents + self._running_documents) / self.workers)

    def _track(self, task: asyncio.Task) -> None:
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _dispatch(self, batch: list[_Job], release: bool) -> None:
        try:
            live = [j for j in batch if not j.future.done()]  # skip requests that timed out or left
            if not live:
                return
            items = [it for j in live for it in j.items]
            if self.on_batch:
                self.on_batch(len(items))
            started = time.perf_counter()
            self._busy += 1
            self._running_documents += len(items)
            try:
                results = await self.backend.run(items)
            except Exception as exc:  # noqa: BLE001 - handed to every waiting request, which answers 500/503
                for j in live:
                    if not j.future.done():
                        j.future.set_exception(exc)
                return
            finally:
                self._busy -= 1
                self._running_documents -= len(items)
            per_doc = (time.perf_counter() - started) / len(items)
            avg = self._seconds_per_document
            self._seconds_per_document = per_doc if not avg else 0.8 * avg + 0.2 * per_doc
            pos = 0
            for j in live:
                part = results[pos:pos + len(j.items)]
                pos += len(j.items)
                if not j.future.done():
                    j.future.set_result(part)
        finally:
            if release:
                self._slots.release()


def make_backend(settings, pipeline_config, nlp=None):
    """The backend the settings ask for (a given ``nlp`` forces the thread backend)."""
    if nlp is not None or settings.executor == "thread":
        if nlp is None:
            from medlens.pipeline import build_pipeline

            nlp = build_pipeline(pipeline_config)
        return ThreadBackend(nlp, gc_freeze=settings.gc_freeze, zone_documents=settings.memory_zone_documents)
    return ProcessBackend(pipeline_config, settings.worker_count(), gc_freeze=settings.gc_freeze,
                          zone_documents=settings.memory_zone_documents)


__all__ = ["HeapFreezer", "MemoryZones", "MicroBatcher", "ProcessBackend", "QueueFull", "ThreadBackend", "WorkItem", "WorkResult", "analyze_items", "freeze_heap", "make_backend"]
