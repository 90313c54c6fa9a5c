"""The rules file: the shipped lexicon, custom files, and invalid files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Span

from medlens.components.context import ContextDetector, load_context_rules
from medlens.errors import ConfigError, ResourceError

VALID = {
    "version": "1.0",
    "section_defaults": {"family_history": "FAMILY"},
    "rules": [
        {"literal": "nope", "category": "NEGATED_EXISTENCE", "direction": "FORWARD"},
        {"literal": "stop", "category": "TERMINATE"},
    ],
}


@pytest.fixture(scope="module")
def nlp() -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def write(tmp_path: Path, data: dict, name: str = "rules.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_context_shipped_rules_are_substantial() -> None:
    rules = load_context_rules()
    counts = Counter(rule.category for rule in rules.rules)
    assert len(rules.rules) >= 150
    for category in ("NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HISTORICAL", "HYPOTHETICAL", "FAMILY", "PSEUDO", "TERMINATE"):
        assert counts[category] >= 10, category
    assert rules.section_defaults["family_history"] == "FAMILY"
    assert rules.section_defaults["past_medical_history"] == "HISTORICAL"
    assert "plan" not in rules.section_defaults


def test_context_shipped_literals_are_unique() -> None:
    literals = [r.literal.lower() for r in load_context_rules().rules if r.literal]
    assert len(literals) == len(set(literals))


def test_context_custom_rules_file(nlp: Language, tmp_path: Path) -> None:
    detector = ContextDetector(nlp, rules=str(write(tmp_path, VALID)))
    doc = nlp.get_pipe("sentencizer")(nlp.make_doc("nope fever stop cough"))
    doc.ents = [Span(doc, 1, 2, label="DISEASE"), Span(doc, 3, 4, label="DISEASE")]
    assert [a.negated for a in detector.predict(doc)] == [True, False]


def test_context_pattern_rule(nlp: Language, tmp_path: Path) -> None:
    data = {
        "version": "1.0",
        "rules": [
            {"pattern": [{"LOWER": "zero"}, {"LOWER": {"IN": ["signs", "symptoms"]}}, {"LOWER": "of"}],
             "category": "NEGATED_EXISTENCE", "direction": "FORWARD"},
        ],
    }
    detector = ContextDetector(nlp, rules=str(write(tmp_path, data)))
    doc = nlp.get_pipe("sentencizer")(nlp.make_doc("Zero symptoms of flu"))
    doc.ents = [Span(doc, 3, 4, label="DISEASE")]
    (assertion,) = detector.predict(doc)
    assert assertion.negated
    assert assertion.cues[0].text == "Zero symptoms of"


def test_context_rule_label_filter(nlp: Language, tmp_path: Path) -> None:
    data = {
        "version": "1.0",
        "rules": [{"literal": "off", "category": "NEGATED_EXISTENCE", "direction": "FORWARD", "allowed_labels": ["DRUG"]}],
    }
    detector = ContextDetector(nlp, rules=str(write(tmp_path, data)))
    doc = nlp.get_pipe("sentencizer")(nlp.make_doc("off insulin off balance"))
    doc.ents = [Span(doc, 1, 2, label="DRUG"), Span(doc, 3, 4, label="DISEASE")]
    assert [a.negated for a in detector.predict(doc)] == [True, False]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"literal": "no", "category": "NEGATED_EXISTENCE", "direction": "FORWARD", "scope": 3}, "scope"),
        ({"literal": "no", "category": "NEGATED_EXISTENCE", "direction": "SIDEWAYS"}, "direction"),
        ({"literal": "no", "category": "NEGATION", "direction": "FORWARD"}, "category"),
        ({"literal": "no", "category": "NEGATED_EXISTENCE", "direction": "FORWARD", "max_scope": 0}, "max_scope"),
        ({"literal": "no", "category": "NEGATED_EXISTENCE"}, "direction"),
        ({"literal": "but", "category": "TERMINATE", "direction": "FORWARD"}, "direction"),
        ({"category": "NEGATED_EXISTENCE", "direction": "FORWARD"}, "literal"),
    ],
)
def test_context_invalid_rule_raises_resource_error(nlp: Language, tmp_path: Path, rule: dict, field: str) -> None:
    path = write(tmp_path, {"version": "1.0", "rules": [rule]}, name="bad_rules.json")
    with pytest.raises(ResourceError) as info:
        ContextDetector(nlp, rules=str(path))
    message = str(info.value)
    assert "bad_rules.json" in message
    assert field in message


def test_context_invalid_top_level_key(nlp: Language, tmp_path: Path) -> None:
    path = write(tmp_path, {**VALID, "sections": {}}, name="bad_top.json")
    with pytest.raises(ResourceError, match=r"bad_top\.json(.|\n)*sections"):
        ContextDetector(nlp, rules=str(path))


def test_context_invalid_section_default_category(nlp: Language, tmp_path: Path) -> None:
    path = write(tmp_path, {**VALID, "section_defaults": {"plan": "MAYBE"}}, name="bad_sections.json")
    with pytest.raises(ResourceError, match="bad_sections.json"):
        ContextDetector(nlp, rules=str(path))


def test_context_invalid_token_pattern(nlp: Language, tmp_path: Path) -> None:
    data = {"version": "1.0", "rules": [{"pattern": [{"LOWERR": "x"}], "category": "TERMINATE"}]}
    path = write(tmp_path, data, name="bad_pattern.json")
    with pytest.raises(ResourceError, match=r"bad_pattern\.json(.|\n)*rules\.0\.pattern"):
        ContextDetector(nlp, rules=str(path))


def test_context_missing_rules_file(nlp: Language, tmp_path: Path) -> None:
    with pytest.raises(ResourceError, match="missing.json"):
        ContextDetector(nlp, rules=str(tmp_path / "missing.json"))


def test_context_bad_max_scope_argument(nlp: Language) -> None:
    with pytest.raises(ConfigError, match="max_scope"):
        ContextDetector(nlp, max_scope=0)
