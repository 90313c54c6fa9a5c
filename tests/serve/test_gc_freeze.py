"""The service keeps its loaded pipeline out of Python's full garbage collections (``gc_freeze``).

A full collection walks every tracked object; frozen ones (``gc.freeze``) are skipped, and ``gc.get_objects()``
no longer lists them. Each test unfreezes the test process when it ends.
"""

from __future__ import annotations

import gc

import pytest

from tests.serve.conftest import API_KEY


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _tracked(obj) -> bool:
    """True when the collector's young or old generations hold ``obj`` (False once it is frozen)."""
    return any(o is obj for o in gc.get_objects())


def test_heap_freezer_freezes_after_the_warm_up_and_the_early_batches(unfrozen):
    from medlens.serve.batching import FREEZE_AFTER_BATCHES, HeapFreezer

    before = {"loaded": ["a table of the pipeline"]}
    freezer = HeapFreezer(True)
    freezer.warmed_up()
    assert gc.get_freeze_count() > 0 and not _tracked(before)
    later = {"cache": ["filled by traffic"]}
    first = min(FREEZE_AFTER_BATCHES)
    for _ in range(first - 1):
        freezer.after_batch()
    assert _tracked(later) and freezer.freezes == 1
    freezer.after_batch()  # the first refreeze
    assert not _tracked(later) and freezer.freezes == 2


def test_a_freeze_collects_cycles_first_and_frozen_objects_are_still_freed(unfrozen):
    import weakref

    from medlens.serve.batching import freeze_heap

    class Node:
        pass

    garbage = Node()
    garbage.me = garbage  # a cycle nobody refers to: collected before the freeze, not frozen for ever
    dead = weakref.ref(garbage)
    del garbage
    alive = Node()
    ref = weakref.ref(alive)
    freeze_heap()
    assert dead() is None
    del alive  # no cycle: reference counting frees it although it is frozen
    assert ref() is None


def test_disabled_freezer_leaves_the_collector_alone(unfrozen):
    from medlens.serve.batching import HeapFreezer

    freezer = HeapFreezer(False)
    freezer.warmed_up()
    for _ in range(600):
        freezer.after_batch()
    assert gc.get_freeze_count() == 0 and freezer.freezes == 0 and freezer.batches == 600


def test_process_worker_freezes_after_its_warm_up(unfrozen, nlp, monkeypatch):
    """What a worker process of the process backend runs (here in this process, with the tiny-graph pipeline)."""
    from medlens.serve import batching

    monkeypatch.setattr(batching, "_WORKER_NLP", nlp)
    monkeypatch.setattr(batching, "_WORKER_HEAP", batching.HeapFreezer(True))
    batching._process_warm(0)
    assert gc.get_freeze_count() > 0 and not _tracked(nlp._components)
    results = [batching._process_run([batching.WorkItem(str(i), "Denies chest pain.")]) for i in range(8)]
    assert all(r[0].error is None for r in results)
    assert batching._WORKER_HEAP.batches == 8 and batching._WORKER_HEAP.freezes == 2


@pytest.mark.parametrize("enabled", [True, False])
def test_service_freezes_its_heap_after_start_up_unless_told_not_to(unfrozen, serve_settings, nlp, enabled):
    from fastapi.testclient import TestClient

    from medlens.serve.app import create_app

    settings = serve_settings.model_copy(update={"gc_freeze": enabled})
    with TestClient(create_app(settings, nlp=nlp), headers={"X-API-Key": API_KEY}) as c:
        assert (gc.get_freeze_count() > 0) is enabled
        assert _tracked(nlp._components) is not enabled
        r = c.post("/v1/analyze", json={"text": "Denies chest pain. History of MI."})
        assert r.status_code == 200 and r.json()["entities"]


def test_gc_freeze_and_memory_zone_settings_from_the_environment():
    from medlens.errors import ConfigError
    from medlens.serve.settings import load_settings

    default = load_settings(env={})
    assert (default.gc_freeze, default.memory_zone_documents) == (True, 64)
    s = load_settings(env={"MEDLENS_SERVE_GC_FREEZE": "false", "MEDLENS_SERVE_MEMORY_ZONE_DOCUMENTS": "1"})
    assert (s.gc_freeze, s.memory_zone_documents) == (False, 1)
    with pytest.raises(ConfigError, match="memory_zone_documents"):
        load_settings(env={"MEDLENS_SERVE_MEMORY_ZONE_DOCUMENTS": "-1"})
