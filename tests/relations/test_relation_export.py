"""ONNX export of the relation model: the fp32 and int8 graphs give PyTorch's logits, windows included."""

from __future__ import annotations

import numpy as np
from medlens.relations.model import RelationModel
from medlens.relations.pubtator import read_pubtator
from medlens.training.relations import encode_pubtator, load_net, predict_scores

from medlens.tagging.files import load_tokenizer, special_ids
from tests.relations.conftest import PUBTATOR, read_json


def test_export_report_and_files(tiny_relation_onnx):
    report = read_json(tiny_relation_onnx / "export_report.json")
    assert report["ok"] is True
    assert report["fp32_max_abs_diff"] < 1e-4
    for name in ("model.onnx", "model.int8.onnx", "tokenizer.json", "labels.json"):
        assert (tiny_relation_onnx / name).is_file()
    assert report["int8_mb"] < report["fp32_mb"]


def test_onnx_runtime_scores_match_torch_on_windowed_documents(tiny_relation_dir, tiny_relation_onnx):
    docs = read_pubtator(PUBTATOR)
    net, meta = load_net(tiny_relation_dir)
    tok = load_tokenizer(tiny_relation_dir)
    meta = {**meta, "max_length": 16, "stride": 4}  # several windows per document
    enc = encode_pubtator(docs, tok, meta)
    assert all(len(e.windows) > 1 for e in enc)
    want = predict_scores(net, enc, special_ids(tok)[2])
    for model_file in ("model.onnx", "model.int8.onnx"):
        from medlens.tagging.files import onnx_session

        model = RelationModel(onnx_session(tiny_relation_onnx / model_file, 1), tok, meta)
        got = model.score(enc)
        assert [len(g) for g in got] == [len(w) for w in want]
        tol = 1e-5 if model_file == "model.onnx" else 0.1  # int8: a random 32-wide encoder quantizes coarsely
        assert np.abs(np.concatenate(got) - np.concatenate(want)).max() < tol
    # the probabilities differ between pairs (the check above is not comparing constants)
    assert np.ptp(np.concatenate(want)) > 0.01


def test_relation_model_predict_applies_threshold_and_hypernyms(tiny_relation_onnx):
    model = RelationModel.from_path(tiny_relation_onnx, threads=1)
    docs = read_pubtator(PUBTATOR)
    enc = encode_pubtator(docs, model.tokenizer, model.meta)
    everything = model.predict(enc, threshold=0.0)
    assert [len(p) for p in everything] == [len(e.pairs) for e in enc]
    assert all(a.score >= b.score for p in everything for a, b in zip(p, p[1:]))
    assert model.predict(enc, threshold=1.01) == [[], [], []]
    # a tree that puts ovarian cancer (D010051) above breast cancer (D001943): the broader pair goes
    trees = {"D010051": ["C04.1"], "D001943": ["C04.1.2"]}
    second = model.predict(enc[1:2], threshold=0.0, trees=trees)[0]
    assert ("D013629", "D010051") not in {(p.head_id, p.tail_id) for p in second}
    assert ("D013629", "D001943") in {(p.head_id, p.tail_id) for p in second}
