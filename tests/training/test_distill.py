"""Distilling a tiny random-weight teacher (2 layers) into a 1-layer student: soft labels, loss, saving, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from medlens.errors import InputError, ModelError  # noqa: E402
from medlens.training.distill import (  # noqa: E402
    SOFT_LABELS_FILE,
    DistillConfig,
    distill_loss,
    distill_ner,
    make_student,
    read_unlabeled,
    text_sentences,
)

TOY = ("Patients\tO\nwith\tO\nbreast\tB-Disease\ncancer\tI-Disease\nwere\tO\ntreated\tO\nwith\tO\ntamoxifen\tB-Chemical\n.\tO\n\n"
       "Cisplatin\tB-Chemical\ninduced\tO\nrenal\tB-Disease\nfailure\tI-Disease\n.\tO\n\n"
       "No\tO\nevidence\tO\nof\tO\ncancer\tB-Disease\n.\tO\n\n")
MAP = {"Disease": "DISEASE", "Chemical": "CHEMICAL"}
UNLABELED = ("Patients with renal failure were treated with cisplatin. No evidence of breast cancer.\n"
             "The patients with cancer were treated.\n\n"
             "Tamoxifen induced renal disease in a patient. Cisplatin and tamoxifen.\n")


@pytest.fixture()
def data(tmp_path: Path) -> tuple[Path, Path]:
    gold = tmp_path / "toy.tsv"
    gold.write_text(TOY * 3, encoding="utf-8")
    text = tmp_path / "text"
    text.mkdir()
    (text / "notes.txt").write_text(UNLABELED, encoding="utf-8")
    return gold, text


def _config(teacher: Path, gold: Path, text: Path, out: Path, **kw) -> DistillConfig:
    settings = dict(teacher=str(teacher), train=[(str(gold), MAP)], unlabeled=[str(text)], output=str(out),
                    student_layers=1, epochs=1, batch_size=4, lr=1e-3, threads=1, freeze_embeddings=False,
                    dev={"toy": (str(gold), MAP)})
    settings.update(kw)
    return DistillConfig(**settings)


def test_student_keeps_the_teachers_first_layers(tiny_model_dir: Path) -> None:
    import torch
    from transformers import AutoModelForTokenClassification

    teacher = AutoModelForTokenClassification.from_pretrained(str(tiny_model_dir))
    student = make_student(tiny_model_dir, 1)
    assert len(student.bert.encoder.layer) == 1 and student.config.num_hidden_layers == 1
    t, s = teacher.state_dict(), student.state_dict()
    assert not any(k.startswith("bert.encoder.layer.1.") for k in s)
    for k, v in s.items():
        assert torch.equal(v, t[k]), k  # embeddings, layer 0 and the head are the teacher's


def test_distill_loss_is_zero_when_the_student_matches_the_teacher() -> None:
    import torch

    torch.manual_seed(0)
    logits = torch.randn(2, 5, 5)
    gold = torch.full((2, 5), -100)
    mask = torch.zeros(2, 5, dtype=torch.bool)
    mask[:, 1:4] = True
    loss, ce, kl = distill_loss(logits, gold, logits.clone(), mask, alpha=0.5, temperature=2.0)
    assert float(kl) == pytest.approx(0.0, abs=1e-6) and float(ce) == 0.0 and float(loss) == pytest.approx(0.0, abs=1e-6)
    other = torch.randn(2, 5, 5)
    _, _, kl2 = distill_loss(logits, gold, other, mask, alpha=0.5, temperature=2.0)
    assert float(kl2) > 0.01
    gold[0, 1] = 3  # one gold label: alpha=1 is the cross-entropy alone
    loss1, ce1, _ = distill_loss(logits, gold, other, mask, alpha=1.0, temperature=2.0)
    assert float(loss1) == pytest.approx(float(ce1)) and float(ce1) > 0


def test_unlabeled_text_is_split_into_distinct_sentences(tmp_path: Path) -> None:
    assert text_sentences("No fever. Cough since 2 days.\nPlan: rest e.g. fluids") == [
        ["No", "fever", "."], ["Cough", "since", "2", "days", "."], ["Plan", ":", "rest", "e", ".", "g", ".", "fluids"]]
    (tmp_path / "a.txt").write_text("No fever. No fever.\n\nCough.", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text('{"text": "Renal failure."}\n\n{"text": "No fever."}\n', encoding="utf-8")
    (tmp_path / "c.csv").write_text('note_id,transcription\n1,"Chest pain.\nNo fever."\n', encoding="utf-8")
    sents = read_unlabeled([tmp_path])
    assert sorted(" ".join(s) for s in sents) == ["Chest pain .", "Cough .", "No fever .", "Renal failure ."]
    two = read_unlabeled([tmp_path], limit=2, seed=1)
    assert len(two) == 2 and two == read_unlabeled([tmp_path], limit=2, seed=1)


def test_unlabeled_jsonl_is_read_as_every_other_jsonl_input(tmp_path: Path) -> None:
    """One JSONL reader for the project: a line without a text raises naming the line; control characters are skipped."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "Renal failure."}\n{"note": "no text field"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.jsonl, line 2"):
        read_unlabeled([bad])
    odd = tmp_path / "odd.jsonl"
    odd.write_text('{"text": "Renal failure."}\n{"text": "bell \\u0007 here"}\n', encoding="utf-8")
    assert [" ".join(s) for s in read_unlabeled([odd])] == ["Renal failure ."]


