"""Which note section a dialogue turn feeds: a small naive Bayes classifier trained on weak labels.

Weak labels come from conversations with their written notes (ACI-bench
train): each sentence of the note is mapped to the dialogue turn whose words
it shares most, and that turn is labeled with the sentence's section; turns no
note sentence maps to are ``none``. The classifier reads the turn's words, its
speaker, its relative position and the previous turn's words; its counts are
data (``resources/en/dialogue_turns.json``), written by :func:`train_turn_classifier`.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict

from medlens.resources import load_resource, resource_path

SECTIONS = ("chief_complaint", "history_of_present_illness", "review_of_systems", "physical_exam", "results",
            "assessment_and_plan")
LABELS = (*SECTIONS, "none")

# headers of written notes (ACI-bench style) -> the six sections of the visit note
NOTE_HEADERS: dict[str, str] = {
    "chief complaint": "chief_complaint", "cc": "chief_complaint", "reason for visit": "chief_complaint",
    "history of present illness": "history_of_present_illness", "hpi": "history_of_present_illness",
    "history": "history_of_present_illness", "medical history": "history_of_present_illness",
    "past history": "history_of_present_illness", "past medical history": "history_of_present_illness",
    "surgical history": "history_of_present_illness", "social history": "history_of_present_illness",
    "family history": "history_of_present_illness", "medications": "history_of_present_illness",
    "current medications": "history_of_present_illness", "allergies": "history_of_present_illness",
    "review of systems": "review_of_systems", "ros": "review_of_systems",
    "physical exam": "physical_exam", "physical examination": "physical_exam", "exam": "physical_exam",
    "vitals": "physical_exam", "vitals reviewed": "physical_exam", "vital signs": "physical_exam",
    "results": "results", "imaging": "results", "labs": "results", "data": "results",
    "assessment and plan": "assessment_and_plan", "assessment": "assessment_and_plan", "plan": "assessment_and_plan",
    "impression": "assessment_and_plan", "instructions": "assessment_and_plan", "impression and plan": "assessment_and_plan",
    "procedure": "assessment_and_plan",
}
_HEADER = re.compile(r"^\s*([A-Za-z][A-Za-z /&]{1,40}?)\s*:?\s*$")
_WORD = re.compile(r"[a-z][a-z'\-]*|\d+")
_STOP = frozenset("the a an and or of to in on at for is are was were be been it this that with as by from so um uh "
                  "okay yeah".split())


class TurnModel(BaseModel):
    """Naive Bayes counts (``resources/en/dialogue_turns.json``)."""

    model_config = ConfigDict(extra="forbid")

    version: str = "1"
    description: str = ""
    labels: list[str]
    priors: dict[str, float]
    totals: dict[str, float]
    vocabulary: int
    counts: dict[str, dict[str, float]]


def load_turn_model(path: str | None = None) -> TurnModel:
    """The shipped turn classifier (or one at ``path``)."""
    return load_resource(path or "dialogue_turns.json", TurnModel)


def words(text: str) -> list[str]:
    """Lower-case word tokens of a text."""
    return _WORD.findall(text.lower())


def turn_features(turns: Sequence[tuple[str, str]], i: int) -> list[str]:
    """Features of turn ``i`` of ``(speaker, text)`` turns: words, bigrams, speaker, position, previous turn."""
    speaker, text = turns[i]
    w = [x for x in words(text) if x not in _STOP]
    feats = [f"w:{x}" for x in w] + [f"b:{a}_{b}" for a, b in zip(w, w[1:])]
    feats.append(f"spk:{speaker}")
    pos = int(10 * i / max(1, len(turns)))
    feats += [f"pos:{pos}", f"spkpos:{speaker}:{pos}"]
    if i > 0:
        pspeaker, ptext = turns[i - 1]
        feats += [f"pw:{x}" for x in words(ptext) if x not in _STOP][:30]
        feats.append(f"pspk:{pspeaker}")
        if ptext.rstrip().endswith("?"):
            feats.append("after_question")
    n_words = len(words(text))
    feats.append(f"len:{min(4, n_words // 8)}")
    return feats


def predict_sections(model: TurnModel, turns: Sequence[tuple[str, str]]) -> list[tuple[str, float]]:
    """The most probable section of each turn with its probability.

    Args:
        model: the turn classifier.
        turns: ``(speaker, text)`` pairs in order.

    Returns:
        One ``(label, probability)`` per turn; ``label`` is one of :data:`LABELS`.
    """
    out = []
    for i in range(len(turns)):
        feats = turn_features(turns, i)
        scores = {}
        for label in model.labels:
            counts = model.counts.get(label, {})
            denom = model.totals[label] + model.vocabulary
            s = math.log(model.priors[label])
            for f in feats:
                s += math.log((counts.get(f, 0.0) + 1.0) / denom)
            scores[label] = s
        top = max(scores.values())
        z = sum(math.exp(v - top) for v in scores.values())
        best = max(scores, key=scores.get)
        out.append((best, 1.0 / z))
    return out


def split_note(note: str) -> list[tuple[str, str]]:
    """A written note's sentences with their visit-note section (text before any known header: ``none``)."""
    section = "none"
    out: list[tuple[str, str]] = []
    for line in note.splitlines():
        stripped = line.strip().strip("•-* ").strip()
        if not stripped:
            continue
        m = _HEADER.match(stripped)
        if m and m.group(1).strip().lower() in NOTE_HEADERS and (stripped.isupper() or stripped.endswith(":")):
            section = NOTE_HEADERS[m.group(1).strip().lower()]
            continue
        head, sep, rest = stripped.partition(":")
        if sep and head.strip().lower() in NOTE_HEADERS and head.isupper():
            section = NOTE_HEADERS[head.strip().lower()]
            stripped = rest.strip()
            if not stripped:
                continue
        for sent in re.split(r"(?<=[.!?])\s+", stripped):
            if sent.strip():
                out.append((section, sent.strip()))
    return out


