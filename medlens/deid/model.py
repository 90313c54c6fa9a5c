"""The transformer half of PHI detection: a token-classification model on ONNX Runtime.

The shipped model (``medlens/assets/deid/``: ``model.int8.onnx``, ``tokenizer.json``,
``labels.json``, ``MODEL_CARD.md``) tags words with a compact label set
(:data:`medlens.deid.training_data.MODEL_LABELS`: NAME, ADDRESS, LOCATION, DATE,
CONTACT, ID); :class:`PhiModel` runs it through
:class:`medlens.components.transformer_ner.OnnxTagger` (the same windowing and
decoding as the NER component) and maps its labels to PHI types
(:func:`phi_type_of`). The model is optional: :func:`load_phi_model` returns None
when the asset is absent and detection falls back to the patterns alone.

Nothing is loaded at import time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

from medlens.deid.types import PhiSpan
from medlens.errors import ConfigError, Errors

log = logging.getLogger(__name__)

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "assets" / "deid"
MODEL_CHOICES = ("default", "none")

_EMAIL = re.compile(r"\S+@\S+")
_IP = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:]+")
_URL = re.compile(r"(?i)(?:https?://|www\.)\S+|[\w\-]+(?:\.[\w\-]+)*\.[a-z]{2,}(?:/\S*)?")
_DIGITS = re.compile(r"[\d\s\-]+")

_DIRECT = {"NAME": "NAME", "ADDRESS": "ADDRESS", "LOCATION": "LOCATION", "DATE": "DATE", "ID": "ID", "AGE": "AGE"}


def phi_type_of(label: str, value: str) -> str | None:
    """The PHI type of a model entity: CONTACT becomes EMAIL, IP, URL or PHONE by its form;
    an ADDRESS made of digits only is a ZIP; unknown labels give None."""
    if label == "CONTACT":
        v = value.strip()
        if _EMAIL.fullmatch(v):
            return "EMAIL"
        if _IP.fullmatch(v):
            return "IP"
        if _URL.fullmatch(v) and not _DIGITS.fullmatch(v):
            return "URL"
        return "PHONE"
    if label == "ADDRESS" and _DIGITS.fullmatch(value.strip()) and len(value.strip()) <= 10:
        return "ZIP"
    return _DIRECT.get(label)


class PhiModel:
    """A PHI tagger: model entities as :class:`PhiSpan` (``source="model"``).

    Args:
        tagger: a loaded :class:`medlens.components.transformer_ner.OnnxTagger`.
        batch_size: windows per ONNX Runtime call.
    """

    def __init__(self, tagger, batch_size: int = 32) -> None:
        self.tagger = tagger
        self.batch_size = batch_size

    @classmethod
    def from_path(cls, path: str | Path, threads: int | None = None, batch_size: int = 32) -> PhiModel:
        """Load a model folder (``model.int8.onnx`` preferred) as `medlens export` writes it.

        Raises:
            ModelError: the folder lacks the model, the tokenizer or ``labels.json``.
        """
        from medlens.components.transformer_ner import OnnxTagger

        # read as the PHI model was trained and measured: whole sentences packed into windows, each
        # word's argmax (the BIO decoding that helps the NER model cost 1.3 points of precision on the
        # held-out generated notes here: 99.7 -> 98.4 %, recall unchanged; benchmarks/deid_eval.py)
        return cls(OnnxTagger.from_path(path, threads=threads, pack_sentences=True, constrained=False), batch_size)

    def predict(self, texts: Sequence[str]) -> list[list[PhiSpan]]:
        """PHI spans found by the model in each text (pure)."""
        out = []
        for text, ents in zip(texts, self.tagger.entities(list(texts), batch_size=self.batch_size)):
            spans = []
            for e in ents:
                t = phi_type_of(e.label, text[e.start:e.end])
                if t is not None:
                    spans.append(PhiSpan(type=t, start=e.start, end=e.end, source="model"))
            out.append(spans)
        return out


def load_phi_model(model: str | Path | None = "default", threads: int | None = None) -> PhiModel | None:
    """The PHI model named by ``model``.

    Args:
        model: ``"default"`` — the shipped ``medlens/assets/deid`` model, or None (patterns only)
            when it is not installed; ``"none"`` or None — no model; a path — that model
            folder (it must exist).
        threads: ONNX Runtime threads (None: :func:`~medlens.runtime.default_threads`).

    Raises:
        ConfigError: ``model`` is a path that does not exist.
        ModelError: the model folder is incomplete or unreadable.
    """
    if model is None or model == "none":
        return None
    if model == "default":
        if not any((DEFAULT_MODEL_DIR / f).exists() for f in ("model.int8.onnx", "model.onnx")):
            log.info("no PHI model in %s: de-identification uses the patterns only", DEFAULT_MODEL_DIR)
            return None
        return PhiModel.from_path(DEFAULT_MODEL_DIR, threads=threads)
    path = Path(model)
    if not path.exists():
        raise ConfigError(Errors.E003.format(details=f"PHI model '{path}' does not exist; accepted: a model folder, "
                                                      f"{', '.join(repr(c) for c in MODEL_CHOICES)}"))
    return PhiModel.from_path(path, threads=threads)
