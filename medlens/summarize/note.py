"""The structured summary of a clinical note, from what the pipeline understood.

It reads ``doc.ents`` with ``._.assertion``, ``._.section`` and ``._.concepts``,
``doc._.sections`` and the sentences, and (when the medications component
registered it) ``ent._.attributes``. The rules (which sections hold diagnoses,
weights, cue words) are data: ``resources/en/summarize.json``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict
from spacy.tokens import Doc, Span

from medlens.normalize import bag_key, key_of_tokens
from medlens.resources import load_resource
from medlens.summarize.models import NoteSummary, SourceSpan, SummaryItem


class SummaryRules(BaseModel):
    """Schema of ``summarize.json`` (unknown keys are an error)."""

    model_config = ConfigDict(extra="forbid")

    version: str
    description: str = ""
    problem_sections: list[str]
    history_sections: list[str]
    medication_sections: list[str]
    treatment_sections: list[str]
    allergy_sections: list[str]
    result_sections: list[str]
    procedure_sections: list[str]
    follow_up_sections: list[str]
    negative_sections: list[str]
    presenting_sections: list[str]
    plan_only_sections: list[str]
    exam_sections: list[str]
    skip_sections: list[str]
    section_weight: dict[str, float]
    status_weight: dict[str, float]
    label_weight: dict[str, float]
    not_problems: list[str]
    resolved_cues: list[str]
    abnormal_cues: list[str]
    normal_cues: list[str]
    follow_up_cues: list[str]
    pending_cues: list[str]
    allergy_cues: list[str]
    no_allergy_cues: list[str]
    not_allergens: list[str]
    change_cues: dict[str, list[str]]


def load_rules(path: str | None = None) -> SummaryRules:
    """The summary rules (the shipped ``summarize.json`` when ``path`` is None)."""
    return load_resource(path or "summarize.json", SummaryRules)


_MONTHS = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|jun(?:e)?|jul(?:y)?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_DATE = re.compile(
    r"\b(?:\d{1,2}[/-]\d{1,2}[/-]\d{2,4}|\d{1,2}/\d{2,4}|" + _MONTHS + r"\.?\s+(?:\d{1,2},?\s+)?\d{4}|(?:in|since)\s+(?:19|20)\d{2})\b",
    re.I)
_PROBLEM_LABELS = ("DISEASE", "SYMPTOM", "FINDING")
_CONDITIONAL = re.compile(r"\b(?:if|consider|considering|may|might|could|unless|should)\b", re.I)
_DRUG_LABELS = ("DRUG", "CHEMICAL")
_TRAILING_NUMBER = re.compile(r"[\s,]+\d[\d.,/]*\s*(?:mg|mcg|g|ml|units?)?$", re.I)


def norm_key(text: str) -> str:
    """The graph's key form of a phrase (case-folded, accent-free, light singular)."""
    return key_of_tokens(text.split())


def _phrase_re(phrases: list[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True)) + r")\b", re.I)


@dataclass
class _Acc:
    """Mentions of one item being merged."""

    key: str
    label: str
    mentions: list[Span] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)


def _status(ent: Span, rules: SummaryRules, resolved: re.Pattern[str]) -> str:
    a = ent._.assertion
    section = ent._.section
    if a is not None and a.negated:
        return "ruled_out"
    if a is not None and (a.uncertain or a.hypothetical):
        return "suspected"
    if resolved.search(ent.sent.text if ent.doc.has_annotation("SENT_START") else ent.text):
        return "resolved"
    if (a is not None and a.historical) or section in rules.history_sections:
        # a past diagnosis restated in the assessment is still active; history alone is historical
        return "historical"
    return "active"


def _merge_status(statuses: list[str]) -> str:
    for status in ("active", "suspected", "resolved", "historical"):
        if status in statuses:
            return status
    return "ruled_out"


def _key(ent: Span) -> str:
    concepts = ent._.concepts or []
    if concepts:
        return concepts[0].concept_id
    return "text:" + norm_key(ent.text)


def _source(ent: Span) -> SourceSpan:
    return SourceSpan(start=ent.start_char, end=ent.end_char, section=ent._.section, text=ent.text)


def _sentence(ent: Span) -> Span:
    return ent.sent if ent.doc.has_annotation("SENT_START") else ent.doc[:]


def _clean(text: str) -> str:
    return _TRAILING_NUMBER.sub("", text.strip(" ,;:.")).strip() or text


