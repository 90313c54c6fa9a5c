"""The FastAPI application: ``create_app(settings)``.

The lifespan opens the knowledge graph and starts the analysis backend (one
pipeline per worker process, loaded once) before the first request; ``/readyz``
answers 200 from then on. Requests pass through one ASGI middleware that
enforces the body size limit, times the request, counts it for ``/metrics`` and
writes one log line with the request id, route, status, sizes and duration,
never the body, the query string or any note text.

The same middleware keeps the service steady under load, for every route
(the routes added later get it too):

- admission: at most ``max_requests_in_flight`` requests under ``/v1/`` at once;
  one more is answered 503 ``Overloaded`` with ``Retry-After`` at once instead of
  waiting (the analysis queue has its own bound, ``max_queue_documents``: see
  :mod:`medlens.serve.batching`);
- timeout: a request without a response after ``request_timeout_s`` is answered
  504 ``Timeout`` and its handler is cancelled: its documents leave the analysis
  queue, and a worker skips those it had not started (the deadline travels with
  each document, ``scope["medlens.deadline"]``). Code already running in a thread
  (``def`` routes, ``run_in_threadpool``) cannot be interrupted in Python: it
  finishes, and its result is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from contextlib import asynccontextmanager
from importlib.resources import files

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medlens import __version__
from medlens.errors import MedlensError
from medlens.serve.batching import DEADLINE_KEY, QueueFull
from medlens.serve.errors import ApiError, error_response
from medlens.serve.metrics import ServiceMetrics
from medlens.serve.security import require_api_key
from medlens.serve.settings import ServiceSettings, load_settings

log = logging.getLogger("medlens.serve")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

class ServiceMiddleware:
    """Body size limit, admission, timeout, request ids, metrics and privacy-safe access logs (pure ASGI).

    Args:
        app: the inner ASGI app.
        max_body_bytes: larger bodies get 413.
        metrics: the service's metrics.
        timeout_s: a request without a response after this gets 504 and is cancelled (None: no limit).
        max_in_flight: most ``/v1/`` requests at once; more get 503 (None: no limit).
        retry_after: returns the seconds to put in ``Retry-After`` when refusing a request.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, metrics: ServiceMetrics, timeout_s: float | None = None,
                 max_in_flight: int | None = None, retry_after=None) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.metrics = metrics
        self.timeout_s = timeout_s
        self.max_in_flight = max_in_flight
        self.retry_after = retry_after or (lambda: 1)
        self.api_in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]
        status = {"code": 500, "sent": False, "bytes_out": 0}
        received = {"bytes": 0}
        too_large = False

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["sent"] = True
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    (b"x-request-id", request_id.encode()), (b"x-content-type-options", b"nosniff")]
            elif message["type"] == "http.response.body":
                status["bytes_out"] += len(message.get("body", b""))
            await send(message)

        async def receive_wrapper() -> Message:
            nonlocal too_large
            message = await receive()
            if message["type"] == "http.request":
                received["bytes"] += len(message.get("body", b""))
                if received["bytes"] > self.max_body:
                    too_large = True
                    # an HTTPException passes through FastAPI's body parsing to the JSON error handler
                    raise HTTPException(413, self._too_large_message())
            return message

        limited = scope["path"].startswith("/v1/")
        self.metrics.in_flight.inc()
        try:
            declared = headers.get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_body:
                response = error_response(413, self._too_large_message())
                await response(scope, receive, send_wrapper)
            elif limited and self.max_in_flight is not None and self.api_in_flight >= self.max_in_flight:
                self.metrics.rejected.labels("in_flight").inc()
                wait = self.retry_after()
                await error_response(503, f"The service is handling {self.api_in_flight} requests already (the limit "
                                          f"is the max_requests_in_flight setting); retry after {wait} s.", "Overloaded",
                                     {"Retry-After": str(wait)})(scope, receive, send_wrapper)
            else:
                if limited:
                    self.api_in_flight += 1
                try:
                    await self._run_with_timeout(scope, receive_wrapper, send_wrapper, status)
                except HTTPException as exc:  # raised while reading the body outside a route
                    if status["sent"]:
                        raise
                    await error_response(exc.status_code, str(exc.detail))(scope, receive, send_wrapper)
                finally:
                    if limited:
                        self.api_in_flight -= 1
        finally:
            self.metrics.in_flight.dec()
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or ("static" if scope["path"].startswith("/static/") else "unmatched")
            self.metrics.requests.labels(template, scope["method"], str(status["code"])).inc()
            self.metrics.latency.labels(template).observe(elapsed)
            log.info("request id=%s method=%s route=%s status=%s bytes_in=%d bytes_out=%d ms=%.1f%s",
                     request_id, scope["method"], template, status["code"], received["bytes"],
                     status["bytes_out"], elapsed * 1000, " body_too_large" if too_large else "")

    async def _run_with_timeout(self, scope: Scope, receive: Receive, send: Send, status: dict) -> None:
        """Run the app; past the timeout, answer 504 (if nothing was sent yet) and cancel it."""
        if self.timeout_s is None:
            await self.app(scope, receive, send)
            return
        scope[DEADLINE_KEY] = time.time() + self.timeout_s
        timed_out = False

        async def app_send(message: Message) -> None:
            if not timed_out:  # after the 504, the cancelled handler's late messages are dropped
                await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, app_send))
        try:
            await asyncio.wait_for(asyncio.shield(task), self.timeout_s)
            return
        except TimeoutError:
            if status["sent"]:  # the response is on its way: let it finish
                await task
                return
        except asyncio.CancelledError:
            task.cancel()
            raise
        timed_out = True
        task.cancel()  # a coroutine stops at its next await; a thread it waits for runs to its end
        task.add_done_callback(_drop_result)
        self.metrics.rejected.labels("timeout").inc()
        await error_response(504, f"The request did not finish within {self.timeout_s:g} s (the request_timeout_s "
                                  "setting) and was cancelled; the service may be overloaded: retry later or send "
                                  "smaller documents.", "Timeout")(scope, receive, send)

    def _too_large_message(self) -> str:
        return (f"The request body is larger than the limit of {self.max_body:,} bytes; send smaller documents "
                "or fewer per batch (the limit is the max_body_bytes setting).")


