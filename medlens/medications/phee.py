"""Reading the PHEE corpus (pharmacovigilance events in case-report sentences).

PHEE (Sun et al. 2022, MIT; ``../shared/data/phee``) annotates each sentence with
events (``Adverse_event`` or ``Potential_therapeutic_event``): a trigger, the
treatment (with the drug, dosage, route, frequency, duration and the disorder it
treats nested inside), the effect, the subject, and negated/speculated flags.

The ADE tagger reads flat, non-overlapping spans, so the nested annotation is
reduced to the argument types the tagger learns (:data:`TAGGER_LABELS`). Where
two arguments overlap, the one of higher priority (sub-arguments first, then the
drug, the effect, the trigger, the indication) is kept. A discontinuous argument
("a ... b") becomes one span from its first to its last piece.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from medlens.errors import Errors, InputError

#: PHEE argument path -> tagger label, in priority order (first wins an overlap).
TAGGER_LABELS: dict[str, str] = {
    "Treatment.Dosage": "DOSAGE",
    "Treatment.Route": "ROUTE",
    "Treatment.Freq": "FREQ",
    "Treatment.Duration": "DURATION",
    "Treatment.Drug": "DRUG",
    "Effect": "EFFECT",
    "Trigger": "TRIGGER",
    "Treatment.Disorder": "INDICATION",
}
#: Argument groups scored by ``benchmarks/phee_eval.py``.
SUB_ARGUMENTS = ("DOSAGE", "ROUTE", "FREQ", "DURATION")
MAIN_ARGUMENTS = ("DRUG", "EFFECT")


@dataclass(frozen=True, slots=True)
class PheeEvent:
    """One annotated event of a sentence.

    Attributes:
        kind: ``Adverse_event`` or ``Potential_therapeutic_event``.
        arguments: (tagger label, start, end) of the event's arguments.
        negated: the annotators marked the event negated.
        speculated: the annotators marked the event speculated.
    """

    kind: str
    arguments: tuple[tuple[str, int, int], ...]
    negated: bool
    speculated: bool


@dataclass(frozen=True, slots=True)
class PheeSentence:
    """A PHEE sentence: ``text``, its events, and the flat gold spans of the tagger."""

    id: str
    text: str
    events: tuple[PheeEvent, ...]
    spans: tuple[tuple[str, int, int], ...]


def _mentions(node: dict) -> Iterator[tuple[int, int]]:
    for pieces, starts in zip(node.get("text", []), node.get("start", [])):
        if not pieces or not starts:
            continue
        start, end = starts[0], starts[-1] + len(pieces[-1])
        if start < end:  # a few annotations are empty strings
            yield start, end


def _event_arguments(event: dict) -> list[tuple[str, int, int]]:
    found: list[tuple[str, int, int]] = []
    for path, label in TAGGER_LABELS.items():
        node: object = event
        for key in path.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            found.extend((label, s, e) for s, e in _mentions(node))
    return found


def flatten_spans(arguments: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Non-overlapping spans from possibly overlapping arguments, by :data:`TAGGER_LABELS` priority.

    Args:
        arguments: (label, start, end) triples; duplicates are allowed.

    Returns:
        The kept spans sorted by start.
    """
    rank = {label: i for i, label in enumerate(TAGGER_LABELS.values())}
    kept: list[tuple[str, int, int]] = []
    for label, s, e in sorted(set(arguments), key=lambda a: (rank[a[0]], a[2] - a[1], a[1])):
        if all(e <= ks or s >= ke for _, ks, ke in kept):
            kept.append((label, s, e))
    return sorted(kept, key=lambda a: a[1])


