"""The service under load: a full queue answers 503 + Retry-After, a timeout answers 504 and cancels the work.

These run the real app (middleware, micro-batcher, thread backend, the tiny-graph pipeline) in-process through
httpx's ASGI transport, so several requests are in flight at once. The pipeline is wrapped only to make it
deterministic: a text starting with "BLOCK" holds the one worker until the test opens the gate, and every
``pipe`` call is recorded (which texts reached the pipeline, batched how).
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from tests.serve.conftest import API_KEY

HEADERS = {"X-API-Key": API_KEY}


class GatedNlp:
    """The real pipeline; a batch holding a text that starts with BLOCK waits for ``gate``."""

    def __init__(self, nlp) -> None:
        self.nlp = nlp
        self.meta = nlp.meta
        self.gate = threading.Event()
        self.calls: list[list[str]] = []

    def pipe(self, texts):
        texts = list(texts)
        self.calls.append(texts)
        if any(t.startswith("BLOCK") for t in texts):
            self.gate.wait(20)
        return self.nlp.pipe(texts)

    def __call__(self, text):
        return self.nlp(text)


async def until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


def run_scenario(settings, nlp, scenario, setup_app=None):
    """Start the app (lifespan) with a gated pipeline and run ``scenario(client, app, gated)``."""
    from medlens.serve.app import create_app

    gated = GatedNlp(nlp)
    app = create_app(settings, nlp=gated)
    if setup_app:
        setup_app(app)

    async def main():
        async with app.router.lifespan_context(app):
            gated.calls.clear()  # the warm-up
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=HEADERS,
                                         timeout=30) as client:
                try:
                    await scenario(client, app, gated)
                finally:
                    gated.gate.set()

    asyncio.run(main())
    return gated


def _error(r, status: int, type_: str) -> str:
    assert r.status_code == status, r.text
    assert r.json()["error"]["type"] == type_, r.text
    return r.json()["error"]["message"]


def test_full_queue_is_503_with_retry_after(serve_settings, nlp):
    settings = serve_settings.model_copy(update={"max_queue_documents": 2, "request_timeout_s": 30})

    async def scenario(c, app, gated):
        first = asyncio.create_task(c.post("/v1/analyze", json={"text": "BLOCK fever."}))
        await until(lambda: gated.calls)  # the one worker is busy with it
        queued = [asyncio.create_task(c.post("/v1/analyze", json={"text": t})) for t in ("Fever one.", "Cough two.")]
        await until(lambda: app.state.batcher.pending_documents == 2)

        r = await c.post("/v1/analyze", json={"text": "Headache."})
        msg = _error(r, 503, "Overloaded")
        assert "max_queue_documents" in msg and "2 documents waiting" in msg
        assert int(r.headers["retry-after"]) >= 1
        r = await c.post("/v1/analyze/batch", json={"documents": [{"text": "Headache."}]})
        _error(r, 503, "Overloaded")
        assert (await c.get("/healthz")).status_code == 200  # operations are never refused

        gated.gate.set()
        answers = await asyncio.gather(first, *queued)
        assert [a.status_code for a in answers] == [200, 200, 200]
        # the two queued requests were read in one model call, after the first
        assert gated.calls == [["BLOCK fever."], ["Fever one.", "Cough two."]]
        assert (await c.post("/v1/analyze", json={"text": "Headache."})).status_code == 200  # room again
        metrics = (await c.get("/metrics")).text
        assert 'medlens_rejected_requests_total{reason="queue_full"} 2.0' in metrics
        assert app.state.batcher.pending_documents == 0

    run_scenario(settings, nlp, scenario)


def test_timeout_is_504_and_cancels_the_queued_work(serve_settings, nlp):
    settings = serve_settings.model_copy(update={"request_timeout_s": 0.5})

    async def scenario(c, app, gated):
        started = time.monotonic()
        running = asyncio.create_task(c.post("/v1/analyze", json={"text": "BLOCK fever."}))
        await until(lambda: gated.calls)
        queued = asyncio.create_task(c.post("/v1/diagnose", json={"text": "Queued cough."}))
        r1, r2 = await asyncio.gather(running, queued)
        assert time.monotonic() - started < 5  # answered at the timeout, not when the worker was done
        for r in (r1, r2):
            msg = _error(r, 504, "Timeout")
            assert "0.5 s" in msg and "request_timeout_s" in msg
        assert app.state.batcher.pending_documents == 0  # the queued request left the queue
        assert app.state.batcher.expired == 1

        gated.gate.set()  # the running batch ends (its result is dropped); the worker is free again
        r3 = await c.post("/v1/analyze", json={"text": "Fever three."})
        assert r3.status_code == 200, r3.text
        # the cancelled request never reached the pipeline
        assert gated.calls == [["BLOCK fever."], ["Fever three."]]
        metrics = (await c.get("/metrics")).text
        assert 'medlens_rejected_requests_total{reason="timeout"} 2.0' in metrics

    run_scenario(settings, nlp, scenario)


def test_timeout_and_in_flight_limit_apply_to_any_route(serve_settings, nlp):
    """A route added after create_app (as the ask and graph routes are) gets the timeout and the in-flight limit."""
    settings = serve_settings.model_copy(update={"request_timeout_s": 0.3, "max_requests_in_flight": 1})
    seen = {"started": False, "cancelled": False}

    def setup(app):
        @app.get("/v1/test-slow")
        async def slow():
            seen["started"] = True
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                seen["cancelled"] = True
                raise
            return {"ok": True}

    async def scenario(c, app, gated):
        slow = asyncio.create_task(c.get("/v1/test-slow"))
        await until(lambda: seen["started"])
        r = await c.get("/v1/kg/search", params={"q": "fever"})
        msg = _error(r, 503, "Overloaded")
        assert "max_requests_in_flight" in msg and int(r.headers["retry-after"]) >= 1
        assert (await c.get("/readyz")).status_code == 200  # outside /v1/: not limited
        _error(await slow, 504, "Timeout")
        await until(lambda: seen["cancelled"])  # the handler was cancelled, not left running
        assert (await c.get("/v1/kg/search", params={"q": "fever"})).status_code == 200

    run_scenario(settings, nlp, scenario, setup)


def test_workers_skip_items_whose_deadline_passed(nlp):
    from medlens.serve.batching import WorkItem, analyze_items

    gated = GatedNlp(nlp)
    past = time.time() - 1
    results = analyze_items(gated, [WorkItem("a", "Fever.", deadline=past), WorkItem("b", "Cough.", fhir=True),
                                    WorkItem("c", "Rash.", deadline=time.time() + 60)])
    assert gated.calls == [["Cough.", "Rash."]]
    assert [r.error for r in results] == ["Cancelled", None, None]
    assert results[1].fhir is not None


def test_retry_after_follows_the_measured_speed(nlp):
    from medlens.serve.batching import MicroBatcher

    class Backend:
        workers = 2

    b = MicroBatcher(Backend(), max_queue_documents=10)
    assert b.retry_after() == 1  # nothing measured, nothing queued
    b._seconds_per_document, b._queued_documents = 2.0, 10
    assert b.retry_after() == 5  # half the queue on two workers: 10 x 2 s / 2 / 2
    b._seconds_per_document = 100.0
    assert b.retry_after() == 60  # capped


@pytest.mark.parametrize("field,value", [("max_queue_documents", 0), ("max_requests_in_flight", 0),
                                         ("batch_max_wait_ms", -1)])
def test_load_settings_are_validated(field, value):
    from medlens.errors import ConfigError
    from medlens.serve.settings import load_settings

    with pytest.raises(ConfigError, match=field):
        load_settings(env={f"MEDLENS_SERVE_{field.upper()}": str(value)})


@pytest.mark.parametrize("balance,expected", [(True, [1, 4, 2]), (False, [1, 6])])
def test_batches_are_balanced_across_busy_workers(balance, expected):
    """Worker 1 is busy with one document; six arrive: worker 2 takes its fair share (4), not all six."""
    from medlens.serve.batching import MicroBatcher, WorkItem, WorkResult

    class TwoWorkers:
        workers = 2

        def __init__(self) -> None:
            self.sizes: list[int] = []
            self.release = asyncio.Event()

        async def run(self, items):
            self.sizes.append(len(items))
            await self.release.wait()
            return [WorkResult("{}", {}) for _ in items]

    async def main():
        backend = TwoWorkers()
        batcher = MicroBatcher(backend, max_documents=16, wait_ms=0, max_wait_ms=0, balance=balance)
        batcher.start()
        first = asyncio.create_task(batcher.submit([WorkItem("a", "x")]))
        await until(lambda: backend.sizes == [1])
        rest = [asyncio.create_task(batcher.submit([WorkItem(str(i), "x")])) for i in range(6)]
        await until(lambda: len(backend.sizes) == 2)
        backend.release.set()
        await asyncio.gather(first, *rest)
        await batcher.close()
        return backend.sizes

    assert asyncio.run(main()) == expected


def test_load_settings_from_the_environment():
    from medlens.serve.settings import load_settings

    s = load_settings(env={"MEDLENS_SERVE_MAX_QUEUE_DOCUMENTS": "8", "MEDLENS_SERVE_MAX_REQUESTS_IN_FLIGHT": "3",
                           "MEDLENS_SERVE_REQUEST_TIMEOUT_S": "2.5", "MEDLENS_SERVE_BATCH_MAX_WAIT_MS": "10",
                           "MEDLENS_SERVE_BATCH_BALANCE": "true"})
    assert (s.max_queue_documents, s.max_requests_in_flight, s.request_timeout_s, s.batch_max_wait_ms,
            s.batch_balance) == (8, 3, 2.5, 10.0, True)


def test_a_batch_frees_the_words_it_added_and_answers_as_before(nlp):
    """A long-running service must not grow with every new word, id and date it reads (spaCy memory zones)."""
    from medlens.serve.batching import WorkItem, analyze_items

    notes = ["Denies chest pain. History of MI. Metoprolol succinate 25 mg PO BID.",
             "Fever and cough since Monday; no rash. Chest x-ray: left pleural effusion."]
    items = [WorkItem(str(i), t, fhir=True, diagnose_top=3) for i, t in enumerate(notes)]
    without_zone = analyze_items(GatedNlp(nlp), items)  # the wrapper has no memory_zone: strings stay
    before = len(nlp.vocab.strings)
    for n in range(3):  # words no earlier batch had: an id, a date, a made-up name
        fresh = [WorkItem(f"{n}-{i}", f"{t} Patient zq{n}x{i}yv, MRN {n}77{i}31, seen 2026-1{n}-0{i}.")
                 for i, t in enumerate(notes)]
        assert all(r.error is None for r in analyze_items(nlp, fresh))
        assert len(nlp.vocab.strings) == before
    assert analyze_items(nlp, items) == without_zone
    assert len(nlp.vocab.strings) == before


def test_a_memory_zone_spans_batches_until_it_has_read_its_documents(nlp):
    """A zone kept open over batches (``memory_zone_documents``) frees the words of all of them when it closes,
    and answers as a zone per batch does."""
    from medlens.serve.batching import MemoryZones, WorkItem, analyze_items

    notes = ["Denies chest pain. History of MI. Metoprolol succinate 25 mg PO BID.",
             "Fever and cough since Monday; no rash. Chest x-ray: left pleural effusion."]

    def batch(n):  # words no earlier batch had: an id, a date, a made-up name
        return [WorkItem(f"{n}-{i}", f"{t} Patient zq{n}x{i}yv, MRN {n}77{i}31, seen 2026-1{n}-0{i}.")
                for i, t in enumerate(notes)]

    per_batch = [analyze_items(nlp, batch(n)) for n in range(3)]  # a zone each
    before = len(nlp.vocab.strings)
    zones = MemoryZones(nlp, documents=5)
    spanning = []
    for n in range(3):
        spanning.append(analyze_items(nlp, batch(n), zones))
        assert (zones.closed, zones.seen) == [(0, 2), (0, 4), (1, 0)][n]  # 6 documents >= 5: closed after the 3rd
    assert spanning == per_batch
    assert len(nlp.vocab.strings) == before
    none = MemoryZones(nlp, documents=0)  # no zones: the words stay
    assert analyze_items(nlp, batch(7), none) == analyze_items(nlp, batch(7))
    assert none.closed == 0 and "zq7x0yv" in nlp.vocab.strings


def test_memory_zone_closes_when_a_batch_fails(nlp):
    from medlens.serve.batching import MemoryZones

    zones = MemoryZones(nlp, documents=64)
    with pytest.raises(RuntimeError):
        with zones.batch(1):
            nlp("A zq9x9yv word.")
            raise RuntimeError("boom")
    assert zones.closed == 1 and zones.seen == 0
    assert "zq9x9yv" not in nlp.vocab.strings
