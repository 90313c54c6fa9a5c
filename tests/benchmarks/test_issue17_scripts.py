"""Pure helpers of the issue-17 measurement scripts: the note draw, the raw ONNX Runtime windows and
batches, the request-unique words of the memory check, and the target verdicts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import ner_vs_ort  # noqa: E402
import service_load  # noqa: E402
import startup  # noqa: E402
import throughput  # noqa: E402
from _report import cpu_flags, load_average  # noqa: E402


def _note(words: int, tag: str) -> str:
    return " ".join([tag] * words)


def test_select_notes_is_reproducible_in_band_and_skips_the_profiling_notes():
    notes = [_note(50 + 10 * i, f"n{i}") for i in range(200)]  # 50 .. 2040 words
    a = throughput.select_notes(notes, n=20, seed=17, min_words=100, max_words=1500, skip_first=30)
    assert a == throughput.select_notes(notes, n=20, seed=17, min_words=100, max_words=1500, skip_first=30)
    assert a != throughput.select_notes(notes, n=20, seed=18, min_words=100, max_words=1500, skip_first=30)
    index = [notes.index(t) for t in a]
    assert index == sorted(index) and len(set(index)) == 20  # file order, no repeats
    assert all(i >= 30 and 100 <= len(notes[i].split()) <= 1500 for i in index)


def test_select_notes_says_when_the_band_is_too_small():
    with pytest.raises(ValueError, match="only 2 notes"):
        throughput.select_notes([_note(120, "a"), _note(130, "b"), _note(10, "c")], n=3, skip_first=0)


def test_throughput_verdict():
    assert throughput.verdict(3000, 2000) == (1.5, "met")
    ratio, outcome = throughput.verdict(2250, 2584)
    assert outcome == "missed" and ratio == pytest.approx(0.871, abs=1e-3)
    assert throughput.verdict(None, 2000) == (None, "n/a")


def test_cut_windows_covers_every_subword_once_with_special_tokens():
    ids = list(range(10, 23))  # 13 subwords
    windows = ner_vs_ort.cut_windows(ids, max_length=7, cls_id=1, sep_id=2)
    assert [len(w) for w in windows] == [7, 7, 5]
    assert all(w[0] == 1 and w[-1] == 2 for w in windows)
    assert [i for w in windows for i in w[1:-1]] == ids
    assert ner_vs_ort.cut_windows([], 7, 1, 2) == []
    with pytest.raises(ValueError):
        ner_vs_ort.cut_windows(ids, 2, 1, 2)


def test_length_sorted_batches_and_padding():
    windows = [[1, 5, 2], [1, 5, 5, 5, 2], [1, 2], [1, 5, 5, 2]]
    batches = ner_vs_ort.length_sorted_batches(windows, 3)
    assert [[len(w) for w in b] for b in batches] == [[5, 4, 3], [2]]
    ids, mask = ner_vs_ort.pad_batch(batches[0], pad_id=0)
    assert ids.shape == mask.shape == (3, 5)
    assert ids[2].tolist() == [1, 5, 2, 0, 0] and mask[2].tolist() == [1, 1, 1, 0, 0]
    assert int(mask.sum()) == 12


def test_ner_and_startup_verdicts():
    assert ner_vs_ort.verdict(900, 1000)[1] == "met"
    assert ner_vs_ort.verdict(899, 1000)[1] == "missed"
    assert startup.verdict(2.99) == "met" and startup.verdict(3.0) == "missed"


def test_fresh_words_are_new_for_every_request():
    lines = [service_load.fresh_words(n, 2) for n in range(20_000)]
    assert len(set(lines)) == len(lines)
    assert all(len(line.split()) == 4 and line.startswith("\nRef ") for line in lines[:50])
    words = {w for line in lines for w in line.split()}
    assert len(words) > 20_000  # every request brings at least one word no other had
    assert service_load.fresh_words(5, 0) == ""
    assert len(service_load.fresh_words(5, 4).split()) == 8


def test_machine_helpers():
    flags = cpu_flags()
    assert isinstance(flags, str) and flags
    assert len(load_average()) == 3