def read_phee(path: str | Path) -> list[PheeSentence]:
    """Read a PHEE ``*.jsonl`` file.

    Args:
        path: a PHEE split (one JSON object a line: ``id``, ``context``, ``annotations``).

    Returns:
        The sentences in file order.

    Raises:
        InputError: the file is missing, or a line is not JSON or lacks ``context``
            (the message names the line).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(Errors.E203.format(path=path))
    out: list[PheeSentence] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise InputError(Errors.E209.format(path=path, where=f"line {lineno}", details=f"not valid JSON ({exc.msg})")) from exc
            if not isinstance(obj, dict) or not isinstance(obj.get("context"), str):
                raise InputError(Errors.E209.format(path=path, where=f"line {lineno}", details="expected an object with a string 'context'"))
            events = []
            every: list[tuple[str, int, int]] = []
            for ann in obj.get("annotations", []):
                for ev in ann.get("events", []):
                    args = _event_arguments(ev)
                    every.extend(args)
                    events.append(PheeEvent(
                        kind=str(ev.get("event_type", "")), arguments=tuple(sorted(set(args), key=lambda a: a[1])),
                        negated=bool((ev.get("Negated") or {}).get("value")),
                        speculated=bool((ev.get("Speculated") or {}).get("value"))))
            out.append(PheeSentence(str(obj.get("id", lineno)), obj["context"], tuple(events),
                                    tuple(flatten_spans(every))))
    return out


def tune_split(sentences: list[PheeSentence], fraction: float = 0.1,
               seed: int = 13) -> tuple[list[PheeSentence], list[PheeSentence]]:
    """Split PHEE train by PubMed id into a training part and a tune slice (no article in both).

    The ADE tagger's protocol (benchmarks/README.md): ``fraction`` of the PMIDs (the part of a sentence id
    before ``_``), drawn by shuffling the sorted PMIDs with ``random.Random(seed)``, form the tune slice
    (hyperparameters and epochs are chosen on it); the rest is trained on. With the defaults on PHEE train:
    2,619 sentences to train, 279 to tune.

    Args:
        sentences: the sentences of PHEE train (:func:`read_phee`).
        fraction: share of the PMIDs held out (0 < fraction < 1).
        seed: seed of the shuffle.

    Returns:
        (train part, tune slice), each in file order.
    """
    import random

    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1, not {fraction}")
    pmids = sorted({s.id.split("_")[0] for s in sentences})
    random.Random(seed).shuffle(pmids)
    hold = set(pmids[:int(len(pmids) * fraction + 1e-9)])
    return ([s for s in sentences if s.id.split("_")[0] not in hold],
            [s for s in sentences if s.id.split("_")[0] in hold])


def write_span_jsonl(sentences: list[PheeSentence], path: str | Path) -> Path:
    """Write sentences as the span JSONL that ``medlens train ner`` reads."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for s in sentences:
            fh.write(json.dumps({"text": s.text, "spans": [{"start": a, "end": b, "label": lab}
                                                           for lab, a, b in s.spans]}) + "\n")
    return path


def gold_arguments(sentence: PheeSentence) -> set[tuple[str, int, int]]:
    """Every argument of a sentence's events (deduplicated), including those the flat spans dropped."""
    return {a for ev in sentence.events for a in ev.arguments}


def score_arguments(gold: list[set[tuple[str, int, int]]], pred: list[set[tuple[str, int, int]]],
                    labels: tuple[str, ...] | None = None) -> dict[str, dict[str, float]]:
    """Exact-match precision, recall and F1 (percent) per argument type and for the sub/main groups.

    Args:
        gold: per sentence, the gold (label, start, end) arguments.
        pred: per sentence, the predicted ones.
        labels: types to score (None: every type in gold or pred).

    Returns:
        type (and ``sub-arguments``, ``main arguments``) -> {"p", "r", "f1", "gold", "pred", "tp"}.
    """
    from collections import Counter

    tp, ng, np_ = Counter(), Counter(), Counter()
    for g, p in zip(gold, pred, strict=True):
        for lab, *_ in g:
            ng[lab] += 1
        for lab, *_ in p:
            np_[lab] += 1
        for lab, *_ in g & p:
            tp[lab] += 1
    types = labels or tuple(sorted(set(ng) | set(np_)))

    def prf(ts) -> dict[str, float]:
        t, a, b = sum(tp[x] for x in ts), sum(ng[x] for x in ts), sum(np_[x] for x in ts)
        p = 100 * t / b if b else 0.0
        r = 100 * t / a if a else 0.0
        return {"p": p, "r": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "gold": a, "pred": b, "tp": t}

    out = {x: prf((x,)) for x in types}
    out["sub-arguments"] = prf(SUB_ARGUMENTS)
    out["main arguments"] = prf(MAIN_ARGUMENTS)
    return out


#: Rule-based attribute kind -> PHEE sub-argument label (see :func:`attribute_to_phee`).
ATTRIBUTE_LABELS = {"strength": "DOSAGE", "dose": "DOSAGE", "route": "ROUTE", "frequency": "FREQ",
                    "duration": "DURATION"}
_DURATION_LEAD = re.compile(r"(?:for|over|during|x)\s*", re.I)


def attribute_to_phee(kind: str, text: str, start: int, end: int, source: str = "rules") -> tuple[str, int, int] | None:
    """A rule-based drug attribute as a PHEE sub-argument span, with PHEE's boundary conventions.

    Learned from PHEE train (90% slice): Duration spans leave out the preposition ("for 2 weeks" is
    annotated "2 weeks": 20 of 23 durations after "for"); Dosage is never a percentage (0 of 228: "5%
    dextrose" names a solution, not a dose); a route only implied by the drug's form ("inhaler") is no span.

    Args:
        kind: the attribute kind (``strength``, ``dose``, ``route``, ``frequency``, ``duration``, ...).
        text: the attribute's text; ``start``/``end`` its offsets.
        source: the attribute's source (``implied`` routes are dropped).

    Returns:
        (label, start, end), or None when PHEE would not annotate it.
    """
    label = ATTRIBUTE_LABELS.get(kind)
    if label is None or end <= start or source == "implied":
        return None
    if label == "DOSAGE" and ("%" in text or "percent" in text.lower()):
        return None
    if label == "DURATION":
        m = _DURATION_LEAD.match(text)
        if m and m.end() < len(text):
            start += m.end()
    return label, start, end
