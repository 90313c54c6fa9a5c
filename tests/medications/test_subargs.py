"""The drug-conditioned sub-argument tagger: drug marking, labels, decoding, PHEE examples, and the ONNX runner
on a tiny random-weight model whose head is set so that its output is known."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medlens.errors import InputError, ModelError
from medlens.medications.phee import read_phee
from medlens.medications.subargs import LABELS, decode_tags, mark_drug, training_examples

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "phee" / "tiny.jsonl"
WORDS = ["[unused0]", "[unused1]", "a", "man", "developed", "hepatitis", "after", "isoniazid", "mg", "daily", "for",
         "months", "no", "rash", "was", "seen", "intravenous", "amoxicillin"]


def _tokenizer(tmp_path: Path):
    from tokenizers import Tokenizer

    from tests.training.conftest import write_tokenizer

    tok = Tokenizer.from_file(str(write_tokenizer(tmp_path, words=WORDS)))
    tok.add_special_tokens(["[unused0]", "[unused1]"])
    return tok


def test_mark_drug_places_markers_and_labels(tmp_path):
    tok = _tokenizer(tmp_path)
    text = "hepatitis after isoniazid 300 mg daily"
    drug = (16, 25)
    ids, offs, labels = mark_drug(tok, text, drug, spans=[("DOSAGE", 26, 32), ("FREQ", 33, 38)])
    words = [tok.id_to_token(i) for i in ids]
    assert words[0] == "[CLS]" and words[-1] == "[SEP]"
    i0, i1 = words.index("[unused0]"), words.index("[unused1]")
    assert [text[a:b] for a, b in offs[i0 + 1:i1]] == ["isoniazid"]
    assert offs[i0] is None and offs[i1] is None
    assert [(tok.id_to_token(i), LABELS[t]) for i, t in zip(ids, labels) if t > 0] == [
        ("3", "B-DOSAGE"), ("##0", "I-DOSAGE"), ("##0", "I-DOSAGE"), ("mg", "I-DOSAGE"), ("daily", "B-FREQ")]
    assert decode_tags(offs, [max(t, 0) for t in labels]) == [("DOSAGE", 26, 32), ("FREQ", 33, 38)]


def test_labels_round_trip_and_partial_words(tmp_path):
    tok = _tokenizer(tmp_path)
    text = "isoniazid 5 mg/kg/day for 3 months"
    spans = [("DOSAGE", 10, 17), ("FREQ", 18, 21), ("DURATION", 26, 34)]  # "5 mg/kg", "day", "3 months"
    ids, offs, labels = mark_drug(tok, text, (0, 9), spans=spans)
    assert decode_tags(offs, [max(t, 0) for t in labels]) == spans


def test_long_sentence_keeps_a_window_around_the_drug(tmp_path):
    tok = _tokenizer(tmp_path)
    text = "a man " * 40 + "isoniazid daily " + "a man " * 40
    start = text.index("isoniazid")
    ids, offs, _ = mark_drug(tok, text, (start, start + 9), max_length=24)
    assert len(ids) == 24 and tok.id_to_token(ids[0]) == "[CLS]" and tok.id_to_token(ids[-1]) == "[SEP]"
    assert tok.token_to_id("[unused0]") in ids and tok.token_to_id("[unused1]") in ids


def test_bad_drug_span_and_tokenizer(tmp_path):
    tok = _tokenizer(tmp_path)
    with pytest.raises(InputError, match="not inside the text"):
        mark_drug(tok, "isoniazid", (3, 30))
    from tokenizers import Tokenizer

    from tests.training.conftest import write_tokenizer

    (tmp_path / "plain").mkdir()
    plain = Tokenizer.from_file(str(write_tokenizer(tmp_path / "plain")))
    with pytest.raises(InputError, match="lacks the tokens"):
        mark_drug(plain, "isoniazid", (0, 9))


def test_training_examples_one_pass_per_event_drug():
    ex = training_examples(read_phee(TINY))
    by_drug = {text[a:b]: [(lab, text[s:e]) for lab, s, e in subs] for text, (a, b), subs in ex}
    assert by_drug["isoniazid"] == [("DOSAGE", "300 mg"), ("FREQ", "daily"), ("DURATION", "3 months")]
    assert by_drug["amoxicillin"] == [("ROUTE", "intravenous")]
    assert by_drug["Lithium"] == [] and by_drug["propranolol"] == []


@pytest.fixture(scope="module")
def always_inside(tmp_path_factory):
    """An exported tiny model whose head predicts I-DOSAGE at every position."""
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    import torch
    from transformers import BertConfig, BertForTokenClassification

    from medlens.training.export import export_onnx

    folder = tmp_path_factory.mktemp("subargs") / "model"
    folder.mkdir()
    tok = _tokenizer(folder)
    tok.save(str(folder / "tokenizer.json"))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, num_labels=len(LABELS),
                        id2label=dict(enumerate(LABELS)), label2id={lab: i for i, lab in enumerate(LABELS)})
    model = BertForTokenClassification(config)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()
        model.classifier.bias[LABELS.index("I-DOSAGE")] = 10.0
    model.save_pretrained(str(folder))
    (folder / "labels.json").write_text(json.dumps({"labels": list(LABELS), "max_length": 48, "stride": 0}))
    out = tmp_path_factory.mktemp("subargs_onnx")
    export_onnx(folder, out, sample_texts=["a man developed hepatitis after isoniazid"])
    return out


def test_onnx_tagger_splits_at_the_marked_drug(always_inside):
    from medlens.medications.subargs import SubArgumentTagger

    tagger = SubArgumentTagger.from_path(always_inside)
    text = "a man developed rash after isoniazid daily"
    drug = (text.index("isoniazid"), text.index("isoniazid") + 9)
    # every word is inside a DOSAGE; the markers end a span, so the drug's words form a span of their own
    assert tagger.tag([(text, drug)]) == [[("DOSAGE", 0, 26), ("DOSAGE", 27, 36), ("DOSAGE", 37, 42)]]
    both = tagger.predict_many([(text, [drug]), ("no rash was seen", [(3, 7)]), ("daily", [])])
    assert both[2] == set() and both[1]
    assert tagger.predict(text, [drug, drug]) == both[0]


def test_onnx_tagger_rejects_other_models(tmp_path, always_inside):
    import shutil

    from medlens.medications.subargs import SubArgumentTagger

    shutil.copytree(always_inside, tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "labels.json").read_text())
    meta["labels"] = ["O", "B-DRUG", "I-DRUG"]
    (tmp_path / "m" / "labels.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError):
        SubArgumentTagger.from_path(tmp_path / "m")
    with pytest.raises(ModelError):
        SubArgumentTagger.from_path(tmp_path / "nothing")


def test_snap_to_words():
    from medlens.medications.subargs import snap_to_words

    text = "isosorbide dinitrate 5 mg/kg i.v daily"
    assert snap_to_words(text, [("ROUTE", 11, 16), ("DOSAGE", 21, 28), ("ROUTE", 29, 30), ("FREQ", 34, 36)]) == [
        ("ROUTE", 11, 20), ("DOSAGE", 21, 28), ("ROUTE", 29, 30), ("FREQ", 33, 38)]
