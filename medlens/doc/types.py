"""Frozen records that medlens components attach to spaCy objects.

They are plain, immutable values: cheap to create, safe to share between
components, and convertible to the public pydantic results in
:mod:`medlens.results`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Section:
    """A section of a note, e.g. "past medical history".

    Attributes:
        category: normalized section category (``past_medical_history``), or
            ``"unknown"`` for text before the first recognized header.
        title: the header text as written in the note (``"PMH:"``), or ``""``.
        start_char: offset of the header's first character (or of the body
            when there is no header).
        end_char: offset just past the section's last character.
        body_start_char: offset of the first character after the header.
    """

    category: str
    title: str
    start_char: int
    end_char: int
    body_start_char: int


@dataclass(frozen=True, slots=True)
class Cue:
    """The words that triggered an assertion (for explanations)."""

    category: str  # e.g. "NEGATED_EXISTENCE", or "SECTION" for section defaults
    text: str
    start_char: int
    end_char: int


@dataclass(frozen=True, slots=True)
class Assertion:
    """Assertion status of a mention, in the ConText tradition.

    All flags False means the mention is affirmed, current and about the patient.
    """

    negated: bool = False
    uncertain: bool = False
    historical: bool = False
    hypothetical: bool = False
    family: bool = False
    cues: tuple[Cue, ...] = field(default=(), compare=False)

    @property
    def status(self) -> str:
        """One word summary: the first raised flag in priority order, or ``"present"``."""
        for name in ("negated", "hypothetical", "family", "uncertain", "historical"):
            if getattr(self, name):
                return name
        return "present"


AFFIRMED = Assertion()


@dataclass(frozen=True, slots=True)
class ConceptLink:
    """One ranked candidate concept for a mention.

    Attributes:
        concept_id: the source's own id (``ICD10CM:E11.9``, ``HP:0002315``,
            ``MESH:D003920``, ``DB00331``).
        name: the concept's preferred name.
        source: the knowledge source (``icd10cm``, ``hpo``, ``mesh``, ``drugs``, ...).
        score: 0..1, higher is better.
        method: how it was found: ``exact``, ``normalized``, ``abbreviation``, ``fuzzy`` or ``partial``.
        matched: the synonym that matched.
    """

    concept_id: str
    name: str
    source: str
    score: float
    method: str
    matched: str = ""


@dataclass(frozen=True)
class DrugAttribute:
    """One attribute of a drug mention ("25 mg", "PO", "BID", "for 5 days"), written by ``medlens_drug_attributes``.

    Attributes:
        kind: ``strength``, ``dose``, ``route``, ``frequency``, ``duration``, ``status`` or ``indication``.
        text: the words as written.
        start_char: offset of the first character in the document.
        end_char: offset just past the last character.
        value: the normalized value: ``"25 mg"``, ``"2 puff"``, the route code (``"PO"``), the
            frequency code (``"BID"``, ``"Q4-6H"``), ``"5 d"``, the status (``"started"``), the indication.
        details: the parts of the value (amount, unit, UCUM code, SNOMED route, times per day, as-needed
            reason, concept id of the indication, ...); see docs/medications.md.
        source: ``"rules"``, ``"implied"`` (a route implied by the drug's form) or ``"model"``.
    """

    kind: str
    text: str
    start_char: int
    end_char: int
    value: str
    details: dict = field(default_factory=dict, compare=False, hash=False)
    source: str = "rules"


@dataclass(frozen=True)
class AdverseEvent:
    """``(drug) -[caused]-> (effect)`` read from one sentence, written by ``medlens_adverse_events``.

    Attributes:
        drug / effect: text and character offsets of the two mentions (the entities of ``doc.ents``
            when the model's spans overlap one; ``drug_ids`` / ``effect_ids``: their best concept ids).
        trigger: the words that say so ("after", "induced", "developed"), or "".
        evidence: the sentence.
        negated / speculated: flags ("no rash after amoxicillin"; "possible hepatotoxicity").
        source: ``"rules"``, ``"model"`` or ``"rules+model"`` (both found it).
    """

    drug: str
    drug_start: int
    drug_end: int
    effect: str
    effect_start: int
    effect_end: int
    trigger: str
    evidence: str
    evidence_start: int
    negated: bool = False
    speculated: bool = False
    source: str = "rules"
    drug_ids: tuple[str, ...] = ()
    effect_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Relation:
    """``(head) -[predicate]-> (tail)`` between two concepts of one document, written by ``medlens_relations``.

    Document-level: the two concepts may be mentioned in different sentences. The head and tail are the
    concepts (their best ids), with the mention each was read from (the mention nearest the other concept).

    Attributes:
        head_id / tail_id: concept ids (``MESH:D003000``, ``ICD10CM:E11.9``, ``HP:0001250``, ``DB00331``).
        head / tail: the text of the mention each was read from.
        head_start / head_end / tail_start / tail_end: character offsets of those mentions.
        predicate: ``induces`` (chemical induces disease), ``treats``, ``has_finding``, ``detects``,
            ``adverse_event``, ... (docs/relations.md lists them).
        score: 0..1, the model's probability, or the pattern's fixed confidence.
        evidence: ``(start_char, end_char)`` of each sentence that supports the relation (the sentences
            holding a mention of each, or the one sentence holding both).
        method: how it was found: ``model:<name>`` (a trained model) or ``pattern:<name>`` (a rule).
    """

    head_id: str
    tail_id: str
    head: str
    tail: str
    head_start: int
    head_end: int
    tail_start: int
    tail_end: int
    predicate: str
    score: float
    evidence: tuple[tuple[int, int], ...] = ()
    method: str = "model:relations"
