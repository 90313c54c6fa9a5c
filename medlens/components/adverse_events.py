"""Adverse drug events: ``doc._.adverse_events``, ``(drug) -[caused]-> (effect)`` with evidence and flags.

``medlens_adverse_events`` reads every sentence that holds a drug entity with
the rules of ``resources/en/medications/adverse_events.json`` and, when the
ADE tagger is there (``medlens/assets/ade``; ``model_path`` for another
folder, ``use_model=False`` for rules only), with the int8 ONNX tagger trained
on PHEE, run torch-free through the same :class:`OnnxTagger` the NER component
uses (:mod:`medlens.medications.ade`); a tagger event counts only with a trigger, an effect
entity and a drug entity (the tagger learned from sentences that all report an event).

    >>> doc = nlp("He developed hepatitis after isoniazid.")
    >>> [(e.drug, e.effect, e.negated) for e in doc._.adverse_events]
    [('isoniazid', 'hepatitis', False)]
"""

from __future__ import annotations

from bisect import bisect_right
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc

from medlens.components.drug_attributes import sentence_bounds
from medlens.doc import extensions
from medlens.doc.types import AdverseEvent
from medlens.errors import Errors, ModelError
from medlens.medications.ade import AdeRules, Mention, events_from_tags, merge_events, tidy_spans
from medlens.runtime import ADE_DIR


@Language.factory(
    "medlens_adverse_events",
    assigns=["doc._.adverse_events"],
    requires=["doc.ents"],
    default_config={"model_path": None, "use_model": True, "threads": None, "batch_size": 32},
)
def make_adverse_events(nlp: Language, name: str, model_path: str | None, use_model: bool, threads: int | None,
                        batch_size: int) -> AdverseEvents:
    """Factory of :class:`AdverseEvents`.

    Args:
        model_path: folder of the ADE tagger; None: ``medlens/assets/ade`` when it holds a model.
        use_model: False reads events with the rules only.
        threads: ONNX Runtime batches run at once (None: one per core).
        batch_size: sentences per ONNX Runtime call.
    """
    tagger = None
    if use_model:
        from medlens.components.transformer_ner import OnnxTagger

        folder = Path(model_path) if model_path else ADE_DIR
        if model_path and not folder.exists():
            raise ModelError(Errors.E300.format(path=folder, details="no such folder"))
        if folder.is_dir() and any((folder / f).is_file() for f in ("model.int8.onnx", "model.onnx")):
            tagger = OnnxTagger.from_path(folder, threads=threads)
    return AdverseEvents(name, tagger=tagger, batch_size=batch_size)


class AdverseEvents:
    """The ``medlens_adverse_events`` component.

    Args:
        name: the component's name in the pipeline.
        tagger: an :class:`~medlens.components.transformer_ner.OnnxTagger` with DRUG/EFFECT/TRIGGER labels,
            or None for rules only.
        batch_size: sentences per ONNX Runtime call.
    """

    def __init__(self, name: str = "medlens_adverse_events", *, tagger=None, batch_size: int = 32) -> None:
        extensions.register()
        self.name = name
        self.tagger = tagger
        self.batch_size = batch_size
        self.rules = AdeRules()

    def predict(self, doc: Doc) -> list[AdverseEvent]:
        """The events of ``doc`` (pure: nothing is written)."""
        ents = list(doc.ents)
        if not any(e.label_ in self.rules.drug_labels for e in ents):
            return []
        text = doc.text
        sents = sentence_bounds(doc) or [(0, len(text))]
        by_sent: dict[int, list] = {}
        starts = [a for a, _ in sents]
        for e in ents:
            by_sent.setdefault(max(0, bisect_right(starts, e.start_char) - 1), []).append(e)
        chosen = []
        for k, members in sorted(by_sent.items()):
            if any(e.label_ in self.rules.drug_labels for e in members):
                a, b = sents[k]
                b = a + len(text[a:b].rstrip())  # the sentence without the whitespace after it
                chosen.append(((a, b), [_mention(e) for e in members]))
        rule_events = [ev for (a, b), ms in chosen for ev in self.rules.find(text, a, b, ms)]
        model_events: list[AdverseEvent] = []
        if self.tagger is not None and chosen:
            tagged = self.tagger.entities([text[a:b] for (a, b), _ in chosen], batch_size=self.batch_size)
            for ((a, b), ms), ents_ in zip(chosen, tagged):
                spans = tidy_spans(text, [(c.label, a + c.start, a + c.end) for c in ents_])
                model_events += events_from_tags(text, a, b, spans, ms, self.rules, require_entities=True)
        return merge_events(rule_events, model_events)

    def set_annotations(self, doc: Doc, events: list[AdverseEvent]) -> None:
        """Write ``doc._.adverse_events``."""
        doc._.adverse_events = tuple(events)

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations(doc, self.predict(doc))
        return doc


def _mention(span) -> Mention:
    a = span._.assertion
    concepts = span._.concepts or []
    ids = tuple(c.concept_id for c in concepts) or tuple(span._.match_ids or ())
    return Mention(span.text, span.start_char, span.end_char, span.label_, ids,
                   bool(a is not None and a.negated), bool(a is not None and (a.uncertain or a.hypothetical)))
