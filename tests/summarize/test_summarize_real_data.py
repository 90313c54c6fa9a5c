"""Summaries on the real corpora (slow): MTSamples gold problem lists (dev half) and ACI-bench visit notes.

The thresholds sit below the figures of benchmarks/README.md ("Note summaries" and
"Visit notes from conversations"), so a regression fails the test.
"""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest

from tests.conftest import shared_data

ROOT = Path(__file__).resolve().parents[2]


def _load_benchmark(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def full_nlp(full_kg_path):
    import medlens

    return medlens.load(kg_path=str(full_kg_path))


@pytest.mark.slow
def test_note_summaries_recall_dev_gold_problem_lists(full_nlp):
    from medlens.summarize import summarize

    notes_csv = shared_data("mtsamples", "notes.csv")
    bench = _load_benchmark("summarize_eval")
    gold = [json.loads(x) for x in (ROOT / "benchmarks" / "data" / "summarize_gold.jsonl").read_text().splitlines()]
    gold = [g for g in gold if g["split"] == "dev"]
    with notes_csv.open(newline="", encoding="utf-8") as fh:
        texts = {r["note_id"]: r["transcription"] for r in csv.DictReader(fh)}
    summaries = {g["note_id"]: summarize(bench.restore_lines(texts[g["note_id"]]), nlp=full_nlp, doc_id=g["note_id"])
                 for g in gold}
    scores = bench.score(gold, summaries)
    assert scores["problem_recall"] >= 0.5 and scores["problem_precision"] >= 0.6, scores
    assert scores["medication_recall"] >= 0.75, scores
    for g in gold:  # every item points at the words it came from
        text = bench.restore_lines(texts[g["note_id"]])
        for item in summaries[g["note_id"]].problems + summaries[g["note_id"]].medications:
            assert all(text[s.start:s.end] == s.text for s in item.sources)


@pytest.mark.slow
def test_visit_notes_beat_the_transcript_on_aci_bench_valid(full_nlp):
    from rouge_score import rouge_scorer

    from medlens.summarize import summarize

    path = shared_data("aci-bench", "valid.csv")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[:6]
    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    ours = transcript = 0.0
    for r in rows:
        note = summarize(r["dialogue"], kind="dialogue", nlp=full_nlp, doc_id=r["encounter_id"])
        assert note.grounded == 1.0 and note.sections[0].sentences  # a chief complaint, every sentence grounded
        ours += scorer.score(r["note"], note.text)["rouge1"].fmeasure
        transcript += scorer.score(r["note"], r["dialogue"])["rouge1"].fmeasure
    assert ours / len(rows) >= 0.38 and ours > transcript, (ours / len(rows), transcript / len(rows))
