"""Public results: pydantic models with a stable JSON form.

The CLI, the service and every exporter serialize from these models, never
from spaCy objects directly. Offsets are character offsets into the original
text (``text[start:end] == entity.text``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from spacy.tokens import Doc

from medlens.doc.text import doc_text

RESULT_SCHEMA_VERSION = "1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConceptLinkResult(_Model):
    """A ranked concept candidate for an entity."""

    id: str = Field(description="the source's own id, e.g. ICD10CM:E11.9, HP:0002315, MESH:D003920, DB00331")
    name: str
    source: str
    score: float = Field(ge=0, le=1)
    method: str = Field(description="exact, normalized, abbreviation, fuzzy or partial")


class CueResult(_Model):
    """The words (or the section) behind an assertion flag."""

    category: str
    text: str
    start: int
    end: int


class AssertionResult(_Model):
    """Assertion flags; all False means present, current and about the patient."""

    status: str = Field(description="present, negated, hypothetical, family, uncertain or historical")
    negated: bool = False
    uncertain: bool = False
    historical: bool = False
    hypothetical: bool = False
    family: bool = False
    cues: list[CueResult] = []


class DrugAttributeResult(_Model):
    """One attribute of a drug mention (strength, dose, route, frequency, duration, status, indication)."""

    text: str = Field(description="the words as written (empty for a route implied by the drug's form)")
    start: int
    end: int
    value: str = Field(description="normalized: '25 mg', '2 puff', route code 'PO', frequency code 'BID', '5 d', 'started', ...")
    details: dict[str, str | float | int | bool | None] = Field(
        default_factory=dict, description="amount, unit (UCUM), SNOMED route, times per day, as-needed reason, ...")
    source: str = "rules"


class AdverseEventResult(_Model):
    """(drug) -[caused]-> (effect), with the sentence it was read from and its flags."""

    drug: str
    drug_start: int
    drug_end: int
    drug_ids: list[str] = []
    effect: str
    effect_start: int
    effect_end: int
    effect_ids: list[str] = []
    relation: str = "caused"
    trigger: str = ""
    evidence: str
    evidence_start: int
    negated: bool = False
    speculated: bool = False
    source: str = Field(description="rules, model or rules+model")


class RelationResult(_Model):
    """(head concept) -[predicate]-> (tail concept) read from the document (``doc._.relations``)."""

    head_id: str
    tail_id: str
    head: str
    head_start: int
    head_end: int
    tail: str
    tail_start: int
    tail_end: int
    predicate: str
    score: float = Field(ge=0, le=1, description="the model's probability, or the pattern's fixed confidence")
    evidence: list[tuple[int, int]] = Field([], description="(start, end) characters of each supporting sentence")
    method: str = Field(description="model:<name> or pattern:<name>")


class EntityResult(_Model):
    """One entity mention."""

    text: str
    label: str
    start: int
    end: int
    section: str
    sentence: int = Field(description="index of the sentence in the document, from 0")
    assertion: AssertionResult
    concepts: list[ConceptLinkResult] = []
    source: str | None = Field(None, description="the recognizer: dictionary or model")
    attributes: dict[str, DrugAttributeResult] | None = Field(
        None, description="drugs only: kind (strength, dose, route, frequency, duration, status, indication) -> attribute")


class CategoryResult(_Model):
    """A document category with the classifier's probability."""

    label: str
    score: float = Field(ge=0, le=1, description="softmax probability (single-label models) or sigmoid (multi-label)")
    predicted: bool = Field(description="the classifier's decision: the most probable label, or (multi-label) "
                                        "every label at or above its threshold")


class SectionResult(_Model):
    category: str
    title: str
    start: int
    end: int


class DocumentError(_Model):
    """Why a document could not be processed."""

    type: str
    message: str


