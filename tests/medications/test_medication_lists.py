"""The MTSamples medication-list gold and its scorer (benchmarks/medication_lists*.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
NOTES = SHARED_DATA / "mtsamples" / "notes.csv"
sys.path.insert(0, str(BENCH))

from medication_lists import gold_value, same  # noqa: E402
from medication_lists_gold import frequency_value  # noqa: E402


def test_gold_frequency_codes_give_times_per_day():
    assert frequency_value("BID") == {"code": "BID", "per_day": 2.0, "per_day_max": None, "as_needed": False}
    assert frequency_value("Q4-6H PRN")["per_day"] == 4.0 and frequency_value("Q4-6H PRN")["per_day_max"] == 6.0
    assert frequency_value("PRN") == {"code": "PRN", "per_day": None, "per_day_max": None, "as_needed": True}
    with pytest.raises(ValueError):
        frequency_value("QXZ")


def test_matching_of_normalized_values():
    g = gold_value("strength", {"value": "5/325", "unit": "mg"})
    assert same("strength", g, ((5.0, 325.0), "mg")) and not same("strength", g, ((5.0,), "mg"))
    assert same("strength", gold_value("strength", {"value": "250/50", "unit": None}), ((250.0, 50.0), "mcg"))
    hs = gold_value("frequency", frequency_value("HS"))
    assert same("frequency", hs, (1.0, None, False)) and not same("frequency", hs, (1.0, None, True))
    assert same("route", gold_value("route", {"value": "OTIC"}), ("OT",))


def test_the_gold_halves_are_split_by_note():
    halves = {h: [json.loads(x) for x in (BENCH / "data" / f"medication_lists_{h}.jsonl").open()] for h in ("dev", "heldout")}
    assert len(halves["dev"]) + len(halves["heldout"]) >= 200
    assert not {r["note_id"] for r in halves["dev"]} & {r["note_id"] for r in halves["heldout"]}


@pytest.mark.slow
def test_gold_offsets_still_match_the_notes():
    if not NOTES.is_file():
        pytest.skip(f"MTSamples not found at {NOTES}")
    from medication_lists_gold import build

    out = build(NOTES, BENCH / "data" / "medication_lists_annotations.txt")
    for h in ("dev", "heldout"):
        assert out[h] == [json.loads(x) for x in (BENCH / "data" / f"medication_lists_{h}.jsonl").open()]


@pytest.mark.slow
def test_dev_half_scores(full_kg_path):
    """The dev figures of benchmarks/README.md (a regression guard; the held-out half is not asserted on)."""
    if not NOTES.is_file():
        pytest.skip(f"MTSamples not found at {NOTES}")
    import csv

    import medlens
    from medication_lists import score

    notes = {r["note_id"]: r["transcription"] for r in csv.DictReader(NOTES.open(encoding="utf-8"))}
    gold = [json.loads(x) for x in (BENCH / "data" / "medication_lists_dev.jsonl").open()]
    res = score(gold, notes, medlens.load(kg_path=str(full_kg_path)))
    for kind in ("strength", "route", "frequency"):
        assert res[kind]["f1"] >= 0.90, (kind, res[kind])
