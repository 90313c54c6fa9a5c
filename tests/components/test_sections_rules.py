"""medlens_sections: the rules file is validated data; custom rules files."""

from __future__ import annotations

import json

import pytest
import spacy

import medlens.components.sections  # noqa: F401  (registers the factory)
from medlens.components.sections import SectionDetector
from medlens.errors import ResourceError

MINIMAL = {"version": "1", "sections": [{"category": "plan", "headers": ["plan"]}]}


def write(tmp_path, data, name="rules.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_sections_custom_rules_file_used(tmp_path):
    rules = {"version": "1", "sections": [{"category": "wound_care", "headers": ["wound care"], "abbreviations": ["WC"]}]}
    nlp = spacy.blank("en")
    nlp.add_pipe("medlens_sections", config={"rules": str(write(tmp_path, rules))})
    doc = nlp("Intro.\nWound care: daily dressing\nWC: done\nPlan: home")
    assert [s.category for s in doc._.sections] == ["unknown", "wound_care", "wound_care"]


@pytest.mark.parametrize(
    "mutate,field",
    [
        (lambda d: d.update(extra_key=1), "extra_key"),
        (lambda d: d["sections"][0].update(header=["x"]), "header"),
        (lambda d: d["sections"][0].update(category="Bad Category"), "category"),
        (lambda d: d.pop("version"), "version"),
        (lambda d: d["sections"].append({"category": "other", "headers": ["PLAN"]}), "'PLAN'"),
        (lambda d: d["sections"][0].update(colon_required=["assessment"]), "colon_required"),
        (lambda d: d["sections"][0].update(headers=["plan:"]), "headers"),
        (lambda d: d["sections"][0].update(category="unknown"), "unknown"),
        (lambda d: d["sections"][0].update(abbreviations=["Plan"]), "Plan"),
    ],
)
def test_sections_invalid_rules_raise_resource_error(tmp_path, mutate, field):
    data = json.loads(json.dumps(MINIMAL))
    mutate(data)
    path = write(tmp_path, data, name=f"bad_{abs(hash(field))}.json")
    with pytest.raises(ResourceError) as info:
        SectionDetector(rules=str(path))
    message = str(info.value)
    assert path.name in message
    assert field in message


def test_sections_missing_rules_file_raises(tmp_path):
    with pytest.raises(ResourceError, match="not found"):
        SectionDetector(rules=str(tmp_path / "nope.json"))


def test_sections_not_json_raises(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ResourceError, match="broken.json"):
        SectionDetector(rules=str(path))
