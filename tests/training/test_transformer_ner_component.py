"""medlens_transformer_ner: character offsets, token spans, merging with existing entities, the shipped model."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy
from spacy.tokens import Span

pytest.importorskip("onnxruntime")

from medlens.components.transformer_ner import DEFAULT_MODEL_DIR, CharEntity, OnnxTagger, TransformerRecognizer  # noqa: E402
from medlens.doc import extensions  # noqa: E402


class FixedTagger:
    """Stands in for OnnxTagger: tags words containing 'cancer' as DISEASE and 'tamoxifen' as CHEMICAL."""

    labels = ["O", "B-CHEMICAL", "I-CHEMICAL", "B-DISEASE", "I-DISEASE"]

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer

    def entities(self, texts, batch_size=32, abbreviations=False):
        from medlens.tagging.alignment import bio_to_spans, encode_text

        out = []
        for t in texts:
            enc = encode_text(self.tokenizer, t)
            words = [t[s:e] for s, e in enc.offsets]
            tags = []
            for i, w in enumerate(words):
                if w.lower() == "breast" and i + 1 < len(words) and words[i + 1].lower() == "cancer":
                    tags.append("B-DISEASE")
                elif w.lower() == "cancer":
                    tags.append("I-DISEASE" if tags and tags[-1] == "B-DISEASE" else "B-DISEASE")
                elif w.lower().startswith("tamoxifen"):
                    tags.append("B-CHEMICAL")
                else:
                    tags.append("O")
            out.append([CharEntity(l, enc.offsets[s][0], enc.offsets[e - 1][1]) for l, s, e in bio_to_spans(tags)])
        return out


def test_component_maps_char_offsets_to_tokens_and_wins_overlaps(tiny_tokenizer) -> None:
    extensions.register()
    nlp = spacy.blank("en")
    comp = TransformerRecognizer(nlp, tagger=FixedTagger(tiny_tokenizer))
    doc = nlp("Patients with breast cancer were treated with tamoxifen_therapy. Fever noted.")
    # an existing dictionary entity overlapping the model's, and one that does not
    old = Span(doc, 3, 4, label="DISEASE")
    old._.ner_source = "dictionary"
    fever = Span(doc, len(doc) - 3, len(doc) - 2, label="SYMPTOM")
    fever._.ner_source = "dictionary"
    doc.ents = [old, fever]
    doc = comp(doc)
    ents = [(e.text, e.label_, e._.ner_source) for e in doc.ents]
    assert ents == [("breast cancer", "DISEASE", "model"), ("tamoxifen_therapy", "CHEMICAL", "model"),
                    ("Fever", "SYMPTOM", "dictionary")]
    # 'tamoxifen' is a sub-token piece: the span expands to the whole spaCy token
    assert doc.ents[1].start_char == doc.text.index("tamoxifen")


def test_component_labels_filter_and_pipe(tiny_tokenizer) -> None:
    nlp = spacy.blank("en")
    comp = TransformerRecognizer(nlp, tagger=FixedTagger(tiny_tokenizer), labels=["CHEMICAL"])
    docs = list(comp.pipe(nlp.pipe(["breast cancer and tamoxifen", "nothing here"]), batch_size=1))
    assert [(e.text, e.label_) for e in docs[0].ents] == [("tamoxifen", "CHEMICAL")]
    assert docs[1].ents == ()


def test_onnx_tagger_char_offsets_on_long_text(tiny_onnx_dir: Path) -> None:
    tagger = OnnxTagger.from_path(tiny_onnx_dir)
    text = "Patients with breast cancer. " * 30
    (ents,) = tagger.entities([text])
    for e in ents:  # every entity lies on word boundaries of the original text
        assert 0 <= e.start < e.end <= len(text)
        assert text[e.start:e.end] == text[e.start:e.end].strip()


@pytest.mark.skipif(not (DEFAULT_MODEL_DIR / "model.int8.onnx").exists(), reason="shipped NER model not in medlens/assets/ner")
def test_shipped_model_finds_known_entities() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("medlens_transformer_ner")
    doc = nlp("Patients with breast cancer were treated with tamoxifen.")
    ents = {(e.text, e.label_) for e in doc.ents}
    assert ("breast cancer", "DISEASE") in ents
    assert ("tamoxifen", "CHEMICAL") in ents
    assert all(e._.ner_source == "model" for e in doc.ents)


class CountingTagger(FixedTagger):
    """FixedTagger that records how many texts each call receives."""

    def __init__(self, tokenizer) -> None:
        super().__init__(tokenizer)
        self.calls: list[int] = []

    def entities(self, texts, batch_size=32, abbreviations=False):
        self.calls.append(len(texts))
        return super().entities(texts, batch_size)


def test_pipe_groups_documents_by_characters_not_count(tiny_tokenizer) -> None:
    nlp = spacy.blank("en")
    tagger = CountingTagger(tiny_tokenizer)
    comp = TransformerRecognizer(nlp, tagger=tagger, buffer_chars=100)
    texts = ["breast cancer and tamoxifen."] * 10  # 28 characters each: 4 per group
    docs = list(comp.pipe(nlp.pipe(texts), batch_size=1))
    assert tagger.calls == [4, 4, 2]
    single = comp(nlp(texts[0]))
    assert all([(e.text, e.label_) for e in d.ents] == [(e.text, e.label_) for e in single.ents] for d in docs)


def test_pipe_reads_the_next_group_while_the_previous_one_goes_on(tiny_tokenizer) -> None:
    """The model reads group k + 1 in a background thread while group k is handed on: each group is
    read once, in order, off the calling thread, and the documents come out in order with their entities."""
    import threading

    nlp = spacy.blank("en")
    tagger = CountingTagger(tiny_tokenizer)
    threads: list[str] = []
    entities = tagger.entities
    tagger.entities = lambda texts, **kw: threads.append(threading.current_thread().name) or entities(texts, **kw)
    comp = TransformerRecognizer(nlp, tagger=tagger, buffer_chars=60)
    texts = [f"breast cancer {i} and tamoxifen." for i in range(9)]  # ~31 characters: 2 per group
    seen_when_first_doc_out: list[int] = []
    out = []
    for doc in comp.pipe(nlp.pipe(texts)):
        if not out:
            seen_when_first_doc_out.append(len(tagger.calls))
        out.append(doc)
    assert [d.text for d in out] == texts
    assert tagger.calls == [2, 2, 2, 2, 1]
    assert seen_when_first_doc_out[0] >= 1 and all(name.startswith("medlens-ner-ahead") for name in threads)
    assert all([(e.text, e.label_) for e in d.ents] == [("breast cancer", "DISEASE"), ("tamoxifen", "CHEMICAL")] for d in out)


def test_pipe_raises_the_model_error_in_the_caller(tiny_tokenizer) -> None:
    nlp = spacy.blank("en")
    tagger = FixedTagger(tiny_tokenizer)

    def broken(texts, **kw):
        raise RuntimeError("model failed")

    tagger.entities = broken
    comp = TransformerRecognizer(nlp, tagger=tagger, buffer_chars=10)
    with pytest.raises(RuntimeError, match="model failed"):
        list(comp.pipe(nlp.pipe(["breast cancer", "tamoxifen"])))


def test_onnx_tagger_concurrent_batches_match_one_thread(tiny_onnx_dir: Path) -> None:
    # the fp32 model: its outputs do not depend on how windows are batched (int8's dynamic scales do, slightly)
    words = [["patients", "with", "breast", "cancer"] * k for k in (1, 7, 2, 12, 3)] + [["tamoxifen", "."]]
    one = OnnxTagger.from_path(tiny_onnx_dir / "model.onnx", threads=1, max_tokens=None).tag_words(words, batch_size=64)
    two = OnnxTagger.from_path(tiny_onnx_dir / "model.onnx", threads=2, max_tokens=32)
    assert two.tag_words(words, batch_size=4) == one
    texts = [" ".join(w) for w in words]
    assert two.entities(texts) == OnnxTagger.from_path(tiny_onnx_dir / "model.onnx", threads=1).entities(texts)


def test_factory_config_reaches_the_tagger(tiny_onnx_dir: Path) -> None:
    nlp = spacy.blank("en")
    comp = nlp.add_pipe("medlens_transformer_ner", config={"model_path": str(tiny_onnx_dir), "threads": 3,
                                                            "max_tokens": 64, "buffer_chars": 1000, "batch_size": 8})
    assert (comp.tagger.threads, comp.tagger.max_tokens, comp.buffer_chars, comp.batch_size) == (3, 64, 1000, 8)
    docs = list(nlp.pipe(["Patients with breast cancer."] * 5))
    assert len(docs) == 5
