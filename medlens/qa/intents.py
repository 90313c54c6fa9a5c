"""What a knowledge-graph question asks for: a nearest-prototype intent classifier over the shipped sentence encoder.

The intents and their example wordings are data (``medlens/resources/en/qa/intents.json``): each example is a
question with its medical terms written as ``X`` ("what are the symptoms of X?"). A question is classified
after its own terms (the pipeline's entities and any codes) have been replaced by ``X`` the same way, so the
classifier sees only the wording of the question, never the disease it is about. The score of an intent is the
mean cosine similarity of the question to its ``k`` nearest examples of that intent; the probabilities are a
softmax of those scores (temperature :data:`TEMPERATURE`). Nothing is trained or shipped but the examples: the
example embeddings are computed once per process (about 0.5 s).

::

    clf = IntentClassifier.load()
    clf.classify("which drugs can induce X?")      # IntentPrediction(intent='drugs_inducing', ...)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from medlens.resources import load_resource, resource_path

INTENTS_FILE = "qa/intents.json"
K = 3
"""How many nearest examples of an intent its score averages."""
TEMPERATURE = 0.05
"""Softmax temperature over the intents' scores (cosine similarities)."""


class IntentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str
    examples: list[str] = Field(min_length=1)


class IntentFile(BaseModel):
    """Schema of ``resources/en/qa/intents.json``."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    placeholder: str = "X"
    frame_words: list[str] = Field(default_factory=list, description="words of the question's wording, never of "
                                   "its medical terms (they delimit the terms looked up when the pipeline finds none)")
    name_words: list[str] = Field(default_factory=list, description="frame words that can also be part of a name "
                                  "('Marfan syndrome', 'Lyme disease'): they continue a term already started")
    intents: dict[str, IntentSpec] = Field(min_length=2)


@dataclass(frozen=True)
class IntentPrediction:
    """The classifier's reading of a question.

    Attributes:
        intent: the most likely intent.
        probability: its probability (0..1).
        probabilities: every intent's probability, most likely first.
        nearest: the example wording closest to the question.
    """

    intent: str
    probability: float
    probabilities: dict[str, float]
    nearest: str

    def runner_up(self) -> tuple[str, float]:
        """The second most likely intent and its probability."""
        items = list(self.probabilities.items())
        return items[1] if len(items) > 1 else ("", 0.0)


class IntentClassifier:
    """Nearest-prototype intent classifier over sentence embeddings.

    Args:
        spec: the intents and their example wordings.
        encoder: a :class:`medlens.tagging.encoder.SentenceEncoder` (None: the shipped one).
        k: nearest examples averaged per intent.
        temperature: softmax temperature.
    """

    def __init__(self, spec: IntentFile, encoder=None, k: int = K, temperature: float = TEMPERATURE) -> None:
        if encoder is None:
            from medlens.tagging.encoder import default_encoder

            encoder = default_encoder()
        self.spec = spec
        self.encoder = encoder
        self.k = k
        self.temperature = temperature
        self.intents = list(spec.intents)
        self.texts: list[str] = []
        labels: list[int] = []
        for i, name in enumerate(self.intents):
            for ex in spec.intents[name].examples:
                self.texts.append(ex)
                labels.append(i)
        self.labels = np.asarray(labels)
        self.vectors = encoder.encode(self.texts)

    @classmethod
    def load(cls, path: str | Path | None = None, encoder=None) -> IntentClassifier:
        """The classifier of the shipped intents (or those of ``path``)."""
        return cls(load_resource(path or resource_path(INTENTS_FILE), IntentFile), encoder=encoder)

    def classify(self, masked_question: str) -> IntentPrediction:
        """Classify a question whose medical terms are already replaced by the placeholder.

        Args:
            masked_question: e.g. ``"what are the symptoms of X?"``.

        Returns:
            The :class:`IntentPrediction`.
        """
        return self.classify_many([masked_question])[0]

    def classify_many(self, masked_questions: list[str]) -> list[IntentPrediction]:
        """:meth:`classify` for several questions at once (one encoder call)."""
        if not masked_questions:
            return []
        q = self.encoder.encode(masked_questions)
        sims = q @ self.vectors.T
        out = []
        for row in sims:
            scores = np.empty(len(self.intents))
            for i in range(len(self.intents)):
                s = np.sort(row[self.labels == i])[::-1][: self.k]
                scores[i] = float(s.mean())
            z = np.exp((scores - scores.max()) / self.temperature)
            p = z / z.sum()
            order = np.argsort(-p)
            probs = {self.intents[i]: round(float(p[i]), 4) for i in order}
            best = int(order[0])
            members = np.flatnonzero(self.labels == best)
            nearest = self.texts[int(members[np.argmax(row[members])])]
            out.append(IntentPrediction(self.intents[best], float(p[best]), probs, nearest))
        return out


@lru_cache(maxsize=1)
def default_classifier() -> IntentClassifier:
    """The shipped intents on the shipped encoder, built once per process."""
    return IntentClassifier.load()


__all__ = ["IntentClassifier", "IntentFile", "IntentPrediction", "default_classifier"]