def summarize_note(doc: Doc, *, doc_id: str | None = None, rules: SummaryRules | None = None,
                   max_findings: int = 12) -> NoteSummary:
    """The structured summary of an analyzed note.

    Args:
        doc: a Doc from a medlens pipeline (sections, sentences, entities, context and linker).
        doc_id: the id to put in the summary; None uses ``doc._.doc_id`` or "".
        rules: the summary rules; None loads the shipped ``summarize.json``.
        max_findings: most positive findings and pertinent negatives kept (the most important first).

    Returns:
        A :class:`NoteSummary`; a note with nothing recognized gives empty lists and a warning.
    """
    rules = rules or load_rules()
    resolved = _phrase_re(rules.resolved_cues)
    not_problem = {norm_key(w) for w in rules.not_problems}
    has_attributes = Span.has_extension("attributes")
    allergy_words = {norm_key(w) for w in rules.not_allergens}
    warnings: list[str] = []
    if not doc.text.strip():
        warnings.append("the note is empty")
    elif not doc._.sections or all(s.category == "unknown" for s in doc._.sections):
        warnings.append("no section header was recognized: problem status and importance rest on assertions alone")

    problems: dict[str, _Acc] = {}
    meds: dict[str, _Acc] = {}
    allergies: dict[str, _Acc] = {}
    positives: dict[str, _Acc] = {}
    negatives: dict[str, _Acc] = {}
    procedures: dict[str, _Acc] = {}
    results: dict[str, _Acc] = {}
    problem_sections = set(rules.problem_sections)
    abnormal = _phrase_re(rules.abnormal_cues)
    normal = _phrase_re(rules.normal_cues)

    def add(bucket: dict[str, _Acc], ent: Span, status: str) -> None:
        key = _key(ent)
        acc = bucket.get(key)
        if acc is None:
            acc = bucket[key] = _Acc(key, ent.label_)
        acc.mentions.append(ent)
        acc.statuses.append(status)

    for ent in doc.ents:
        section = ent._.section
        a = ent._.assertion
        if section in rules.skip_sections or (a is not None and a.family):
            continue
        label = ent.label_
        if section in rules.allergy_sections and label not in ("ANATOMY", "TEST"):
            if not (a is not None and a.negated) and norm_key(ent.text) not in allergy_words:
                add(allergies, ent, "active")
            continue
        if label in _DRUG_LABELS:
            sent = _sentence(ent).text.lower()
            if any(c in sent for c in rules.allergy_cues) and sent.find(ent.text.lower()) > min(
                    (sent.find(c) for c in rules.allergy_cues if c in sent), default=len(sent)):
                add(allergies, ent, "active")
                continue
            concepts = ent._.concepts or []
            is_drug_concept = label == "DRUG" or any(re.fullmatch(r"DB\d{5}", c.concept_id) for c in concepts)
            in_med_context = section in rules.medication_sections or section in rules.treatment_sections
            if not (is_drug_concept or in_med_context) or section in rules.result_sections and not is_drug_concept:
                continue
            if a is not None and a.negated:
                status = "stopped"
            elif a is not None and (a.hypothetical or a.uncertain):
                status = "considered"
            elif a is not None and a.historical and section not in rules.medication_sections:
                status = "historical"
            else:
                status = "active"
            add(meds, ent, status)
            continue
        if label == "PROCEDURE":
            if a is None or not (a.negated or a.hypothetical or a.uncertain):
                if section in rules.procedure_sections or (a is not None and a.historical) or section not in rules.follow_up_sections:
                    add(procedures, ent, "historical" if (a is not None and a.historical) else "done")
            continue
        if label == "TEST":
            sent = _sentence(ent).text
            tail = doc.text[ent.end_char:min(len(doc.text), ent.end_char + 40)]
            if (section in rules.result_sections or re.match(r"\s*(?:is|was|of|:)?\s*\d", tail)) and abnormal.search(sent):
                add(results, ent, "abnormal")
            continue
        if label not in _PROBLEM_LABELS:
            continue
        if section in rules.plan_only_sections:
            continue  # "screen for retinopathy", "call for fever": what the plan watches for is not a problem
        status = _status(ent, rules, resolved)
        key_text = norm_key(ent.text)
        if key_text in not_problem or len(key_text) < 3:
            continue
        if len(ent.text) > 5 and ent.text.isupper() and not (ent._.concepts or []):
            continue  # a section header the recognizer read as an entity
        concepts = ent._.concepts or []
        in_problem_section = section in problem_sections
        if status == "ruled_out" and not in_problem_section:
            if section in rules.negative_sections or section in rules.history_sections:
                add(negatives, ent, "absent")
            continue
        if section in rules.exam_sections:
            if status != "ruled_out":
                add(positives, ent, "present")
            continue
        is_problem = label == "DISEASE" and (concepts or in_problem_section)
        is_problem = is_problem or (label != "DISEASE" and in_problem_section)
        is_problem = is_problem or (label != "DISEASE" and status == "active" and section in rules.presenting_sections)
        if is_problem:
            add(problems, ent, status)
        elif label != "DISEASE" or not concepts:
            if section in rules.result_sections and status == "active" and section not in ("impression",):
                add(results, ent, "abnormal")
            elif status == "ruled_out":
                if section in rules.negative_sections:
                    add(negatives, ent, "absent")
            elif status in ("active", "historical"):
                add(positives, ent, "present")

    for bucket in (problems, meds, allergies, positives, negatives, procedures, results):
        _merge_similar(bucket)
    # a symptom that is also a problem is listed once, as the problem
    for key in list(positives):
        if key in problems:
            problems[key].mentions.extend(positives[key].mentions)
            problems[key].statuses.extend(positives[key].statuses)
            del positives[key]
    for key in list(negatives):
        if key in problems or key in positives:
            del negatives[key]

    def item(acc: _Acc, kind: str) -> SummaryItem:
        mentions = sorted(acc.mentions, key=lambda e: e.start_char)
        best = max(mentions, key=lambda e: (rules.section_weight.get(e._.section, 0), -e.start_char))
        concepts = best._.concepts or next((m._.concepts for m in mentions if m._.concepts), None) or []
        status = _merge_status(acc.statuses) if kind == "problem" else (
            "active" if "active" in acc.statuses else acc.statuses[0])
        sections = list(dict.fromkeys(m._.section for m in mentions))
        dates: list[str] = []
        for m in mentions:
            for d in _DATE.findall(_sentence(m).text):
                if d not in dates:
                    dates.append(d)
        section_score = max(rules.section_weight.get(s, 0) for s in sections)
        importance = (section_score + rules.status_weight.get(status, 1) + rules.label_weight.get(acc.label, 0)
                      + min(len(mentions), 4) * 0.5)
        reason = (f"{status}; in {', '.join(s.replace('_', ' ') for s in sections)}"
                  f"; {len(mentions)} mention{'s' if len(mentions) > 1 else ''}")
        attributes: dict[str, str] = {}
        if kind == "medication":
            for m in mentions:
                attrs = m._.attributes if has_attributes else None
                if attrs:
                    attributes = _attributes_dict(attrs)
                    break
        text = _clean(best.text) if kind == "medication" else best.text
        return SummaryItem(text=text, concept_id=concepts[0].concept_id if concepts else None,
                           concept_name=concepts[0].name if concepts else None, label=acc.label, status=status,
                           dates=dates[:3], attributes=attributes, importance=round(importance, 2), reason=reason,
                           sources=[_source(m) for m in mentions])

    def items(bucket: dict[str, _Acc], kind: str, limit: int | None = None) -> list[SummaryItem]:
        out = [item(acc, kind) for acc in bucket.values()]
        if kind in ("medication", "allergy", "procedure"):
            out.sort(key=lambda i: i.sources[0].start)
        else:
            out.sort(key=lambda i: (-i.importance, i.sources[0].start))
        return out[:limit] if limit else out

    no_known = False
    for section in doc._.sections or []:
        if section.category in rules.allergy_sections:
            body = doc.text[section.body_start_char:section.end_char].strip().lower()
            if any(body.startswith(c) or c in body[:60] for c in rules.no_allergy_cues) and not allergies:
                no_known = True
    if not no_known and not allergies and re.search(r"\b(?:nkda|no known (?:drug )?allergies)\b", doc.text, re.I):
        no_known = True

    # results with no abnormal word but a normal one are dropped
    for key in list(results):
        if all(normal.search(_sentence(m).text) and not abnormal.search(_sentence(m).text) for m in results[key].mentions):
            del results[key]

    return NoteSummary(
        id=doc_id if doc_id is not None else (doc._.doc_id or ""),
        problems=items(problems, "problem"),
        medications=items(meds, "medication"),
        allergies=items(allergies, "allergy"),
        no_known_allergies=no_known,
        positive_findings=items(positives, "finding", max_findings),
        pertinent_negatives=items(negatives, "finding", max_findings),
        abnormal_results=items(results, "result"),
        procedures=items(procedures, "procedure"),
        follow_up=_follow_up(doc, rules),
        changes=_changes(doc, rules),
        warnings=warnings,
    )


