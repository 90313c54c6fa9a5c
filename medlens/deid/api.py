"""The plain function API: :func:`deidentify` a string, :func:`deidentify_doc` a processed Doc."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc

from medlens.deid.engine import ReplaceOptions, make_options, replace_phi
from medlens.deid.types import DeidResult
from medlens.errors import Errors, InputError


@lru_cache(maxsize=4)
def _pipeline(kg_path: str | None, protect_medical: bool, types: tuple[str, ...] | None, use_lexicon: bool,
              model: str | None) -> Language:
    return deid_pipeline(kg_path=kg_path, protect_medical=protect_medical, types=list(types) if types else None,
                         use_lexicon=use_lexicon, model=model)


def deid_pipeline(kg_path: str | Path | None = None, *, protect_medical: bool = True, types: list[str] | None = None,
                  use_lexicon: bool = True, max_chars: int = 2_000_000, model: str | Path | None = "default",
                  model_threads: int | None = None) -> Language:
    """A spaCy pipeline that finds PHI: ``medlens_sections`` and ``medlens_dictionary_ner``
    (the medical-term guard, when ``protect_medical``) then ``medlens_deid`` (patterns, plus
    the transformer PHI model when one is available).

    Args:
        kg_path: knowledge graph for the guard (default location if None).
        protect_medical: run the dictionary recognizer so that disease and drug names are
            never taken for names; False needs no knowledge graph.
        types: PHI types to find (default: all).
        use_lexicon: find names from the name lexicon without a title or trigger.
        max_chars: the longest document accepted.
        model: the PHI model: ``"default"`` (the shipped ``medlens/assets/deid`` model when it is
            installed, else patterns only), ``"none"``/None (patterns only) or a model folder.
        model_threads: ONNX Runtime threads for the model (None: every core).

    Raises:
        KnowledgeGraphError: ``protect_medical`` and no knowledge graph at ``kg_path``.
        ConfigError: ``model`` is a path that does not exist.
    """
    import spacy

    from medlens.components import register_all
    from medlens.components.deid import make_deid  # noqa: F401 - registers the factory

    register_all()
    nlp = spacy.blank("en")
    nlp.max_length = max_chars
    if protect_medical:
        from medlens.pipeline import shared_graph

        shared_graph(str(kg_path) if kg_path else None)  # fail fast when the graph is missing
        nlp.add_pipe("medlens_sections")
        nlp.add_pipe("medlens_dictionary_ner", config={"kg_path": str(kg_path) if kg_path else None, "labels": None})
    nlp.add_pipe("medlens_deid", config={"types": types, "use_lexicon": use_lexicon,
                                         "model": str(model) if model is not None else "none",
                                         "model_threads": model_threads})
    return nlp


def deidentify_doc(doc: Doc, options: ReplaceOptions | Mapping | None = None, **kwargs) -> DeidResult:
    """Replace the PHI that ``medlens_deid`` found in ``doc``.

    Args:
        doc: a Doc processed by a pipeline containing ``medlens_deid``.
        options: :class:`ReplaceOptions` (or a dict of its fields); keywords override it
            (``default_action``, ``actions``, ``key``, ``max_shift_days``).
    """
    from medlens.components.deid import phi_of

    return replace_phi(doc.text, phi_of(doc), make_options(options, **kwargs))


def deidentify(text: str, options: ReplaceOptions | Mapping | None = None, *, nlp: Language | None = None,
               kg_path: str | Path | None = None, protect_medical: bool = True, model: str | Path | None = "default",
               **kwargs) -> DeidResult:
    """De-identify one text.

    Example::

        result = deidentify("Seen by Dr. Smith on 03/14/2021.", default_action="surrogate", key="patient-42")
        result.text            # "Seen by Dr. Lowe on 05/30/2020."
        result.replacements    # [Replacement(type='NAME', start=11, end=16, new_start=11, new_end=15, ...), ...]

    Args:
        text: the text.
        options: :class:`ReplaceOptions` or a dict of its fields; keywords override it.
        nlp: a pipeline with ``medlens_deid`` to use (default: :func:`deid_pipeline`, built once).
        kg_path: the knowledge graph for the medical-term guard (default location if None).
        protect_medical: guard disease and drug names with the knowledge graph.
        model: the PHI model for the default pipeline (see :func:`deid_pipeline`).
        **kwargs: ``default_action``, ``actions``, ``key``, ``max_shift_days``.

    Raises:
        InputError: ``text`` is not a str.
        ConfigError: an unknown PHI type or action.
        KnowledgeGraphError: ``protect_medical`` and no knowledge graph.
    """
    if not isinstance(text, str):
        raise InputError(Errors.E204.format(type=type(text).__name__))
    opts = make_options(options, **kwargs)
    pipeline = nlp or _pipeline(str(kg_path) if kg_path else None, protect_medical, None, True,
                                str(model) if model is not None else None)
    return deidentify_doc(pipeline(text), opts)
