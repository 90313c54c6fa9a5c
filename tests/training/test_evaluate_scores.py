"""Strict (seqeval conventions) vs overlap entity scores on hand-made cases."""

from __future__ import annotations

import pytest

from medlens.training.evaluate import score_entities


def test_strict_and_overlap_on_hand_made_cases() -> None:
    gold = [["B-D", "I-D", "O", "B-C", "O", "B-D"],
            ["O", "B-D", "I-D", "I-D", "O"]]
    pred = [["B-D", "O", "O", "B-C", "O", "O"],      # D boundary wrong (overlap ok), C exact, last D missed
            ["B-D", "I-D", "I-D", "I-D", "B-C"]]     # D too long (overlap ok), spurious C
    sc = score_entities(gold, pred)
    # strict: D: 0 exact of 2 predicted, 3 gold; C: 1 of 2 predicted, 1 gold
    assert (sc.strict["D"].tp_pred, sc.strict["D"].n_pred, sc.strict["D"].n_gold) == (0, 2, 3)
    assert sc.strict["C"].precision == pytest.approx(0.5) and sc.strict["C"].recall == pytest.approx(1.0)
    # overlap: both D predictions touch a gold D; 2 of 3 gold D found
    assert sc.overlap["D"].precision == pytest.approx(1.0)
    assert sc.overlap["D"].recall == pytest.approx(2 / 3)
    assert sc.overlap["D"].f1 == pytest.approx(0.8)
    micro = sc.strict["micro"]
    assert (micro.tp_pred, micro.n_pred, micro.n_gold) == (1, 4, 4)


def test_overlap_needs_same_type() -> None:
    sc = score_entities([["B-D", "I-D"]], [["B-C", "I-C"]])
    assert sc.overlap["D"].recall == 0.0 and sc.overlap["C"].precision == 0.0


def test_strict_matches_seqeval() -> None:
    seqeval = pytest.importorskip("seqeval.metrics")
    gold = [["B-D", "I-D", "O", "B-C", "I-C", "O", "B-D"], ["I-D", "O", "B-C"]]
    pred = [["B-D", "I-D", "O", "B-C", "O", "O", "B-D"], ["I-D", "B-C", "I-C"]]
    sc = score_entities(gold, pred)
    assert sc.strict["micro"].f1 == pytest.approx(seqeval.f1_score(gold, pred))
    assert sc.strict["micro"].precision == pytest.approx(seqeval.precision_score(gold, pred))
    assert sc.strict["micro"].recall == pytest.approx(seqeval.recall_score(gold, pred))


def test_types_filter_ignores_other_types() -> None:
    gold = [["B-D", "O", "O"]]
    pred = [["B-D", "O", "B-C"]]  # a chemical the disease-only corpus does not annotate
    assert score_entities(gold, pred).strict["micro"].precision == pytest.approx(0.5)
    assert score_entities(gold, pred, types={"D"}).strict["micro"].precision == pytest.approx(1.0)
