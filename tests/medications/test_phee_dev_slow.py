"""The shipped ADE tagger on PHEE dev (slow; needs ../shared/data/phee and medlens/assets/ade)."""

from __future__ import annotations

import pytest

from tests.conftest import SHARED_DATA

PHEE_DEV = SHARED_DATA / "phee" / "dev.jsonl"


@pytest.mark.slow
def test_shipped_ade_tagger_on_phee_dev():
    from medlens.runtime import ADE_DIR

    if not PHEE_DEV.is_file():
        pytest.skip(f"PHEE dev not found at {PHEE_DEV}")
    if not (ADE_DIR / "model.int8.onnx").is_file():
        pytest.skip("no shipped ADE tagger in medlens/assets/ade")
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from phee_eval import predict

    from medlens.medications.phee import gold_arguments, read_phee, score_arguments

    sents = read_phee(PHEE_DEV)
    scores = score_arguments([gold_arguments(s) for s in sents], predict(ADE_DIR, [s.text for s in sents], threads=1))
    # the figures of the model card (benchmarks/README.md), with a little room for int8 batching
    assert scores["main arguments"]["f1"] >= 74.0
    assert scores["DRUG"]["f1"] >= 82.0 and scores["EFFECT"]["f1"] >= 63.0
    assert scores["sub-arguments"]["f1"] >= 53.0
