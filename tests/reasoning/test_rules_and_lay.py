"""Guideline rules (schema, evaluation) and the lay-language rewriter."""

import json

import pytest

from medlens.errors import InputError, ResourceError
from medlens.reasoning.lay import LayRewriter, load_lay_lexicon
from medlens.reasoning.models import Finding
from medlens.reasoning.rules import LabValue, RuleEngine, load_rules


def f(hid, status="present", name="x"):
    return Finding(id=hid, name=name, status=status, concepts=[hid], hpo=[hid])


def test_rules_shipped_file_is_valid_and_referenced():
    rules = load_rules()
    assert len(rules.rules) >= 10
    assert all(r.reference.citation and r.reference.organization for r in rules.rules)


def test_rules_unknown_key_rejected(tmp_path):
    p = tmp_path / "rules.json"
    p.write_text(json.dumps({"version": "1", "rules": [{"id": "x", "description": "x y", "all": [["HP:0001945"]],
                 "kind": "test", "suggestion": "do it", "reference": {"guideline": "g g g", "organization": "org",
                 "year": 2020, "citation": "a citation text"}, "severity": "high"}]}), encoding="utf-8")
    with pytest.raises(ResourceError, match="severity"):
        load_rules(p)


def test_rules_fire_on_findings_with_ancestors():
    anc = {"HP:0031360": ("HP:0031360", "HP:0025258")}  # a more specific term under "stiff neck"
    engine = RuleEngine(ancestors=lambda c: anc.get(c, (c,)))
    out = engine.evaluate([f("HP:0001945", name="Fever"), f("HP:0031360", name="Nuchal rigidity")])
    assert [s.provenance.rule for s in out] == ["meningitis-lp"]
    assert "Tunkel" in out[0].provenance.reference
    assert engine.evaluate([f("HP:0001945"), f("HP:0025258", "absent")]) == []


def test_rules_labs():
    engine = RuleEngine()
    out = engine.evaluate([], [LabValue.parse("potassium=6.8 mmol/L")])
    assert [s.provenance.rule for s in out] == ["hyperkalaemia-severe"]
    assert engine.evaluate([], [LabValue.parse("potassium=5.1")]) == []
    with pytest.raises(InputError, match="mmol/L"):
        engine.evaluate([], [LabValue.parse("potassium=6.8 mEq/dL")])
    with pytest.raises(InputError, match="name=value"):
        LabValue.parse("potassium high")


def test_lay_lexicon_size_and_rewrite_offsets():
    assert len(load_lay_lexicon().entries) >= 150
    rw = LayRewriter().rewrite("I keep THROWING UP and it burns when I pee.")
    assert rw.text == "I keep vomiting and dysuria."
    start = rw.text.index("vomiting")
    s, e = rw.to_original(start, start + len("vomiting"))
    assert rw.original[s:e] == "THROWING UP"
    s, e = rw.to_original(rw.text.index("dysuria"), rw.text.index("dysuria") + 7)
    assert rw.original[s:e] == "it burns when I pee"
    assert rw.to_original(0, 1) == (0, 1)


def test_lay_no_partial_words():
    assert LayRewriter().rewrite("the itchyness").text == "the itchyness"


def test_clause_start_is_after_the_last_clause_mark():
    from medlens.reasoning.patient import clause_start

    text = "No fever. Return if worse; grunting now\nok"
    assert clause_start(text, text.index("grunting")) == text.index(";") + 1
    assert clause_start(text, text.index("Return")) == text.index(".") + 1
    assert clause_start(text, 3) == 0
