"""Knowledge-graph lookup: ``GET /v1/kg/concepts/{id}`` and ``GET /v1/kg/search``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from medlens.errors import KnowledgeGraphError
from medlens.serve.errors import ERROR_RESPONSES, ApiError

router = APIRouter(prefix="/v1/kg", tags=["knowledge graph"])


class ConceptOut(BaseModel):
    id: str
    name: str
    source: str
    label: str
    definition: str | None = None


class SynonymOut(BaseModel):
    text: str
    kind: str
    source: str


class RelationOut(BaseModel):
    subject: str
    predicate: str
    object: str
    source: str
    attrs: dict = {}


class ConceptDetail(ConceptOut):
    synonyms: list[SynonymOut]
    parents: list[ConceptOut]
    children: list[ConceptOut]
    relations: list[RelationOut]


class SearchHitOut(BaseModel):
    concept: ConceptOut
    matched: str
    score: float


class SearchResponse(BaseModel):
    query: str
    hits: list[SearchHitOut]


def _concept(c) -> ConceptOut:
    return ConceptOut(id=c.id, name=c.name, source=c.source, label=c.label, definition=c.definition)


@router.get("/concepts/{concept_id:path}", response_model=ConceptDetail,
            responses={401: ERROR_RESPONSES[401], 404: {"description": "Unknown concept id"}},
            summary="A concept with its synonyms, parents, children and relations")
def concept(request: Request, concept_id: Annotated[str, Path(max_length=200, description="e.g. ICD10CM:E11.9, HP:0001945")],
            relations_limit: Annotated[int, Query(ge=0, le=1000)] = 100) -> ConceptDetail:
    kg = request.app.state.kg
    try:
        c = kg.get(concept_id)
    except KnowledgeGraphError as exc:
        raise ApiError(404, str(exc), "UnknownConcept") from None
    parents, children = kg.concepts(kg.parents(c.id)), kg.concepts(kg.children(c.id)[:200])
    rels = kg.relations(c.id)[:relations_limit]
    return ConceptDetail(
        **_concept(c).model_dump(),
        synonyms=[SynonymOut(text=s.text, kind=s.kind, source=s.source) for s in kg.synonyms(c.id)],
        parents=[_concept(p) for p in parents.values()], children=[_concept(x) for x in children.values()],
        relations=[RelationOut(subject=r.subject, predicate=r.predicate, object=r.object, source=r.source,
                               attrs=r.attrs or {}) for r in rels],
    )


@router.get("/search", response_model=SearchResponse, responses={401: ERROR_RESPONSES[401], 422: ERROR_RESPONSES[422]},
            summary="Fuzzy search of concept names and synonyms")
def search(request: Request, q: Annotated[str, Query(min_length=1, max_length=200, description="e.g. diabetis")],
           limit: Annotated[int, Query(ge=1, le=100)] = 10,
           labels: Annotated[str | None, Query(max_length=200, description="Comma-separated labels, e.g. DISEASE,SYMPTOM")] = None,
           min_score: Annotated[float, Query(ge=0, le=1)] = 0.5) -> SearchResponse:
    wanted = [x.strip().upper() for x in labels.split(",") if x.strip()] if labels else None
    hits = request.app.state.kg.search(q, limit=limit, labels=wanted, min_score=min_score)
    return SearchResponse(query=q, hits=[SearchHitOut(concept=_concept(h.concept), matched=h.matched, score=h.score)
                                         for h in hits])
