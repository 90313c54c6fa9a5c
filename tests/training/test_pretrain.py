"""MLM pretraining: text folder reading, blocks, whole-word masking, a training step, the output as a base model."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from medlens.errors import InputError
from medlens.training.pretrain import Block, make_blocks, read_text_folder, whole_word_mask


def _write_texts(folder: Path) -> Path:
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("Patients with breast cancer were treated with tamoxifen.\n\n"
                                  "Cisplatin induced renal failure.\n" * 4, encoding="utf-8")
    (folder / "sub" / "b.txt").write_text("No evidence of xyz disease.\n" * 4, encoding="utf-8")
    (folder / "ignored.md").write_text("not read", encoding="utf-8")
    return folder


def test_read_text_folder_is_recursive_and_reports_empty(tmp_path: Path) -> None:
    paras = read_text_folder(_write_texts(tmp_path / "t"))
    assert any("xyz" in p for p in paras) and not any("not read" in p for p in paras)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"empty: no \*\.txt files"):
        read_text_folder(tmp_path / "empty")
    with pytest.raises(InputError, match="no such file"):
        read_text_folder(tmp_path / "missing")


def test_blocks_never_split_a_word(tiny_tokenizer) -> None:
    blocks = make_blocks(["xyz qwerty " * 6], tiny_tokenizer, max_length=8)
    assert len(blocks) > 1
    for b in blocks:
        assert len(b.ids) <= 6
        # xyz is 3 pieces and qwerty 6: a block holds whole words only
        counts = [b.word_ids.count(w) for w in set(b.word_ids)]
        assert all(c in (3, 6) for c in counts)


def test_whole_word_masking_masks_all_subwords_together(tiny_tokenizer) -> None:
    mask_id = tiny_tokenizer.token_to_id("[MASK]")
    blocks = make_blocks(["the xyz of cancer and qwerty"], tiny_tokenizer, max_length=64)
    block = blocks[0]
    pieces_per_word = [block.word_ids.count(w) for w in range(max(block.word_ids) + 1)]
    assert pieces_per_word == [1, 3, 1, 1, 1, 6]
    seen_multi = False
    for seed in range(40):
        inputs, labels = whole_word_mask(block, random.Random(seed), mask_id=mask_id, vocab_size=100, probability=0.34,
                                         special=[0, 1, 2, 3, 4])
        targets = {block.word_ids[i] for i, l in enumerate(labels) if l != -100}
        assert len(targets) == 2  # round(0.34 * 6)
        for w in range(len(pieces_per_word)):
            pos = [i for i, wid in enumerate(block.word_ids) if wid == w]
            if w in targets:
                assert all(labels[i] == block.ids[i] for i in pos)  # every subword of a chosen word is a target
                masked = [inputs[i] == mask_id for i in pos]
                assert all(masked) or not any(masked)  # ... and they are replaced together
                seen_multi |= len(pos) > 1 and all(masked)
            else:
                assert all(labels[i] == -100 and inputs[i] == block.ids[i] for i in pos)
    assert seen_multi
    a = whole_word_mask(block, random.Random(7), mask_id=mask_id, vocab_size=100)
    assert a == whole_word_mask(block, random.Random(7), mask_id=mask_id, vocab_size=100)  # seeded: reproducible


def test_mask_at_least_one_word() -> None:
    inputs, labels = whole_word_mask(Block([10, 11], [0, 0]), random.Random(0), mask_id=4, vocab_size=50)
    assert labels == [10, 11]


def test_pretrain_runs_resumes_and_is_a_base_model_for_classify(tmp_path: Path, tiny_model_dir: Path) -> None:
    pytest.importorskip("torch")
    from medlens.training.classify import ClassifyTrainConfig, train_classifier
    from medlens.training.ner import NerTrainConfig, load_tokenizer, train_ner
    from medlens.training.pretrain import PretrainConfig, pretrain

    text = _write_texts(tmp_path / "texts")

    def cfg(out: str, **kw) -> PretrainConfig:
        return PretrainConfig(text=str(text), output=str(tmp_path / out), base_model=str(tiny_model_dir), epochs=2,
                              batch_size=2, lr=5e-3, max_length=16, threads=1, checkpoint_every=2, **kw)

    full: list[float] = []
    res = pretrain(cfg("a"), on_step=lambda s: full.append(s["batch_loss"]))
    model_dir = Path(res.model_dir)
    assert (model_dir / "config.json").exists() and (model_dir / "pretrain.json").exists()
    assert load_tokenizer(model_dir).token_to_id("[MASK]") is not None
    first: list[float] = []
    budget = pretrain(cfg("b", max_steps=3), on_step=lambda s: first.append(s["batch_loss"]))
    assert budget.steps == 3 and (Path(budget.model_dir) / "model.safetensors").exists()  # a step budget keeps its model
    rest: list[float] = []
    pretrain(cfg("b"), resume=True, on_step=lambda s: rest.append(s["batch_loss"]))
    assert first + rest == pytest.approx(full, abs=1e-5)  # same masking and order after resuming

    data = tmp_path / "toy.jsonl"
    data.write_text('{"text": "breast cancer", "label": "onco"}\n{"text": "renal failure", "label": "renal"}\n' * 4,
                    encoding="utf-8")
    clf = train_classifier(ClassifyTrainConfig(train=str(data), output=str(tmp_path / "clf"), base_model=str(model_dir),
                                               epochs=1, batch_size=4, max_length=16, threads=1))
    assert (Path(clf.best_dir) / "model.safetensors").exists()
    ner_toy = tmp_path / "toy.tsv"
    ner_toy.write_text("breast\tB-Disease\ncancer\tI-Disease\nand\tO\n\n" * 4, encoding="utf-8")
    ner = train_ner(NerTrainConfig(train=[(str(ner_toy), None)], output=str(tmp_path / "ner"), base_model=str(model_dir),
                                   epochs=1, batch_size=4, max_length=16, stride=4, threads=1))
    assert ner.steps == 1 and (Path(ner.best_dir) / "labels.json").exists()


def test_cli_pretrain(tmp_path: Path, tiny_model_dir: Path) -> None:
    pytest.importorskip("torch")
    from typer.testing import CliRunner

    from medlens.cli.train import train_app

    text = _write_texts(tmp_path / "texts")
    res = CliRunner().invoke(train_app, ["pretrain", str(text), "-o", str(tmp_path / "mlm"), "--base-model",
                                         str(tiny_model_dir), "--batch-size", "4", "--max-length", "16", "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert "use it as --base-model" in res.output
    assert (tmp_path / "mlm" / "best" / "model.safetensors").exists()


def test_masked_only_loss_equals_the_full_model_loss(tiny_model_dir: Path) -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from medlens.training.pretrain import masked_lm_loss

    torch.manual_seed(0)
    config = transformers.AutoConfig.from_pretrained(str(tiny_model_dir))
    model = transformers.BertForMaskedLM(transformers.BertConfig(**{k: v for k, v in config.to_dict().items()
                                                                    if k not in ("architectures", "id2label", "label2id")}))
    model.eval()
    ids = torch.randint(5, config.vocab_size, (3, 9))
    attn = torch.ones_like(ids)
    attn[2, 6:] = 0
    labels = torch.full_like(ids, -100)
    labels[0, 2], labels[1, 4], labels[1, 5], labels[2, 1] = 7, 8, 9, 10
    full = model(input_ids=ids, attention_mask=attn, labels=labels).loss
    fast = masked_lm_loss(model, ids, attn, labels)
    assert torch.allclose(full, fast, atol=1e-5)
    fast.backward()  # gradients flow through the head and the encoder
    assert model.bert.embeddings.word_embeddings.weight.grad is not None
