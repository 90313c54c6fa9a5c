"""The PHEE reader, its flat training spans, and the exact-match scorer, on a hand-written fixture in PHEE's format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medlens.errors import InputError
from medlens.medications.phee import flatten_spans, gold_arguments, read_phee, score_arguments, write_span_jsonl

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "phee" / "tiny.jsonl"


def test_reader_events_flags_and_spans():
    s1, s2, s3 = read_phee(TINY)
    assert {(lab, s1.text[a:b]) for lab, a, b in s1.spans} == {
        ("TRIGGER", "developed"), ("EFFECT", "hepatitis"), ("DRUG", "isoniazid"), ("DOSAGE", "300 mg"),
        ("FREQ", "daily"), ("DURATION", "3 months")}
    assert s2.events[0].negated and not s2.events[0].speculated
    assert s3.events[1].speculated and s3.events[1].kind == "Potential_therapeutic_event"
    # "Lithium-induced tremor" (an effect) overlaps the drug and trigger: the flat spans keep the drug and trigger
    assert [(lab, s3.text[a:b]) for lab, a, b in s3.spans] == [("DRUG", "Lithium"), ("TRIGGER", "induced"),
                                                               ("EFFECT", "tremor"), ("TRIGGER", "respond"),
                                                               ("DRUG", "propranolol")]
    assert ("EFFECT", 0, 22) in gold_arguments(s3)  # still gold when scoring


def test_flatten_prefers_sub_arguments():
    assert flatten_spans([("EFFECT", 0, 10), ("DOSAGE", 2, 5), ("DRUG", 5, 9)]) == [("DOSAGE", 2, 5), ("DRUG", 5, 9)]


def test_written_spans_train(tmp_path):
    from medlens.training.data import read_span_jsonl

    out = write_span_jsonl(read_phee(TINY), tmp_path / "t.jsonl")
    sents = read_span_jsonl(out)
    assert len(sents) == 3 and "B-DOSAGE" in sents[0].tags


def test_scores_exact_match_only():
    gold = [{("DRUG", 0, 5), ("DOSAGE", 6, 12), ("EFFECT", 20, 30)}]
    pred = [{("DRUG", 0, 5), ("DOSAGE", 6, 11), ("EFFECT", 20, 30), ("ROUTE", 13, 15)}]
    s = score_arguments(gold, pred)
    assert s["main arguments"]["f1"] == 100.0
    assert s["sub-arguments"]["tp"] == 0 and s["sub-arguments"]["pred"] == 2 and s["sub-arguments"]["gold"] == 1


def test_bad_line_names_it(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(TINY.read_text().splitlines()[0] + "\n{not json\n")
    with pytest.raises(InputError, match="line 2"):
        read_phee(bad)
    bad.write_text(json.dumps({"id": "x"}) + "\n")
    with pytest.raises(InputError, match="context"):
        read_phee(bad)


def test_rule_attributes_take_phee_boundaries():
    from medlens.medications.phee import attribute_to_phee

    text = "prednisone 40 mg daily for 2 weeks in 5% dextrose"
    d = text.index("for 2 weeks")
    assert attribute_to_phee("duration", "for 2 weeks", d, d + 11) == ("DURATION", d + 4, d + 11)
    s = text.index("40 mg")
    assert attribute_to_phee("strength", "40 mg", s, s + 5) == ("DOSAGE", s, s + 5)
    p = text.index("5%")
    assert attribute_to_phee("strength", "5%", p, p + 2) is None  # PHEE never annotates a percentage as a dosage
    assert attribute_to_phee("route", "inhaler", 0, 7, source="implied") is None
    assert attribute_to_phee("status", "started", 0, 7) is None
    assert attribute_to_phee("duration", "for", 0, 3) == ("DURATION", 0, 3)  # nothing left after the preposition


def test_tune_split_keeps_articles_whole():
    from medlens.medications.phee import PheeSentence, tune_split

    sents = [PheeSentence(f"{pmid}_{i}", f"sentence {i} of {pmid}", (), ()) for pmid in range(100, 140) for i in range(3)]
    rest, tune = tune_split(sents)
    tune_pmids = {s.id.split("_")[0] for s in tune}
    assert len(tune_pmids) == 4 and len(tune) == 12 and len(rest) == 108
    assert not tune_pmids & {s.id.split("_")[0] for s in rest}
    assert tune_split(sents)[1] == tune  # seeded: the same slice every time
    assert tune_split(sents, seed=14)[1] != tune
    with pytest.raises(ValueError):
        tune_split(sents, fraction=1.5)
