"""medlens_classifier: doc.cats from a tiny exported model, batching, coded errors, results and WITH_MODEL."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import spacy

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

import medlens  # noqa: E402
from medlens.components.classifier import DEFAULT_MODEL_DIR, DocumentClassifier, OnnxClassifier  # noqa: E402
from medlens.config import CLASSIFIER_DIR, WITH_MODEL, with_model_components  # noqa: E402
from medlens.errors import ModelError  # noqa: E402
from medlens.results import DocumentResult  # noqa: E402
from tests.training.conftest import CLASS_LABELS, write_tiny_classifier  # noqa: E402

TEXTS = ["patients with breast cancer were treated with tamoxifen .",
         "no evidence of disease",
         "cisplatin induced renal failure " * 30,
         "a",
         "the renal failure of the patients in the breast cancer evidence"]


def _export(tmp: Path, labels: list[str], **kwargs) -> Path:
    from medlens.training.export import export_onnx

    model = write_tiny_classifier(tmp / "ckpt", labels, **kwargs)
    report = export_onnx(model, tmp / "onnx")
    assert report["ok"], report
    return tmp / "onnx"


@pytest.fixture(scope="module")
def random_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _export(tmp_path_factory.mktemp("clf"), CLASS_LABELS, truncation="head-tail", max_length=16, head_scale=300.0)


@pytest.fixture(scope="module")
def known_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every document gets probabilities 1/6, 2/6, 3/6 (zero head weights, bias 0, ln 2, ln 3)."""
    return _export(tmp_path_factory.mktemp("known"), CLASS_LABELS, head_bias=[0.0, math.log(2), math.log(3)])


