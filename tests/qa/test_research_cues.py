"""The shipped research-question model (cue counts + logistic regression): features, answers, evidence, model folders."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from medlens.errors import InputError, ModelError
from medlens.qa.cues import MODEL_FILE, count_cues, cue_features, feature_names, read_cue_model
from medlens.qa.models import ResearchAnswer
from medlens.qa.research import QA_DIR, answer_research, load_research_model

NEGATIVE = ("We randomised 240 patients with chronic low back pain to acupuncture or sham acupuncture. "
            "Pain scores at 12 weeks were similar in both groups (p = 0.62). "
            "There was no significant difference in disability, and the treatment did not reduce analgesic use "
            "(p = 0.41). Acupuncture was not associated with any improvement in quality of life.")
POSITIVE = ("We randomised 240 patients with hypertension to drug X or placebo. "
            "Systolic blood pressure decreased significantly more with drug X (p < 0.001). "
            "Drug X significantly reduced the rate of stroke (p = 0.01). Adverse events were rare.")


def _valid(ans: ResearchAnswer, context: str) -> None:
    assert set(ans.probabilities) == {"yes", "no", "maybe"}
    assert abs(sum(ans.probabilities.values()) - 1) < 1e-4
    assert all(0 < p < 1 for p in ans.probabilities.values())
    assert ans.model == "cues-logreg-v1"
    assert ans.evidence and ans.evidence[0].weight == 1.0
    assert [e.weight for e in ans.evidence] == sorted((e.weight for e in ans.evidence), reverse=True)
    for ev in ans.evidence:
        assert context[ev.start:ev.end] == ev.text and ev.provenance.startswith("cues: ")


def test_cue_features_count_the_cues_of_the_whole_text_and_its_tail() -> None:
    names = feature_names()
    x = cue_features(NEGATIVE)
    assert len(x) == len(names) == 16
    f = dict(zip(names, x))
    # "no significant", "did not reduce", "not associated", "similar" -> no_effect; the last two sentences hold 3 of them
    assert f["no_effect:all"] == pytest.approx(math.log1p(4))
    assert f["no_effect:tail"] == pytest.approx(math.log1p(3))
    assert f["p_large:all"] == pytest.approx(math.log1p(2)) and f["p_small:all"] == 0.0
    assert count_cues("P < 0.001 and p = 0.01")[[n for n in names if n.endswith(":all")].index("p_small:all")] == 2


def test_shipped_model_answers_a_negative_result_no() -> None:
    ans = answer_research("Does acupuncture relieve chronic low back pain?", NEGATIVE)
    _valid(ans, NEGATIVE)
    assert ans.label == "no" and ans.probabilities["no"] > 0.5
    assert "no significant difference" in ans.evidence[0].text  # the sentence with the most no-effect cues
    assert all("randomised" not in e.text for e in ans.evidence)  # a sentence without cues is no evidence


def test_shipped_model_answers_a_positive_result_yes() -> None:
    ans = answer_research("Does drug X lower blood pressure?", POSITIVE)
    _valid(ans, POSITIVE)
    assert ans.label == "yes" and ans.probabilities["yes"] > 0.5
    assert all("significantly" in e.text for e in ans.evidence)


def test_passages_give_passage_offsets_and_the_same_probabilities() -> None:
    cut = POSITIVE.index("Drug X significantly")
    passages = [POSITIVE[:cut].strip(), POSITIVE[cut:]]
    ans = answer_research("Does drug X lower blood pressure?", passages)
    assert ans.probabilities == answer_research("Does drug X lower blood pressure?", POSITIVE).probabilities
    for ev in ans.evidence:
        assert passages[int(ev.doc_id)][ev.start:ev.end] == ev.text
    assert {e.doc_id for e in ans.evidence} == {"0", "1"}


def test_runtime_probabilities_are_the_softmax_of_the_saved_weights() -> None:
    meta = json.loads((QA_DIR / MODEL_FILE).read_text(encoding="utf-8"))
    assert meta["task"] == "research-question" and meta["kind"] == "cues-logreg" and meta["labels"] == ["maybe", "no", "yes"]
    assert meta["training"]["n"] == 500 and meta["training"]["cv_5fold"]["accuracy"] > 0.552  # above the majority class
    x = cue_features(POSITIVE)
    z = [(v - m) / s for v, m, s in zip(x, meta["scaler"]["mean"], meta["scaler"]["scale"])]
    logits = [b + sum(w * v for w, v in zip(row, z)) for row, b in zip(meta["coef"], meta["intercept"])]
    expected = [math.exp(v) / sum(math.exp(u) for u in logits) for v in logits]
    got = read_cue_model(QA_DIR / MODEL_FILE).probabilities(POSITIVE)
    assert [got[l] for l in meta["labels"]] == pytest.approx(expected, abs=1e-9)


def test_model_dir_may_be_a_cue_model_folder(tmp_path: Path) -> None:
    folder = tmp_path / "cues"
    folder.mkdir()
    meta = json.loads((QA_DIR / MODEL_FILE).read_text(encoding="utf-8"))
    meta["name"] = "my-cues"
    meta["intercept"] = [0.0, 0.0, 10.0]  # always "yes"
    meta["coef"] = [[0.0] * 16 for _ in range(3)]
    (folder / MODEL_FILE).write_text(json.dumps(meta), encoding="utf-8")
    ans = answer_research("Does acupuncture relieve pain?", NEGATIVE, model_dir=folder)
    assert ans.model == "my-cues" and ans.label == "yes" and ans.evidence == []  # no cue moved the answer
    assert load_research_model(folder) is load_research_model(folder)


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(task="document-classification"), "needs 'task': 'research-question'"),
    (lambda m: m.update(labels=["yes", "no"]), "labels"),
    (lambda m: m.update(features=m["features"][:-1]), "its features"),
    (lambda m: m.update(cues_digest="0" * 16), "changed since the model was trained"),
    (lambda m: m["coef"].pop(), "wrong shape"),
    (lambda m: m.pop("scaler"), "bad or missing weights"),
])
def test_a_broken_cue_model_is_refused(tmp_path: Path, change, message: str) -> None:
    meta = json.loads((QA_DIR / MODEL_FILE).read_text(encoding="utf-8"))
    change(meta)
    (tmp_path / MODEL_FILE).write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelError, match=message):
        answer_research("Is it?", NEGATIVE, model_dir=tmp_path)


def test_errors_are_unchanged_with_the_default_model(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="research question is empty"):
        answer_research("  ", NEGATIVE)
    with pytest.raises(InputError, match="context is empty"):
        answer_research("Is it?", "")
    with pytest.raises(ModelError, match=r"No research-question model .*\(no such folder\)"):
        answer_research("Is it?", NEGATIVE, model_dir=tmp_path / "nothing")
    with pytest.raises(ModelError, match="no cues.json, model.int8.onnx or model.onnx"):
        answer_research("Is it?", NEGATIVE, model_dir=tmp_path)


def test_an_onnx_cross_encoder_folder_still_answers(tiny_qa_onnx: Path, tmp_path: Path) -> None:
    ans = answer_research("Is it?", NEGATIVE, model_dir=tiny_qa_onnx)
    assert ans.model != "cues-logreg-v1" and abs(sum(ans.probabilities.values()) - 1) < 1e-4
    both = tmp_path / "both"  # a folder with both kinds: the cue model wins (decided by the files present)
    shutil.copytree(tiny_qa_onnx, both)
    shutil.copy(QA_DIR / MODEL_FILE, both / MODEL_FILE)
    assert answer_research("Is it?", NEGATIVE, model_dir=both).model == "cues-logreg-v1"
