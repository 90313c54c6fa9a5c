"""Classification report numbers on a hand-made case, and the confusion-matrix PNG."""

from __future__ import annotations

from pathlib import Path

import pytest

from medlens.training.evaluate import format_classification, plot_confusion, score_classification


def test_single_label_report_by_hand() -> None:
    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "c", "c"]
    rep = score_classification(gold, pred)
    assert rep.labels == ["a", "b", "c"]
    a, b, c = rep.per_class["a"], rep.per_class["b"], rep.per_class["c"]
    assert (a.precision, a.recall) == (1.0, pytest.approx(2 / 3)) and a.f1 == pytest.approx(0.8)
    assert (b.precision, b.recall, b.f1) == (0.5, 0.5, 0.5)
    assert (c.precision, c.recall) == (0.5, 1.0) and c.f1 == pytest.approx(2 / 3)
    assert rep.macro_precision == pytest.approx(2 / 3)
    assert rep.macro_recall == pytest.approx((2 / 3 + 0.5 + 1.0) / 3)
    assert rep.macro_f1 == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert rep.micro.f1 == pytest.approx(4 / 6) and rep.accuracy == pytest.approx(4 / 6)
    assert rep.confusion == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert rep.as_dict()["macro"]["f1"] == round((0.8 + 0.5 + 2 / 3) / 3, 4)
    text = format_classification("toy", rep)
    assert "macro" in text and "accuracy" in text and "66.67" in text


def test_multi_label_report_by_hand() -> None:
    gold = [("x", "y"), ("y",), ("x",)]
    pred = [("x",), ("y",), ()]
    rep = score_classification(gold, pred, ["x", "y"], multi_label=True)
    x, y = rep.per_class["x"], rep.per_class["y"]
    assert (x.precision, x.recall) == (1.0, 0.5)
    assert (y.precision, y.recall) == (1.0, 0.5)
    assert rep.micro.precision == 1.0 and rep.micro.recall == 0.5
    assert rep.accuracy == pytest.approx(1 / 3)  # exact label-set match
    # columns x, y, (none): doc 1 (x->x, y->x), doc 2 (y->y), doc 3 (x->none)
    assert rep.confusion == [[1, 0, 1], [1, 1, 0]]


def test_confusion_png_is_written(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    rep = score_classification(["neoplasms", "cardio", "cardio"], ["neoplasms", "cardio", "neoplasms"])
    out = plot_confusion(rep, tmp_path / "sub" / "cm.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
