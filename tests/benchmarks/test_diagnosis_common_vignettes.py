"""benchmarks/diagnosis_common.py reads gold cases that carry their own text and triage (written vignettes), and the
frozen team-written vignette set has the shape its "about" promises."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from diagnosis_common import notes  # noqa: E402

from medlens.reasoning.common import CommonKnowledge  # noqa: E402

VIGNETTES = ROOT / "benchmarks" / "data" / "common_vignettes_blind1.json"


class RecordingEngine:
    """Answers each text with a fixed ranking and triage, and records the texts it was given."""

    def __init__(self, answers: dict[str, tuple[list[str], str]]):
        self.answers, self.seen = answers, []

    def diagnose(self, text, top=49, questions=0):
        self.seen.append(text)
        ids, level = self.answers[text]
        return SimpleNamespace(diagnoses=[SimpleNamespace(id=i, name=i) for i in ids],
                               triage=SimpleNamespace(level=level))


def test_inline_text_is_read_whole_and_the_case_triage_is_the_gold(tmp_path):
    k = SimpleNamespace(severity=[2, 4, 3], disease_index={"D:a": 0, "D:b": 1, "D:c": 2})
    cases = [
        # right first; own triage "soon" met, severity level (emergency) not
        {"split": "s", "text": "Assessment: none.\nPlan: rest.", "gold": ["D:a"], "gold_names": ["a"], "triage": "soon"},
        # right third via the alternate; no own triage: severity 3 -> soon
        {"split": "s", "text": "cough", "gold": ["D:b", "D:c"], "gold_names": ["b", "c"]},
        # not listed -> rank 50; own triage self-care met (severity of b is 4 -> self-care too)
        {"split": "s", "text": "itch", "gold": ["D:b"], "gold_names": ["b"], "triage": "self-care"},
        {"split": "other", "text": "never read", "gold": ["D:a"], "gold_names": ["a"]},
    ]
    gold = tmp_path / "gold.json"
    gold.write_text(json.dumps({"cases": cases}), encoding="utf-8")
    engine = RecordingEngine({
        "Assessment: none.\nPlan: rest.": (["D:a", "D:b"], "soon"),
        "cough": (["D:a", "D:x", "D:c"], "soon"),
        "itch": (["D:a"], "self-care"),
    })
    r = notes(engine, k, "s", gold)
    assert engine.seen == ["Assessment: none.\nPlan: rest.", "cough", "itch"]  # whole text, other split skipped
    assert r["n"] == 3
    assert (r["top1"], r["top3"], r["top5"]) == (1 / 3, 2 / 3, 2 / 3)
    assert r["triage"] == 1.0
    assert r["triage_severity"] == 2 / 3
    assert dict(r["misses"]) == {("b", "D:a"): 2}


def test_the_frozen_vignette_set_is_well_formed():
    data = json.loads(VIGNETTES.read_text(encoding="utf-8"))
    assert "team-written" in data["about"].lower()
    cases = data["cases"]
    k = CommonKnowledge.ddxplus()
    names = dict(zip(k.ids, k.names))
    assert len(cases) == 60 and len({c["id"] for c in cases}) == 60
    assert len(Counter(c["gold"][0] for c in cases)) >= 35
    for c in cases:
        assert c["split"] == "blind1" and c["triage"] in ("emergency", "soon", "self-care")
        assert [names[g] for g in c["gold"]] == c["gold_names"]
        assert 40 <= len(c["text"].split()) <= 200
        assert c["gold_names"][0].lower() not in c["text"].lower()
