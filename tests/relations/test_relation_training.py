"""`medlens train relations` on the tiny PubTator fixture with a random-weight encoder: it runs, scores, saves, resumes."""

from __future__ import annotations

import math

from medlens.relations.pubtator import read_pubtator
from medlens.training.relations import (
    RelationTrainConfig,
    best_threshold,
    gold_pairs,
    holdout_split,
    load_net,
    train_relations,
)

from tests.relations.conftest import PUBTATOR, read_json


def test_train_relations_runs_an_epoch_and_saves_the_best_model(tiny_base_dir, tmp_path):
    out = tmp_path / "rel"
    config = RelationTrainConfig(train=str(PUBTATOR), dev=str(PUBTATOR), output=str(out), base_model=str(tiny_base_dir),
                                 epochs=2, batch_size=2, lr=1e-3, max_length=32, stride=8, threads=1, patience=0)
    steps = []
    result = train_relations(config, on_step=steps.append)
    assert result.best_epoch in (1, 2)
    assert len(result.history) == 2
    assert result.steps == 4 == len(steps)  # 3 documents with pairs, 2 per batch: 2 batches x 2 epochs
    assert all(math.isfinite(s["batch_loss"]) for s in steps)
    meta = read_json(out / "best" / "labels.json")
    assert meta["task"] == "relations" and meta["predicate"] == "induces"
    assert 0 < meta["threshold"] < 1
    assert set(meta["dev"]) >= {"precision", "recall", "f1", "tp", "fp", "fn"}
    assert meta["dev"]["tp"] + meta["dev"]["fn"] == 3  # the fixture's CID relations
    net, meta2 = load_net(out / "best")
    assert meta2["threshold"] == meta["threshold"]
    assert (out / "train_state.pt").exists()


def test_train_relations_resumes_after_max_steps(tiny_base_dir, tmp_path):
    out = tmp_path / "rel"
    base = dict(train=str(PUBTATOR), dev=str(PUBTATOR), output=str(out), base_model=str(tiny_base_dir), epochs=1,
                batch_size=1, max_length=32, stride=8, threads=1)
    first = train_relations(RelationTrainConfig(**base, max_steps=2))
    assert first.steps == 2 and first.history == []
    second = train_relations(RelationTrainConfig(**base), resume=True)
    assert second.steps == 3 and len(second.history) == 1


def test_holdout_split_is_seeded_and_disjoint():
    docs = read_pubtator(PUBTATOR)
    a_train, a_held = holdout_split(docs, 1, seed=13)
    b_train, b_held = holdout_split(docs, 1, seed=13)
    assert [d.pmid for d in a_held] == [d.pmid for d in b_held]
    assert len(a_train) == 2 and not {d.pmid for d in a_train} & {d.pmid for d in a_held}


def test_best_threshold_scores_document_pairs(tiny_relation_dir):
    from medlens.training.relations import encode_pubtator, predict_scores

    from medlens.tagging.files import load_tokenizer, special_ids

    docs = read_pubtator(PUBTATOR)
    net, meta = load_net(tiny_relation_dir)
    tok = load_tokenizer(tiny_relation_dir)
    enc = encode_pubtator(docs, tok, meta)
    probs = predict_scores(net, enc, special_ids(tok)[2])
    assert [len(p) for p in probs] == [len(e.pairs) for e in enc]
    th, sc = best_threshold(enc, probs, [gold_pairs(d) for d in docs])
    assert sc.tp + sc.fn == 3
    assert 0 < th < 1


def test_head_lr_gives_the_pair_classifier_its_own_learning_rate(tiny_base_dir, tmp_path):
    import torch

    out = tmp_path / "rel"
    train_relations(RelationTrainConfig(train=str(PUBTATOR), dev=str(PUBTATOR), output=str(out),
                                        base_model=str(tiny_base_dir), epochs=1, batch_size=2, lr=1e-4, head_lr=5e-3,
                                        max_length=32, stride=8, threads=1, max_steps=1))
    groups = torch.load(out / "train_state.pt", weights_only=False)["optimizer"]["param_groups"]
    by_lr: dict[float, int] = {}
    for g in groups:
        by_lr[g["initial_lr"]] = by_lr.get(g["initial_lr"], 0) + len(g["params"])
    assert set(by_lr) == {1e-4, 5e-3}
    assert by_lr[5e-3] == 4  # the classifier: two Linear layers' weights and biases
    assert by_lr[1e-4] > 4
