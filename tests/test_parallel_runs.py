"""ConcurrentRuns: batches run several at once, results in input order."""

from __future__ import annotations

import threading

from medlens.tagging.parallel import ConcurrentRuns


def test_results_keep_the_input_order_and_use_worker_threads() -> None:
    runs = ConcurrentRuns(2)
    seen: set[str] = set()

    def work(x: int) -> int:
        seen.add(threading.current_thread().name)
        return x * x

    assert list(runs.map(work, range(20))) == [x * x for x in range(20)]
    assert all(name.startswith("medlens-onnx") for name in seen)


def test_one_thread_or_one_item_runs_in_the_caller() -> None:
    here = threading.current_thread().name
    assert list(ConcurrentRuns(1).map(lambda _: threading.current_thread().name, range(3))) == [here] * 3
    assert list(ConcurrentRuns(2)(lambda _: threading.current_thread().name, [0])) == [here]


def test_default_threads_follow_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("MEDLENS_THREADS", "3")
    assert ConcurrentRuns().threads == 3
