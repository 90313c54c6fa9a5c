"""Where the shipped models are, how many threads models may use and where embeddings are cached (no medlens
imports but errors)."""

from __future__ import annotations

import os
from pathlib import Path

from medlens.errors import ConfigError, Errors

ASSETS = Path(__file__).resolve().parent / "assets"
NER_DIR = ASSETS / "ner"
"""Where the shipped transformer recognizer lives (``model.int8.onnx``, ``tokenizer.json``, ``labels.json``)."""
CLASSIFIER_DIR = ASSETS / "classifier"
"""Where the shipped document classifier lives (``model.int8.onnx``, ``tokenizer.json``, ``labels.json``)."""
ADE_DIR = ASSETS / "ade"
"""Where the shipped adverse-drug-event tagger lives (``model.int8.onnx``, ``tokenizer.json``, ``labels.json``)."""
ENCODER_DIR = ASSETS / "encoder"
"""Where the shipped sentence encoder lives (``model.int8.onnx``, ``tokenizer.json``, ``encoder.json``)."""
RELATIONS_DIR = ASSETS / "relations"
"""Where the shipped relation model lives (``model.int8.onnx``, ``tokenizer.json``, ``labels.json``; ``medlens_relations``)."""


THREADS_ENV = "MEDLENS_THREADS"
CACHE_ENV = "MEDLENS_CACHE"


def cache_dir() -> Path:
    """Where embeddings are cached (the reasoning layer's concepts, the mention normalizer's texts):
    ``$MEDLENS_CACHE``, else ``$XDG_CACHE_HOME/medlens`` or ``~/.cache/medlens``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "medlens"


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity on Linux)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """Threads a model may use when none are given: ``$MEDLENS_THREADS`` if set, else
    :func:`available_cores`. Batch workers set the variable to their share of the cores,
    so N worker processes do not each start one thread per core."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if not value:
        return available_cores()
    try:
        return max(1, int(value))
    except ValueError as exc:
        raise ConfigError(Errors.E003.format(details=f"{THREADS_ENV} must be a whole number, got {value!r}")) from exc


def worker_threads(workers: int) -> int:
    """Each of ``workers`` processes' share of :func:`available_cores` (at least 1): what a worker sets
    ``$MEDLENS_THREADS`` to, unless the user set it."""
    return max(1, available_cores() // max(1, workers))
