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