_FILLER = re.compile(r"\b(?:unspecified|nos|not otherwise specified|essential|primary|\(primary\))\b", re.I)


def _names(acc: _Acc) -> set[str]:
    """Ids and word-order-free keys of every name an item goes by (its mentions and their top concepts)."""
    out: set[str] = set()
    for m in acc.mentions:
        out.add(bag_key(norm_key(_clean(m.text))))
        for c in (m._.concepts or [])[:2]:
            out.add(c.concept_id)
            out.add(bag_key(norm_key(_FILLER.sub(" ", c.name))))
    out.discard("")
    return out


def _merge_similar(bucket: dict[str, _Acc]) -> None:
    """Merge, in place, items that share a concept id or a name (``COPD`` linked to MeSH and to ICD-10-CM)."""
    keys = list(bucket)
    names = {k: _names(bucket[k]) for k in keys}
    for i, a in enumerate(keys):
        if a not in bucket:
            continue
        for b in keys[i + 1:]:
            if b in bucket and names[a] & names[b]:
                bucket[a].mentions.extend(bucket[b].mentions)
                bucket[a].statuses.extend(bucket[b].statuses)
                names[a] |= names[b]
                del bucket[b]


def _attributes_dict(attrs) -> dict[str, str]:
    """Medication attributes from another component, whatever their shape, as strings."""
    if isinstance(attrs, dict):
        raw = attrs
    elif hasattr(attrs, "model_dump"):
        raw = attrs.model_dump()
    elif hasattr(attrs, "__dataclass_fields__"):
        raw = {k: getattr(attrs, k) for k in attrs.__dataclass_fields__}
    else:
        raw = {"text": str(attrs)}
    out = {}
    for k, v in raw.items():
        if v in (None, "", [], ()):
            continue
        out[str(k)] = getattr(v, "text", None) or (", ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v))
    return out


def _changes(doc: Doc, rules: SummaryRules) -> list[SummaryItem]:
    """What changed: a medication started, stopped, increased, decreased or held; a problem new, worse or better.

    One item per entity whose sentence carries a change cue of its kind (``change_cues`` in the rules);
    ``status`` is the kind of change, ``text`` the entity and ``sources`` the entity and the cue words.
    """
    patterns = {kind: _phrase_re(cues) for kind, cues in rules.change_cues.items()}
    drug_kinds = ("started", "stopped", "increased", "decreased", "held", "resumed", "switched")
    problem_kinds = ("new", "worse", "better")
    out: list[SummaryItem] = []
    seen: set[tuple[str, str]] = set()
    for ent in doc.ents:
        a = ent._.assertion
        if a is not None and (a.negated or a.family or a.hypothetical):
            continue
        if ent.label_ in _DRUG_LABELS:
            kinds = drug_kinds
        elif ent.label_ in _PROBLEM_LABELS:
            kinds = problem_kinds
        else:
            continue
        sent = _sentence(ent)
        if _CONDITIONAL.search(sent.text):
            continue  # "hold if eGFR falls", "consider stopping": not a change made
        for kind in kinds:
            m = patterns[kind].search(sent.text) if kind in patterns else None
            if m is None:
                continue
            key = (_key(ent), kind)
            if key in seen:
                break
            seen.add(key)
            concepts = ent._.concepts or []
            cue_start = sent.start_char + m.start()
            out.append(SummaryItem(
                text=_clean(ent.text) if ent.label_ in _DRUG_LABELS else ent.text,
                concept_id=concepts[0].concept_id if concepts else None,
                concept_name=concepts[0].name if concepts else None, label=ent.label_, status=kind,
                dates=list(dict.fromkeys(_DATE.findall(sent.text)))[:3],
                reason=f"'{m.group(0)}' in the same sentence; in {ent._.section.replace('_', ' ')}",
                sources=[_source(ent), SourceSpan(start=cue_start, end=cue_start + len(m.group(0)),
                                                  section=ent._.section, text=m.group(0))]))
            break
    return out


def _follow_up(doc: Doc, rules: SummaryRules) -> list[SummaryItem]:
    """Sentences about follow-up, referrals, repeat tests and pending results."""
    cues = _phrase_re(rules.follow_up_cues)
    pending = _phrase_re(rules.pending_cues)
    sections = set(rules.follow_up_sections)
    sents = list(doc.sents) if doc.has_annotation("SENT_START") else [doc[:]]
    out: list[SummaryItem] = []
    for sent in sents:
        text = sent.text.strip().lstrip("-*•·0123456789.) ").strip()
        if len(text) < 6:
            continue
        section = doc[sent.start:sent.start + 1]._.section if len(sent) else "unknown"
        is_pending = bool(pending.search(text))
        if not (is_pending or (cues.search(text) and (section in sections or section == "unknown"))):
            continue
        start = sent.start_char + sent.text.find(text)
        out.append(SummaryItem(text=text, status="pending" if is_pending else "follow-up",
                               dates=list(dict.fromkeys(_DATE.findall(text)))[:3],
                               importance=2 if is_pending else 1,
                               reason=("pending result or order" if is_pending else "follow-up or plan") + f"; in {section.replace('_', ' ')}",
                               sources=[SourceSpan(start=start, end=start + len(text), section=section, text=text)]))
    return out
