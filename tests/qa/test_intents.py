"""The intent classifier on clear questions (wordings not in the example file)."""

from __future__ import annotations

import pytest

from medlens.qa.intents import IntentClassifier, IntentFile
from medlens.resources import load_resource, resource_path


@pytest.fixture(scope="module")
def clf():
    return IntentClassifier.load()


@pytest.mark.parametrize("masked, intent", [
    ("X symptoms?", "findings_of"),
    ("what signs does X have", "findings_of"),
    ("what code is used for X in ICD-10?", "icd10_code"),
    ("which diseases come with X and Y?", "diseases_with_findings"),
    ("what is X?", "definition"),
    ("which medicines may cause X?", "drugs_inducing"),
    ("is there a treatment for X?", "drugs_treating"),
    ("X is known under which other names?", "synonyms"),
])
def test_intent_clear_questions(clf, masked, intent):
    pred = clf.classify(masked)
    assert pred.intent == intent, pred.probabilities
    assert abs(sum(pred.probabilities.values()) - 1) < 1e-3
    assert list(pred.probabilities)[0] == intent


def test_intent_file_is_validated(tmp_path):
    from medlens.errors import ResourceError

    bad = tmp_path / "intents.json"
    bad.write_text('{"intents": {"a": {"description": "x", "examples": []}}}', encoding="utf-8")
    with pytest.raises(ResourceError):
        load_resource(bad, IntentFile)


def test_shipped_intents_have_examples():
    spec = load_resource(resource_path("qa/intents.json"), IntentFile)
    assert len(spec.intents) == 9 and "out_of_scope" in spec.intents
    assert all(len(i.examples) >= 15 for i in spec.intents.values())
    assert set(spec.name_words) <= set(spec.frame_words)
