"""Public results of the summaries: pydantic models with a versioned JSON form.

Every statement carries where it came from: note items their source spans
(character offsets into the note and the section), visit-note sentences the
dialogue turns they were written from.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SUMMARY_SCHEMA_VERSION = "1"

ProblemStatus = Literal["active", "suspected", "resolved", "historical", "ruled_out"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceSpan(_Model):
    """Words of the note an item was read from (``text == note[start:end]``)."""

    start: int
    end: int
    section: str = Field(description="section category of the span (history_of_present_illness, assessment, ...)")
    text: str


class SummaryItem(_Model):
    """One merged item of the summary (a problem, a medication, an allergy, a finding, ...).

    Mentions of the same concept (or, without a concept, the same normalized
    words) anywhere in the note are one item with several ``sources``.
    """

    text: str = Field(description="the item as the note first writes it in its most important section")
    concept_id: str | None = Field(None, description="the best concept link, when the linker found one")
    concept_name: str | None = None
    label: str | None = Field(None, description="entity label (DISEASE, SYMPTOM, DRUG, TEST, PROCEDURE, ...)")
    status: str = Field("active", description="problems: active, suspected, resolved, historical or ruled_out; "
                                               "medications: active, historical, stopped or considered; findings: present or absent")
    dates: list[str] = Field(default_factory=list, description="dates written in the item's sentences")
    attributes: dict[str, str] = Field(default_factory=dict,
                                       description="medication attributes (dose, route, frequency, ...) when known")
    importance: float = Field(0, description="higher is more important; items are sorted by it")
    reason: str = Field("", description="why the item is where it is in the order")
    sources: list[SourceSpan] = Field(default_factory=list)


class NoteSummary(_Model):
    """The structured summary of one clinical note."""

    schema_version: str = SUMMARY_SCHEMA_VERSION
    kind: Literal["note"] = "note"
    id: str = ""
    problems: list[SummaryItem] = []
    medications: list[SummaryItem] = []
    allergies: list[SummaryItem] = []
    no_known_allergies: bool = Field(False, description="the note states that the patient has no known allergies")
    positive_findings: list[SummaryItem] = []
    pertinent_negatives: list[SummaryItem] = []
    abnormal_results: list[SummaryItem] = []
    procedures: list[SummaryItem] = []
    follow_up: list[SummaryItem] = Field(default_factory=list, description="follow-up and pending items (sentences)")
    changes: list[SummaryItem] = Field(default_factory=list, description=(
        "what changed: medications started, stopped, increased, decreased, held, resumed or switched; problems new, "
        "worse or better (status = the change; sources = the mention and the cue words)"))
    warnings: list[str] = Field(default_factory=list, description="why parts of the summary may be missing")

    @property
    def text(self) -> str:
        """The summary as readable text."""
        from medlens.summarize.render import note_summary_text

        return note_summary_text(self)


class NoteSentence(_Model):
    """One sentence of a generated visit note, with the dialogue turns it was written from."""

    text: str
    turns: list[int] = Field(description="indexes (from 0) of the dialogue turns the sentence rewrites")
    extractive: str | None = Field(None, exclude_if=lambda v: v is None,
                                   description="with generate=True: the extractive sentence the local model rewrote "
                                               "into text (absent: the sentence is the extractive one)")


class NoteSection(_Model):
    """One section of a generated visit note."""

    name: Literal["chief_complaint", "history_of_present_illness", "review_of_systems", "physical_exam",
                  "results", "assessment_and_plan"]
    title: str
    sentences: list[NoteSentence] = []


class DialogueTurn(_Model):
    """One turn of the conversation as read."""

    index: int
    speaker: str = Field(description="doctor, patient, or other (a third speaker, or an unlabeled turn)")
    text: str
    start: int = Field(description="offset of the turn's words in the dialogue text")
    end: int


class VisitNote(_Model):
    """A draft visit note written from a doctor-patient conversation."""

    schema_version: str = SUMMARY_SCHEMA_VERSION
    kind: Literal["dialogue"] = "dialogue"
    id: str = ""
    sections: list[NoteSection] = []
    turns: list[DialogueTurn] = []
    grounded: float = Field(1.0, description="share of note sentences with at least one source turn")
    warnings: list[str] = Field(default_factory=list)

    @property
    def text(self) -> str:
        """The note as plain text: one titled block per non-empty section."""
        blocks = []
        for section in self.sections:
            if section.sentences:
                blocks.append(section.title.upper() + "\n\n" + " ".join(s.text for s in section.sentences))
        return "\n\n".join(blocks)


__all__ = ["SUMMARY_SCHEMA_VERSION", "DialogueTurn", "NoteSection", "NoteSentence", "NoteSummary", "SourceSpan",
           "SummaryItem", "VisitNote"]
