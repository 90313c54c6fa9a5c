"""Adverse drug events: ``doc._.adverse_events``, ``(drug) -[caused]-> (effect)`` with evidence and flags.

``medlens_adverse_events`` reads every sentence that holds a drug entity with
the rules of ``resources/en/medications/adverse_events.json`` and, when the
ADE tagger is there (``medlens/assets/ade``; ``model_path`` for another
folder, ``use_model=False`` for rules only), with the int8 ONNX tagger trained
on PHEE, run torch-free through the same :class:`OnnxTagger` the NER component
uses (:mod:`medlens.medications.ade`); a tagger event counts only with a trigger, an effect
entity and a drug entity (the tagger learned from sentences that all report an event), so
the tagger reads only the sentences that hold an effect entity too. In ``nlp.pipe`` the
sentences of a group of documents are tagged together (length-sorted batches run concurrently).

    >>> doc = nlp("He developed hepatitis after isoniazid.")
    >>> [(e.drug, e.effect, e.negated) for e in doc._.adverse_events]
    [('isoniazid', 'hepatitis', False)]
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch

from medlens.components.drug_attributes import sentence_bounds
from medlens.doc import extensions
from medlens.doc.text import doc_text
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

    def _sentences(self, doc: Doc) -> list[tuple[tuple[int, int], list[Mention]]]:
        """The sentences of ``doc`` that hold a drug entity, each with the mentions of its entities."""
        ents = list(doc.ents)
        if not any(e.label_ in self.rules.drug_labels for e in ents):
            return []
        text = doc_text(doc)
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
        return chosen

    def predict(self, doc: Doc) -> list[AdverseEvent]:
        """The events of ``doc`` (pure: nothing is written)."""
        return self.predict_many([doc])[0]

    def predict_many(self, docs: Sequence[Doc]) -> list[list[AdverseEvent]]:
        """The events of each doc (pure); the tagger reads the sentences of all of them in one
        call (length-sorted batches across documents, run concurrently).

        The tagger reads only sentences that hold an effect entity as well as a drug entity:
        a tagger event counts only when its effect is mostly an effect entity of the sentence
        (:func:`~medlens.medications.ade.events_from_tags`), so the other sentences could give none.
        """
        texts = [doc_text(doc) for doc in docs]
        plans = [self._sentences(doc) for doc in docs]
        rule_events = [[ev for (a, b), ms in chosen for ev in self.rules.find(text, a, b, ms)]
                       for text, chosen in zip(texts, plans)]
        model_events: list[list[AdverseEvent]] = [[] for _ in docs]
        if self.tagger is not None:
            effect_labels = self.rules.effect_labels
            jobs = [(i, (a, b), ms) for i, chosen in enumerate(plans) for (a, b), ms in chosen
                    if any(m.label in effect_labels for m in ms)]
            if jobs:
                tagged = self.tagger.entities([texts[i][a:b] for i, (a, b), _ in jobs], batch_size=self.batch_size)
                for (i, (a, b), ms), ents_ in zip(jobs, tagged):
                    text = texts[i]
                    spans = tidy_spans(text, [(c.label, a + c.start, a + c.end) for c in ents_])
                    model_events[i] += events_from_tags(text, a, b, spans, ms, self.rules, require_entities=True)
        return [merge_events(r, m) for r, m in zip(rule_events, model_events)]

    def set_annotations(self, doc: Doc, events: list[AdverseEvent]) -> None:
        """Write ``doc._.adverse_events``."""
        doc._.adverse_events = tuple(events)

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations(doc, self.predict(doc))
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 64) -> Iterable[Doc]:
        """Process docs in groups of ``batch_size``; the tagger reads each group's sentences together."""
        for batch in minibatch(docs, size=batch_size):
            for doc, events in zip(batch, self.predict_many(batch)):
                self.set_annotations(doc, events)
            yield from batch


def _mention(span) -> Mention:
    a = span._.assertion
    concepts = span._.concepts or []
    ids = tuple(c.concept_id for c in concepts) or tuple(span._.match_ids or ())
    return Mention(span.text, span.start_char, span.end_char, span.label_, ids,
                   bool(a is not None and a.negated), bool(a is not None and (a.uncertain or a.hypothetical)))