def _drop_result(task: asyncio.Future) -> None:
    """Retrieve a cancelled handler's outcome so that asyncio does not log it as never retrieved."""
    if not task.cancelled() and task.exception() is not None:
        log.info("a request cancelled at its timeout ended with %s", type(task.exception()).__name__)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(QueueFull)
    async def _queue_full(request: Request, exc: QueueFull):
        request.app.state.metrics.rejected.labels("queue_full").inc()
        return error_response(503, str(exc), "Overloaded", {"Retry-After": str(exc.retry_after)})

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_response(exc.status, exc.message, exc.type, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        message = str(exc.detail)
        if exc.status_code == 400 and message == "There was an error parsing the body":
            message = "The request body could not be read as JSON: it must be UTF-8 encoded JSON."
        elif exc.status_code == 404:
            message = f"No such endpoint: {request.method} {request.url.path}. See /docs for the API."
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            e = next(e for e in errors if e.get("type") == "json_invalid")
            detail = (e.get("ctx") or {}).get("error", "")
            return error_response(400, f"The request body is not valid JSON ({detail}).", "InvalidJSON")
        if any(e.get("type") == "missing" and tuple(e.get("loc", ())) == ("body",) for e in errors):
            return error_response(422, 'The request body is empty; send JSON such as {"text": "..."}.', "EmptyBody")
        parts = []
        for e in errors[:10]:
            loc = ".".join(str(x) for x in e.get("loc", ()) if x != "body") or "body"
            parts.append(f"{loc}: {e.get('msg', 'invalid')}")  # never the input: it may be note text
        return error_response(422, "Invalid request: " + "; ".join(parts) + ".")

    @app.exception_handler(MedlensError)
    async def _medlens_error(request: Request, exc: MedlensError):
        return error_response(400, str(exc), type(exc).__name__)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.error("unhandled error %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return error_response(500, "Internal error; the service log has the request id.")


def create_app(settings: ServiceSettings | None = None, *, nlp=None) -> FastAPI:
    """The medlens FastAPI app.

    Args:
        settings: validated settings (None: :func:`~medlens.serve.settings.load_settings`
            from the environment).
        nlp: an already built pipeline to use in-process (tests); None builds the
            pipeline(s) the settings ask for when the app starts.

    Returns:
        A FastAPI app; run it with uvicorn (``medlens serve``) or an ASGI test client.
    """
    settings = settings or load_settings()
    metrics = ServiceMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from medlens.config import make_config
        from medlens.pipeline import shared_graph
        from medlens.serve.batching import MicroBatcher, freeze_heap, make_backend

        started = time.perf_counter()
        app.state.kg = shared_graph(settings.kg_path)
        app.state.pipeline_config = make_config(kg_path=str(app.state.kg.path),
                                                max_chars=max(1000, settings.max_text_chars))
        backend = make_backend(settings, app.state.pipeline_config, nlp=nlp)
        await backend.start()
        batcher = MicroBatcher(backend, settings.batch_max_documents, settings.batch_wait_ms,
                               on_batch=metrics.batch_size.observe, max_queue_documents=settings.max_queue_documents,
                               max_wait_ms=settings.batch_max_wait_ms, balance=settings.batch_balance)
        batcher.start()
        metrics.queue.set_function(lambda: batcher.pending_documents)
        if settings.gc_freeze:  # this process's start-up objects (and the thread backend's pipeline) out of full collections
            freeze_heap()
        app.state.backend, app.state.batcher, app.state.ready = backend, batcher, True
        log.info("ready in %.1fs: %s backend with %d worker(s), graph %s, auth %s, CORS %s",
                 time.perf_counter() - started, type(backend).__name__, backend.workers, app.state.kg.path,
                 "on" if app.state.key_hashes else "off", "on" if settings.cors_origins else "off")
        try:
            yield
        finally:
            app.state.ready = False
            await batcher.close()
            await backend.close()

    app = FastAPI(
        title="medlens",
        version=__version__,
        description="Medical text understanding, offline: sections, entities with assertion, coded concepts, "
                    "FHIR R4 output and knowledge-graph lookup. Send an API key in `X-API-Key` when keys are configured.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.ready = False
    app.state.key_hashes = settings.all_key_hashes()
    if not app.state.key_hashes:
        log.warning("no API keys configured: the API is open (host %s)", settings.host)

    _install_error_handlers(app)
    from medlens.serve.routers import analyze, health, kg, page

    auth = [Depends(require_api_key)]
    app.include_router(health.router)
    app.include_router(analyze.router, dependencies=auth)
    app.include_router(kg.router, dependencies=auth)
    from medlens.serve.routers import grown

    app.include_router(grown.router, dependencies=auth)
    from medlens.serve.routers import optional

    app.state.capabilities = optional.include_available(app, auth)
    app.include_router(page.router)
    _install_docs(app)  # before /static: its assets live under /static/docs
    app.mount("/static", StaticFiles(directory=str(files("medlens.serve") / "static")), name="static")

    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "X-API-Key", "Authorization", "X-Request-ID"])
    app.add_middleware(ServiceMiddleware, max_body_bytes=settings.max_body_bytes, metrics=metrics,
                       timeout_s=settings.request_timeout_s, max_in_flight=settings.max_requests_in_flight,
                       retry_after=lambda: app.state.batcher.retry_after() if getattr(app.state, "batcher", None) else 1)
    return app


def _install_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from the assets shipped in ``fastapi-offline`` (no CDN)."""
    try:
        docs_assets = files("fastapi_offline") / "static"
    except ModuleNotFoundError:
        docs_assets = None
    if docs_assets is not None:
        app.mount("/static/docs", StaticFiles(directory=str(docs_assets)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs():
        if docs_assets is None:
            return error_response(404, "API documentation assets are not installed (pip install fastapi-offline); "
                                       "the schema is at /openapi.json.")
        return get_swagger_ui_html(openapi_url="/openapi.json", title="medlens API",
                                   swagger_js_url="/static/docs/swagger-ui-bundle.js",
                                   swagger_css_url="/static/docs/swagger-ui.css",
                                   swagger_favicon_url="/static/docs/favicon.png")


__all__ = ["create_app", "require_api_key"]
