"""The grown graph: ``GET /v1/kg/relations/{id}`` (a concept's edges learned from text, with evidence) and
``GET /v1/kg/stats`` (the curated sources and, apart, the grown layer)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from medlens.errors import KnowledgeGraphError
from medlens.serve.errors import ERROR_RESPONSES, ApiError

router = APIRouter(prefix="/v1/kg", tags=["knowledge graph"])


class EvidenceOut(BaseModel):
    doc_id: str
    sentence: str
    start: int
    end: int
    head_text: str
    tail_text: str
    score: float
    method: str


class GrownEdgeOut(BaseModel):
    head_id: str
    head_name: str | None
    predicate: str
    tail_id: str
    tail_name: str | None
    score: float
    documents: int
    mentions: int
    methods: list[str]
    cooccurrence_documents: int
    pmi: float | None
    llr: float | None
    learned: bool = True
    source: str = "grown"
    evidence: list[EvidenceOut]


class ConceptRef(BaseModel):
    id: str
    name: str
    label: str


class RelationsResponse(BaseModel):
    concept: ConceptRef
    grown: bool
    edges: list[GrownEdgeOut]


class StatsResponse(BaseModel):
    path: str
    sources: dict[str, dict]
    grown: dict | None


@router.get("/relations/{concept_id:path}", response_model=RelationsResponse,
            responses={401: ERROR_RESPONSES[401], 404: {"description": "Unknown concept id"}, 422: ERROR_RESPONSES[422]},
            summary="A concept's relations learned from text (grown layer), with evidence sentences")
def relations(request: Request, concept_id: Annotated[str, Path(max_length=200, description="e.g. DB00951, MESH:D056486")],
              predicate: Annotated[list[str] | None, Query(max_length=40, description="induces, adverse_event, treats, has_finding, detects (repeatable)")] = None,
              direction: Annotated[Literal["out", "in", "both"], Query()] = "both",
              min_score: Annotated[float, Query(ge=0, le=1)] = 0.0,
              limit: Annotated[int, Query(ge=1, le=200)] = 50,
              equivalents: Annotated[bool, Query(description="also the same concept's ids in other vocabularies")] = False,
              ) -> RelationsResponse:
    from medlens.relations.grown import grown_layer, relations_of

    kg = request.app.state.kg
    try:
        c = kg.get(concept_id)
    except KnowledgeGraphError as exc:
        raise ApiError(404, str(exc), "UnknownConcept") from None
    edges = relations_of(kg, c.id, predicate=predicate or None, direction=direction, min_score=min_score, limit=limit,
                         equivalents=equivalents)
    return RelationsResponse(concept=ConceptRef(id=c.id, name=c.name, label=c.label),
                             grown=grown_layer(kg) is not None, edges=[GrownEdgeOut(**e.to_dict()) for e in edges])


@router.get("/stats", response_model=StatsResponse, responses={401: ERROR_RESPONSES[401]},
            summary="Counts per curated source, and the grown layer apart")
def stats(request: Request) -> StatsResponse:
    from medlens.relations.grown import grown_stats

    kg = request.app.state.kg
    versions = {s.name: s.version for s in kg.sources()}
    sources = {n: {**c, "version": versions.get(n)} for n, c in kg.stats().items()}
    grown = grown_stats(kg)
    if grown is not None:
        grown = {k: v for k, v in grown.items() if k != "path"}  # no server file paths in answers
    return StatsResponse(path=kg.path.name, sources=sources, grown=grown)
