"""The batch job's engine on a Ray cluster (``medlens batch --engine ray``; the ``ray`` extra).

One actor per worker process: each builds the pipeline once (its models, the graph opened read-only) and
holds ``cpus_per_worker`` cores, which are also its model threads (``$MEDLENS_THREADS``, ``OMP_NUM_THREADS``),
so N actors never start N x N threads. The driver (:func:`medlens.engines.job.run_job`) sends a shard's
documents to the least busy live actor, at most ``in_flight`` shards per actor (back-pressure); results come
back as Arrow tables through the object store and the driver writes the partitions.

Failures: when an actor dies (its process killed, its node lost), every shard it held is reported lost and
sent again to the actors still alive, and a new actor is asked for (it starts when the cluster has room for
it). When no actor is alive for ``worker_timeout`` seconds the job stops with E913 (a resumed job picks
up from the partitions written).
"""

from __future__ import annotations

import os
import time

from medlens.engines.job import Key, Lost, ShardOutput, run_shard, set_worker_threads
from medlens.errors import ConfigError, Errors, MedlensError
from medlens.io.readers import InputDocument


class ShardWorker:
    """A Ray actor holding one pipeline (see the module docstring)."""

    def __init__(self, task, fmt: str, threads: int) -> None:
        set_worker_threads(threads)
        import ray

        ctx = ray.get_runtime_context()
        self.name = f"node {ctx.get_node_id()[:8]} pid {os.getpid()}"
        self.task, self.fmt = task, fmt
        self.nlp = task.build()

    def ready(self) -> str:
        return self.name

    def run(self, docs: list[InputDocument]) -> ShardOutput:
        return run_shard(self.nlp, self.task, self.fmt, docs, self.name)


