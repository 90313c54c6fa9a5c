"""Fine-tuning on a toy set with a tiny random BERT: examples, loss goes down, checkpoints, resume, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from medlens.errors import InputError  # noqa: E402
from medlens.training.data import Sentence  # noqa: E402
from medlens.training.ner import NerTrainConfig, bio_labels, build_examples, train_ner  # noqa: E402

TOY = ("Patients\tO\nwith\tO\nbreast\tB-Disease\ncancer\tI-Disease\nwere\tO\ntreated\tO\nwith\tO\ntamoxifen\tB-Chemical\n.\tO\n\n"
       "Cisplatin\tB-Chemical\ninduced\tO\nrenal\tB-Disease\nfailure\tI-Disease\n.\tO\n\n"
       "No\tO\nevidence\tO\nof\tO\ncancer\tB-Disease\n.\tO\n\n")


def _write_toy(tmp_path: Path) -> Path:
    p = tmp_path / "toy.tsv"
    p.write_text(TOY * 4, encoding="utf-8")
    return p


def test_build_examples_windows_long_sentence(tiny_tokenizer) -> None:
    words = tuple(["cancer"] * 40)
    tags = tuple(["B-DISEASE"] + ["O"] * 39)
    label2id = {l: i for i, l in enumerate(bio_labels(["DISEASE"]))}
    ex = build_examples([Sentence(words, tags)], tiny_tokenizer, label2id, max_length=16, stride=4)
    assert len(ex) > 1
    assert all(len(ids) <= 16 for ids, _ in ex)
    assert ex[0][1][1] == label2id["B-DISEASE"]


def test_packed_examples_hold_whole_consecutive_sentences(tiny_tokenizer) -> None:
    from medlens.tagging.alignment import IGNORE_INDEX

    label2id = {l: i for i, l in enumerate(bio_labels(["DISEASE"]))}
    sents = [Sentence(("breast", "cancer", "."), ("B-DISEASE", "I-DISEASE", "O")),
             Sentence(("no", "cancer", "."), ("O", "B-DISEASE", "O")),
             Sentence(tuple(["x"] * 20), tuple(["O"] * 20)),  # longer than a window alone: cut inside it
             Sentence(("cancer", "."), ("B-DISEASE", "O"))]
    single = build_examples(sents, tiny_tokenizer, label2id, max_length=16, stride=4)
    packed = build_examples(sents, tiny_tokenizer, label2id, max_length=16, stride=4, packed=True)
    assert len(packed) < len(single)
    assert all(len(ids) <= 16 for ids, _ in packed)
    first = packed[0][1]
    assert [x for x in first if x != IGNORE_INDEX][:6] == [label2id[t] for t in sents[0].tags + sents[1].tags]
    # every word of a sentence that fits is labelled exactly once over all windows
    n_labelled = sum(1 for _, labs in packed for x in labs if x != IGNORE_INDEX)
    assert n_labelled >= sum(len(s.words) for s in sents)
    assert sum(1 for _, labs in packed for x in labs if x == label2id["B-DISEASE"]) == 3


def test_unknown_tag_is_an_input_error(tiny_tokenizer) -> None:
    with pytest.raises(InputError, match="GENE"):
        build_examples([Sentence(("x",), ("B-GENE",), "f.tsv:3")], tiny_tokenizer, {"O": 0}, max_length=16, stride=4)


def test_train_loss_decreases_and_best_checkpoint_saved(tmp_path: Path, tiny_model_dir: Path) -> None:
    toy = _write_toy(tmp_path)
    config = NerTrainConfig(train=[(str(toy), {"Disease": "DISEASE", "Chemical": "CHEMICAL"})],
                            dev={"toy": (str(toy), {"Disease": "DISEASE", "Chemical": "CHEMICAL"})},
                            output=str(tmp_path / "run"), base_model=str(tiny_model_dir), epochs=3, batch_size=4,
                            lr=5e-3, max_length=16, stride=4, patience=0, checkpoint_every=2, threads=1)
    losses = []
    result = train_ner(config, on_step=lambda s: losses.append(s["loss"]))
    assert result.steps == 9 and len(result.history) == 3
    # the smoothed loss goes down on this toy set
    assert losses[-1] < losses[0]
    best = Path(result.best_dir)
    meta = json.loads((best / "labels.json").read_text())
    assert meta["labels"] == ["O", "B-CHEMICAL", "I-CHEMICAL", "B-DISEASE", "I-DISEASE"]
    assert (best / "tokenizer.json").exists() and (best / "config.json").exists()
    assert (tmp_path / "run" / "train_state.pt").exists()
    assert "toy" in result.history[0] and "micro" in result.history[0]["toy"]["strict"]


def test_training_is_deterministic_and_resumable(tmp_path: Path, tiny_model_dir: Path) -> None:
    toy = _write_toy(tmp_path)

    def cfg(out: str, **kw) -> NerTrainConfig:
        return NerTrainConfig(train=[(str(toy), None)], output=str(tmp_path / out), base_model=str(tiny_model_dir),
                              epochs=2, batch_size=4, lr=5e-3, max_length=16, stride=4, patience=0, checkpoint_every=2,
                              threads=1, **kw)

    full: list[float] = []
    train_ner(cfg("a"), on_step=lambda s: full.append(s["batch_loss"]))
    again: list[float] = []
    train_ner(cfg("b"), on_step=lambda s: again.append(s["batch_loss"]))
    assert full == pytest.approx(again, abs=1e-6)  # same seed, same losses
    # interrupted after 4 steps (mid-epoch 2), then resumed: the same losses as the uninterrupted run
    first: list[float] = []
    train_ner(cfg("c", max_steps=4), on_step=lambda s: first.append(s["batch_loss"]))
    rest: list[dict] = []
    train_ner(cfg("c"), resume=True, on_step=lambda s: rest.append(s))
    assert rest[0]["step"] == 5
    assert first + [s["batch_loss"] for s in rest] == pytest.approx(full, abs=1e-5)


def test_packed_training_records_it_and_evaluation_follows(tmp_path: Path, tiny_model_dir: Path) -> None:
    from medlens.training.evaluate import evaluate_model

    toy = _write_toy(tmp_path)
    maps = {"Disease": "DISEASE", "Chemical": "CHEMICAL"}
    config = NerTrainConfig(train=[(str(toy), maps)], dev={"toy": (str(toy), maps)}, output=str(tmp_path / "run"),
                            base_model=str(tiny_model_dir), epochs=1, batch_size=4, lr=5e-3, max_length=32, stride=4,
                            patience=0, threads=1, pack_sentences=True)
    result = train_ner(config)
    assert result.steps < 3  # 12 toy sentences pack into a few windows of 32 subwords
    meta = json.loads((Path(result.best_dir) / "labels.json").read_text())
    assert meta["packed_sentences"] is True
    packed = evaluate_model(result.best_dir, toy, maps)  # packed, as trained
    alone = evaluate_model(result.best_dir, toy, maps, packed=False)
    assert packed.strict["micro"].n_gold == alone.strict["micro"].n_gold == 20  # 5 mentions x 4 copies
