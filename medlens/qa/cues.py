"""The cue-count research-question model: counts of result cues in the context + multinomial logistic regression.

A baseline, shipped because it is the only model that beat the majority class in 5-fold cross-validation on
the 500 PubMedQA questions (57.0 % accuracy, macro-F1 36.8; the majority class is 55.2 %). It reads the
context only, not the question. The cues (negation, no-effect phrases, significance, p-values, hedging,
direction words) are regular expressions in ``medlens/resources/en/research_cues.json``; the features are
``log(1 + count)`` of each cue over the whole context and over its last two sentences
(:func:`cue_features`, shared by training and run time). The model file (``medlens/assets/qa/cues.json``,
``task: research-question``, ``kind: cues-logreg``) holds the feature names, the standardisation (mean,
scale), the coefficients and intercepts and the class order; probabilities are the softmax of
``coef @ ((x - mean) / scale) + intercept``. Pure Python: no numpy, no scikit-learn.

Evidence: the sentences carrying cues, each scored by how much the answer's probability drops when its cue
matches are taken out of the counts (:meth:`CueModel.sentence_drops`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from medlens.errors import Errors, ModelError
from medlens.qa.pairs import LABELS, split_sentences
from medlens.resources import load_resource

CUES_FILE = "research_cues.json"
MODEL_FILE = "cues.json"
TASK = "research-question"
KIND = "cues-logreg"


class Cue(BaseModel):
    """One cue: a name and a regular expression matched on the lower-cased text."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    pattern: str = Field(min_length=1)


class CueRules(BaseModel):
    """The file ``research_cues.json``."""

    model_config = ConfigDict(extra="forbid")
    description: str = ""
    tail_sentences: int = Field(ge=1)
    cues: list[Cue] = Field(min_length=1)


@lru_cache(maxsize=8)
def _compiled(path: str) -> tuple[int, tuple[tuple[str, re.Pattern], ...], str]:
    rules = load_resource(path, CueRules)
    compiled = tuple((c.name, re.compile(c.pattern)) for c in rules.cues)
    digest = hashlib.sha256(json.dumps([[c.name, c.pattern] for c in rules.cues]).encode("utf-8")).hexdigest()[:16]
    return rules.tail_sentences, compiled, digest


def cue_rules(path: str | Path = CUES_FILE) -> tuple[int, tuple[tuple[str, re.Pattern], ...], str]:
    """``(tail_sentences, ((name, compiled pattern), ...), digest of the patterns)`` of a cue file."""
    return _compiled(str(path))


def feature_names(path: str | Path = CUES_FILE) -> list[str]:
    """The feature names in :func:`cue_features` order: ``<cue>:all`` and ``<cue>:tail`` for each cue."""
    _, cues, _ = cue_rules(path)
    return [f"{name}:{part}" for name, _ in cues for part in ("all", "tail")]


def count_cues(text: str, path: str | Path = CUES_FILE) -> list[int]:
    """How often each cue matches ``text`` (lower-cased), in the cue file's order."""
    _, cues, _ = cue_rules(path)
    low = text.lower()
    return [len(pattern.findall(low)) for _, pattern in cues]


def _tail_text(text: str, spans: list[tuple[int, int]], tail: int) -> str:
    return " ".join(text[s:e] for s, e in spans[-tail:])


def counts_to_features(whole: list[int], tail: list[int]) -> list[float]:
    """``log(1 + count)`` of each cue over the whole text and over its tail, interleaved (see :func:`feature_names`)."""
    return [math.log1p(v) for w, t in zip(whole, tail) for v in (max(w, 0), max(t, 0))]


def cue_features(text: str, path: str | Path = CUES_FILE) -> list[float]:
    """The features of a context: ``log(1 + count)`` of each cue over the whole text and over its last
    ``tail_sentences`` sentences (:func:`medlens.qa.pairs.split_sentences`). Training and run time both call this."""
    tail, _, _ = cue_rules(path)
    spans = split_sentences(text)
    return counts_to_features(count_cues(text, path), count_cues(_tail_text(text, spans, tail), path))


def _softmax(z: list[float]) -> list[float]:
    top = max(z)
    e = [math.exp(v - top) for v in z]
    s = sum(e)
    return [v / s for v in e]


