"""medlens: medical text understanding with a clinical spaCy pipeline, an
embedded medical knowledge graph, concept linking and transparent reasoning,
fully offline.

    >>> import medlens
    >>> nlp = medlens.load()                       # needs `medlens kg build` once
    >>> doc = nlp("Denies chest pain. History of MI.")
    >>> [(e.text, e.label_, e._.assertion.status) for e in doc.ents]
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("medlens")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+local"


def load(config=None, *, kg_path: str | None = None, **overrides):
    """A ready spaCy pipeline.

    Args:
        config: a :class:`medlens.config.PipelineConfig`, a dict of its fields, or
            None for the defaults (all components, default knowledge graph).
        kg_path: knowledge graph file; None uses the default location.
        **overrides: any other :class:`~medlens.config.PipelineConfig` field
            (``components=("sections", "sentences")``, ``labels=("DRUG",)``, ...).

    Returns:
        A ``spacy.Language``; call it on text or use ``nlp.pipe(texts)``.

    Raises:
        ConfigError: an unknown or invalid setting (the message names it).
        KnowledgeGraphError: no graph at the path (run ``medlens kg build``).
    """
    from medlens.config import make_config
    from medlens.pipeline import build_pipeline

    return build_pipeline(make_config(config, kg_path=kg_path, **overrides))


def __getattr__(name: str):
    # ``medlens.summarize(...)``: the package medlens/summarize is itself callable (see its __init__)
    if name == "summarize":
        import importlib

        return importlib.import_module("medlens.summarize")
    raise AttributeError(f"module 'medlens' has no attribute {name!r}")


__all__ = ["__version__", "load", "summarize"]
