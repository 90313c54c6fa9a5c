"""``POST /v1/deid``: a note in, the de-identified note and the offset mapping out (issue 6).

De-identification runs off the event loop in the server's thread pool, on a
``medlens_deid`` pipeline built once per process on first use (the analysis
workers are not involved). Neither the text nor the mapping is logged.
"""

from __future__ import annotations

import threading

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from medlens.serve.errors import ERROR_RESPONSES, ApiError

router = APIRouter(prefix="/v1", tags=["deid"])
_lock = threading.Lock()


def available() -> bool:
    """True when the de-identification package imports."""
    try:
        from medlens.deid.api import deidentify  # noqa: F401
        from medlens.deid.engine import ReplaceOptions  # noqa: F401
    except ImportError:
        return False
    return True


class DeidRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="The note to de-identify.",
                      examples=["Seen by Dr. Smith on 03/14/2021. Call 617-555-0123."])
    id: str | None = Field(None, max_length=256)
    default_action: str = Field("redact", description="redact, mask, surrogate or keep, for types not in 'actions'.")
    actions: dict[str, str] = Field(default_factory=dict, description="Per PHI type, e.g. {\"DATE\": \"surrogate\"}.")
    key: str | None = Field(None, description="Patient key: the same key gives the same surrogates and date shift.")
    mapping: bool = Field(True, description="Return where each identifier was and where its replacement is.")


class DeidResponse(BaseModel):
    id: str
    text: str
    replacements: list[dict] | None = None


def _pipeline(request: Request):
    state = request.app.state
    with _lock:
        nlp = getattr(state, "deid_nlp", None)
        if nlp is None:
            from medlens.deid.api import deid_pipeline

            nlp = state.deid_nlp = deid_pipeline(str(state.kg.path))
    return nlp


@router.post("/deid", response_model=DeidResponse, responses=ERROR_RESPONSES,
             summary="Find and replace protected health information")
async def deid(request: Request, body: DeidRequest) -> DeidResponse:
    from medlens.deid.api import deidentify
    from medlens.deid.engine import make_options
    from medlens.errors import MedlensError
    from medlens.serve.routers.analyze import _check_length

    doc_id = body.id or "doc"
    _check_length(request, body.text, doc_id)
    if not body.text.strip():
        raise ApiError(422, "The text is empty; send the note in the 'text' field.", "EmptyText")
    try:
        options = make_options(default_action=body.default_action, actions=body.actions, key=body.key)
    except (MedlensError, ValueError) as exc:
        raise ApiError(422, str(exc), "ConfigError") from exc
    nlp = await run_in_threadpool(_pipeline, request)
    result = await run_in_threadpool(deidentify, body.text, options, nlp=nlp)
    return DeidResponse(id=doc_id, text=result.text,
                        replacements=[r.model_dump(mode="json") for r in result.replacements] if body.mapping else None)
