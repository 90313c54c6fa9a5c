"""Validated settings for pipelines (pydantic, unknown keys rejected)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from medlens.errors import ConfigError, Errors
from medlens.runtime import CLASSIFIER_DIR, NER_DIR, THREADS_ENV, available_cores, default_threads  # noqa: F401 (re-exported)

RULES_ONLY = ("sections", "sentences", "dictionary_ner", "linker", "context", "drug_attributes", "adverse_events")
"""The pipeline without models: the dictionary recognizer alone finds entities, drug attributes
and adverse events are read by rules (about 10x the speed of :data:`COMPONENTS`; what
``medlens analyze --no-model`` runs)."""

def with_model_components(classifier_dir: Path = CLASSIFIER_DIR, ner_dir: Path = NER_DIR) -> tuple[str, ...]:
    """:data:`RULES_ONLY` plus the shipped models this installation holds: the transformer
    recognizer (before the dictionary) if ``ner_dir`` has ``model.int8.onnx``, and the document
    classifier (last) if ``classifier_dir`` has one."""
    ner = ("transformer_ner",) if (ner_dir / "model.int8.onnx").is_file() else ()
    base = ("sections", "sentences", *ner, "dictionary_ner", "linker", "context", "drug_attributes", "adverse_events")
    return base + (("classifier",) if (classifier_dir / "model.int8.onnx").is_file() else ())


COMPONENTS = with_model_components()
"""Default component order (each name ``x`` is the spaCy factory ``medlens_x``): sections,
sentences, the shipped transformer recognizer (model spans win on boundaries; the dictionary
adds what the model does not cover and the graph supplies the concept links), the dictionary
recognizer, concept linking (which may relabel or drop an entity), assertion context (on the final labels),
drug attributes, adverse drug events and, when this installation ships
``medlens/assets/classifier/model.int8.onnx``, the document classifier (``doc.cats``). A model
file that is absent leaves its component out, so the default works either way; asking for
``"classifier"`` or ``"transformer_ner"`` explicitly without a model raises
:class:`~medlens.errors.ModelError`."""

WITH_MODEL = COMPONENTS
"""Kept for code written when the models were opt-in: the same as :data:`COMPONENTS`."""

ComponentName = Literal["sections", "sentences", "transformer_ner", "dictionary_ner", "context", "linker", "classifier",
                        "drug_attributes", "adverse_events", "relations"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LinkerSettings(_Strict):
    """Concept linking. ``top_k``: links kept per entity; ``fuzzy``: fall back to
    edit-distance matching; ``fuzzy_threshold``: minimum 0..1 ratio for it;
    ``source_priority``: per entity label, the order of sources (labels not named keep
    the default order, e.g. ``{"DISEASE": ["mesh", "icd10cm"]}``); ``prefer``: sources
    whose ids come first for every label (``["mesh"]``: MeSH ids first, with the MeSH
    equivalents of ICD-10-CM/HPO/DrugBank candidates added; ``medlens analyze --prefer``);
    ``label_from_link``: a model entity whose first link is exact or normalized takes the
    concept's FINDING or ANATOMY label ("hypopnea", "adnexa"), or PROCEDURE for a name of
    several words ("steroid injection"); a model DISEASE "<finding> of <place>" takes the
    finding's label, an organ whose "-itis" is a disease is ANATOMY ("epiglottis"), an unlinked
    DISEASE of an exam is a FINDING ("normocephalic"; default True); ``keep_kind``: a partial link
    of a document's entity may leave out only qualifiers (side, part, amount, time, certainty), never the
    organ or the kind ("radicular pain" gets no link rather than *Pain*; default True)."""

    top_k: int = Field(5, ge=1, le=50)
    fuzzy: bool = True
    fuzzy_threshold: float = Field(0.85, ge=0.5, le=1.0)
    source_priority: dict[str, list[str]] | None = None
    prefer: list[str] | None = None
    label_from_link: bool = True
    keep_kind: bool = True

    @field_validator("prefer")
    @classmethod
    def _known_names(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        from medlens.kg.store import vocabulary_name

        names = [vocabulary_name(v) for v in value if v.strip()]
        if len(set(names)) != len(names):
            raise ValueError(f"a source is listed twice: {value}")
        return names or None


class ContextSettings(_Strict):
    """Assertion detection. ``rules``: a rules JSON path (None = shipped rules);
    ``section_defaults``: let sections such as family history set flags."""

    rules: str | None = None
    section_defaults: bool = True


class ClassifierSettings(_Strict):
    """Document classification. ``batch_size``: most documents per ONNX Runtime call;
    ``max_tokens``: most positions (documents x subwords) per call, at least one document
    (None: ``batch_size`` alone; small calls run faster, see
    :class:`~medlens.components.classifier.OnnxClassifier`);
    ``threshold``: a multi-label model predicts every label with at least this probability
    (``doc.cats`` always holds every label's probability)."""

    batch_size: int = Field(32, ge=1, le=1024)
    max_tokens: int | None = Field(512, ge=1)
    threshold: float = Field(0.5, gt=0.0, lt=1.0)


class PipelineConfig(_Strict):
    """Everything :func:`medlens.load` needs.

    Attributes:
        kg_path: knowledge graph file; None uses the default location
            (``$MEDLENS_KG``, ``$MEDLENS_HOME/kg.sqlite`` or ``~/.local/share/medlens/kg.sqlite``).
        components: component names in order (default: :data:`COMPONENTS`, with the shipped
            models; :data:`RULES_ONLY` without them).
        labels: entity labels to keep (None: all).
        max_chars: longest document accepted, in characters.
        model_path: folder of the transformer recognizer (``transformer_ner``); None uses
            the model shipped in ``medlens/assets/ner``.
        classifier_path: folder of the document classifier (``classifier``; an export folder of
            ``medlens export``); None uses ``medlens/assets/classifier``.
        linker, context, classifier: per-component settings.
        ade_model_path: folder of the adverse-event tagger (``adverse_events``); None uses
            ``medlens/assets/ade`` when it holds a model. The tagger runs only in pipelines with
            the transformer recognizer; otherwise adverse events are read with rules alone.
        relations_model_path: folder of the relation model (``relations``, an optional component: add
            ``"relations"`` after ``linker`` to ``components``; docs/relations.md); None uses
            ``medlens/assets/relations``.
        relations_ids: how the relation component finds an entity's MeSH ids: ``normalizer``
            (the mention normalizer with the document's abbreviations, then the links) or ``links``
            (the first MeSH link, or the first link mapped to MeSH); docs/relations.md.
        relations_semantic: True: the ``normalizer`` way ends with the semantic route (nearest disease
            name by sentence-encoder cosine; the first use embeds the graph's disease names once, cached
            on disk); default False (on CDR dev end to end it lowered F1: docs/relations.md).
    """

    kg_path: str | None = None
    components: tuple[ComponentName, ...] = COMPONENTS
    labels: tuple[str, ...] | None = None
    max_chars: int = Field(2_000_000, ge=1_000)
    model_path: str | None = None
    classifier_path: str | None = None
    ade_model_path: str | None = None
    relations_model_path: str | None = None
    relations_ids: Literal["normalizer", "links"] = "normalizer"
    relations_semantic: bool = False
    linker: LinkerSettings = LinkerSettings()
    context: ContextSettings = ContextSettings()
    classifier: ClassifierSettings = ClassifierSettings()

    @field_validator("components")
    @classmethod
    def _unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"components are listed twice: {list(value)}")
        return value


def make_config(config: PipelineConfig | dict | None = None, **overrides) -> PipelineConfig:
    """Build a :class:`PipelineConfig` from a config, a dict and/or keyword overrides.

    Raises:
        ConfigError: a key is unknown or a value is out of range (the message names it).
    """
    try:
        if isinstance(config, PipelineConfig):
            base = config.model_dump()
        else:
            base = dict(config or {})
        base.update({k: v for k, v in overrides.items() if v is not None})
        return PipelineConfig.model_validate(base)
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']} (got {e.get('input')!r})" for e in exc.errors())
        raise ConfigError(Errors.E003.format(details=details)) from exc
