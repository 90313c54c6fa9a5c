"""The KG question scorer (benchmarks/kg_questions.py) with fake answer functions, and the shape of the frozen set."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from kg_questions import (
    QUESTIONS,
    evaluate,
    id_key,
    load_questions,
    main,
    same_id,
    score_question,
    validate,
)

from medlens.qa.models import Answer, AnswerItem

TINY = ROOT / "tests" / "fixtures" / "kg_questions" / "tiny.jsonl"


def graph(question: str, *ids: str) -> Answer:
    return Answer(question=question, kind="graph", answers=[AnswerItem(text=i, id=i) for i in ids])


def test_ids_match_across_prefix_spellings_case_and_the_icd_dot():
    assert id_key("hpo_0001166") == ("HP", "0001166")
    assert id_key("E11.9") == (None, "E119")
    assert id_key("DrugBank:DB00331") == (None, "DB00331")
    assert same_id("ICD-10-CM:e11.9", "ICD10CM:E11.9")
    assert same_id("E119", "ICD10CM:E11.9")
    assert same_id("MeSH:D008687", "MESH:D008687")
    assert same_id("MIM:154700", "OMIM:154700")
    assert same_id("Orphanet:558", "ORPHA:558")
    assert same_id("DB00331", "DB00331")
    assert not same_id("OMIM:558", "ORPHA:558")  # same number, another vocabulary
    assert not same_id("ICD10CM:E11.65", "ICD10CM:E11.9")
    assert not same_id("HP:0001166", "HP:0001167")


def test_single_answers_score_top1_and_top3():
    q = load_questions(TINY)[0]
    first = score_question(q, graph(q["question"], "ICD10CM:E11.9", "ICD10CM:E10"))
    assert first["top1"] and first["top3"] and first["correct"]
    third = score_question(q, graph(q["question"], "ICD10CM:E10", "ICD10CM:E13", "E11"))
    assert not third["top1"] and third["top3"] and not third["correct"]
    assert not score_question(q, graph(q["question"], "ICD10CM:E10", "ICD10CM:E13", "ICD10CM:O24", "E11"))["top3"]


def test_set_answers_score_precision_recall_f1_and_alternative_ids():
    qs = load_questions(TINY)
    marfan, flu = qs[1], qs[2]
    s = score_question(marfan, graph("", "HP:0001166", "HP:0001083", "HP:0000001", "HP:0000002"))
    assert (s["precision"], s["recall"]) == (0.5, 0.5) and s["f1"] == pytest.approx(0.5) and s["correct"]
    s = score_question(marfan, graph("", "HP:0001166", "HP:0000001", "HP:0000002", "HP:0000003"))
    assert s["f1"] == pytest.approx(0.25) and not s["correct"]
    # an HPO cross-reference of a DDXPlus finding counts for that finding
    s = score_question(flu, {"question": "", "kind": "graph", "answers": [{"text": "fever", "id": "HP:0001945"},
                                                                          {"text": "cough", "id": "DDXPLUS:toux"}]})
    assert s["precision"] == 1.0 and s["recall"] == 1.0


def test_no_answer_and_asking_back():
    qs = load_questions(TINY)
    none_q, ambiguous = qs[3], qs[4]
    nothing = Answer(question=none_q["question"], kind="none", message="nothing found", searched=["graph"])
    assert score_question(none_q, nothing)["correct"]
    assert not score_question(none_q, graph("", "MESH:D005602"))["correct"]
    readings = Answer(question="MS", kind="graph", readings=["multiple sclerosis", "mitral stenosis"])
    assert score_question(ambiguous, readings)["correct"]
    assert score_question(ambiguous, Answer(question="MS", kind="none", message="Did you mean multiple sclerosis?"))["correct"]
    assert not score_question(ambiguous, nothing)["correct"]
    assert not score_question(ambiguous, graph("", "ICD10CM:G35"))["correct"]
    # only kind "none" is right for a none question, even an empty graph answer is not
    assert not score_question(none_q, Answer(question="", kind="graph"))["correct"]


def test_evaluate_reports_per_intent_and_split_and_survives_a_crashing_answerer():
    qs = load_questions(TINY)
    gold_first = {q["question"]: q["gold"] for q in qs}

    def oracle(question: str) -> Answer:
        gold = gold_first[question]
        if not gold:
            return Answer(question=question, kind="none")
        if "MS" in question:
            return Answer(question=question, kind="graph", readings=[g["name"] for g in gold])
        return graph(question, *(g["id"] for g in gold))

    scores, summary = evaluate(qs, oracle, "all")
    assert len(scores) == 6 and summary["all"]["overall"]["accuracy"] == 1.0
    assert summary["dev"]["overall"]["n"] == 3 and summary["heldout"]["overall"]["n"] == 3
    assert summary["all"]["intents"]["disease_symptoms"]["f1"] == 1.0

    def broken(question: str) -> Answer:
        raise RuntimeError("boom")

    scores, summary = evaluate(qs, broken, "dev")
    assert [s["id"] for s in scores] == ["t-1", "t-2", "t-5"]
    assert summary["dev"]["overall"]["accuracy"] == 0.0 and "boom" in scores[0]["error"]


def test_bad_lines_name_the_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(TINY.read_text().splitlines()[0] + "\n{\"id\": \"x\"}\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:2: missing field 'question'"):
        load_questions(bad)
    bad.write_text('{"id": "x", "question": "q", "intent": "icd10_code", "answer_type": "single", "split": "dev", "gold": []}\n')
    with pytest.raises(ValueError, match="needs gold ids"):
        load_questions(bad)
    assert main(["--questions", str(tmp_path / "missing.jsonl")]) == 2


def test_validate_finds_ids_missing_from_a_graph(tiny_kg):
    problems = validate(load_questions(TINY), tiny_kg)
    assert any("ICD10CM:E11 is not in the graph" in p for p in problems)
    assert all("is not in the graph" in p for p in problems)


def test_the_frozen_set_has_the_promised_shape():
    qs = load_questions(QUESTIONS)
    assert len(qs) >= 360
    by_intent = Counter(q["intent"] for q in qs)
    for intent in ("disease_symptoms", "icd10_code", "diseases_with_findings", "what_is", "code_lookup"):
        assert by_intent[intent] >= 40, intent
    assert by_intent["drugs_inducing"] >= 40 and by_intent["none"] >= 20 and by_intent["ambiguous"] >= 15
    for intent, n in by_intent.items():
        dev = sum(1 for q in qs if q["intent"] == intent and q["split"] == "dev")
        assert abs(dev - 0.4 * n) <= 1, intent
    assert len({q["question"].lower() for q in qs}) == len(qs)


@pytest.mark.slow
def test_every_gold_id_of_the_frozen_set_is_in_the_full_graph(full_kg_path):
    from medlens.kg.store import KnowledgeGraph

    with KnowledgeGraph.open(full_kg_path) as kg:
        assert validate(load_questions(QUESTIONS), kg) == []
