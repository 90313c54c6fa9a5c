"""Transformer entity recognition with a shipped ONNX model (no torch at inference).

The model (``medlens/assets/ner/``: ``model.int8.onnx``, ``tokenizer.json``,
``labels.json``) tags words with BIO labels. The text is split into words
and subwords by the model's own tokenizer (``tokenizers``); a text longer than
the model's window is cut between sentences (whole sentences per window; a
single sentence longer than a window gets overlapping windows); each word is
labelled from its first subword, and entities are mapped back to character
offsets and then to the Doc's tokens (expanded to token boundaries where they
differ).

Speed: :meth:`TransformerRecognizer.pipe` gathers documents until they hold
``buffer_chars`` characters; the windows of all of them are sorted by length
and cut into small batches (``max_tokens`` positions), so batches pad little
and their activations stay in the CPU caches. The batches run concurrently,
one ONNX Runtime thread each, on ``threads`` cores: this uses the cores better
than splitting every operator of one batch across threads (no synchronisation
after each of the graph's operators, and a core taken by another process slows
one batch, not all of them). In ``nlp.pipe`` each group is read in a background
thread while the other components work on the groups before and after it.
Figures: benchmarks/README.md, "NER model" and "Speed round 2".

Model entities are merged with existing ``doc.ents``: where they overlap, the
model's span wins (its boundaries and label); existing entities that do not
overlap any model entity are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from spacy.language import Language
from spacy.tokens import Doc, Span

from medlens.doc import extensions
from medlens.doc.text import doc_text
from medlens.errors import Errors, ModelError
from medlens.runtime import NER_DIR
from medlens.tagging.abbreviations import propagate_abbreviations
from medlens.tagging.alignment import (
    BioDecoder,
    EncodedWords,
    bio_to_spans,
    encode_texts,
    encode_word_lists,
    join_sentences,
    predict_word_labels,
    sentence_starts,
    split_sentences,
)
from medlens.tagging.files import MODEL_FILES
from medlens.tagging.parallel import Background, ConcurrentRuns

DEFAULT_MODEL_DIR = NER_DIR


@dataclass(frozen=True, slots=True)
class CharEntity:
    """An entity found by the model: ``label`` over characters ``[start, end)``."""

    label: str
    start: int
    end: int
    score: float | None = None


class OnnxTagger:
    """A token-classification ONNX model with its tokenizer and labels.

    Args:
        model_path: the ``.onnx`` file.
        tokenizer: a ``tokenizers.Tokenizer`` (truncation and padding off).
        labels: BIO tag of each output class, ``"O"`` first.
        max_length: subwords per window including [CLS] and [SEP].
        stride: overlap of windows, in subwords.
        threads: batches run at once, each on one ONNX Runtime thread (None:
            :func:`~medlens.runtime.default_threads`, one per core).
        max_tokens: most positions (windows x their padded length) per ONNX Runtime call.
            Small batches keep the activations in the CPU caches: 512 (four full
            windows, or about 13 sentences) ran 10-40% faster than batches of 32
            windows, which win nothing back in matrix-multiply efficiency. 1 runs
            every window alone: slower, but a text's entities then never depend on
            the texts batched with it (int8 activations are scaled per batch).
        constrained: decode each window's tags with :class:`BioDecoder` (the best
            valid BIO sequence; +0.4 to +1.2 strict F1 on the NCBI and BC5CDR devel
            sets) rather than each word's argmax.
        sentence_windows: cut texts between sentences (no overlap) rather than into
            overlapping windows.
        pack_sentences: with ``sentence_windows``, put as many whole sentences in a
            window as fit (how a model trained with ``--pack-sentences`` reads) or each
            sentence in a window of its own (how a model trained on single sentences reads
            best: +0.5 to +0.8 devel F1 for the shipped model). :meth:`from_path` takes it
            from the model's ``labels.json`` (``packed_sentences``).
    """

    def __init__(self, model_path: str | Path, tokenizer, labels: list[str], max_length: int = 128, stride: int = 32,
                 threads: int | None = None, max_tokens: int | None = 512, sentence_windows: bool = True,
                 constrained: bool = True, pack_sentences: bool = False) -> None:
        from medlens.runtime import default_threads
        from medlens.tagging.files import onnx_session

        # one thread per run; parallelism comes from running batches concurrently (see the module docstring)
        self.session = onnx_session(model_path, threads=1)
        self.input_names = {i.name for i in self.session.get_inputs()}
        n_out = self.session.get_outputs()[0].shape[-1]
        if isinstance(n_out, int) and n_out != len(labels):
            raise ModelError(Errors.E301.format(path=model_path, details=f"it has {n_out} outputs but labels.json names {len(labels)} labels"))
        self.tokenizer = tokenizer
        self.labels = labels
        self.max_length = max_length
        self.stride = stride
        self.runs = ConcurrentRuns(threads or default_threads())
        self.threads = self.runs.threads
        self.max_tokens = max_tokens
        self.sentence_windows = sentence_windows
        self.pack_sentences = pack_sentences
        self.decoder = BioDecoder(labels) if constrained else None
        from medlens.tagging.files import special_ids

        self.cls_id, self.sep_id, self.pad_id = special_ids(tokenizer)

    @classmethod
    def from_path(cls, path: str | Path, threads: int | None = None, **options) -> OnnxTagger:
        """Load from a model folder (``model.int8.onnx`` preferred) or an ``.onnx`` file inside one.

        ``options``: ``max_tokens``, ``sentence_windows``, ``constrained``, ``pack_sentences`` (see the class).
        """
        from medlens.tagging.files import load_tokenizer, model_file_in, read_meta

        p = Path(path)
        if p.is_dir():
            model_file, folder = model_file_in(p), p
            if model_file is None:
                raise ModelError(Errors.E300.format(path=p, details=f"no {' or '.join(MODEL_FILES)} in the folder"))
        else:
            model_file, folder = p, p.parent
        if not model_file.exists():
            raise ModelError(Errors.E300.format(path=model_file, details="no such file"))
        meta = read_meta(folder)
        options.setdefault("pack_sentences", bool(meta.get("packed_sentences", False)))
        return cls(model_file, load_tokenizer(folder), meta["labels"], meta.get("max_length", 128), meta.get("stride", 32), threads,
                   **options)

    def logits(self, input_ids, mask):
        import numpy as np

        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        return self.session.run(None, feeds)[0]

    def _map(self, fn, items):
        """``map`` over ONNX Runtime batches, ``threads`` at a time (it releases the GIL while it runs)."""
        return self.runs.map(fn, items)

    def _cut_at_sentences(self, encoded: list[EncodedWords], words) -> list[EncodedWords]:
        """Mark where sentences start (``words(i)``: the words of text i): in every text when each
        sentence gets its own window, else only in texts longer than one window."""
        if not self.sentence_windows:
            return encoded
        limit = self.max_length - 2 if self.pack_sentences else 0
        for i, enc in enumerate(encoded):
            if sum(len(p) for p in enc.pieces) > limit:
                starts = sentence_starts(words(i))
                if starts:
                    encoded[i] = replace(enc, sentences=starts)
        return encoded

    def _predict(self, encoded: Sequence[EncodedWords], batch_size: int, pack: bool | None = None,
                 word_scores: list[list[float]] | None = None) -> list[list[str]]:
        ids = predict_word_labels(encoded, self.logits, max_length=self.max_length, stride=self.stride, cls_id=self.cls_id,
                                  sep_id=self.sep_id, pad_id=self.pad_id, batch_size=batch_size, mapper=self._map,
                                  min_batches=self.threads, max_tokens=self.max_tokens, decoder=self.decoder,
                                  pack_sentences=self.pack_sentences if pack is None else pack, word_scores=word_scores)
        labels = self.labels
        return [[labels[i] for i in row] for row in ids]

    def tag_words(self, word_lists: Sequence[Sequence[str]], batch_size: int = 32, packed: bool = False) -> list[list[str]]:
        """One BIO tag per word of each pre-tokenized text.

        ``packed``: the texts are consecutive sentences of one document; each window then holds
        as many whole sentences as fit, as when the pipeline reads the document
        (:func:`~medlens.tagging.alignment.join_sentences`).
        """
        encoded = encode_word_lists(self.tokenizer, word_lists)
        if packed:
            return split_sentences(self._predict([join_sentences(encoded)], batch_size, pack=True)[0], encoded)
        encoded = self._cut_at_sentences(encoded, lambda i: word_lists[i])
        return self._predict(encoded, batch_size)

    def entities(self, texts: Sequence[str], batch_size: int = 32, abbreviations: bool = False) -> list[list[CharEntity]]:
        """Entities with character offsets in each raw text.

        ``abbreviations``: treat each text as a document whose defined short forms name
        the entity they follow ("atelosteogenesis type 2 (AO2)"; see
        :mod:`medlens.tagging.abbreviations`).
        """
        encoded = encode_texts(self.tokenizer, texts)
        cut: dict[int, list[str]] = {}  # each text's words, cut once for sentences and abbreviations

        def words(i: int) -> list[str]:
            if i not in cut:
                cut[i] = [texts[i][s:e] for s, e in encoded[i].offsets or ()]
            return cut[i]

        encoded = self._cut_at_sentences(encoded, words)
        scores: list[list[float]] = []
        tags = self._predict(encoded, batch_size, word_scores=scores)
        out = []
        for i, (enc, row) in enumerate(zip(encoded, tags)):
            if abbreviations:
                row = propagate_abbreviations(words(i), row)
            offs = enc.offsets or []
            ws = scores[i]
            # an entity's score: the least sure of its words (the probability of each word's tag)
            out.append([CharEntity(label, offs[s][0], offs[e - 1][1], round(min(ws[s:e]), 4))
                        for label, s, e in bio_to_spans(row)])
        return out


@Language.factory(
    "medlens_transformer_ner",
    assigns=["doc.ents", "span._.ner_source", "span._.ner_score"],
    default_config={"model_path": None, "labels": None, "batch_size": 32, "max_tokens": 512, "threads": None,
                    "buffer_chars": 100_000, "abbreviations": True},
)
def make_transformer_ner(nlp: Language, name: str, model_path: str | None, labels: list[str] | None, batch_size: int,
                         max_tokens: int | None, threads: int | None, buffer_chars: int,
                         abbreviations: bool) -> TransformerRecognizer:
    extensions.register()
    tagger = OnnxTagger.from_path(model_path or DEFAULT_MODEL_DIR, threads=threads, max_tokens=max_tokens)
    return TransformerRecognizer(nlp, name=name, tagger=tagger, labels=labels, batch_size=batch_size,
                                 buffer_chars=buffer_chars, abbreviations=abbreviations)


class _Stopwords(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    description: str
    terms: list[str]
    not_entities: list[str] = []
    procedure_endings: list[str] = []
    section_not_entities: dict[str, list[str]] = {}
    next_word_labels: dict[str, str] = {}
    device_words: list[str] = []
    name_titles: list[str] = []
    institution_words: list[str] = []
    test_heads: list[str] = []
    finding_heads: list[str] = []
    symptom_heads: list[str] = []
    anatomy_heads: list[str] = []
    link_qualifiers: list[str] = []
    after_entity_words: dict[str, dict[str, str]] = {}


@lru_cache(maxsize=1)
def _stopwords_resource() -> _Stopwords:
    from medlens.resources import load_resource

    return load_resource("model_stopwords.json", _Stopwords)


def model_stopwords() -> frozenset[str]:
    """The shipped clinical shorthand that model spans may not be (``resources/en/model_stopwords.json``)."""
    return frozenset(t.lower() for t in _stopwords_resource().terms)


def not_entities() -> frozenset[str]:
    """Words tagged as entities that name none: lay and descriptive words, surgical supplies, units,
    section words ("congruent", "Esmarch", "mmHg", "acute distress"; ``resources/en/model_stopwords.json``)."""
    return frozenset(t.lower() for t in _stopwords_resource().not_entities)


def section_not_entities() -> dict[str, frozenset[str]]:
    """Words that name no entity in some sections: section category -> lowercase texts ("wound" of
    "the wound was irrigated" in an operative note is the incision; ``resources/en/model_stopwords.json``)."""
    return {sec: frozenset(t.lower() for t in terms) for sec, terms in _stopwords_resource().section_not_entities.items()}


def next_word_labels() -> dict[str, str]:
    """Words that, right after a model DISEASE, make one entity of another kind with it ("tetanus
    booster", "influenza vaccine" are vaccines, DRUG; ``resources/en/model_stopwords.json``)."""
    return {w.lower(): label for w, label in _stopwords_resource().next_word_labels.items()}


def device_words() -> frozenset[str]:
    """Device nouns ("catheter", "needle", "stent"): a model span right before one names the device
    ("Yueh catheter", "Silastic catheter"), not a chemical or disease (``resources/en/model_stopwords.json``)."""
    return frozenset(w.lower() for w in _stopwords_resource().device_words)


def neighbour_words() -> dict[str, frozenset[str]]:
    """Words around an entity that tell what it is (``resources/en/model_stopwords.json``): ``name_titles``
    ("Dr." before a person's name), ``institution_words`` ("Hospital" after a name of a place),
    ``test_heads`` ("level", "index", "profile": the entity names the substance or organ a test measures),
    ``finding_heads`` (last words of an examiner's sign: "deformity", "spots", "lump"), ``symptom_heads`` (last
    words of a complaint: "weakness", "discharge"), ``device_words``, ``anatomy_heads``
    (last words of a structure's name: "ligament", "fascia"), ``link_qualifiers`` (words a partial link
    may leave out: side, amount, time, certainty, "left", "severe", "chronic")."""
    r = _stopwords_resource()
    return {k: frozenset(w.lower() for w in getattr(r, k))
            for k in ("name_titles", "institution_words", "test_heads", "finding_heads", "symptom_heads", "device_words",
                      "anatomy_heads", "link_qualifiers")}


def after_entity_words() -> dict[str, dict[str, str]]:
    """Entity label -> words that, right after such an entity, make one entity of another kind with it
    ("thyroid problem" DISEASE, "oxygen desaturation" FINDING, "bicarbonate solution" DRUG;
    ``resources/en/model_stopwords.json``)."""
    return {label: {w.lower(): new for w, new in words.items()}
            for label, words in _stopwords_resource().after_entity_words.items()}


def procedure_endings() -> tuple[str, ...]:
    """Word endings that name a procedure ("-plasty", "resection"; ``resources/en/model_stopwords.json``)."""
    return tuple(t.lower() for t in _stopwords_resource().procedure_endings)


#: a spinal level or a range of levels ("L3-L5", "C5-6", "T12", "L5-S1"): a place, not a chemical
SPINAL_LEVEL = re.compile(r"[CTLS]\d{1,2}(?:\s?[-\u2013/]\s?[CTLS]?\d{1,2})?")


def model_label(text: str, label: str, endings: tuple[str, ...]) -> str:
    """The label of a model span: a DISEASE whose last word ends like a procedure
    ("tympanoplasty", "basal cell carcinoma resection") is a PROCEDURE; the model was
    trained on disease and chemical names only, so it calls operations diseases; so is one whose
    words before "of" end so ("chondroplasty of the left knee"). A spinal
    level ("L3-L5", which the model calls a chemical) is ANATOMY.

    Args:
        text: the span's text.
        label: the model's label.
        endings: lowercase word endings that name a procedure.

    Returns:
        ``PROCEDURE`` or ``label`` unchanged.
    """
    if label in ("DISEASE", "CHEMICAL") and SPINAL_LEVEL.fullmatch(text):
        return "ANATOMY"
    if label != "DISEASE" or not endings:
        return label
    words = text.split()
    if words and words[-1].lower().endswith(endings):
        return "PROCEDURE"
    lower = [w.lower() for w in words]
    if "of" in lower[1:]:  # "Chondroplasty of the left knee", "medial meniscoplasty of medial femoral condyle"
        head = lower[lower.index("of", 1) - 1]
        return "PROCEDURE" if head.endswith(endings) else label
    return label


def _outside_headers(text: str, start: int, end: int, headers: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """``[start, end)`` without the section headers it overlaps: the part before the first header
    inside it, or after a header it starts in; whitespace trimmed (empty: ``start >= end``)."""
    for hs, he in headers:
        if hs >= end:
            break
        if he <= start:
            continue
        if hs <= start:  # starts inside the header: keep what follows it
            start = he
        else:  # a header inside or at the end: keep what precedes it
            end = hs
            break
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


_EDGE = "-*\u2022\u00b7+.,;:"


def _within_sentences(text: str, start: int, end: int, sent_starts: Sequence[int]) -> list[tuple[int, int]]:
    """``[start, end)`` cut at the sentence starts inside it; each piece without surrounding
    spaces, list bullets and clause punctuation (pieces left empty are dropped)."""
    from bisect import bisect_right

    cuts = [start]
    i = bisect_right(sent_starts, start)
    while i < len(sent_starts) and sent_starts[i] < end:
        cuts.append(sent_starts[i])
        i += 1
    cuts.append(end)
    pieces = []
    for a, b in zip(cuts, cuts[1:]):
        while a < b and (text[a].isspace() or (len(cuts) > 2 and text[a] in _EDGE)):
            a += 1
        while b > a and (text[b - 1].isspace() or (len(cuts) > 2 and text[b - 1] in _EDGE)):
            b -= 1
        a, b = _without_trailing_words(text, a, b)
        if a < b:
            pieces.append((a, b))
    return pieces


#: words a name does not end with: the model sometimes runs on into them ("liposuction of",
#: "swelling in the", "Sodium 135")
_TRAILING = frozenset({"of", "in", "the", "a", "an", "at", "on", "to", "with", "and", "or", "around", "for", "from"})


#: a measured value, not part of a name: 3+ digits or a decimal ("135", "12.4"); "type 2", "trisomy 21" keep theirs
_MEASURE = re.compile(r"\d{3,}(?:,\d{3})*(?:\.\d+)?|\d+\.\d+")


def _without_trailing_words(text: str, a: int, b: int) -> tuple[int, int]:
    """``[a, b)`` without trailing function words and measured values (a one-word span is left as it is)."""
    while True:
        cut = text.rfind(" ", a, b)
        if cut < 0:
            return a, b
        last = text[cut + 1:b]
        if last.lower() in _TRAILING or _MEASURE.fullmatch(last):
            b = cut
            while b > a and text[b - 1].isspace():
                b -= 1
        else:
            return a, b


_NEXT_WORD = re.compile(r" ([A-Za-z][a-z-]+)")
_ADJECTIVE_ENDINGS = ("al", "ic", "ar", "ary", "ous")


def with_procedure_word(text: str, start: int, end: int, endings: tuple[str, ...]) -> int:
    """The end of a model span, moved past the next word when the span is one lowercase adjective
    ("renal", "pelvic") and that word names a procedure by its ending ("cadaveric renal transplant",
    "pelvic lymphadenectomy"): the model, which knows no procedures, tags the organ's adjective
    before the operation's name. A noun is left alone ("aneurysm repair": the aneurysm is a disease)."""
    word = text[start:end]
    if not (word.isalpha() and word.islower() and word.endswith(_ADJECTIVE_ENDINGS)):
        return end
    m = _NEXT_WORD.match(text, end)
    if m and endings and m.group(1).lower().endswith(endings):
        return m.end()
    return end


def _names_device(text: str, end: int, devices: frozenset[str]) -> bool:
    m = _NEXT_WORD.match(text, end)
    return bool(m) and m.group(1).lower() in devices


def with_next_word(text: str, start: int, end: int, words: dict[str, str]) -> tuple[int, str | None]:
    """``(end, label)``: a model DISEASE followed by a word of ``words`` ("tetanus booster") runs on
    over it and takes that word's label; else ``(end, None)``."""
    m = _NEXT_WORD.match(text, end)
    label = words.get(m.group(1).lower()) if m else None
    return (m.end(), label) if label else (end, None)


class TransformerRecognizer:
    """Finds entities with a token-classification model.

    Args:
        nlp: the pipeline (unused beyond the contract).
        name: component name.
        tagger: the loaded model (passed in; see :class:`OnnxTagger`).
        labels: keep only entities with these labels; None keeps all the model's labels.
        batch_size: most windows per ONNX Runtime call.
        buffer_chars: :meth:`pipe` gathers documents until they hold this many
            characters (100,000: about 16,000 words), then sorts all their windows
            by length before cutting batches; a larger buffer pads less, a smaller
            one returns the first documents sooner.
        abbreviations: a short form the document defines after a model entity
            ("atelosteogenesis type 2 (AO2)") is that entity wherever else it is
            written (:mod:`medlens.tagging.abbreviations`; +0.6 strict F1 on BC5CDR
            chemicals, +0.3 diseases, +0.1 NCBI diseases on devel).
        stopwords: model spans whose whole text is one of these (any case) are dropped;
            None: the clinical shorthand of ``resources/en/model_stopwords.json``
            ("PO", "BID", "NKDA": routes, frequencies, note abbreviations) and its
            ``not_entities`` ("congruent", "Esmarch", "mmHg").
    """

    def __init__(self, nlp: Language | None, name: str = "medlens_transformer_ner", *, tagger: OnnxTagger,
                 labels: list[str] | None = None, batch_size: int = 32, buffer_chars: int = 100_000,
                 abbreviations: bool = True, stopwords: Iterable[str] | None = None) -> None:
        extensions.register()
        known = sorted({t[2:] for t in tagger.labels if t != "O"})
        if labels is not None:
            from medlens.errors import ConfigError

            for label in labels:
                if label not in known:
                    raise ConfigError(Errors.E007.format(value=label, opts=", ".join(known)))
        self.name = name
        self.tagger = tagger
        self.keep_labels = frozenset(labels) if labels else None
        self.batch_size = batch_size
        self.buffer_chars = buffer_chars
        self.abbreviations = abbreviations
        self.stopwords = (model_stopwords() | not_entities()) if stopwords is None else frozenset(w.lower() for w in stopwords)
        self.procedure_endings = procedure_endings()
        self._ahead = Background("medlens-ner-ahead")
        self.section_stopwords = section_not_entities() if stopwords is None else {}
        self.next_words = next_word_labels()
        self.devices = device_words() if stopwords is None else frozenset()

    def predict(self, docs: Sequence[Doc]) -> list[list[CharEntity]]:
        """Character-offset entities for each doc (pure: writes nothing)."""
        found = self.tagger.entities([doc_text(d) for d in docs], batch_size=self.batch_size, abbreviations=self.abbreviations)
        if self.keep_labels is not None:
            found = [[e for e in ents if e.label in self.keep_labels] for ents in found]
        return found

    def set_annotations(self, docs: Sequence[Doc], entities: Sequence[list[CharEntity]]) -> None:
        """Write model entities into ``doc.ents``; on overlap the model's span replaces the existing one.
        Section headers ("ALLERGIES:") are cut out of model spans, as the dictionary leaves them out,
        and a span is cut where a sentence starts (when ``doc`` has sentences): a list item is a
        sentence, so "BID\\n- Lisinopril" across two lines of a medication list is "BID" (a
        stopword, dropped) and "Lisinopril"."""
        from medlens.components.sections import header_ranges, section_at

        for doc, ents in zip(docs, entities):
            spans: list[Span] = []
            taken = bytearray(len(doc))
            headers = header_ranges(doc)
            sent_chars = [s.start_char for s in doc.sents][1:] if doc.has_annotation("SENT_START") else []
            text = doc_text(doc)
            for e in ents:
                start, end = _outside_headers(text, e.start, e.end, headers)
                for start, end in _within_sentences(text, start, end, sent_chars):
                    if text[start:end].lower() in self.stopwords:
                        continue
                    if self.section_stopwords and text[start:end].lower() in self.section_stopwords.get(
                            section_at(doc, start), ()):
                        continue
                    if self.devices and _names_device(text, end, self.devices):
                        continue
                    label = None
                    if e.label == "DISEASE":
                        end = with_procedure_word(text, start, end, self.procedure_endings)
                        end, label = with_next_word(text, start, end, self.next_words)
                    label = label or model_label(text[start:end], e.label, self.procedure_endings)
                    span = doc.char_span(start, end, label=label, alignment_mode="expand")
                    if span is None or len(span) == 0 or any(taken[span.start:span.end]):
                        continue
                    span._.ner_source = "model"
                    span._.ner_score = e.score
                    taken[span.start:span.end] = b"\x01" * len(span)
                    spans.append(span)
            kept = [x for x in doc.ents if not any(taken[x.start:x.end])]
            doc.ents = sorted(kept + spans, key=lambda s: s.start)

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations([doc], self.predict([doc]))
        return doc

    def _groups(self, docs: Iterable[Doc]) -> Iterable[list[Doc]]:
        batch: list[Doc] = []
        chars = 0
        for doc in docs:
            batch.append(doc)
            chars += len(doc_text(doc))
            if chars >= self.buffer_chars:
                yield batch
                batch, chars = [], 0
        if batch:
            yield batch

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterable[Doc]:
        """Process docs in groups of about ``buffer_chars`` characters (the windows of a group share batches).

        The model reads each group in a background thread (ONNX Runtime releases the GIL while
        it runs): while it reads group k, the earlier components make the documents of group
        k + 1 and the later ones take those of group k - 1, so the rule-based components run
        while the model does instead of after it. Groups, batches and results are those of
        reading the groups one after another.

        ``batch_size`` (spaCy's number of texts per batch) is accepted and ignored:
        documents are grouped by their length, so that a stream of short texts
        fills as many well-sorted batches as a few long ones.
        """
        pending: tuple[list[Doc], object] | None = None
        for group in self._groups(docs):
            future = self._ahead.submit(self.predict, group)
            if pending is not None:
                self.set_annotations(pending[0], pending[1].result())
                yield from pending[0]
            pending = (group, future)
        if pending is not None:
            self.set_annotations(pending[0], pending[1].result())
            yield from pending[0]