def weak_labels(turns: Sequence[tuple[str, str]], note: str, min_overlap: float = 0.3) -> list[str]:
    """Label each turn with the section of the note sentences that map to it best (else ``none``)."""
    turn_words = [Counter(x for x in words(t) if x not in _STOP) for _, t in turns]
    votes: list[Counter] = [Counter() for _ in turns]
    for section, sent in split_note(note):
        if section == "none":
            continue
        sw = Counter(x for x in words(sent) if x not in _STOP)
        if not sw:
            continue
        size = sum(sw.values())
        best, best_score = None, 0.0
        for i, tw in enumerate(turn_words):
            if not tw:
                continue
            overlap = sum((sw & tw).values())
            score = overlap / size
            if score > best_score:
                best, best_score = i, score
        if best is not None and best_score >= min_overlap:
            votes[best][section] += best_score
    return [v.most_common(1)[0][0] if v else "none" for v in votes]


def train_turn_classifier(examples: Iterable[tuple[Sequence[tuple[str, str]], str]], *, min_count: int = 2,
                          description: str = "") -> TurnModel:
    """Train the turn classifier from conversations and their written notes.

    Args:
        examples: ``(turns, note)`` pairs, turns as ``(speaker, text)``.
        min_count: features seen fewer times are dropped (keeps the file small).
        description: written into the model file (data and date).

    Returns:
        The :class:`TurnModel`; save it with ``path.write_text(model.model_dump_json())``.
    """
    counts: dict[str, Counter] = defaultdict(Counter)
    label_n: Counter = Counter()
    for turns, note in examples:
        labels = weak_labels(turns, note)
        for i, label in enumerate(labels):
            label_n[label] += 1
            counts[label].update(turn_features(turns, i))
    total_features: Counter = Counter()
    for c in counts.values():
        total_features.update(c)
    keep = {f for f, n in total_features.items() if n >= min_count}
    n = sum(label_n.values())
    labels = [lab for lab in LABELS if label_n[lab]]
    return TurnModel(
        description=description, labels=labels,
        priors={lab: label_n[lab] / n for lab in labels},
        totals={lab: float(sum(v for f, v in counts[lab].items() if f in keep)) for lab in labels},
        vocabulary=len(keep),
        counts={lab: {f: float(v) for f, v in counts[lab].items() if f in keep} for lab in labels},
    )


def shipped_model_path():
    """Where the shipped turn classifier lives."""
    return resource_path("dialogue_turns.json")