def test_distillation_lowers_the_loss_and_saves_a_loadable_student(tiny_model_dir: Path, data, tmp_path: Path) -> None:
    import numpy as np

    from medlens.training.ner import TorchTagger

    gold, text = data
    losses: list[float] = []
    starts: list[dict] = []
    cfg = _config(tiny_model_dir, gold, text, tmp_path / "run", epochs=12, patience=0)
    res = distill_ner(cfg, on_step=lambda s: losses.append(s["batch_loss"]), on_start=starts.append)
    assert starts[0]["teacher_layers"] == 2 and starts[0]["unlabeled"] == 5 and starts[0]["teacher_kind"] == "torch"
    assert len(losses) == res.steps and res.steps >= 24
    assert np.mean(losses[-5:]) < 0.75 * np.mean(losses[:5])
    student = TorchTagger.from_path(res.best_dir)
    assert student.model.config.num_hidden_layers == 1
    meta = json.loads((Path(res.best_dir) / "labels.json").read_text())
    assert meta["distilled"]["layers"] == 1 and meta["distilled"]["teacher_layers"] == 2
    assert meta["distilled"]["unlabeled_sentences"] == 5
    assert meta["labels"] == json.loads((tiny_model_dir / "labels.json").read_text())["labels"]
    tags = student.tag_words([["breast", "cancer", "and", "tamoxifen"]])
    assert len(tags[0]) == 4
    # the cached soft labels are the teacher's logits at each window's first subwords
    teacher = TorchTagger.from_path(tiny_model_dir)
    with np.load(tmp_path / "run" / SOFT_LABELS_FILE) as z:
        flat, offsets = z["logits"], z["offsets"]
    from medlens.tagging.alignment import pad_batch

    ids = [2, *teacher.tokenizer.encode(["patients", "with"], is_pretokenized=True, add_special_tokens=False).ids, 3]
    x, m = pad_batch([ids], 0)
    ref = teacher.logits(x, m)[0, [1, 2]]
    assert flat.shape[1] == 5 and len(offsets) - 1 > 12
    rows = [flat[offsets[i]:offsets[i + 1]][:2] for i in range(len(offsets) - 1)]
    assert any(np.allclose(r.astype(np.float32), ref, atol=2e-2) for r in rows if len(r) == 2)
    # resuming reuses the soft labels and the finished run
    again = distill_ner(cfg, resume=True)
    assert again.steps == res.steps


