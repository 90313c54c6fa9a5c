"""medlens: medical text understanding with a clinical spaCy pipeline, an
embedded medical knowledge graph, concept linking and transparent reasoning,
fully offline.

    >>> import medlens
    >>> nlp = medlens.load()                       # needs `medlens kg build` once
    >>> doc = nlp("Denies chest pain. History of MI.")
    >>> [(e.text, e.label_, e._.assertion.status) for e in doc.ents]
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: spaCy and the pipeline are imported when load() is called
    from spacy.language import Language

    from medlens.config import PipelineConfig

try:
    __version__ = version("medlens")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+local"


class _ThincWithoutTorch:
    """Keep thinc from importing PyTorch: ``thinc.compat`` imports torch whenever it is installed
    (``medlens[train]``), which costs 2-3 s of every start although the pipeline never runs torch
    through thinc (the models run in ONNX Runtime). Only an import made by ``thinc.compat`` itself is
    refused; ``import torch`` anywhere else works as usual. ``MEDLENS_THINC_TORCH=1`` turns this off
    (for spaCy pipelines with PyTorch layers, e.g. spacy-transformers, in the same process).
    """

    def find_spec(self, name, path=None, target=None):
        if name != "torch" and not name.startswith("torch."):
            return None
        frame = sys._getframe(1)
        for _ in range(30):
            if frame is None:
                break
            if frame.f_globals.get("__name__") == "thinc.compat":
                raise ModuleNotFoundError("medlens keeps thinc from importing torch (MEDLENS_THINC_TORCH=1 "
                                          "allows it)", name=name)
            frame = frame.f_back
        return None


if (os.environ.get("MEDLENS_THINC_TORCH", "") in ("", "0") and "thinc.compat" not in sys.modules
        and not any(isinstance(f, _ThincWithoutTorch) for f in sys.meta_path)):
    sys.meta_path.insert(0, _ThincWithoutTorch())


_HEAP_FROZEN = False


def _freeze_heap_once() -> None:
    """After the first pipeline of the process is loaded, move the objects alive then (modules, the
    pipeline, its tables) to Python's permanent generation (``gc.freeze``): full garbage collections,
    which otherwise walk all of them again and again (0.1 s each, about every 60 notes of ``nlp.pipe``),
    then skip them. Frozen objects are still freed by reference counting; only cycles among them are
    not collected. Once per process; ``MEDLENS_GC_FREEZE=0`` turns it off."""
    global _HEAP_FROZEN
    if _HEAP_FROZEN or os.environ.get("MEDLENS_GC_FREEZE", "").strip() == "0":
        return
    _HEAP_FROZEN = True
    import gc

    gc.freeze()


def load(config: PipelineConfig | dict[str, Any] | None = None, *, kg_path: str | None = None,
         **overrides: Any) -> Language:
    """A ready spaCy pipeline.

    Args:
        config: a :class:`medlens.config.PipelineConfig`, a dict of its fields, or
            None for the defaults (all components, default knowledge graph).
        kg_path: knowledge graph file; None uses the default location.
        **overrides: any other :class:`~medlens.config.PipelineConfig` field
            (``components=("sections", "sentences")``, ``labels=("DRUG",)``, ...).

    Returns:
        A ``spacy.Language``; call it on text or use ``nlp.pipe(texts)``. The first load of a process
        also moves what is alive to Python's permanent GC generation (``gc.freeze``; see
        ``_freeze_heap_once``; ``MEDLENS_GC_FREEZE=0`` turns it off).

    Raises:
        ConfigError: an unknown or invalid setting (the message names it).
        KnowledgeGraphError: no graph at the path (run ``medlens kg build``).
    """
    from medlens.config import make_config
    from medlens.pipeline import build_pipeline

    nlp = build_pipeline(make_config(config, kg_path=kg_path, **overrides))
    _freeze_heap_once()
    return nlp


def __getattr__(name: str):
    # ``medlens.summarize(...)``: the package medlens/summarize is itself callable (see its __init__)
    if name == "summarize":
        import importlib

        return importlib.import_module("medlens.summarize")
    # ``medlens.ask(question, context=None, docs=None)``: questions answered with evidence (medlens/qa/api.py)
    if name == "ask":
        from medlens.qa.api import ask

        return ask
    raise AttributeError(f"module 'medlens' has no attribute {name!r}")


__all__ = ["__version__", "ask", "load", "summarize"]
