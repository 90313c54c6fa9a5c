"""A batch job: shards in, one partition file per shard out, exactly once, on any engine.

The driver (this process) reads the source in its fixed order (:mod:`medlens.engines.sources`), cuts it
into shards of ``shard_size`` documents and hands each to an engine (:class:`LocalEngine`: a process pool
on this machine; :class:`medlens.engines.ray_engine.RayEngine`: actors on a Ray cluster). A worker holds
the pipeline (built once) and turns a shard into its output: an Arrow table (Parquet) or JSON lines. The
driver writes it as ``part-NNNNNN.<ext>`` through a temporary file and a rename, so a partition is either
complete or absent.

Exactly once: shard ``k`` is always the same documents, partition ``k`` is written once and atomically,
and ``--resume`` skips the shards whose partition exists. Whatever is killed (the driver, a worker, a
node), a resumed job writes every missing partition and no other; the partitions together hold each
input document once. Lost work is redone: a shard whose worker died is sent again; a shard that loses its
worker twice runs one document at a time, and a document that kills a worker twice becomes an error
result (E912). Back-pressure: at most ``in_flight`` shards per worker are out at a time, so memory is
bounded by the shard size, not by the input.

Layout of an output folder::

    _manifest.json        the job: source, task, format, shard size, document and shard counts
    part-000000.parquet   shard 0's results, one row per document, in input order
    ...
    _SUCCESS.json         written last: counts and timings of the run that finished the job
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing as mp
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from medlens.engines.sources import SourceSpec, count, iter_documents
from medlens.errors import ConfigError, Errors, InputError
from medlens.io.files import fsync_dir
from medlens.io.readers import InputDocument
from medlens.runtime import THREADS_ENV, available_cores

FORMATS = ("parquet", "jsonl")
MANIFEST = "_manifest.json"
SUCCESS = "_SUCCESS.json"
JOB_VERSION = 1


# -- what a task's results are -------------------------------------------------------------------------------
def result_model(task) -> type[BaseModel]:
    """The pydantic model of ``task``'s results (a table's row type)."""
    from medlens.batch import AnalyzeTask
    from medlens.deid.batch import DeidDocument, DeidJob
    from medlens.relations.grow import GrowResult, GrowTask
    from medlens.results import DocumentResult

    for cls, model in ((AnalyzeTask, DocumentResult), (DeidJob, DeidDocument), (GrowTask, GrowResult)):
        if isinstance(task, cls):
            return model
    return getattr(task, "result_model")


def failed_result(model: type[BaseModel], doc_id: str, error_type: str, message: str) -> BaseModel:
    """A result of ``model`` that says the document failed."""
    from medlens.results import DocumentError

    err = model.model_fields["error"].annotation
    if err is str or err == (str | None):
        return model(id=doc_id, error=f"{error_type}: {message}")
    return model(id=doc_id, error=DocumentError(type=error_type, message=message))


def task_name(task) -> str:
    return type(task).__name__


def task_fingerprint(task) -> str:
    """A hash of the task's settings: a resumed job must run the same task. A secret among them (the deid
    ``key``) enters only through a slow salted hash (PBKDF2), so the manifest gives no quick way to guess it."""
    data = json.dumps(_hide_secrets(task.model_dump(mode="json")), sort_keys=True) if isinstance(task, BaseModel) \
        else repr(task)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def _hide_secrets(value):
    if isinstance(value, dict):
        return {k: (hashlib.pbkdf2_hmac("sha256", str(v).encode(), b"medlens-batch", 200_000).hex()
                    if k == "key" and v is not None else _hide_secrets(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide_secrets(v) for v in value]
    return value


# -- worker side ----------------------------------------------------------------------------------------------
@dataclass
class ShardOutput:
    """What a worker sends back for (a part of) a shard."""

    payload: Any  # a pyarrow Table (parquet) or str (jsonl lines)
    documents: int
    failed: int
    words: int
    worker: str = ""
    seconds: float = 0.0


def run_shard(nlp, task, fmt: str, docs: list[InputDocument], worker: str = "") -> ShardOutput:
    """Process one shard's documents with a built pipeline (in a worker)."""
    start = time.perf_counter()
    results = [task.process(nlp, d) for d in docs]
    failed = sum(1 for r in results if r.error is not None)
    words = sum(len(d.text.split()) for d in docs if d.text)
    return ShardOutput(encode(results, result_model(task), fmt), len(results), failed, words, worker,
                       time.perf_counter() - start)


