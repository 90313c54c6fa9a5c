"""`medlens train qa`: PubMedQA reader, class weights, stratified disjoint folds, training with frozen cached layers,
cross-validation, int8 export round trip, and the CLI; on a tiny random-weight cross-encoder."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from medlens.errors import InputError
from medlens.training.classify import stratified_folds
from medlens.training.qa import QAExample, class_weights, read_qa_examples

from tests.conftest import SHARED_DATA
from tests.qa.conftest import write_tiny_cross_encoder

QUESTIONS = [
    ("were patients with breast cancer treated with tamoxifen?", "patients with breast cancer were treated with tamoxifen.", "yes"),
    ("is cisplatin induced renal failure common?", "no evidence of renal failure in the patients.", "no"),
    ("does tamoxifen treat the disease?", "the disease was treated with tamoxifen.", "yes"),
    ("is there evidence of cancer?", "no evidence of cancer.", "no"),
    ("were the patients treated?", "the patients were treated and no disease of the renal.", "maybe"),
    ("is renal failure induced by cisplatin?", "cisplatin induced renal failure.", "yes"),
    ("is breast cancer a renal disease?", "no.", "no"),
    ("was it treated with cisplatin?", "a disease of the breast treated with cisplatin and tamoxifen.", "maybe"),
]


def _pubmedqa_json(path: Path, rows=QUESTIONS) -> Path:
    data = {str(100 + i): {"QUESTION": q, "CONTEXTS": c.split(". "), "final_decision": l,
                           "LONG_ANSWER": f"the answer is {l}.", "LABELS": ["RESULTS"]} for i, (q, c, l) in enumerate(rows)}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_reader_pubmedqa_json_and_jsonl(tmp_path: Path) -> None:
    ex = read_qa_examples(_pubmedqa_json(tmp_path / "q.json"))
    assert len(ex) == 8 and ex[0].label == "yes" and ex[0].long_answer == "the answer is yes."
    assert ex[0].context == "patients with breast cancer were treated with tamoxifen." and ex[0].source == "q.json:100"
    jl = tmp_path / "q.jsonl"
    jl.write_text(json.dumps({"question": "is it?", "context": "it is.", "label": "maybe"}) + "\n\n", encoding="utf-8")
    assert read_qa_examples(jl) == [QAExample("is it?", "it is.", "maybe", "", "q.jsonl:1")]


@pytest.mark.parametrize("entry, message", [
    ({"QUESTION": "q?", "CONTEXTS": ["c."], "final_decision": "perhaps"}, r"entry 1: label 'perhaps' is not one of maybe, no, yes"),
    ({"QUESTION": "", "CONTEXTS": ["c."], "final_decision": "yes"}, "entry 1: no question"),
    ({"QUESTION": "q?", "CONTEXTS": [], "final_decision": "yes"}, "entry 1: no context"),
])
def test_reader_names_the_bad_entry(tmp_path: Path, entry: dict, message: str) -> None:
    p = tmp_path / "bad.json"
    p.write_text(json.dumps({"1": entry}), encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_qa_examples(p)


def test_class_weights() -> None:
    labels = ["yes"] * 6 + ["no"] * 3 + ["maybe"]
    none, sq, bal = (class_weights(labels, m) for m in ("none", "sqrt", "balanced"))
    assert none == [1.0, 1.0, 1.0]
    # order of LABELS: maybe, no, yes; rarer classes weigh more, and the mean weight over the examples is 1
    assert bal[0] > sq[0] > 1 > sq[2] > bal[2] and bal[0] / bal[2] == pytest.approx(6.0)
    for w in (sq, bal):
        assert (w[0] * 1 + w[1] * 3 + w[2] * 6) / 10 == pytest.approx(1.0)
    with pytest.raises(InputError, match="Unknown class weighting 'odd'"):
        class_weights(labels, "odd")


def test_cv_folds_are_stratified_and_disjoint() -> None:
    ex = [QAExample(f"q{i}", "c", l) for i, l in enumerate(["yes"] * 55 + ["no"] * 35 + ["maybe"] * 10)]
    folds = stratified_folds(ex, 5, seed=13)
    flat = [i for f in folds for i in f]
    assert sorted(flat) == list(range(100))  # every question in exactly one fold
    for f in folds:
        assert Counter(ex[i].label for i in f) == {"yes": 11, "no": 7, "maybe": 2}
    assert folds == stratified_folds(ex, 5, seed=13) and folds != stratified_folds(ex, 5, seed=14)


def test_frozen_lower_and_upper_layers_equal_the_full_model(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification

    from medlens.training.qa import lower_states, upper_logits

    model = AutoModelForSequenceClassification.from_pretrained(str(write_tiny_cross_encoder(tmp_path / "m")),
                                                               local_files_only=True).eval()
    ids = torch.randint(5, 40, (3, 12))
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    ref = model(input_ids=ids, attention_mask=mask).logits
    got = upper_logits(model, lower_states(model, ids, mask, 1), mask, 1)
    assert torch.allclose(ref, got, atol=1e-5)


@pytest.mark.parametrize("freeze", [0, 1])
def test_train_one_epoch_on_six_examples(tmp_path: Path, freeze: int) -> None:
    import torch

    from medlens.training.qa import QATrainConfig, train_qa

    base = write_tiny_cross_encoder(tmp_path / "base")
    data = _pubmedqa_json(tmp_path / "q.json", QUESTIONS[:6])
    cfg = QATrainConfig(data=str(data), output=str(tmp_path / "run"), base_model=str(base), epochs=1, batch_size=4,
                        lr=1e-3, max_length=32, freeze_layers=freeze, threads=1, long_answers=True)
    held = read_qa_examples(_pubmedqa_json(tmp_path / "h.json", QUESTIONS[6:]))
    res = train_qa(cfg, held_out=held)
    out = Path(res.model_dir)
    meta = json.loads((out / "labels.json").read_text(encoding="utf-8"))
    assert meta["input"] == "question-context" and meta["labels"] == ["maybe", "no", "yes"] and meta["epoch"] == 1
    assert len(res.history) == 1 and res.history[0]["step"] == 3  # 6 questions + 6 long answers, batches of 4
    assert len(res.probabilities) == 2 and all(sum(p) == pytest.approx(1.0, abs=1e-5) for p in res.probabilities)
    from safetensors.torch import load_file

    before, after = load_file(str(base / "model.safetensors")), load_file(str(out / "model.safetensors"))
    changed = {k for k in after if k in before and not torch.equal(before[k], after[k])}
    assert any(k.startswith("classifier") for k in changed)
    emb = "bert.embeddings.word_embeddings.weight"
    assert (emb in changed) == (freeze == 0)  # frozen layers stay as they were
    assert not (tmp_path / "run" / "train_state.pt").exists()


def test_cross_validation_and_export_round_trip(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from medlens.qa.research import answer_research
    from medlens.training.export import export_onnx
    from medlens.training.qa import QATrainConfig, cross_validate_qa

    base = write_tiny_cross_encoder(tmp_path / "base")
    data = _pubmedqa_json(tmp_path / "q.json")
    cfg = QATrainConfig(data=str(data), output=str(tmp_path / "cv"), base_model=str(base), epochs=1, batch_size=4,
                        max_length=32, freeze_layers=1, threads=1)
    rep = cross_validate_qa(cfg, 2)
    saved = json.loads((tmp_path / "cv" / "cv.json").read_text(encoding="utf-8"))
    assert saved["n"] == 8 and len(saved["out_of_fold"]) == 8 and all(r["probabilities"] for r in saved["out_of_fold"])
    assert 0 <= rep["accuracy"] <= 1 and set(rep["per_class"]) == {"maybe", "no", "yes"}
    assert sum(c["n_gold"] for c in rep["per_class"].values()) == 8 and len(rep["fold_accuracy"]) == 2

    model_dir = tmp_path / "cv" / "fold-1" / "model"
    samples = [f"{q} [SEP] {c}" for q, c, _ in QUESTIONS]
    report = export_onnx(model_dir, tmp_path / "onnx", sample_texts=samples)
    assert report["ok"] and report["int8_argmax_agreement"] >= 0.98
    ans = answer_research(QUESTIONS[0][0], QUESTIONS[0][1], model_dir=tmp_path / "onnx")
    assert ans.label in ("yes", "no", "maybe")


def test_cli_train_qa_folds(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from medlens.cli.train import train_app

    base = write_tiny_cross_encoder(tmp_path / "base")
    data = _pubmedqa_json(tmp_path / "q.json")
    res = CliRunner().invoke(train_app, ["qa", "-t", str(data), "-o", str(tmp_path / "cv"), "--folds", "2", "--base-model",
                                         str(base), "--epochs", "1", "--batch-size", "4", "--max-length", "32",
                                         "--freeze-layers", "1", "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert "precision" in res.output and "macro avg" in res.output and "2-fold CV: accuracy" in res.output
    res = CliRunner().invoke(train_app, ["qa", "-t", str(tmp_path / "missing.json"), "-o", str(tmp_path / "x")])
    assert res.exit_code == 2 and "missing.json" in res.output and "such file" in " ".join(res.output.split())


@pytest.mark.slow
def test_real_pubmedqa_labelled_set() -> None:
    path = SHARED_DATA / "pubmedqa" / "pqal_train.json"
    if not path.is_file():
        pytest.skip(f"{path} is absent (the PubMedQA expert-labeled questions, ../shared/data/pubmedqa)")
    ex = read_qa_examples(path)
    assert len(ex) == 500 and Counter(e.label for e in ex) == {"yes": 276, "no": 169, "maybe": 55}
    assert all(e.long_answer for e in ex)
    folds = stratified_folds(ex, 5, 13)
    assert sorted(i for f in folds for i in f) == list(range(500))


def test_weak_examples_from_titled_abstracts(tmp_path: Path) -> None:
    from medlens.training.qa import read_pubtator_abstracts, weak_examples

    p = tmp_path / "docs.PubTator.txt"
    p.write_text(
        "1|t|Tamoxifen reduces recurrence of breast cancer.\n"
        "1|a|We studied 40 women. They were treated. Recurrence was counted. Tamoxifen significantly reduced recurrence.\n"
        "1\t0\t9\tTamoxifen\tChemical\tD013629\n\n"
        "2|t|Cisplatin and hearing loss\n"
        "2|a|We studied 40 children. They were treated. Hearing was tested. Cisplatin was not associated with hearing loss.\n\n"
        "3|t|Aspirin and stroke\n"
        "3|a|We studied 40 adults. They were treated. Stroke was counted. Aspirin may prevent stroke.\n\n"
        "4|t|Too short\n4|a|One sentence. Two sentences.\n", encoding="utf-8")
    docs = read_pubtator_abstracts(p)
    assert [t for t, _ in docs] == ["Tamoxifen reduces recurrence of breast cancer.", "Cisplatin and hearing loss",
                                    "Aspirin and stroke", "Too short"]
    ex = weak_examples(docs, source="toy")
    assert [(e.question, e.label) for e in ex] == [
        ("Is it true that tamoxifen reduces recurrence of breast cancer?", "yes"),
        ("Is it true that cisplatin and hearing loss?", "no")]  # hedged (3) and short (4) abstracts are skipped
    assert ex[0].context == "We studied 40 women. They were treated. Recurrence was counted."
    assert ex[0].long_answer == "Tamoxifen significantly reduced recurrence."


def test_calibration_choices() -> None:
    from medlens.training.qa import choose_margin, choose_temperature, cross_fitted_margins, decide

    # maybe, no, yes: the "maybe" questions have yes and no close together
    probs = [[0.1, 0.1, 0.8]] * 6 + [[0.1, 0.8, 0.1]] * 4 + [[0.2, 0.38, 0.42]] * 3
    gold = ["yes"] * 6 + ["no"] * 4 + ["maybe"] * 3
    assert decide(probs) == ["yes"] * 6 + ["no"] * 4 + ["yes"] * 3
    m = choose_margin(probs, gold)
    assert 0.02 < m <= 0.7 and decide(probs, m) == gold
    assert choose_margin([[0.1, 0.1, 0.8]] * 3, ["yes"] * 3) == 0.0  # ties: the smallest margin
    # over-confident wrong answers want a high temperature, right ones a low one
    assert choose_temperature([[0.01, 0.01, 0.98]] * 5 + [[0.98, 0.01, 0.01]] * 5, ["yes"] * 5 + ["no"] * 5) == 3.0
    assert choose_temperature([[0.05, 0.05, 0.9]] * 5, ["yes"] * 5) == 0.5
    pred, margins = cross_fitted_margins(probs, gold, [list(range(0, 13, 2)), list(range(1, 13, 2))])
    assert len(margins) == 2 and pred == gold


def test_final_model_carries_the_cv_calibration(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from medlens.qa.research import load_research_model
    from medlens.training.export import export_onnx
    from medlens.training.qa import QATrainConfig, cross_validate_qa, train_qa

    base = write_tiny_cross_encoder(tmp_path / "base")
    data = _pubmedqa_json(tmp_path / "q.json")
    cfg = QATrainConfig(data=str(data), output=str(tmp_path / "cv"), base_model=str(base), epochs=1, batch_size=4,
                        max_length=32, freeze_layers=1, threads=1)
    cross_validate_qa(cfg, 2)
    res = train_qa(QATrainConfig(**{**cfg.__dict__, "output": str(tmp_path / "final"),
                                    "calibrate_from": str(tmp_path / "cv" / "cv.json")}))
    meta = json.loads((Path(res.model_dir) / "labels.json").read_text(encoding="utf-8"))
    assert meta["temperature"] > 0 and meta["maybe_margin"] >= 0 and "8 out-of-fold" in meta["calibrated_on"]
    export_onnx(res.model_dir, tmp_path / "onnx", sample_texts=[f"{q} [SEP] {c}" for q, c, _ in QUESTIONS])
    model = load_research_model(tmp_path / "onnx")
    assert model.temperature == meta["temperature"] and model.maybe_margin == meta["maybe_margin"]


def test_fit_cue_model_writes_weights_the_runtime_reproduces(tmp_path: Path) -> None:
    """The cue model fitted by scikit-learn, saved as JSON and read back by the pure-Python runtime: same probabilities."""
    pytest.importorskip("sklearn")
    import numpy as np

    from medlens.qa.cues import cue_features, read_cue_model
    from medlens.training.qa_cues import fit_cue_model, fit_scaled_logreg, write_cue_model

    texts = {"no": ["There was no significant difference (p = 0.4).", "Outcomes were similar; it did not reduce pain."],
             "yes": ["Mortality decreased significantly (p < 0.01).", "Scores improved significantly (p = 0.02) with it."],
             "maybe": ["Results may suggest a trend, but further study is needed.", "It could possibly help; unclear."]}
    examples = [QAExample("q?", t + suffix, label) for label, ts in texts.items() for t in ts
                for suffix in ("", " Patients were followed.")]
    model = fit_cue_model(examples, extra={"data": "test"})
    path = write_cue_model(model, tmp_path / "qa")
    assert path.name == "cues.json" and model["training"]["data"] == "test"
    runtime = read_cue_model(path)
    X = np.array([cue_features(e.context) for e in examples])
    sc, m = fit_scaled_logreg(X, np.array([["maybe", "no", "yes"].index(e.label) for e in examples]))
    expected = m.predict_proba(sc.transform(X))
    for e, row in zip(examples, expected):
        got = runtime.probabilities(e.context)
        assert [got[l] for l in ("maybe", "no", "yes")] == pytest.approx(row.tolist(), abs=1e-5)
    assert runtime.probabilities(texts["no"][0])["no"] > 0.5


@pytest.mark.slow
def test_shipped_cue_model_is_the_fit_on_the_real_pubmedqa_set() -> None:
    """Refitting on the 500 PubMedQA questions gives the shipped weights; they beat the majority class on them."""
    pytest.importorskip("sklearn")
    path = SHARED_DATA / "pubmedqa" / "pqal_train.json"
    if not path.is_file():
        pytest.skip(f"{path} is absent (the PubMedQA expert-labeled questions, ../shared/data/pubmedqa)")
    from medlens.qa.research import QA_DIR, answer_research
    from medlens.training.qa_cues import fit_cue_model

    shipped = json.loads((QA_DIR / "cues.json").read_text(encoding="utf-8"))
    ex = read_qa_examples(path)
    fresh = fit_cue_model(ex)
    assert fresh["features"] == shipped["features"] and fresh["labels"] == shipped["labels"]
    for key in ("coef", "intercept"):
        assert [v for row in (fresh[key] if key == "coef" else [fresh[key]]) for v in row] == pytest.approx(
            [v for row in (shipped[key] if key == "coef" else [shipped[key]]) for v in row], abs=1e-4)
    right = sum(answer_research(e.question, e.context).label == e.label for e in ex)
    assert right / len(ex) > 0.552
