"""``POST /v1/summarize``: a note in, its grounded summary out; or a conversation in, a draft visit note out (issue 16).

Runs in the analysis workers through the micro-batcher: a note is analyzed
once and the same Doc is summarized; a conversation's turns are analyzed by
the worker's pipeline.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from medlens.serve.batching import WorkItem
from medlens.serve.errors import ERROR_RESPONSES, ApiError

router = APIRouter(prefix="/v1", tags=["summarize"])

FHIR_MEDIA_TYPE = "application/fhir+json"


def available() -> bool:
    """True when the summaries import."""
    try:
        from medlens.summarize import summarize  # noqa: F401
    except ImportError:
        return False
    return True


class SummarizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="A clinical note, or (kind=dialogue) a conversation with one '[doctor] ...' / "
                                  "'[patient] ...' turn per line.",
                      examples=["ASSESSMENT: Community acquired pneumonia. No fever. PLAN: Amoxicillin. Follow up in 2 weeks."])
    id: str | None = Field(None, max_length=256)
    kind: Literal["note", "dialogue"] = Field("note", description="note: a NoteSummary; dialogue: a VisitNote.")


@router.post("/summarize", responses={**ERROR_RESPONSES, 200: {
    "content": {FHIR_MEDIA_TYPE: {}, "text/plain": {}},
    "description": "A NoteSummary or VisitNote (medlens.summarize.models), a FHIR document Bundle (format=fhir) "
                   "or plain text (format=text)"}},
             summary="Grounded note summary, or a draft visit note from a conversation")
async def summarize(request: Request, body: SummarizeRequest,
                    format: Annotated[Literal["json", "fhir", "text"], Query(description="json, fhir or text")] = "json") -> Response:
    from medlens.serve.routers.analyze import _check_length, run_items

    doc_id = body.id or body.kind
    _check_length(request, body.text, doc_id)
    if not body.text.strip():
        raise ApiError(422, f"The text is empty; send the {'conversation' if body.kind == 'dialogue' else 'note'} "
                            "in the 'text' field.", "EmptyText")
    (result,) = await run_items(request, [WorkItem(doc_id, body.text, summarize=body.kind, summary_format=format)])
    if result.summary is None:
        raise ApiError(422, f"The document could not be analyzed ({result.error or 'no result'}).")
    if result.summary.startswith('{"error"'):
        err = json.loads(result.summary)["error"]
        raise ApiError(500 if err["type"] == "InternalError" else 422, err["message"], err["type"])
    if format == "fhir":
        return Response(result.summary, media_type=FHIR_MEDIA_TYPE)
    if format == "text":
        return PlainTextResponse(json.loads(result.summary)["text"])
    return Response(result.summary, media_type="application/json")