class RayEngine:
    """Actors on a Ray cluster (see the module docstring).

    Args:
        address: the cluster (``host:port`` or ``auto``); None: ``$RAY_ADDRESS``, else a Ray runtime started
            for this job on this machine (no dashboard, an object store of ``object_store_mb``).
        workers: actors (None: the cluster's CPUs // ``cpus_per_worker``).
        cpus_per_worker: cores each actor holds.
        in_flight: shards out per actor at a time.
        object_store_mb: object store of a runtime started for the job.
        worker_timeout: seconds without any live actor before the job stops.
        startup_wait: seconds to wait for every actor to be ready before the first shard is sent.
    """

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None, cpus_per_worker: int = 1,
                 in_flight: int = 2, object_store_mb: int = 200, worker_timeout: float = 300.0,
                 startup_wait: float = 120.0) -> None:
        try:
            import ray  # noqa: F401
        except ImportError as exc:
            raise ConfigError(Errors.E905.format(what="--engine ray", extra="ray")) from exc
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.workers = workers
        self.cpus = cpus_per_worker
        self.per_worker = in_flight
        self.object_store_mb = object_store_mb
        self.worker_timeout = worker_timeout
        self.startup_wait = startup_wait
        self._started_runtime = False
        self._connected_here = False  # this engine called ray.init (a runtime of its own, or a driver attached to --address)
        self._actors: dict[int, object] = {}  # id -> handle, live and ready
        self._starting: dict[object, tuple[int, object]] = {}  # ready() ref -> (id, handle)
        self._load: dict[int, int] = {}
        self._refs: dict[object, tuple[Key, int]] = {}  # run() ref -> (key, actor id)
        self._next_id = 0
        self._failed_starts = 0
        self._no_actor_since: float | None = None
        self.nodes = 0

    def describe(self) -> str:
        where = self.address or "a local Ray runtime"
        return f"ray engine, {self.workers} actor(s) x {self.cpus} CPU on {self.nodes} node(s) of {where}"

    def start(self, task, fmt: str) -> None:
        import ray

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        try:
            if not ray.is_initialized():
                if self.address:
                    ray.init(address=self.address, logging_level="ERROR", log_to_driver=False)
                    self._connected_here = True
                else:
                    ray.init(num_cpus=(self.workers or os.cpu_count() or 1) * self.cpus, include_dashboard=False,
                             object_store_memory=self.object_store_mb * 1024 * 1024, logging_level="ERROR",
                             log_to_driver=False)
                    self._started_runtime = self._connected_here = True
        except MedlensError:
            raise
        except Exception as exc:  # noqa: BLE001 - ray raises ConnectionError, RuntimeError, ...
            raise ConfigError(Errors.E914.format(address=self.address or "(local)", details=exc)) from exc
        self.nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
        if self.workers is None:
            self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)) // self.cpus)
        self._cls = ray.remote(num_cpus=self.cpus, max_restarts=0, max_task_retries=0)(ShardWorker)
        self._task, self._fmt = ray.put(task), fmt
        for _ in range(self.workers):
            self._spawn()
        # the job starts when every actor has its pipeline (or, if the cluster has no room for some, after
        # startup_wait seconds with at least one)
        deadline = time.monotonic() + self.startup_wait
        while self._starting and (time.monotonic() < deadline or not self._actors):
            self._check_starting(timeout=1.0)
            if not self._actors and time.monotonic() > deadline + self.worker_timeout:
                raise ConfigError(Errors.E913.format(seconds=self.startup_wait + self.worker_timeout, details=getattr(
                    self, "_last_error", f"cluster resources: {ray.available_resources()}")))
        self._no_actor_since = time.monotonic()

    def _spawn(self) -> None:
        handle = self._cls.remote(self._task, self._fmt, self.cpus)
        self._starting[handle.ready.remote()] = (self._next_id, handle)
        self._next_id += 1

    def _check_starting(self, timeout: float = 0.0) -> None:
        import ray

        if not self._starting:
            return
        ready, _ = ray.wait(list(self._starting), num_returns=len(self._starting), timeout=timeout)
        for ref in ready:
            aid, handle = self._starting.pop(ref)
            try:
                ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - the actor failed to start (its node died, the build failed)
                self._last_error = f"{type(exc).__name__}: {str(exc)[:500]}"
                self._failed_starts += 1
                if self._failed_starts > 3 * max(1, self.workers or 1):
                    raise ConfigError(Errors.E913.format(seconds=0, details=self._last_error)) from exc
                self._spawn()
                continue
            self._actors[aid] = handle
            self._load[aid] = 0

    def capacity(self) -> int:
        self._check_starting()
        return sum(max(0, self.per_worker - self._load[a]) for a in self._actors)

    def in_flight(self) -> int:
        return len(self._refs)

    def submit(self, key: Key, docs: list[InputDocument]) -> list[tuple[Key, ShardOutput | Lost]]:
        aid = min(self._actors, key=lambda a: self._load[a])
        self._load[aid] += 1
        self._refs[self._actors[aid].run.remote(docs)] = (key, aid)
        return []

    def poll(self, timeout: float) -> list[tuple[Key, ShardOutput | Lost]]:
        import ray

        self._check_starting()
        if self._actors:
            self._no_actor_since = None
        elif self._no_actor_since is None:
            self._no_actor_since = time.monotonic()
        elif time.monotonic() - self._no_actor_since > self.worker_timeout:
            raise ConfigError(Errors.E913.format(seconds=self.worker_timeout, details=getattr(
                self, "_last_error", f"cluster resources: {ray.available_resources()}")))
        waiting = list(self._refs) + list(self._starting)
        if not waiting:
            time.sleep(timeout)
            return []
        ready, _ = ray.wait(waiting, num_returns=1, timeout=timeout)
        out: list[tuple[Key, ShardOutput | Lost]] = []
        for ref in ready:
            if ref in self._starting:
                continue
            key, aid = self._refs.pop(ref)
            if aid in self._load:
                self._load[aid] -= 1
            try:
                out.append((key, ray.get(ref)))
            except Exception as exc:  # noqa: BLE001 - the actor died or the shard failed outside the per-document guard
                out.append((key, Lost(f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}")))
                if aid in self._actors and _actor_gone(exc):
                    del self._actors[aid]
                    del self._load[aid]
                    self._spawn()
        return out

    def close(self) -> None:
        import ray

        for handle in list(self._actors.values()) + [h for _, h in self._starting.values()]:
            try:
                ray.kill(handle)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self._actors.clear()
        self._starting.clear()
        self._refs.clear()
        if self._connected_here:
            # a runtime of its own stops; a driver attached to a cluster only disconnects (the cluster runs on). Either
            # way no Ray thread is left to print (a dead node's notice) after `medlens batch` has written its report
            ray.shutdown()
            self._connected_here = self._started_runtime = False


def _actor_gone(exc: Exception) -> bool:
    from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError

    return isinstance(exc, (ActorDiedError, ActorUnavailableError, RayActorError))