def test_an_int8_onnx_teacher_and_a_students_recovered_checkpoint(tiny_model_dir: Path, tiny_onnx_dir: Path, data,
                                                                  tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    import torch
    from transformers import AutoModelForTokenClassification

    from medlens.training.export import export_onnx
    from medlens.training.onnx_optimize import recover_checkpoint

    gold, text = data
    only_int8 = tmp_path / "shipped"
    only_int8.mkdir()
    for name in ("model.int8.onnx", "tokenizer.json", "labels.json"):
        shutil.copyfile(tiny_onnx_dir / name, only_int8 / name)
    res = distill_ner(_config(only_int8, gold, text, tmp_path / "run", base_model=str(tiny_model_dir), max_steps=3))
    assert (tmp_path / "run" / "teacher" / "config.json").exists()  # the int8 weights, dequantized
    assert res.steps == 3
    # a student saved by a finished run, exported, then rebuilt from its int8 model: 1 layer, not the base's 2
    res = distill_ner(_config(tiny_model_dir, gold, text, tmp_path / "run2"))
    export_onnx(res.best_dir, tmp_path / "onnx")
    ckpt = recover_checkpoint(tmp_path / "onnx", tmp_path / "recovered", base_model=tiny_model_dir)
    recovered = AutoModelForTokenClassification.from_pretrained(str(ckpt))
    assert recovered.config.num_hidden_layers == 1
    original = AutoModelForTokenClassification.from_pretrained(res.best_dir).state_dict()
    w = "bert.encoder.layer.0.attention.self.query.weight"
    assert torch.allclose(recovered.state_dict()[w], original[w], atol=float(original[w].abs().max()) / 100)


def test_clear_errors(tiny_model_dir: Path, data, tmp_path: Path) -> None:
    gold, text = data
    with pytest.raises(ModelError, match="E880|No teacher model"):
        distill_ner(_config(tmp_path / "nowhere", gold, text, tmp_path / "o1"))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "labels.json").write_text(json.dumps({"labels": ["O"], "max_length": 16, "stride": 4}), encoding="utf-8")
    shutil.copyfile(tiny_model_dir / "tokenizer.json", empty / "tokenizer.json")
    with pytest.raises(ModelError, match="cannot be a distillation teacher.*neither a PyTorch checkpoint"):
        distill_ner(_config(empty, gold, text, tmp_path / "o2"))
    with pytest.raises(ModelError, match="cannot be a distillation teacher"):
        distill_ner(_config(tmp_path, gold, text, tmp_path / "o2b"))  # no labels.json
    with pytest.raises(InputError, match="--student-layers must be between 1 and 1 .*has 2 layers.*got 2"):
        distill_ner(_config(tiny_model_dir, gold, text, tmp_path / "o3", student_layers=2))
    with pytest.raises(InputError, match="No unlabeled text.*nothing_here"):
        distill_ner(_config(tiny_model_dir, gold, tmp_path / "nothing_here", tmp_path / "o4"))
    blank = tmp_path / "blank"
    blank.mkdir()
    (blank / "a.txt").write_text("\n \n", encoding="utf-8")
    with pytest.raises(InputError, match="No unlabeled text.*hold no words"):
        distill_ner(_config(tiny_model_dir, gold, blank, tmp_path / "o5"))
    with pytest.raises(InputError, match="No unlabeled text.*no --unlabeled"):
        distill_ner(_config(tiny_model_dir, gold, text, tmp_path / "o5b", unlabeled=[]))
    (blank / "b.csv").write_text("id,body\n1,No fever.\n", encoding="utf-8")
    with pytest.raises(InputError, match="no text column.*columns: id, body"):
        read_unlabeled([blank / "b.csv"])
    with pytest.raises(InputError, match="labels the teacher does not know: B-DRUG"):
        distill_ner(_config(tiny_model_dir, gold, text, tmp_path / "o6", train=[(str(gold), {**MAP, "Chemical": "DRUG"})]))
    with pytest.raises(InputError, match="--distill-alpha must be between 0 and 1"):
        distill_ner(_config(tiny_model_dir, gold, text, tmp_path / "o7", alpha=1.5))
    with pytest.raises(InputError, match="--temperature must be above 0"):
        distill_ner(_config(tiny_model_dir, gold, text, tmp_path / "o8", temperature=0))


def test_cli_train_ner_with_a_teacher(tiny_model_dir: Path, data, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from medlens.cli.train import train_app

    gold, text = data
    arg = f"{gold}:Disease=DISEASE,Chemical=CHEMICAL"
    runner = CliRunner()
    res = runner.invoke(train_app, ["ner", "--teacher", str(tiny_model_dir), "--student-layers", "1", "-u", str(text),
                                    "--unlabeled-limit", "4", "--distill-alpha", "0.3", "--temperature", "3", "-t", arg,
                                    "-d", f"toy={arg}", "-o", str(tmp_path / "run"), "--epochs", "1", "--batch-size", "4",
                                    "--threads", "1"])
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "student: 1 of the teacher's 2 layers" in out and "4 unlabeled sentences" in out
    assert "0 of 2 documents left out" in out
    meta = json.loads((tmp_path / "run" / "best" / "labels.json").read_text())
    assert meta["distilled"]["alpha"] == 0.3 and meta["distilled"]["temperature"] == 3.0
    res = runner.invoke(train_app, ["ner", "--teacher", str(tiny_model_dir), "--student-layers", "5", "-u", str(text),
                                    "-t", arg, "-o", str(tmp_path / "run2")])
    assert res.exit_code == 2 and "--student-layers must be between 1 and 1" in " ".join(res.output.split())
    res = runner.invoke(train_app, ["ner", "-u", str(text), "-t", arg, "-o", str(tmp_path / "run3")])
    assert res.exit_code == 2 and "only read with --teacher" in res.output


def test_documents_holding_a_dev_sentence_are_left_out(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Aspirin was given. Cisplatin-induced renal failure was seen in two of the forty "
                                    "patients.\n\nNo fever. Renal failure.\n", encoding="utf-8")
    dev = [("cisplatin", "-", "induced", "renal", "failure", "was", "seen", "in", "two", "of", "the", "forty", "patients", "."),
           ("no", "fever", ".")]  # too short to exclude anything
    stats: dict = {}
    sents = read_unlabeled([tmp_path], exclude=dev, stats=stats)
    assert [" ".join(s) for s in sents] == ["No fever .", "Renal failure ."]
    assert stats == {"documents": 2, "excluded_documents": 1}
