"""The aci-bench patient-turn set builder (benchmarks/aci_patient_eval.py) on a tiny hand-made dialogue."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from aci_patient_eval import OUT, parse_turns, patient_text  # noqa: E402

DIALOGUE = (ROOT / "tests" / "fixtures" / "aci" / "tiny_dialogue.txt").read_text(encoding="utf-8")


def test_turns_are_split_by_speaker_and_continuation_lines_join():
    turns = parse_turns(DIALOGUE)
    assert [s for s, _ in turns] == ["doctor", "patient", "doctor", "patient", "patient_guest", "patient", "doctor",
                                     "patient", "patient"]
    assert turns[7] == ("patient", "no fever , but my skin is peeling and it burns when i shower .")


def test_only_patient_turns_of_four_words_or_more_are_kept():
    text = patient_text(DIALOGUE)
    assert text.startswith("well , i've had this itchy rash")
    assert "scratches" not in text  # the relative's turn
    assert "what brings" not in text and "hi ." not in text and " yes ." not in text
    assert text.endswith("every day .")


def test_the_limit_stops_before_the_turn_that_would_pass_it_and_cuts_a_long_first_turn():
    text = patient_text(DIALOGUE, limit=120)
    assert len(text) <= 120 and text.endswith("two weeks .")
    long = "[patient] " + "word " * 100
    cut = patient_text(long, limit=42)
    assert len(cut) <= 42 and cut.split() == ["word"] * len(cut.split())


def test_the_committed_set_is_well_formed():
    if not OUT.is_file():
        pytest.skip("benchmarks/data/aci_patient_turns_eval.jsonl not built")
    items = [json.loads(line) for line in OUT.read_text(encoding="utf-8").splitlines()]
    assert items and all(i["table"] or i["ddxplus"] for i in items)
    assert all(0 < len(i["text"]) <= 800 for i in items)
