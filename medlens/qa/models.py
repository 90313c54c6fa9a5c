"""The pydantic answers of ``medlens.ask`` (versioned JSON schema, shared by the CLI, the API and the service)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

SCHEMA_VERSION = "1.0"


class Evidence(BaseModel):
    """A piece of text or a graph fact that supports an answer.

    ``kind`` is ``sentence`` (text: ``doc_id`` with character offsets ``start``/``end`` into the document or the
    given context) or ``fact`` (a graph edge or attribute: ``source`` names the knowledge source, ``provenance``
    how it was found). ``weight`` says how much it counted (0..1).
    """

    kind: Literal["sentence", "fact"] = "sentence"
    text: str
    doc_id: str | None = None
    start: int | None = None
    end: int | None = None
    weight: float = 0.0
    source: str | None = None
    provenance: str | None = None


class ResearchAnswer(BaseModel):
    """Answer to a research question over a context (PubMedQA style)."""

    schema_version: str = SCHEMA_VERSION
    question: str
    label: Literal["yes", "no", "maybe"]
    probabilities: dict[str, float] = Field(description="yes / no / maybe -> probability (sums to 1)")
    evidence: list[Evidence] = Field(default_factory=list, description="context sentences that support the label")
    model: str = ""


class AnswerItem(BaseModel):
    """One ranked answer: a graph concept or value (``id`` set: ``HP:0001166``, ``ICD10CM:E11.9``, ``MESH:D006505``)
    or a passage of a document (``id`` None, the passage in ``evidence``)."""

    text: str
    id: str | None = None
    score: float = 0.0
    evidence: list[Evidence] = Field(default_factory=list)


class Answer(BaseModel):
    """What ``medlens.ask`` returns for every kind of question.

    ``kind``: ``research`` (a question with a context: ``research`` holds the yes / no / maybe answer),
    ``graph`` (a question about the knowledge graph: ``intent`` names what was understood), ``documents``
    (a question over an index of the user's documents) or ``none`` (no answer: ``searched`` says what was
    searched, ``message`` why nothing was found). ``readings`` lists the interpretations of an ambiguous
    question (each a short text) when medlens asks back instead of answering.
    """

    schema_version: str = SCHEMA_VERSION
    question: str
    kind: Literal["research", "graph", "documents", "none"]
    intent: str | None = None
    answers: list[AnswerItem] = Field(default_factory=list)
    research: ResearchAnswer | None = None
    readings: list[str] = Field(default_factory=list)
    searched: list[str] = Field(default_factory=list)
    message: str = ""
