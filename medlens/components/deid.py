"""PHI detection as a spaCy component: ``medlens_deid``.

Finds the HIPAA Safe Harbor identifiers that occur in text (see
:mod:`medlens.deid`) and writes them to ``doc.spans["phi"]``, one span per
identifier labelled with its PHI type. The exact character offsets (which need
not fall on token boundaries) are kept in ``doc.spans["phi"].attrs["phi"]``.

If the pipeline has already recognized medical entities (put
``medlens_dictionary_ner`` before this component), they protect disease and
drug names such as "Parkinson disease" or "Hodgkin lymphoma" from being taken
for person names. Replacing the identifiers is a separate step:
:func:`medlens.deid.deidentify_doc`.
"""

from __future__ import annotations

from collections.abc import Iterable

from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup

from medlens.deid.model import load_phi_model
from medlens.deid.recognizer import HybridRecognizer, PatternRecognizer
from medlens.deid.rules import load_rules
from medlens.deid.types import PhiSpan

SPAN_KEY = "phi"
PROTECT_LABELS = ("DISEASE", "SYMPTOM", "FINDING", "DRUG", "TEST", "PROCEDURE", "ANATOMY")


@Language.factory(
    "medlens_deid",
    assigns=["doc.spans"],
    requires=[],
    default_config={"types": None, "use_lexicon": True, "protect_labels": list(PROTECT_LABELS), "patterns": None,
                    "model": "default", "model_threads": None, "batch_size": 32},
)
def make_deid(nlp: Language, name: str, types: list[str] | None, use_lexicon: bool,
              protect_labels: list[str], patterns: str | None, model: str | None, model_threads: int | None,
              batch_size: int) -> DeidRecognizer:
    return DeidRecognizer(nlp, name=name, types=types, use_lexicon=use_lexicon, protect_labels=protect_labels,
                          patterns=patterns, model=model, model_threads=model_threads, batch_size=batch_size)


class DeidRecognizer:
    """Finds PHI and writes it to ``doc.spans["phi"]``.

    Args:
        nlp: the pipeline (unused; spaCy's factory signature).
        name: component name.
        types: PHI types to find (default: all of :data:`medlens.deid.PHI_TYPES`).
        use_lexicon: also find names from the name lexicon without a title or trigger word.
        protect_labels: labels of existing ``doc.ents`` whose text is never taken for a name or place.
        patterns: a custom ``patterns.json`` (default: the shipped rules).
        model: the PHI model: ``"default"`` (the shipped model when installed, else none),
            ``"none"``/None (patterns only), or a model folder written by ``medlens export``.
        model_threads: ONNX Runtime threads for the model (None: its default, every core).
        batch_size: documents per model call in :meth:`pipe`.

    Raises:
        ConfigError: an unknown PHI type, or a model path that does not exist.
        ModelError: the model folder is incomplete.
    """

    def __init__(self, nlp: Language | None = None, name: str = "medlens_deid", *, types: list[str] | None = None,
                 use_lexicon: bool = True, protect_labels: list[str] | tuple[str, ...] = PROTECT_LABELS,
                 patterns: str | None = None, model: str | None = "default", model_threads: int | None = None,
                 batch_size: int = 32) -> None:
        self.name = name
        self.patterns = PatternRecognizer(load_rules(patterns), types=types, use_lexicon=use_lexicon)
        self.recognizer = HybridRecognizer(self.patterns, load_phi_model(model, threads=model_threads))
        self.protect_labels = frozenset(protect_labels)
        self.batch_size = batch_size

    @property
    def has_model(self) -> bool:
        """Whether a transformer model runs beside the patterns."""
        return self.recognizer.model is not None

    def _protected(self, doc: Doc) -> list[tuple[int, int]]:
        return sorted((e.start_char, e.end_char) for e in doc.ents if e.label_ in self.protect_labels)

    def predict(self, doc: Doc) -> list[PhiSpan]:
        """The PHI spans of ``doc`` (pure: writes nothing)."""
        return self.recognizer.predict(doc.text, self._protected(doc))

    def predict_many(self, docs: list[Doc]) -> list[list[PhiSpan]]:
        """:meth:`predict` for several docs (the model runs on them in batches)."""
        return self.recognizer.predict_many([d.text for d in docs], [self._protected(d) for d in docs])

    def set_annotations(self, doc: Doc, phi: list[PhiSpan]) -> None:
        """Write ``doc.spans["phi"]`` (token-aligned spans) with the exact offsets in its attrs."""
        spans = []
        for p in phi:
            span = doc.char_span(p.start, p.end, label=p.type, alignment_mode="expand")
            if span is not None:
                spans.append(span)
        group = SpanGroup(doc, name=SPAN_KEY, spans=spans)
        group.attrs[SPAN_KEY] = [p.model_dump() for p in phi]
        doc.spans[SPAN_KEY] = group

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations(doc, self.predict(doc))
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterable[Doc]:
        """Process docs in batches (the model sees several docs per call)."""
        size = batch_size or self.batch_size
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= size:
                for d, phi in zip(batch, self.predict_many(batch)):
                    self.set_annotations(d, phi)
                yield from batch
                batch = []
        if batch:
            for d, phi in zip(batch, self.predict_many(batch)):
                self.set_annotations(d, phi)
            yield from batch


def phi_of(doc: Doc) -> list[PhiSpan]:
    """The exact PHI spans written by ``medlens_deid`` (from the span group's attrs, else its spans)."""
    group = doc.spans.get(SPAN_KEY) if doc.spans is not None else None
    if group is None:
        return []
    raw = group.attrs.get(SPAN_KEY)
    if raw is not None:
        return [PhiSpan.model_validate(r) for r in raw]
    return [PhiSpan(type=s.label_, start=s.start_char, end=s.end_char, source="span") for s in group]


__all__ = ["DeidRecognizer", "SPAN_KEY", "Span", "phi_of"]