class CueModel:
    """A loaded cue-count logistic-regression model (see the module doc)."""

    def __init__(self, meta: dict, path: Path) -> None:
        self.path = path
        self.name = str(meta.get("name", "cues-logreg"))
        self.labels = list(meta["labels"])
        self.mean = [float(v) for v in meta["scaler"]["mean"]]
        self.scale = [float(v) or 1.0 for v in meta["scaler"]["scale"]]
        self.coef = [[float(v) for v in row] for row in meta["coef"]]
        self.intercept = [float(v) for v in meta["intercept"]]
        self.maybe_margin = float(meta.get("maybe_margin", 0.0))
        self.cues_file = str(meta.get("cues_file", CUES_FILE))
        self.tail = cue_rules(self.cues_file)[0]

    def probabilities_of_features(self, x: list[float]) -> dict[str, float]:
        """``{label: probability}`` (softmax over the classes) of one feature vector."""
        z = [(v - m) / s for v, m, s in zip(x, self.mean, self.scale)]
        logits = [b + sum(w * v for w, v in zip(row, z)) for row, b in zip(self.coef, self.intercept)]
        return dict(zip(self.labels, _softmax(logits)))

    def probabilities(self, text: str) -> dict[str, float]:
        """``{label: probability}`` of a context."""
        return self.probabilities_of_features(cue_features(text, self.cues_file))

    def sentence_drops(self, text: str, sentences: list[str], tail_index: set[int], label: str) -> list[tuple[float, list[str]]]:
        """For each sentence: how much ``label``'s probability drops when the sentence's cue matches are taken out
        of the counts of ``text`` (the whole context; ``tail_index``: the sentences in its tail), and the names of
        the cues it carries. A sentence without cues drops nothing."""
        spans = split_sentences(text)
        whole = count_cues(text, self.cues_file)
        tail = count_cues(_tail_text(text, spans, self.tail), self.cues_file)
        base = self.probabilities_of_features(counts_to_features(whole, tail))[label]
        names = [n for n, _ in cue_rules(self.cues_file)[1]]
        out = []
        for k, sentence in enumerate(sentences):
            own = count_cues(sentence, self.cues_file)
            if not any(own):
                out.append((0.0, []))
                continue
            w = [a - b for a, b in zip(whole, own)]
            t = [a - b for a, b in zip(tail, own)] if k in tail_index else tail
            p = self.probabilities_of_features(counts_to_features(w, t))[label]
            out.append((base - p, [n for n, c in zip(names, own) if c]))
        return out


def _bad(path: Path, details: str) -> ModelError:
    return ModelError(Errors.E346.format(path=path, details=details))


def read_cue_model(path: str | Path) -> CueModel:
    """Read and check a cue model file (``cues.json``).

    Raises:
        ModelError: the file is not a research-question cue model, or its features do not match the cue file
            it was trained with (E346).
    """
    path = Path(path)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise _bad(path, f"cannot read {path.name}: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("task") != TASK or meta.get("kind") != KIND:
        raise _bad(path, f"{path.name} needs 'task': '{TASK}' and 'kind': '{KIND}'")
    if sorted(meta.get("labels") or []) != sorted(LABELS):
        raise _bad(path, f"labels {meta.get('labels')!r}, expected {list(LABELS)}")
    cues_file = str(meta.get("cues_file", CUES_FILE))
    names = feature_names(cues_file)
    if meta.get("features") != names:
        raise _bad(path, f"its features {meta.get('features')!r} are not those of {cues_file} ({names})")
    if meta.get("cues_digest") not in (None, cue_rules(cues_file)[2]):
        raise _bad(path, f"{cues_file} changed since the model was trained (retrain it: benchmarks/pubmedqa_cv.py --ship)")
    n, k = len(names), len(LABELS)
    try:
        ok = (len(meta["scaler"]["mean"]) == n and len(meta["scaler"]["scale"]) == n and len(meta["coef"]) == k
              and all(len(r) == n for r in meta["coef"]) and len(meta["intercept"]) == k)
        model = CueModel(meta, path)
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(path, f"bad or missing weights ({exc!r})") from exc
    if not ok:
        raise _bad(path, f"weights of the wrong shape (expected {k} classes x {n} features)")
    return model


__all__ = [
    "KIND",
    "MODEL_FILE",
    "TASK",
    "CueModel",
    "CueRules",
    "count_cues",
    "cue_features",
    "feature_names",
    "read_cue_model",
]
