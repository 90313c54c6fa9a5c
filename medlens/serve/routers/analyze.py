"""``POST /v1/analyze`` and ``POST /v1/analyze/batch``: documents in, ``DocumentResult`` or FHIR out."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from medlens.errors import InputError
from medlens.io.readers import check_text
from medlens.results import DocumentResult
from medlens.serve.batching import DEADLINE_KEY, WorkItem, WorkResult
from medlens.serve.errors import ERROR_RESPONSES, ApiError

router = APIRouter(prefix="/v1", tags=["analyze"])

FHIR_MEDIA_TYPE = "application/fhir+json"
Format = Annotated[Literal["json", "fhir"], Query(description="json: DocumentResult; fhir: a FHIR R4 Bundle per document.")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnalyzeRequest(_Strict):
    """One document."""

    text: str = Field(description="The note, as plain text.", examples=["HPI: denies chest pain. History of MI."])
    id: str | None = Field(None, max_length=256, description="Your id for the document (default: doc).")
    include_text: bool = Field(False, description="Put the text in the result.")


class BatchDocument(_Strict):
    text: str
    id: str | None = Field(None, max_length=256)


class BatchRequest(_Strict):
    """Several documents; each is analyzed on its own and a bad one is reported in its result."""

    documents: list[BatchDocument] = Field(min_length=1, description="The documents (at most max_batch_documents).")
    include_text: bool = False


class BatchResponse(BaseModel):
    results: list[DocumentResult] = Field(description="One result per document, in order (FHIR: one Bundle each).")


def _check_length(request: Request, text: str, doc_id: str) -> None:
    """Refuse a text over the max_text_chars setting (413) or holding a character that is not text (422).

    Every text route (analyze, batch, deid, summarize, diagnose) calls this first: NUL, other control
    characters (tab, line breaks and form feed are text) and unpaired surrogates are refused with their
    position, never with the text itself.
    """
    limit = request.app.state.settings.max_text_chars
    if len(text) > limit:
        raise ApiError(413, f"Document '{doc_id}' is {len(text):,} characters long; the limit is {limit:,} "
                            "characters (the max_text_chars setting). Split the note or raise the limit.")
    try:
        check_text(text, f"Document '{doc_id}'")
    except InputError as exc:
        raise ApiError(422, str(exc), "InvalidCharacter") from None


async def run_items(request: Request, items: list[WorkItem]) -> list[WorkResult]:
    """Analyze items through the micro-batcher; counts metrics.

    The request's deadline (set by the service middleware, which answers 504 and cancels this
    coroutine when it passes) goes with each item, so workers skip items nobody waits for. A full
    queue raises :class:`~medlens.serve.batching.QueueFull`, answered 503 with ``Retry-After``.
    """
    state = request.app.state
    if not state.ready:
        raise ApiError(503, "The service is starting or stopping; retry shortly (see /readyz).", "NotReady",
                       {"Retry-After": "2"})
    results = await state.batcher.submit(items, deadline=request.scope.get(DEADLINE_KEY))
    state.metrics.count_results(results)
    return results


@router.post("/analyze", response_model=DocumentResult, response_model_exclude_none=True,
             responses={**ERROR_RESPONSES, 200: {"content": {FHIR_MEDIA_TYPE: {}},
                                                 "description": "A DocumentResult, or a FHIR Bundle with format=fhir"}},
             summary="Analyze one document")
async def analyze(request: Request, body: AnalyzeRequest, format: Format = "json") -> Response:
    """Sections, sentences and entities with assertion and ranked concept links, or a FHIR R4 Bundle."""
    doc_id = body.id or "doc"
    _check_length(request, body.text, doc_id)
    if not body.text.strip():
        raise ApiError(422, "The text is empty; send the note in the 'text' field.", "EmptyText")
    (result,) = await run_items(request, [WorkItem(doc_id, body.text, body.include_text, format == "fhir")])
    if format == "fhir":
        return Response(result.fhir, media_type=FHIR_MEDIA_TYPE)
    return Response(result.json, media_type="application/json")


@router.post("/analyze/batch", response_model=BatchResponse, response_model_exclude_none=True,
             responses=ERROR_RESPONSES, summary="Analyze several documents")
async def analyze_batch(request: Request, body: BatchRequest, format: Format = "json") -> Response:
    """Analyze up to ``max_batch_documents`` documents; an empty one gets an ``error`` in its result."""
    limit = request.app.state.settings.max_batch_documents
    if len(body.documents) > limit:
        raise ApiError(413, f"The batch has {len(body.documents)} documents; the limit is {limit} "
                            "(the max_batch_documents setting). Send several batches.")
    ids = [d.id or f"doc-{i}" for i, d in enumerate(body.documents)]
    for doc, doc_id in zip(body.documents, ids):
        _check_length(request, doc.text, doc_id)
    todo = [WorkItem(doc_id, d.text, body.include_text, format == "fhir")
            for d, doc_id in zip(body.documents, ids) if d.text.strip()]
    done = iter(await run_items(request, todo) if todo else [])
    parts = []
    for d, doc_id in zip(body.documents, ids):
        if d.text.strip():
            res = next(done)
            parts.append(res.fhir if format == "fhir" else res.json)
        else:
            failed = DocumentResult.failed(doc_id, "InputError", f"{doc_id}: the text is empty.")
            if format == "fhir":
                import json

                from medlens.io.fhir import to_fhir_bundle

                parts.append(json.dumps(to_fhir_bundle(failed)))
            else:
                parts.append(failed.model_dump_json(exclude_none=True))
    return Response('{"results":[' + ",".join(parts) + "]}", media_type="application/json")
