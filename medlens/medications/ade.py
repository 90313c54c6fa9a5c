"""Adverse drug events: ``(drug) -[caused]-> (effect)`` in case reports and notes.

Two readers, whose events are merged (an event both find is kept once, as ``rules+model``):

* rules (``resources/en/medications/adverse_events.json``): a drug entity and an
  effect entity (DISEASE, SYMPTOM, FINDING) of one sentence with a cue phrase
  between them — "developed hepatitis *after* isoniazid", "isoniazid*-induced*
  hepatitis";
* the ADE tagger (``medlens/assets/ade``, int8 ONNX, trained on PHEE): tags
  DRUG, EFFECT, TRIGGER (and DOSAGE, ROUTE, FREQ, DURATION, INDICATION) spans in
  each sentence that holds a drug entity; each EFFECT is paired with the
  sentence's drug nearest to it (an effect whose trigger is a therapeutic word,
  "resolved", "improved", is not an adverse event);

Flags: ``negated`` when the effect entity's ConText assertion is negated or a
negation cue stands in the six words before the effect (or its trigger);
``speculated`` when the effect is uncertain or the sentence holds a speculation
cue ("possible", "probable", "may").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from medlens.doc.types import AdverseEvent
from medlens.medications.rules import MedicationRules, load_rules, phrase_regex


@dataclass(frozen=True, slots=True)
class Mention:
    """An entity of the sentence as the ADE readers see it."""

    text: str
    start: int
    end: int
    label: str
    ids: tuple[str, ...] = ()
    negated: bool = False
    uncertain: bool = False


class AdeRules:
    """Rule-based ADE reading and the negation/speculation flags.

    Args:
        rules: medication rules (None: the shipped ones).
        max_gap_words: the most words between an effect and a drug.
    """

    def __init__(self, rules: MedicationRules | None = None, max_gap_words: int = 7) -> None:
        self.rules = rules or load_rules()
        a = self.rules.adverse_events
        self.effect_labels = frozenset(a.effect_labels)
        self.drug_labels = frozenset(a.drug_labels)
        self.max_gap_words = max_gap_words
        self._e_then_d = re.compile(phrase_regex(a.effect_then_drug), re.I)
        self._d_then_e = re.compile(phrase_regex(a.drug_then_effect), re.I)
        self._neg = re.compile(phrase_regex(a.negation), re.I)
        self._spec = re.compile(phrase_regex(a.speculation), re.I)
        self.therapeutic = frozenset(w.lower() for w in a.therapeutic_triggers)
        self.indication_links = frozenset(" ".join(w.lower().split()) for w in a.indication_links)

    def is_indication(self, text: str, drug: tuple[int, int], effect: tuple[int, int]) -> bool:
        """Whether an effect written right after a drug is its indication: only an ``indication_links``
        phrase stands between them ("gabapentin if neuropathic pain develops", "amoxicillin for otitis")."""
        if drug[1] > effect[0]:
            return False
        between = " ".join(text[drug[1]:effect[0]].lower().replace(",", " ").split())
        return between in self.indication_links

    def flags(self, text: str, sent_start: int, effect: tuple[int, int], trigger: tuple[int, int] | None = None,
              mention: Mention | None = None) -> tuple[bool, bool]:
        """(negated, speculated) of an event whose effect is ``text[effect[0]:effect[1]]``."""
        negated = bool(mention and mention.negated)
        speculated = bool(mention and mention.uncertain)
        anchors = [effect[0]] + ([trigger[0]] if trigger else [])
        for at in anchors:
            before = text[sent_start:at]
            words = list(re.finditer(r"\S+", before))[-6:]
            if words and self._neg.search(before, words[0].start()):
                negated = True
        if self._spec.search(text, sent_start, max(effect[1], trigger[1] if trigger else 0) + 60):
            speculated = True
        return negated, speculated

    def find(self, text: str, sent_start: int, sent_end: int, mentions: Sequence[Mention]) -> list[AdverseEvent]:
        """Events stated by a cue phrase between a drug and an effect of one sentence."""
        drugs = [m for m in mentions if m.label in self.drug_labels]
        effects = [m for m in mentions if m.label in self.effect_labels]
        out = []
        for e in effects:
            best: tuple[int, Mention, re.Match] | None = None
            for d in drugs:
                if e.end <= d.start:
                    gap, rx = text[e.end:d.start], self._e_then_d
                elif d.end <= e.start:
                    gap, rx = text[d.end:e.start], self._d_then_e
                else:
                    continue
                if len(gap.split()) > self.max_gap_words or re.search(r"[.;]", gap):
                    continue
                cue = rx.search(gap)
                if cue and (best is None or len(gap) < best[0]):
                    best = (len(gap), d, cue)
            if best is None:
                continue
            _, d, cue = best
            base = e.end if e.end <= d.start else d.end
            trig = (base + cue.start(), base + cue.end())
            neg, spec = self.flags(text, sent_start, (e.start, e.end), None, e)
            out.append(AdverseEvent(d.text, d.start, d.end, e.text, e.start, e.end, cue.group(0).strip(),
                                    text[sent_start:sent_end], sent_start, neg, spec, "rules", d.ids, e.ids))
        return out


def events_from_tags(text: str, sent_start: int, sent_end: int, spans: Sequence[tuple[str, int, int]],
                     mentions: Sequence[Mention], rules: AdeRules, *, require_entities: bool = False) -> list[AdverseEvent]:
    """Events from the ADE tagger's spans of one sentence (character offsets into ``text``).

    Each EFFECT span is paired with the nearest DRUG (a model DRUG span, else a drug entity); the
    effect and the drug take the ids of the entities they overlap. Effects that are a drug's
    indication (the tagger's INDICATION) are never events, nor effects whose nearest trigger is a
    therapeutic word ("resolved", "improved": ``therapeutic_triggers``); with ``require_entities``,
    nor effects written right after their drug with only an ``indication_links`` phrase between
    ("gabapentin if neuropathic pain develops").

    ``require_entities`` (what ``medlens_adverse_events`` asks): keep only events with a trigger whose
    effect is mostly (half its characters or more) an effect entity (DISEASE, SYMPTOM, FINDING) and whose drug overlaps a drug entity.
    The tagger learned from PHEE, where every sentence reports an event; in notes it tags procedure
    words and indications as effects, and the recognizer's entities keep it to real findings.
    """
    drugs = [(s, e) for lab, s, e in spans if lab == "DRUG"]
    drugs += [(m.start, m.end) for m in mentions if m.label in rules.drug_labels
              and not any(s < m.end and m.start < e for s, e in drugs)]
    triggers = [(s, e) for lab, s, e in spans if lab == "TRIGGER"]
    out = []
    for lab, s, e in spans:
        if lab != "EFFECT" or not drugs:
            continue
        ds, de = min(drugs, key=lambda d: min(abs(d[0] - e), abs(s - d[1])))
        trig = min(triggers, key=lambda t: abs(t[0] - s)) if triggers else None
        if trig is not None and text[trig[0]:trig[1]].lower() in rules.therapeutic:
            continue  # "resolved with", "improved on": a therapeutic effect
        effect_m = next((m for m in mentions if m.label in rules.effect_labels
                         and min(e, m.end) - max(s, m.start) >= 0.5 * (e - s)), None)
        drug_m = next((m for m in mentions if m.start < de and ds < m.end and m.label in rules.drug_labels), None)
        if require_entities and (trig is None or effect_m is None or drug_m is None):
            continue
        if require_entities and rules.is_indication(text, (ds, de), (s, e)):
            continue  # "gabapentin if neuropathic pain develops": the drug's indication
        neg, spec = rules.flags(text, sent_start, (s, e), trig, effect_m)
        out.append(AdverseEvent(text[ds:de], ds, de, text[s:e], s, e, text[trig[0]:trig[1]] if trig else "",
                                text[sent_start:sent_end], sent_start, neg, spec, "model",
                                drug_m.ids if drug_m else (), effect_m.ids if effect_m else ()))
    return out


def merge_events(rule_events: Sequence[AdverseEvent], model_events: Sequence[AdverseEvent]) -> list[AdverseEvent]:
    """The union of both readers' events; one both found (overlapping drug and effect) is kept once,
    with the rule event's entity boundaries and ``source`` ``rules+model``."""
    out = list(rule_events)
    for m in model_events:
        hit = next((i for i, r in enumerate(out) if r.source == "rules" and r.drug_start < m.drug_end and m.drug_start < r.drug_end
                    and r.effect_start < m.effect_end and m.effect_start < r.effect_end), None)
        if hit is None:
            out.append(m)
        else:
            r = out[hit]
            out[hit] = replace(r, source="rules+model", negated=r.negated or m.negated, speculated=r.speculated or m.speculated)
    return sorted(out, key=lambda ev: (ev.effect_start, ev.drug_start))


def join_fragments(text: str, spans: Sequence[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Spans of one label that the tagger cut inside a word or a number ("40." + "8 mg/kg/d") joined again.

    Two spans of the same label are joined when nothing stands between them, or only a decimal point or
    comma between two digits (the tokenizer splits "40.8" into "40", ".", "8" and the tagger may start a
    new span at any piece).
    """
    out: list[tuple[str, int, int]] = []
    for lab, s, e in sorted(spans, key=lambda x: x[1]):
        if out and out[-1][0] == lab:
            plab, ps, pe = out[-1]
            gap = text[pe:s]
            if gap == "" or (gap in (".", ",") and pe > 0 and s < len(text) and text[pe - 1].isdigit() and text[s].isdigit()):
                out[-1] = (lab, ps, e)
                continue
        out.append((lab, s, e))
    return out


#: Tagger labels whose spans are PHEE treatment sub-arguments (see :func:`tidy_spans`).
SUB_ARGUMENT_LABELS = frozenset({"DOSAGE", "ROUTE", "FREQ", "DURATION"})
_NUM_BEFORE = re.compile(r"\d+[.,]$")
_NUM_AFTER = re.compile(r"[.,]\d+")
_FREQUENCY_WORD = re.compile(r"(?:(?:once|twice)\s+)?(?:daily|weekly|monthly|nightly)|(?:once|twice) a (?:day|week)", re.I)


def tidy_spans(text: str, spans: Sequence[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """The tagger's spans with PHEE's boundaries: fragments joined, numbers whole, multi-word sub-arguments one span.

    On top of :func:`join_fragments`:

    * a span that starts or ends inside a decimal number takes the whole number ("5.0 microg/kg", not
      "0 microg/kg": the tagger labels only the pieces after the point);
    * two sub-argument spans (DOSAGE, ROUTE, FREQ, DURATION) of the same label separated by one space are one
      span ("sublingual" + "ingestion" -> "sublingual ingestion", "intravenous administration"): the tagger
      starts a new span at each word of a multi-word route, while PHEE train never has two arguments of one
      sub-argument type side by side;
    * a DURATION that is only a frequency word ("weekly", "twice daily") is a FREQ (21 of 21 such spans of
      PHEE train).

    Args:
        text: the text the offsets point into.
        spans: (label, start, end) triples.

    Returns:
        The tidied spans, sorted by start.
    """
    out: list[tuple[str, int, int]] = []
    for lab, s, e in join_fragments(text, spans):
        m = _NUM_BEFORE.search(text, 0, s)
        if m and s < len(text) and text[s].isdigit():
            s = m.start()
        m = _NUM_AFTER.match(text, e)
        if m and e > 0 and text[e - 1].isdigit():
            e = m.end()
        if lab == "DURATION" and _FREQUENCY_WORD.fullmatch(text, s, e):
            lab = "FREQ"
        if out and out[-1][0] == lab and lab in SUB_ARGUMENT_LABELS and text[out[-1][2]:s] == " ":
            out[-1] = (lab, out[-1][1], e)
            continue
        out.append((lab, s, e))
    return out
