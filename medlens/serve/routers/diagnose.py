"""``POST /v1/diagnose``: a note in, the ranked differential with its evidence out (issue 4's engine).

Runs in the analysis workers, through the micro-batcher: the note is analyzed
once and the same Doc goes to :class:`medlens.reasoning.engine.DiagnosisEngine`
(one engine per worker, built on first use).
"""

from __future__ import annotations

import json

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from medlens.serve.batching import WorkItem
from medlens.serve.errors import ERROR_RESPONSES, ApiError

router = APIRouter(prefix="/v1", tags=["diagnose"])


def available() -> bool:
    """True when the reasoning engine imports."""
    try:
        from medlens.reasoning.engine import DiagnosisEngine  # noqa: F401
        from medlens.reasoning.models import Differential  # noqa: F401
    except ImportError:
        return False
    return True


class DiagnoseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="A note or a patient's description of symptoms.",
                      examples=["Fever, stiff neck and headache since yesterday. No rash."])
    id: str | None = Field(None, max_length=256)
    top: int = Field(10, ge=1, le=50, description="How many diagnoses to return with their evidence.")
    mode: Literal["auto", "common", "rare"] = Field(
        "auto", description="auto/common: common diseases (DDXPlus knowledge) with triage, age/sex and risk factors; "
                            "rare: the rare-disease phenotype ranking (HPO annotations).")


@router.post("/diagnose", responses={**ERROR_RESPONSES, 200: {"description": "A Differential (medlens.reasoning.models)"}},
             summary="Ranked differential diagnosis with evidence (decision support only)")
async def diagnose(request: Request, body: DiagnoseRequest) -> Response:
    from medlens.serve.routers.analyze import _check_length, run_items

    doc_id = body.id or "doc"
    _check_length(request, body.text, doc_id)
    if not body.text.strip():
        raise ApiError(422, "The text is empty; send the note in the 'text' field.", "EmptyText")
    (result,) = await run_items(request, [WorkItem(doc_id, body.text, diagnose_top=body.top, diagnose_mode=body.mode)])
    if result.diagnosis is None:
        raise ApiError(422, f"The document could not be analyzed ({result.error or 'no result'}).")
    if result.diagnosis.startswith('{"error"'):
        err = json.loads(result.diagnosis)["error"]
        raise ApiError(500 if err["type"] == "InternalError" else 422, err["message"], err["type"])
    return Response(result.diagnosis, media_type="application/json")