class DocumentResult(_Model):
    """Everything medlens found in one document (or why it failed)."""

    schema_version: str = RESULT_SCHEMA_VERSION
    id: str
    text: str | None = None
    chars: int = 0
    sections: list[SectionResult] = []
    sentences: int = 0
    entities: list[EntityResult] = []
    categories: list[CategoryResult] | None = Field(
        None, description="document categories, most probable first; only when the classifier ran")
    adverse_events: list[AdverseEventResult] = []
    relations: list[RelationResult] = Field(
        [], description="document-level relations between concepts; only when a relation component ran")
    error: DocumentError | None = None

    @classmethod
    def from_doc(cls, doc: Doc, doc_id: str | None = None, include_text: bool = False) -> DocumentResult:
        """Convert an analyzed spaCy ``Doc``."""
        sent_starts = [s.start for s in doc.sents] if doc.has_annotation("SENT_START") else [0]
        from bisect import bisect_right

        entities = []
        for ent in doc.ents:
            a = ent._.assertion
            assertion = AssertionResult(status="present") if a is None else AssertionResult(
                status=a.status, negated=a.negated, uncertain=a.uncertain, historical=a.historical,
                hypothetical=a.hypothetical, family=a.family,
                cues=[CueResult(category=c.category, text=c.text, start=c.start_char, end=c.end_char) for c in a.cues],
            )
            entities.append(EntityResult(
                text=ent.text, label=ent.label_, start=ent.start_char, end=ent.end_char,
                section=ent._.section, sentence=max(0, bisect_right(sent_starts, ent.start) - 1),
                assertion=assertion,
                concepts=[ConceptLinkResult(id=c.concept_id, name=c.name, source=c.source, score=c.score, method=c.method)
                          for c in (ent._.concepts or [])],
                source=ent._.ner_source,
                attributes=_attributes(ent._.attributes),
            ))
        return cls(
            id=doc_id if doc_id is not None else (doc._.doc_id or ""),
            text=doc_text(doc) if include_text else None,
            chars=len(doc_text(doc)),
            sections=[SectionResult(category=s.category, title=s.title, start=s.start_char, end=s.end_char)
                      for s in (doc._.sections or [])],
            sentences=len(sent_starts),
            entities=entities,
            categories=_categories(doc),
            adverse_events=[AdverseEventResult(
                drug=e.drug, drug_start=e.drug_start, drug_end=e.drug_end, drug_ids=list(e.drug_ids),
                effect=e.effect, effect_start=e.effect_start, effect_end=e.effect_end, effect_ids=list(e.effect_ids),
                trigger=e.trigger, evidence=e.evidence, evidence_start=e.evidence_start, negated=e.negated,
                speculated=e.speculated, source=e.source) for e in (doc._.adverse_events or ())],
            relations=[RelationResult(
                head_id=r.head_id, tail_id=r.tail_id, head=r.head, head_start=r.head_start, head_end=r.head_end,
                tail=r.tail, tail_start=r.tail_start, tail_end=r.tail_end, predicate=r.predicate, score=r.score,
                evidence=[tuple(e) for e in r.evidence], method=r.method) for r in (doc._.relations or ())],
        )

    @classmethod
    def failed(cls, doc_id: str, error_type: str, message: str) -> DocumentResult:
        return cls(id=doc_id, error=DocumentError(type=error_type, message=message))


def _categories(doc: Doc) -> list[CategoryResult] | None:
    """``doc.cats`` most probable first, with the classifier's decisions; None if nothing classified the doc."""
    if not doc.cats:
        return None
    ranked = sorted(doc.cats.items(), key=lambda kv: (-kv[1], kv[0]))
    # a doc classified by some other spaCy component: its most probable label is the decision
    predicted = set(doc._.categories or (ranked[0][0],))
    return [CategoryResult(label=label, score=min(1.0, max(0.0, float(p))), predicted=label in predicted)
            for label, p in ranked]



def _attributes(attrs) -> dict[str, DrugAttributeResult] | None:
    """``span._.attributes`` as results (None stays None: not a drug, or the component did not run)."""
    if attrs is None:
        return None
    return {kind: DrugAttributeResult(text=a.text, start=a.start_char, end=a.end_char, value=a.value,
                                      details={k: v for k, v in a.details.items() if v is not None}, source=a.source)
            for kind, a in attrs.items()}
