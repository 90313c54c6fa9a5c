"""The MTSamples entity draws (benchmarks/mtsamples_entities.py): held-out set #8 is deterministic, at most 2 notes of
a specialty, and disjoint from every earlier draw and from every file it leaves out."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import mtsamples_entities as me  # noqa: E402

from tests.conftest import shared_data  # noqa: E402


def _tiny_notes() -> dict[str, dict]:
    """30 notes of 3 specialties (700 characters each); notes 5 and 6 share one text under two specialties."""
    notes = {}
    for i in range(30):
        spec = ("Neurology", "Surgery", "Urology")[i % 3]
        text = f"note {i} " + "x" * 700
        notes[str(i)] = {"note_id": str(i), "medical_specialty": spec, "transcription": text}
    notes["6"]["transcription"] = notes["5"]["transcription"]
    return notes


def test_rounds_of_specialties_is_seeded_caps_each_specialty_and_leaves_out_used_notes_and_their_copies():
    notes = _tiny_notes()
    used = {"0", "1", "5"}
    first = me._rounds_of_specialties(notes, used, 181, "heldout8", n=5, per_spec=2)
    assert first == me._rounds_of_specialties(notes, used, 181, "heldout8", n=5, per_spec=2)
    ids = [n for n, _ in first]
    assert len(ids) == 5 and {s for _, s in first} == {"heldout8"}
    assert not set(ids) & used
    assert "6" not in ids  # a copy of used note 5's text under another specialty
    assert max(Counter(notes[n]["medical_specialty"] for n in ids).values()) <= 2
    # asking for more notes than 3 specialties x 2 can give stops at 6
    assert len(me._rounds_of_specialties(notes, used, 181, "heldout8", n=20, per_spec=2)) == 6


def test_used_by9_leaves_out_set8_and_everything_set8_left_out():
    assert set(me.USED_BY8) <= set(me.USED_BY9)
    assert set(me.USED_BY8_ALSO) <= set(me.USED_BY9)
    assert "mtsamples_entities_heldout8.jsonl" in me.USED_BY9
    assert "mtsamples_entities_heldout8_after.jsonl" in me.USED_BY9


@pytest.mark.slow
def test_set8_is_deterministic_disjoint_from_earlier_draws_and_files_and_matches_its_frozen_file():
    notes = me.read_notes(shared_data("mtsamples", "notes.csv"))
    picked = me.pick_notes8(notes)
    assert picked == me.pick_notes8(notes)
    ids = [n for n, _ in picked]
    assert len(ids) == len(set(ids)) == 20
    assert max(Counter(notes[n]["medical_specialty"].strip() for n in ids).values()) <= 2
    earlier = me._picked(notes, me.pick_notes, me.pick_notes2, me.pick_notes3, me.pick_notes4, me.pick_notes5,
                         me.pick_notes6, me.pick_notes7)
    files = me.used_note_ids(me.USED_BY8 + me.USED_BY8_ALSO)
    assert not set(ids) & (earlier | files)
    used_texts = {me._text_key(notes[n]) for n in earlier | files if n in notes}
    assert not {me._text_key(notes[n]) for n in ids} & used_texts
    assert all(600 <= len(notes[n]["transcription"]) <= 6000 for n in ids)
    frozen = me.OUT / "mtsamples_entities_heldout8.jsonl"
    rows = [json.loads(line) for line in frozen.open(encoding="utf-8") if line.strip()]
    assert {r["note_id"] for r in rows} == set(ids)
    assert {r["split"] for r in rows} == {"heldout8"}
    assert all(len([r for r in rows if r["note_id"] == n]) <= me.PER_NOTE8 for n in ids)
