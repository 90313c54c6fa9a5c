"""Building the spaCy pipeline from a validated config.

``build_pipeline`` starts from ``spacy.blank("en")`` (no downloaded spaCy
model; its tokenizer also splits a comma standing for a flattened line break,
``"intact.,PAST"`` -> ``"intact" "." "," "PAST"``), adds the ``medlens_*`` components in order, and checks with spaCy's
own pipe analysis that every attribute a component requires is assigned by an
earlier one. The knowledge graph is opened once per path and shared by every
component that needs it.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING

from medlens.components import MODULES
from medlens.config import PipelineConfig
from medlens.errors import Errors, PipelineError
from medlens.kg.store import shared_graph  # noqa: F401 (re-exported: one shared graph per path)

if TYPE_CHECKING:  # spaCy is imported when a pipeline is built, after its models have started loading
    from spacy.language import Language


def split_joined_lines(nlp: Language) -> None:
    """Teach ``nlp``'s tokenizer the comma of a line break flattened to a comma.

    Transcribed notes exported on one line write ``"...access.,POSTOPERATIVE
    DIAGNOSIS:,1.  Need"``; spaCy's English rules keep ``",POSTOPERATIVE"`` and
    ``"DIAGNOSIS:,1"`` whole, so no header, sentence or entity could start
    there. A leading comma becomes a prefix, and a comma right after ``.``,
    ``:`` or ``;`` (and the colon before it) an infix.
    """
    old = nlp.tokenizer
    nlp.tokenizer = _clinical_tokenizer(nlp, rules=old.rules, suffix_search=old.suffix_search,
                                        token_match=old.token_match, url_match=old.url_match,
                                        faster_heuristics=old.faster_heuristics)


def _clinical_tokenizer(nlp: Language, **settings):
    """A tokenizer with ``nlp``'s prefixes and infixes plus the comma of a flattened line break
    (see :func:`split_joined_lines`) and the other ``settings`` of ``spacy.Tokenizer``.

    A new tokenizer rather than new ``prefix_search`` and ``infix_finditer`` on the old one:
    each of those would reload its ~4,000 special cases (0.15 s of every start).
    """
    from spacy.tokenizer import Tokenizer
    from spacy.util import compile_infix_regex, compile_prefix_regex

    prefixes = list(nlp.Defaults.prefixes or []) + [","]
    infixes = list(nlp.Defaults.infixes or []) + [r"(?<=[.?!:;]),(?=\S)", r"(?<=[A-Za-z0-9)\]]):(?=,)"]
    return Tokenizer(nlp.vocab, prefix_search=compile_prefix_regex(prefixes).search,
                     infix_finditer=compile_infix_regex(infixes).finditer, **settings)


CLINICAL_TOKENIZER = "medlens.ClinicalTokenizer.v1"
"""spaCy registry name of the tokenizer :func:`build_pipeline` uses: English plus
:func:`split_joined_lines`, built once (``spacy.blank`` would build the English one first)."""


def _make_clinical_tokenizer(nlp: Language):
    from spacy.util import compile_suffix_regex

    d = nlp.Defaults
    return _clinical_tokenizer(nlp, rules=d.tokenizer_exceptions,
                               suffix_search=compile_suffix_regex(d.suffixes).search if d.suffixes else None,
                               token_match=d.token_match, url_match=d.url_match)


def _register_tokenizer() -> None:
    from spacy.util import registry

    if CLINICAL_TOKENIZER not in registry.tokenizers:
        registry.tokenizers.register(CLINICAL_TOKENIZER, func=lambda: _make_clinical_tokenizer)


def _component_config(name: str, config: PipelineConfig) -> dict:
    if name == "dictionary_ner":
        return {"kg_path": config.kg_path, "labels": list(config.labels) if config.labels else None}
    if name == "transformer_ner":
        return {"model_path": config.model_path}
    if name == "classifier":
        return {"model_path": config.classifier_path, **config.classifier.model_dump()}
    if name == "linker":
        return {"kg_path": config.kg_path, **config.linker.model_dump()}
    if name == "context":
        return {"rules": config.context.rules, "section_defaults": config.context.section_defaults}
    if name == "relations":
        return {"model_path": config.relations_model_path, "kg_path": config.kg_path, "ids": config.relations_ids,
                "semantic": config.relations_semantic}
    if name == "adverse_events":
        return {"model_path": config.ade_model_path, "use_model": "transformer_ner" in config.components}
    return {}


def build_pipeline(config: PipelineConfig) -> Language:
    """A spaCy ``Language`` with the configured medlens components.

    Raises:
        PipelineError: a component reads an attribute that no earlier component writes.
        KnowledgeGraphError: the knowledge graph is missing or unreadable.
    """
    from medlens.tagging.files import discard_prefetched

    prefetch_models(config)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # building makes millions of long-lived objects (the match index): no garbage to find, 15% faster
    try:
        import spacy

        from medlens.components import register_all

        register_all()
        _register_tokenizer()
        nlp = spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": CLINICAL_TOKENIZER}}})
        nlp.max_length = config.max_chars
        for name in config.components:
            nlp.add_pipe(f"medlens_{name}", config=_component_config(name, config))
    finally:
        discard_prefetched()
        if gc_was_enabled:
            gc.enable()
    check_order(nlp)
    nlp.meta["medlens"] = config.model_dump(mode="json")
    return nlp


def prefetch_models(config: PipelineConfig) -> None:
    """Start loading the ONNX sessions of ``config``'s model components in background threads.

    They load while spaCy is imported and the other components are built (ready in about
    half the time); each component then takes its session. Only the files a component would
    load itself are prefetched, with the same threads, so the pipeline is the same either way.
    """
    from medlens.runtime import ADE_DIR, CLASSIFIER_DIR, NER_DIR
    from medlens.tagging.files import model_file_in, prefetch_onnx_session

    wanted = []
    if "transformer_ner" in config.components:
        wanted.append((config.model_path or NER_DIR, 1))  # OnnxTagger: one intra-op thread per run
        if "adverse_events" in config.components:
            wanted.append((config.ade_model_path or ADE_DIR, 1))
    if "classifier" in config.components:
        wanted.append((config.classifier_path or CLASSIFIER_DIR, 1))  # OnnxClassifier: one intra-op thread per run
    for folder, threads in wanted:
        folder = Path(folder)
        model_file = model_file_in(folder) if folder.is_dir() else None
        if model_file is not None:
            prefetch_onnx_session(model_file, threads)


def check_order(nlp: Language) -> None:
    """Raise if a component requires an attribute that no earlier component assigns."""
    from spacy.language import Language
    analysis = nlp.analyze_pipes(pretty=False)
    problems = {name: attrs for name, attrs in analysis["problems"].items() if attrs}
    if not problems:
        return
    name, attrs = next(iter(problems.items()))
    providers = [f"medlens_{c}" for c in MODULES
                 if any(a in (Language.get_factory_meta(f"medlens_{c}").assigns or []) for a in attrs)]
    raise PipelineError(Errors.E002.format(name=name, attr=", ".join(attrs), order=" -> ".join(nlp.pipe_names),
                                           providers=", ".join(providers) or "a component that sets it"))