@pytest.fixture(scope="module")
def multi_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Multi-label: sigmoids 0.88, 0.12, 0.62 for every document."""
    return _export(tmp_path_factory.mktemp("multi"), CLASS_LABELS, multi_label=True, head_bias=[2.0, -2.0, 0.5])


def _nlp(model: Path, **settings) -> spacy.Language:
    return medlens.load(components=("sections", "classifier"), classifier_path=str(model), classifier=settings or None)


def test_classifier_fills_cats_with_softmax_probabilities(random_model: Path) -> None:
    nlp = _nlp(random_model)
    for text in TEXTS:
        doc = nlp(text)
        assert list(doc.cats) == CLASS_LABELS
        assert all(0.0 <= p <= 1.0 for p in doc.cats.values())
        assert sum(doc.cats.values()) == pytest.approx(1.0, abs=1e-5)
        assert doc._.categories == (max(doc.cats, key=doc.cats.get),)


def test_known_head_gives_known_cats(known_model: Path) -> None:
    doc = _nlp(known_model)("breast cancer")
    assert doc.cats == pytest.approx({"cardio": 1 / 6, "neuro": 2 / 6, "onco": 3 / 6}, abs=1e-5)


def test_pipe_batches_equal_single_calls(random_model: Path) -> None:
    """Padding is masked: batched and single calls give the same probabilities.

    Checked on the fp32 model: int8 dynamic quantization computes activation scales over each
    batch, so int8 probabilities move slightly with the batch's composition (by design of ONNX
    Runtime's dynamic quantization, not padding leaking in).
    """
    nlp = _nlp(random_model / "model.onnx", batch_size=2)
    single = [nlp(t) for t in TEXTS]
    piped = list(nlp.pipe(TEXTS, batch_size=3))  # groups of 3, padded batches of 2 (length-sorted)
    assert len(piped) == len(TEXTS)
    for a, b in zip(single, piped):
        assert a.cats == pytest.approx(b.cats, abs=1e-6)
        assert a._.categories == b._.categories
    # the documents really differ, so equality is not trivial
    spread = max(max(d.cats[l] for d in single) - min(d.cats[l] for d in single) for l in CLASS_LABELS)
    assert spread > 1e-4, spread


def test_batches_are_length_sorted_and_capped_by_documents_and_positions(random_model: Path) -> None:
    clf = OnnxClassifier.from_path(random_model, max_tokens=40)
    lengths = [16, 3, 16, 9, 16, 4, 16]
    groups = clf.batches(lengths, batch_size=3)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    flat = [lengths[i] for g in groups for i in g]
    assert flat == sorted(flat)  # length-sorted across batches
    for g in groups:  # at most 3 documents and, past one document, 40 padded positions
        assert 1 <= len(g) <= 3 and (len(g) == 1 or len(g) * max(lengths[i] for i in g) <= 40)
    assert [len(g) for g in clf.batches([16] * 5, batch_size=32)] == [2, 2, 1]
    assert OnnxClassifier.from_path(random_model, max_tokens=None).batches([16] * 5, batch_size=2) == [[0, 1], [2, 3], [4]]
    assert all(len(g) == 1 for g in OnnxClassifier.from_path(random_model, max_tokens=1).batches(lengths))


def test_concurrent_batches_give_the_batches_results_in_input_order(random_model: Path) -> None:
    """Batches run on two threads at once give exactly what they give one after another, rows in
    input order; small batches (max_tokens) stay close to reading each document alone."""
    texts = TEXTS * 3
    one = OnnxClassifier.from_path(random_model, threads=1, max_tokens=32)
    two = OnnxClassifier.from_path(random_model, threads=2, max_tokens=32)
    assert two.runs.threads == 2 and len(two.batches([16] * len(texts))) > 2
    assert (one.probabilities(texts) == two.probabilities(texts)).all()
    alone = OnnxClassifier.from_path(random_model, threads=2, max_tokens=1)
    assert abs(alone.probabilities(texts) - [alone.probabilities([t])[0] for t in texts]).max() == 0.0
    assert abs(alone.probabilities(texts) - two.probabilities(texts)).max() < 0.05


def test_max_tokens_is_a_classifier_setting(random_model: Path) -> None:
    nlp = _nlp(random_model, max_tokens=16)
    assert nlp.get_pipe("medlens_classifier").model.max_tokens == 16
    assert _nlp(random_model).get_pipe("medlens_classifier").model.max_tokens == 512
    assert _nlp(random_model, max_tokens=None).get_pipe("medlens_classifier").model.max_tokens is None


def test_head_truncation_tokenizes_only_the_head_with_the_same_ids(random_model: Path) -> None:
    from medlens.components.classifier import encode_documents, truncate_ids
    from medlens.tagging.files import load_tokenizer, special_ids

    tok = load_tokenizer(random_model)
    cls_id, sep_id, _ = special_ids(tok)
    texts = ["breast cancer treated with tamoxifen , renal failure . " * 40,  # long: cut before tokenizing
             "a " * 300,  # many one-character words
             "x" * 500 + " renal failure",  # no space early enough: tokenized whole
             "cancer" * 30 + " " + "renal " * 50,  # the cut holds fewer subwords than kept: tokenized whole
             "short text", ""]
    whole = [[cls_id] + truncate_ids(e.ids, 14, "head") + [sep_id] for e in tok.encode_batch(texts, add_special_tokens=False)]
    assert encode_documents(texts, tok, 16, "head") == whole


def test_truncation_follows_the_model_meta(random_model: Path) -> None:
    """head-tail at 16 subwords: 3 subwords from the head and 11 from the tail decide, whatever lies between."""
    clf = OnnxClassifier.from_path(random_model)
    head, tail = "breast cancer treated ", " renal failure of the patients with breast cancer and renal failure ."
    a, b = (clf.probabilities([head + w * 40 + tail])[0] for w in ("tamoxifen ", "cisplatin "))
    assert abs(a - b).max() == 0.0
    # the middle words do matter once they reach the kept tail
    c = clf.probabilities([head + "cisplatin " * 40 + "renal failure ."])[0]
    assert abs(a - c).max() > 0.0


def test_multi_label_threshold_decides_predictions(multi_model: Path) -> None:
    doc = _nlp(multi_model)("renal failure")
    assert doc.cats == pytest.approx({"cardio": 0.8808, "neuro": 0.1192, "onco": 0.6225}, abs=1e-3)
    assert doc._.categories == ("cardio", "onco")
    assert _nlp(multi_model, threshold=0.7)("renal failure")._.categories == ("cardio",)


def test_document_result_categories_only_when_classified(known_model: Path, tiny_kg_path: Path) -> None:
    res = DocumentResult.from_doc(_nlp(known_model)("breast cancer"), doc_id="d1")
    assert [(c.label, c.predicted) for c in res.categories] == [("onco", True), ("neuro", False), ("cardio", False)]
    assert res.categories[0].score == pytest.approx(0.5, abs=1e-5)
    assert json.loads(res.model_dump_json(exclude_none=True))["categories"][0]["label"] == "onco"
    plain = DocumentResult.from_doc(medlens.load(components=("sections",))("breast cancer"), doc_id="d2")
    assert plain.categories is None
    assert "categories" not in json.loads(plain.model_dump_json(exclude_none=True))


def test_missing_model_folder_raises_coded_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"No document-classifier model at .*nowhere \(no such folder\).*medlens export"):
        medlens.load(components=("classifier",), classifier_path=str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=r"no model.int8.onnx or model.onnx in the folder"):
        OnnxClassifier.from_path(tmp_path / "empty")


def test_malformed_model_folder_raises_coded_error(known_model: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(known_model, bad)
    (bad / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match=r"no tokenizer.json in the folder"):
        OnnxClassifier.from_path(bad)
    shutil.copy(known_model / "tokenizer.json", bad / "tokenizer.json")
    (bad / "labels.json").write_text(json.dumps({"labels": ["O", "B-X"], "max_length": 16, "stride": 4}))
    with pytest.raises(ModelError, match=r"not a medlens text-classification model: labels.json has task None"):
        OnnxClassifier.from_path(bad)
    meta = {"task": "text-classification", "labels": ["a", "b"], "multi_label": False, "max_length": 16}
    (bad / "labels.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=r"it has 3 outputs but labels.json names 2 labels"):
        OnnxClassifier.from_path(bad)


def test_shipped_model_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("medlens.components.classifier.DEFAULT_MODEL_DIR", tmp_path / "assets" / "classifier")
    with pytest.raises(ModelError, match=r"No document-classifier model at .*assets/classifier"):
        medlens.load(components=("sections", "classifier"))


def test_with_model_includes_the_classifier_only_when_shipped(tmp_path: Path) -> None:
    assert DEFAULT_MODEL_DIR == CLASSIFIER_DIR
    assert "classifier" not in with_model_components(tmp_path)
    (tmp_path / "model.int8.onnx").write_bytes(b"")
    assert with_model_components(tmp_path)[-1] == "classifier"
    assert ("classifier" in WITH_MODEL) == (CLASSIFIER_DIR / "model.int8.onnx").is_file()


def test_component_contract() -> None:
    meta = spacy.Language.get_factory_meta("medlens_classifier")
    assert meta.assigns == ["doc.cats"] and not meta.requires
    assert DocumentClassifier.__init__.__kwdefaults__["threshold"] == 0.5


@pytest.mark.skipif(not (DEFAULT_MODEL_DIR / "model.int8.onnx").exists(), reason="no shipped classifier in medlens/assets/classifier")
def test_shipped_classifier_knows_the_five_categories() -> None:
    """The real shipped model on sentences written for this test (not from the training corpus)."""
    nlp = medlens.load(components=("sections", "classifier"))  # the default classifier_path: the shipped model
    cases = {
        "Adenocarcinoma of the pancreas: chemotherapy improved survival in patients with metastatic tumors.": "neoplasms",
        "Acute myocardial infarction and coronary artery disease: outcomes after stent placement.": "cardiovascular_diseases",
        "Seizures in children: electroencephalography findings and anticonvulsant treatment of epilepsy.": "nervous_system_diseases",
    }
    for text, label in cases.items():
        doc = nlp(text)
        assert doc._.categories == (label,), (text, doc.cats)
        assert sum(doc.cats.values()) == pytest.approx(1.0, abs=1e-4)
