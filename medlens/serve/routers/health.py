"""``/healthz`` (alive), ``/readyz`` (pipeline and graph loaded), ``/metrics`` (Prometheus), ``/v1/info``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel

from medlens import __version__
from medlens.serve.errors import ERROR_RESPONSES, ErrorResponse, error_response
from medlens.serve.security import require_api_key

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    workers: int
    backend: str


class Info(BaseModel):
    version: str
    capabilities: dict[str, bool]
    limits: dict[str, float]
    auth: bool
    indexes: list[str] = []


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Ready, responses={503: {"model": ErrorResponse, "description": "Not ready"}},
            summary="Readiness: the pipeline and graph are loaded")
async def readyz(request: Request):
    state = request.app.state
    if not state.ready:
        return error_response(503, "The service is loading the pipeline and knowledge graph.", "NotReady")
    return Ready(status="ready", workers=state.backend.workers, backend=type(state.backend).__name__)


@router.get("/metrics", include_in_schema=True, summary="Prometheus metrics",
            responses={200: {"content": {"text/plain": {}}}})
async def metrics(request: Request) -> Response:
    body, content_type = request.app.state.metrics.render()
    return Response(body, media_type=content_type)


@router.get("/v1/info", response_model=Info, responses={401: ERROR_RESPONSES[401]}, summary="Version, capabilities, limits")
async def info(request: Request, _: None = Depends(require_api_key)) -> Info:
    s = request.app.state.settings
    return Info(version=__version__, capabilities=request.app.state.capabilities, auth=bool(request.app.state.key_hashes),
                limits={"max_body_bytes": s.max_body_bytes, "max_text_chars": s.max_text_chars,
                        "max_batch_documents": s.max_batch_documents, "request_timeout_s": s.request_timeout_s,
                        "max_queue_documents": s.max_queue_documents,
                        "max_requests_in_flight": s.max_requests_in_flight},
                indexes=sorted(s.index_paths()))
