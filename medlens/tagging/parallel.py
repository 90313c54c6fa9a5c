"""Running ONNX Runtime batches concurrently, one single-threaded run per core (torch-free).

The shipped models run best as many small batches (a few hundred positions each, so the
activations stay in the CPU caches), each on one ONNX Runtime thread, several at once:
ONNX Runtime releases the GIL while it runs, there is no synchronisation after each of the
graph's operators (as with intra-op threads), and a core taken by another process slows
one batch, not all of them. :class:`ConcurrentRuns` is that "several at once".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class ConcurrentRuns:
    """``map`` over batches, ``threads`` at a time, in a thread pool made on first use.

    Args:
        threads: batches run at once (None: :func:`~medlens.runtime.default_threads`, one per core).
    """

    def __init__(self, threads: int | None = None) -> None:
        from medlens.runtime import default_threads

        self.threads = max(1, threads or default_threads())
        self._pool = None
        self._pid = 0

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``fn`` of each item, results in order; with one thread or one item, in the calling thread."""
        items = list(items)
        if self.threads == 1 or len(items) < 2:
            return map(fn, items)
        if self._pool is None or self._pid != os.getpid():  # a forked worker cannot use its parent's threads
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="medlens-onnx")
            self._pid = os.getpid()
        return self._pool.map(fn, items)

    def __call__(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        return self.map(fn, items)


class Background:
    """One worker thread, made on first use (and again in a forked process), for work that runs
    while the caller goes on: ``submit(fn, *args)`` returns a ``Future``. Tasks run one at a time,
    in the order they were submitted."""

    def __init__(self, name: str = "medlens-ahead") -> None:
        self.name = name
        self._pool = None
        self._pid = 0

    def submit(self, fn: Callable[..., R], *args):
        if self._pool is None or self._pid != os.getpid():
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)
            self._pid = os.getpid()
        return self._pool.submit(fn, *args)