def encode(results: list[BaseModel], model: type[BaseModel], fmt: str):
    if fmt == "parquet":
        from medlens.engines.tables import to_table

        return to_table(results, model)
    return "".join(r.model_dump_json(exclude_none=True) + "\n" for r in results)


def set_worker_threads(threads: int) -> None:
    """This worker's share of the cores for its models and numeric libraries (no N x N threads)."""
    os.environ.setdefault(THREADS_ENV, str(threads))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))


# -- partitions --------------------------------------------------------------------------------------------------
class Manifest(BaseModel):
    """The job an output folder holds (``_manifest.json``)."""

    model_config = ConfigDict(extra="forbid")

    medlens_batch: int = JOB_VERSION
    task: str
    task_fingerprint: str
    source: SourceSpec
    format: Literal["parquet", "jsonl"]
    shard_size: int
    documents: int
    shards: int
    created: str = ""


class Partitions:
    """An output folder's partitions: which exist, and writing one atomically."""

    def __init__(self, folder: Path, fmt: str) -> None:
        self.folder = Path(folder)
        self.fmt = fmt

    def path(self, index: int) -> Path:
        return self.folder / f"part-{index:06d}.{self.fmt}"

    def done(self) -> set[int]:
        out = set()
        for f in self.folder.glob(f"part-*.{self.fmt}"):
            try:
                out.add(int(f.name.split("-")[1].split(".")[0]))
            except ValueError:
                continue
        return out

    def clean(self) -> int:
        """Remove temporary files of interrupted writes; returns how many."""
        n = 0
        for f in self.folder.glob(".part-*.tmp*"):
            f.unlink(missing_ok=True)
            n += 1
        return n

    def write(self, index: int, payload) -> Path:
        """Write partition ``index`` (tmp file, fsync, rename, fsync of the folder)."""
        final = self.path(index)
        tmp = self.folder / f".{final.name}.tmp{os.getpid()}"
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(payload, tmp, compression="zstd")
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        else:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, final)
        fsync_dir(self.folder)
        return final


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    fsync_dir(path.parent)


def read_partitions(folder: str | Path) -> Iterator[BaseModel]:
    """Every result of a finished (or partial) job folder, in input order, as pydantic models."""
    folder = Path(folder)
    manifest = Manifest.model_validate_json((folder / MANIFEST).read_text(encoding="utf-8"))
    from medlens.engines.tables import from_table

    model = _model_by_task(manifest.task)
    parts = Partitions(folder, manifest.format)
    for i in sorted(parts.done()):
        if manifest.format == "parquet":
            import pyarrow.parquet as pq

            yield from from_table(pq.read_table(parts.path(i)), model)
        else:
            with parts.path(i).open(encoding="utf-8") as fh:
                for line in fh:
                    yield model.model_validate_json(line)


def _model_by_task(name: str) -> type[BaseModel]:
    from medlens.deid.batch import DeidDocument
    from medlens.relations.grow import GrowResult
    from medlens.results import DocumentResult

    return {"AnalyzeTask": DocumentResult, "DeidJob": DeidDocument, "GrowTask": GrowResult}.get(name, DocumentResult)


# -- engines -------------------------------------------------------------------------------------------------------
Key = tuple[int, int]  # (shard, -1 for the whole shard or the document's position when isolated)


@dataclass
class Lost:
    """A submitted piece whose worker died (or failed outside the per-document guard)."""

    reason: str


