"""Possible adverse drug reactions read from the patient's own text (no grown graph needed).

Two readings, listed apart from the ranked diagnoses (they never change the scores):

* **stated**: the pipeline's adverse-event reader (``doc._.adverse_events``) found "(drug) caused (effect)" in one
  sentence ("a rash after amoxicillin", "morphine causes vomiting"), neither negated nor speculated, with an effect
  of a kind drugs commonly cause (in notes the reader also pairs a drug with its indication, "Pepcid AE when he
  gets heartburn", or with words that are no effect: on 60 mtsamples notes 4 of its 8 events were such).
* **timing**: the text says a drug was started ("I started the amoxicillin you prescribed on Monday", "she was put
  on lisinopril"), and within the next two sentences a present finding of a kind drugs commonly cause
  (:data:`REACTION_WORDS`: rash, hives, itching, swelling of the face or lips, nausea, vomiting, diarrhea, an upset
  stomach) is reported. A temporal association is the first criterion of any causality assessment (WHO-UMC
  "possible", Naranjo's "did the event appear after the drug was given?"), not proof; a drug the patient takes
  without a word of starting it ("I take lisinopril for my blood pressure") is not read this way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from medlens.reasoning.learned import taken_drug_ents
from medlens.reasoning.models import DrugReaction, Finding, LearnedEvidence

REACTION_WORDS = re.compile(
    r"\b(rash(es)?|hives|urticaria|itch(y|ing|iness)?|prurit(us|ic)|angio-?o?edema|(lips?|face|tongue|eyes?) "
    r"(are |is |were |was )?(swollen|swelling)|swollen (lips?|face|tongue|eyes?)|nause(a|ous)|vomit(ing|ed)?|"
    r"diarrh(o)?ea|dyspepsia|upset stomach|stomach (is |was |has been |feels )?upset)\b", re.I)
"""Findings drugs commonly cause, matched on a finding's words or concept name (skin and allergic reactions,
gastrointestinal upset: the most frequent adverse drug reactions in primary care)."""

STARTED = re.compile(r"\b(start(ed|ing)|began|begun|beginning|put on|placed on|initiated|prescribed|switched to|"
                     r"changed to|course of|new)\b(?:\W+\w+){0,4}\W*$", re.I)
"""A drug was started: one of these words at most four words before the drug's name."""
STARTED_AFTER = re.compile(r"^\W*(?:\w+\W+){0,2}(you|he|she|they|the doctor|dr\.?\s*\w+)\s+(prescribed|started|gave)\b",
                           re.I)
"""... or "the amoxicillin you prescribed" after it."""
WINDOW_SENTENCES = 2
_SENT_END = re.compile(r"[.!?](?=\s|$)|\n\s*\n")


@dataclass(frozen=True, slots=True)
class TextDrug:
    """A drug of the text: concept id, name, the words and their offsets in the text."""

    id: str
    name: str
    text: str
    start: int
    end: int


def is_reaction_kind(f: Finding) -> bool:
    """Whether a finding is of a kind drugs commonly cause (:data:`REACTION_WORDS` on its words or name)."""
    return any(REACTION_WORDS.search(w) for w in (f.text, f.name) if w)


def started(text: str, drug: TextDrug) -> bool:
    """Whether the text says the drug was started (a start word just before it, or "you prescribed" after it)."""
    line_start = max(text.rfind(".", 0, drug.start), text.rfind("\n", 0, drug.start)) + 1
    return bool(STARTED.search(text[line_start:drug.start]) or STARTED_AFTER.search(text[drug.end:drug.end + 60]))


def _sentence_ends(text: str) -> list[int]:
    return [m.end() for m in _SENT_END.finditer(text)] + [len(text)]


def _sentence(text: str, at: int, ends: list[int]) -> tuple[int, int]:
    start = 0
    for e in ends:
        if e > at:
            return start, e
        start = e
    return start, len(text)


def timing_reactions(text: str, drugs: Sequence[TextDrug], findings: Sequence[Finding],
                     window: int = WINDOW_SENTENCES) -> list[DrugReaction]:
    """Drugs the text says were started, each with the present reaction-kind findings reported after it within
    ``window`` further sentences (see the module docstring)."""
    if not text:
        return []
    ends = _sentence_ends(text)
    out: dict[tuple[str, str], DrugReaction] = {}
    for d in drugs:
        if not started(text, d):
            continue
        s0, s_end = _sentence(text, d.start, ends)
        later = [e for e in ends if e > s_end][:window]
        limit = later[-1] if later else s_end
        for f in findings:
            if f.status != "present" or f.start is None or not (d.end <= f.start < limit) or not is_reaction_kind(f):
                continue
            key = (d.id, f.id)
            if key in out:
                continue
            fs, fe = _sentence(text, f.start, ends)
            sentences = [text[s0:s_end].strip()] + ([text[fs:fe].strip()] if fs >= s_end else [])
            out[key] = DrugReaction(
                drug=d.id, drug_name=d.name, drug_text=d.text, finding=f.id, finding_name=f.name, finding_text=f.text,
                predicate="after_starting", score=None, documents=0, methods=["timing"],
                evidence=[LearnedEvidence(doc_id="input", sentence=" ".join(sentences), method="timing")],
                knowledge="read from this text")
    return list(out.values())


def text_drugs(doc, rewritten=None) -> list[TextDrug]:
    """The DRUG entities of an analyzed Doc that are not negated, hypothetical or about the family, with their
    offsets in the original text (``rewritten``: the lay rewriting the Doc was made from)."""
    out = []
    for ent in taken_drug_ents(doc):
        links = ent._.concepts or ()
        start, end = ent.start_char, ent.end_char
        words = ent.text
        if rewritten is not None:
            start, end = rewritten.to_original(start, end)
            words = rewritten.original[start:end]
        cid = links[0].concept_id if links else f"TEXT:{words.lower()}"
        out.append(TextDrug(cid, links[0].name if links else words, words, start, end))
    return out


def stated_reactions(events, findings: Sequence[Finding], rewritten=None) -> list[DrugReaction]:
    """The adverse events the pipeline read ("rash after amoxicillin"), neither negated nor speculated, as
    reactions (the effect's finding when one of the findings covers it; ``rewritten``: the lay rewriting the
    events' offsets refer to)."""
    out = []
    for e in events:
        if e.negated or e.speculated or not REACTION_WORDS.search(e.effect):
            continue
        a, b = (e.effect_start, e.effect_end) if rewritten is None else rewritten.to_original(e.effect_start, e.effect_end)
        f = next((f for f in findings if f.start is not None and f.start < b and a < f.end), None)
        drug_id = e.drug_ids[0] if e.drug_ids else f"TEXT:{e.drug.lower()}"
        out.append(DrugReaction(
            drug=drug_id, drug_name=e.drug, drug_text=e.drug, finding=f.id if f else (e.effect_ids[0] if e.effect_ids
                                                                                    else f"TEXT:{e.effect.lower()}"),
            finding_name=f.name if f else e.effect, finding_text=e.effect, predicate="adverse_event", score=None,
            documents=0, methods=[e.source], evidence=[LearnedEvidence(doc_id="input", sentence=e.evidence,
                                                                       method=e.source)],
            knowledge="read from this text"))
    return out
