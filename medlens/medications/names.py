"""Drug names written with their salt, release form or product form are one entity.

"metoprolol succinate", "atorvastatin calcium", "metformin ER", "albuterol
inhaler", "Tylenol #3": a drug entity followed (after spaces only) by words of
``resources/en/medications/drug_name_parts.json`` is extended over them, and
entities inside the extension (the model's "succinate" CHEMICAL) are absorbed.
Where the knowledge graph has the whole name ("metoprolol succinate" is a
DrugBank synonym of metoprolol) the merged entity takes that match's concept ids
and label; otherwise it keeps the drug's own ids, so the linker links it to the
drug. ``medlens_dictionary_ner`` applies this after it has merged its matches
with the model's entities.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

from spacy.tokens import Doc, Span

from medlens.doc.text import doc_text
from medlens.medications.rules import MedicationRules, load_rules, phrase_regex

DRUG_LABELS = frozenset({"DRUG", "CHEMICAL"})


@lru_cache(maxsize=4)
def _parts_regex(rules: MedicationRules) -> re.Pattern:
    p = rules.name_parts
    words = [*p.salts, *p.release, *(f.word for f in p.forms)]
    part = rf"(?:{phrase_regex(words)}|{p.number_suffix}(?![\w]))"
    return re.compile(rf"(?:[ \t]+{part})+", re.I)


def name_parts_end(text: str, end: int, rules: MedicationRules | None = None) -> int:
    """Where the name of a drug ending at ``end`` really ends: past its salt/form words (``end`` if none)."""
    rules = rules or load_rules()
    m = _parts_regex(rules).match(text, end)
    return m.end() if m else end


def implied_route(name: str, rules: MedicationRules | None = None) -> str | None:
    """The route code a drug name's form implies ("albuterol inhaler" -> ``"INH"``), or None."""
    rules = rules or load_rules()
    low = re.sub(r"\s+", " ", name.lower())
    best = None
    for form in rules.name_parts.forms:
        if form.route and re.search(rf"(?<![\w]){re.escape(form.word)}$", low):
            if best is None or len(form.word) > len(best.word):
                best = form
    return best.route if best else None


def _route_form_only(name: str, rules: MedicationRules) -> bool:
    """Whether a drug entity's whole text is a product form that implies a route ("nasal spray", "inhaler")."""
    low = re.sub(r"\s+", " ", name.strip().lower())
    return any(form.route and form.word == low for form in rules.name_parts.forms)


_TRAILING_NUMBER = re.compile(r"[A-Za-z][^\s]*\s+[\d.,]+\s*[-–]?$")


_BULLET = re.compile(r"[-*•·–]|\(?\d{1,2}[.)]|[a-z][.)]")


def _cut_at_line_break(ent: Span) -> Span | None:
    """A drug entity a recognizer stretched over a line break ("BID\\n- Lisinopril" of a list): its
    part after the last line break without the list bullet, else the part before the first one
    (None when neither has a word)."""
    if "\n" not in ent.text:
        return ent
    toks = list(ent)
    breaks = [i for i, t in enumerate(toks) if "\n" in t.text_with_ws[len(t.text):] or "\n" in t.text]
    last = breaks[-1]
    start = last + 1
    while start < len(toks) and (toks[start].is_space or _BULLET.fullmatch(toks[start].text)):
        start += 1
    if start < len(toks) and any(c.isalpha() for t in toks[start:] for c in t.text):
        return ent.doc[ent.start + start:ent.end]
    first = breaks[0] + (0 if "\n" in toks[breaks[0]].text else 1)
    if first > 0 and any(c.isalpha() for t in toks[:first] for c in t.text):
        return ent.doc[ent.start:ent.start + first]
    return None


def _trim_dose_numbers(ent: Span) -> Span:
    """A drug entity without the dose number a recognizer took into it ("Oxycodone 1-" of
    "Oxycodone 1-2 tabs", "aspirin 81"); the entity itself when it ends otherwise."""
    if not _TRAILING_NUMBER.search(ent.text):
        return ent
    end = ent.end
    while end > ent.start + 1 and (ent.doc[end - 1].like_num or ent.doc[end - 1].text in ("-", "–", ".", ",")
                                   or re.fullmatch(r"[\d.,]+[-–]?", ent.doc[end - 1].text)):
        end -= 1
    return ent.doc[ent.start:end] if end < ent.end else ent


def merge_drug_names(doc: Doc, ents: Sequence[Span], matches: Mapping[tuple[int, int], tuple[str, tuple[str, ...], str]] | None = None,
                     rules: MedicationRules | None = None) -> list[Span]:
    """Extend drug entities over the salt and form words after them (and trim dose numbers off their end).

    Args:
        doc: the document.
        ents: its entities (non-overlapping), in any order.
        matches: dictionary matches by token bounds -> (label, concept ids, matched form); a trimmed
            entity with exactly a match's bounds takes its label and ids ("potassium" of "potassium 5" in
            a lab list is a TEST), an extended one those of a drug match.
        rules: medication rules (None: the shipped ones).

    Returns:
        The entities, sorted by start, with each extended drug replacing itself and what it absorbed;
        a drug entity that is only a form implying a route ("nasal spray") is dropped.
    """
    rules = rules or load_rules()
    ents = sorted(ents, key=lambda s: s.start)
    out: list[Span] = []
    skip_until = -1
    for i, ent in enumerate(ents):
        if ent.start < skip_until:
            continue
        if ent.label_ not in DRUG_LABELS:
            out.append(ent)
            continue
        if _route_form_only(ent.text, rules):  # "nasal spray" of "fluticasone 50 mcg nasal spray" names no drug
            continue
        trimmed = _trim_dose_numbers(_cut_at_line_break(ent))
        if trimmed is None:
            continue
        if trimmed is not ent:
            match = (matches or {}).get((trimmed.start, trimmed.end))
            new_ent = Span(doc, trimmed.start, trimmed.end, label=match[0] if match else ent.label_)
            new_ent._.match_ids = match[1] if match else ent._.match_ids
            new_ent._.matched_form = match[2] if match else ent._.matched_form
            new_ent._.ner_source = ent._.ner_source
            new_ent._.ner_score = ent._.ner_score
            ent = new_ent
        end_char = name_parts_end(doc_text(doc), ent.end_char, rules)
        new = doc.char_span(ent.start_char, end_char, label=ent.label_, alignment_mode="contract") if end_char > ent.end_char else None
        if new is None or new.end <= ent.end:
            out.append(ent)
            continue
        # entities touching the extension must lie inside it, else stop before the first one that does not
        later = [e for e in ents[i + 1:] if e.start < new.end]
        for e in later:
            if e.end > new.end:
                new = Span(doc, ent.start, e.start, label=ent.label_) if e.start > ent.end else None
                break
        if new is None or new.end <= ent.end:
            out.append(ent)
            continue
        match = (matches or {}).get((new.start, new.end))
        if match and match[0] not in DRUG_LABELS:
            match = None  # an extension names a drug ("metoprolol succinate"), whatever else the key names
        merged = Span(doc, new.start, new.end, label=match[0] if match else ent.label_)
        merged._.match_ids = match[1] if match else ent._.match_ids
        merged._.matched_form = match[2] if match else ent._.matched_form
        merged._.ner_source = ent._.ner_source
        merged._.ner_score = ent._.ner_score
        out.append(merged)
        skip_until = merged.end
    return out