class LocalEngine:
    """Worker processes on this machine (spawned; each builds the pipeline once and holds its share of the
    cores). A worker that dies breaks the pool: every piece then in flight is reported :class:`Lost` and a
    new pool starts."""

    name = "local"

    def __init__(self, workers: int | None = None, in_flight: int = 2) -> None:
        self.workers = workers or available_cores()
        self.per_worker = in_flight
        self._pool: cf.ProcessPoolExecutor | None = None
        self._futures: dict[cf.Future, Key] = {}
        self._nlp = None

    def start(self, task, fmt: str) -> None:
        self.task, self.fmt = task, fmt
        if self.workers <= 1:
            set_worker_threads(available_cores())
            self._nlp = task.build()
            return
        pool = self._ensure_pool()  # every worker up, with its pipeline, before the first shard
        seen: set[int] = set()
        try:
            for _ in range(4 * self.workers):
                seen |= set(pool.map(_ready, range(self.workers)))
                if len(seen) >= self.workers:
                    break
        except cf.process.BrokenProcessPool as exc:  # a worker could not build the pipeline
            self.close()
            raise ConfigError(Errors.E913.format(seconds=0, details=f"the worker processes died while loading the "
                                                 f"pipeline: {exc}")) from exc

    def describe(self) -> str:
        return f"local engine, {self.workers} worker process(es)"

    def _ensure_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            threads = max(1, available_cores() // self.workers)
            self._pool = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"),
                                                initializer=_init_local, initargs=(self.task, threads))
        return self._pool

    def capacity(self) -> int:
        return max(0, self.workers * self.per_worker - len(self._futures)) if self.workers > 1 else 1

    def in_flight(self) -> int:
        return len(self._futures)

    def submit(self, key: Key, docs: list[InputDocument]) -> list[tuple[Key, ShardOutput | Lost]]:
        if self.workers <= 1:  # in this process: done at once
            return [(key, run_shard(self._nlp, self.task, self.fmt, docs, f"pid {os.getpid()}"))]
        fut = self._ensure_pool().submit(_run_local, self.fmt, docs)
        self._futures[fut] = key
        return []

    def poll(self, timeout: float) -> list[tuple[Key, ShardOutput | Lost]]:
        if not self._futures:
            return []
        done, _ = cf.wait(list(self._futures), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        out: list[tuple[Key, ShardOutput | Lost]] = []
        broken = False
        for fut in done:
            key = self._futures.pop(fut)
            try:
                out.append((key, fut.result()))
            except cf.process.BrokenProcessPool as exc:
                broken = True
                out.append((key, Lost(f"worker process died: {exc}")))
            except Exception as exc:  # noqa: BLE001 - reported as a lost piece; retried, then an error result
                out.append((key, Lost(f"{type(exc).__name__}: {exc}")))
        if broken:  # every other piece of the broken pool is lost too
            for fut, key in list(self._futures.items()):
                out.append((key, Lost("worker process died (the pool was restarted)")))
            self._futures.clear()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


_LOCAL: tuple | None = None


def _init_local(task, threads: int) -> None:
    global _LOCAL
    set_worker_threads(threads)
    _LOCAL = (task.build(), task)


def _ready(_: int) -> int:
    time.sleep(0.2)
    return os.getpid()


def _run_local(fmt: str, docs: list[InputDocument]) -> ShardOutput:
    nlp, task = _LOCAL
    return run_shard(nlp, task, fmt, docs, f"pid {os.getpid()}")


# -- the driver -------------------------------------------------------------------------------------------------------
@dataclass
class JobReport:
    """What a run of :func:`run_job` did."""

    output: Path
    documents: int = 0
    shards: int = 0
    skipped_shards: int = 0
    skipped_documents: int = 0
    processed: int = 0
    failed: int = 0
    words: int = 0
    retried: int = 0
    seconds: float = 0.0
    startup_seconds: float = 0.0
    engine: str = ""
    workers: dict[str, int] = field(default_factory=dict)

    @property
    def docs_per_second(self) -> float:
        """Processed documents per second of the whole run (worker start-up included)."""
        return self.processed / self.seconds if self.seconds else 0.0

    @property
    def steady_docs_per_second(self) -> float:
        """Processed documents per second once the workers were up (``seconds - startup_seconds``)."""
        t = self.seconds - self.startup_seconds
        return self.processed / t if t > 0 else 0.0

    def to_dict(self) -> dict:
        return {"output": str(self.output), "documents": self.documents, "shards": self.shards,
                "skipped_shards": self.skipped_shards, "skipped_documents": self.skipped_documents,
                "processed": self.processed, "failed": self.failed, "words": self.words, "retried": self.retried,
                "seconds": round(self.seconds, 3), "startup_seconds": round(self.startup_seconds, 3),
                "docs_per_second": round(self.docs_per_second, 3),
                "steady_docs_per_second": round(self.steady_docs_per_second, 3),
                "words_per_second": round(self.words / max(1e-9, self.seconds - self.startup_seconds), 1),
                "engine": self.engine, "workers": self.workers}


def prepare(output: Path, source: SourceSpec, task, fmt: str, shard_size: int, resume: bool) -> Manifest:
    """Create the output folder and its manifest, or check that a resumed one holds the same job.

    Raises:
        ConfigError: an unknown format (E916); the folder holds a job and ``resume`` is False (E909), or
            one of other settings (E910).
        InputError: the input's document count changed since the job started (E911).
    """
    if fmt not in FORMATS:
        raise ConfigError(Errors.E916.format(value=fmt, opts=", ".join(FORMATS)))
    if fmt == "parquet":
        from medlens.engines.tables import _pa

        _pa()  # E905 now, not an error in every worker
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    mpath = output / MANIFEST
    n = count(source)
    want = Manifest(task=task_name(task), task_fingerprint=task_fingerprint(task), source=source, format=fmt,
                    shard_size=shard_size, documents=n, shards=(n + shard_size - 1) // shard_size,
                    created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    if mpath.is_file():
        have = Manifest.model_validate_json(mpath.read_text(encoding="utf-8"))
        if not resume:
            raise ConfigError(Errors.E909.format(path=output, done=len(Partitions(output, have.format).done()),
                                                 total=have.shards))
        diffs = [name for name in ("task", "task_fingerprint", "source", "format", "shard_size")
                 if getattr(have, name) != getattr(want, name)]
        if diffs:
            raise ConfigError(Errors.E910.format(path=output, details="differs: " + ", ".join(diffs)))
        if have.documents != n:
            raise InputError(Errors.E911.format(path=source.path, found=n, expected=have.documents))
        return have
    if any(output.glob("part-*")):
        raise ConfigError(Errors.E909.format(path=output, done=len(list(output.glob("part-*"))), total="?"))
    _write_json(mpath, want.model_dump(mode="json"))
    return want


def run_job(source: SourceSpec, task, output: str | Path, *, engine=None, fmt: str = "parquet",
            shard_size: int = 256, resume: bool = False, max_attempts: int = 2,
            on_start: Callable[[int, int], None] | None = None,
            on_progress: Callable[[int, int], None] | None = None,
            on_error: Callable[[BaseModel], None] | None = None) -> JobReport:
    """Run ``task`` over ``source``, writing one partition per shard under ``output``.

    Args:
        source: the input (:func:`medlens.engines.sources.make_source`).
        task: a :class:`medlens.batch.BatchTask` (``AnalyzeTask``, ``DeidJob``, ``GrowTask``).
        output: the job's folder.
        engine: :class:`LocalEngine` (default) or :class:`medlens.engines.ray_engine.RayEngine`.
        fmt: ``parquet`` or ``jsonl``.
        shard_size: documents per shard (and per partition file).
        resume: continue the job in ``output`` (skip the shards already written).
        max_attempts: times a shard (then each of its documents) is sent again after losing its worker.
        on_start: called with (documents to process, documents already done).
        on_progress: called with (documents, failed) after each partition.
        on_error: called with each failed document's result (JSONL output only; Parquet results are not
            decoded by the driver).

    Returns:
        A :class:`JobReport`; ``_SUCCESS.json`` holds it once every partition exists.
    """
    output = Path(output)
    engine = engine or LocalEngine()
    manifest = prepare(output, source, task, fmt, shard_size, resume)
    parts = Partitions(output, fmt)
    parts.clean()
    (output / SUCCESS).unlink(missing_ok=True) if not resume else None
    done = parts.done()
    report = JobReport(output=output, documents=manifest.documents, shards=manifest.shards, engine=engine.name)
    report.skipped_shards = len(done)
    report.skipped_documents = sum(min(shard_size, manifest.documents - i * shard_size) for i in done)
    if on_start:
        on_start(manifest.documents - report.skipped_documents, report.skipped_documents)
    model = result_model(task)
    start = time.perf_counter()
    if len(done) < manifest.shards:
        engine.start(task, fmt)
        report.startup_seconds = time.perf_counter() - start
        try:
            _drive(source, task, fmt, shard_size, manifest, done, engine, parts, model, report, max_attempts,
                   on_progress, on_error)
        finally:
            engine.close()
    report.seconds = time.perf_counter() - start
    if len(parts.done()) == manifest.shards:
        _write_json(output / SUCCESS, report.to_dict())
    return report


def _drive(source, task, fmt, shard_size, manifest, done, engine, parts, model, report, max_attempts,
           on_progress, on_error) -> None:
    queue: deque[tuple[Key, list[InputDocument]]] = deque()
    solo: deque[tuple[Key, list[InputDocument]]] = deque()  # single documents, run alone (so a crash is theirs)
    docs_of: dict[int, list[InputDocument]] = {}  # shards out or queued (for retries)
    attempts: dict[Key, int] = {}
    pieces: dict[int, dict[int, ShardOutput]] = {}  # isolated shards: their documents' outputs so far

    def finish(index: int, out: ShardOutput) -> None:
        parts.write(index, out.payload)
        docs_of.pop(index, None)
        report.processed += out.documents
        report.failed += out.failed
        report.words += out.words
        if out.worker:
            report.workers[out.worker] = report.workers.get(out.worker, 0) + out.documents
        if on_error and out.failed and fmt == "jsonl":
            for line in out.payload.splitlines():
                r = model.model_validate_json(line)
                if r.error is not None:
                    on_error(r)
        if on_progress:
            on_progress(out.documents, out.failed)

    def handle(key: Key, out: ShardOutput | Lost) -> None:
        index, pos = key
        if index not in docs_of:  # already written (a late second result): a partition is written once
            return
        if isinstance(out, Lost):
            attempts[key] = attempts.get(key, 0) + 1
            report.retried += 1
            if attempts[key] < max_attempts:
                (queue if pos < 0 else solo).appendleft((key, docs_of[index] if pos < 0 else [docs_of[index][pos]]))
            elif pos < 0:  # the whole shard lost its worker again: one document at a time, each alone
                pieces[index] = {}
                for j, d in enumerate(docs_of[index]):
                    solo.append(((index, j), [d]))
            else:  # this document kills its worker: an error result
                doc = docs_of[index][pos]
                bad = failed_result(model, doc.id, "WorkerCrash", Errors.E912.format(details=out.reason))
                handle(key, ShardOutput(encode([bad], model, fmt), 1, 1, 0, "driver"))
            return
        if pos < 0:
            finish(index, out)
            return
        got = pieces[index]
        got[pos] = out
        if len(got) == len(docs_of[index]):
            ordered = [got[j] for j in range(len(got))]
            del pieces[index]
            if fmt == "parquet":
                import pyarrow as pa

                payload = pa.concat_tables([o.payload for o in ordered])
            else:
                payload = "".join(o.payload for o in ordered)
            merged = ShardOutput(payload, sum(o.documents for o in ordered), sum(o.failed for o in ordered),
                                 sum(o.words for o in ordered), "")
            for o in ordered:
                if o.worker:
                    report.workers[o.worker] = report.workers.get(o.worker, 0) + o.documents
            finish(index, merged)

    def pump(block: bool) -> None:
        if solo:  # a document suspected of killing its worker runs with nothing else in flight
            if engine.in_flight() == 0 and engine.capacity() > 0:
                key, docs = solo.popleft()
                for k, out in engine.submit(key, docs):
                    handle(k, out)
        else:
            while queue and engine.capacity() > 0:
                key, docs = queue.popleft()
                for k, out in engine.submit(key, docs):
                    handle(k, out)
        if block:
            for k, out in engine.poll(timeout=0.5):
                handle(k, out)

    first_todo = min(set(range(manifest.shards)) - done, default=manifest.shards)
    skip = first_todo * shard_size if source.kind in ("folder", "text") else 0
    index = first_todo if skip else 0
    batch: list[InputDocument] = []
    read = skip

    def add_shard(i: int, docs: list[InputDocument]) -> None:
        if i in done:
            return
        docs_of[i] = docs
        queue.append(((i, -1), docs))
        while (queue or solo) and (engine.capacity() == 0 or solo):  # back-pressure: wait before reading on
            pump(block=True)
        pump(block=False)

    for doc in iter_documents(source, getattr(task, "max_chars", None), skip=skip):
        batch.append(doc)
        read += 1
        if len(batch) == shard_size:
            add_shard(index, batch)
            index, batch = index + 1, []
    if batch:
        add_shard(index, batch)
        index += 1
    if read != manifest.documents:
        raise InputError(Errors.E911.format(path=source.path, found=read, expected=manifest.documents))
    while queue or solo or docs_of:
        pump(block=True)
