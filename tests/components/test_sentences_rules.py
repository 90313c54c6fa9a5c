"""medlens_sentences: rules as validated data, custom rules, pipeline order."""

from __future__ import annotations

import json

import pytest
import spacy

import medlens.components.sections  # noqa: F401  (registers the factories)
import medlens.components.sentences  # noqa: F401
from medlens.components.sentences import SentenceSplitter
from medlens.errors import PipelineError, ResourceError
from medlens.resources import resource_path


def shipped() -> dict:
    return json.loads(resource_path("sentence_rules.json").read_text(encoding="utf-8"))


def write(tmp_path, data, name="rules.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def build(rules: str | None = None):
    nlp = spacy.blank("en")
    nlp.add_pipe("medlens_sections")
    nlp.add_pipe("medlens_sentences", config={"rules": rules})
    return nlp


def test_sentences_custom_abbreviation_from_rules_file(tmp_path):
    text = "Seen by Cpl. Miller today."
    assert len(list(build()(text).sents)) == 2  # "cpl." is not a shipped abbreviation
    data = shipped()
    data["abbreviations"]["never_end"].append("cpl.")
    nlp = build(str(write(tmp_path, data)))
    assert [s.text for s in nlp(text).sents] == [text]


def test_sentences_capitalized_line_rule_can_be_switched_off(tmp_path):
    data = shipped()
    data["split_before_capitalized_line"] = False
    nlp = build(str(write(tmp_path, data)))
    assert len(list(nlp("Lisinopril 10 mg daily\nMetformin 500 mg").sents)) == 1
    assert len(list(build()("Lisinopril 10 mg daily\nMetformin 500 mg").sents)) == 2


@pytest.mark.parametrize(
    "mutate,field",
    [
        (lambda d: d.update(unknown_option=True), "unknown_option"),
        (lambda d: d["abbreviations"].update(sometimes_end=["x."]), "sometimes_end"),
        (lambda d: d["abbreviations"]["never_end"].append("Dr"), "never_end"),
        (lambda d: d["abbreviations"]["can_end"].append("dr."), "dr."),
        (lambda d: d.update(bullets=[]), "bullets"),
        (lambda d: d.update(tight_bullets=["o"]), "tight_bullets"),
        (lambda d: d.pop("abbreviations"), "abbreviations"),
        (lambda d: d.update(split_before_capitalized_line="sometimes"), "split_before_capitalized_line"),
    ],
)
def test_sentences_invalid_rules_raise_resource_error(tmp_path, mutate, field):
    data = shipped()
    mutate(data)
    path = write(tmp_path, data, name="bad_sentence_rules.json")
    with pytest.raises(ResourceError) as info:
        SentenceSplitter(rules=str(path))
    assert "bad_sentence_rules.json" in str(info.value)
    assert field in str(info.value)


def test_sentences_without_sections_raises_pipeline_error():
    nlp = spacy.blank("en")
    nlp.add_pipe("medlens_sentences")
    with pytest.raises(PipelineError, match="medlens_sections"):
        nlp("HPI: cough.")


def test_sentences_predict_is_pure():
    nlp = build()
    doc = nlp.get_pipe("medlens_sections")(nlp.make_doc("Cough. Fever."))
    splitter = nlp.get_pipe("medlens_sentences")
    flags = splitter.predict(doc)
    assert list(flags) == [1, -1, 1, -1]
    assert not doc.has_annotation("SENT_START")
    splitter.set_annotations(doc, flags)
    assert [s.text for s in doc.sents] == ["Cough.", "Fever."]


def test_sentences_pipe_matches_call():
    nlp = build()
    texts = ["HPI: cough. Fever.", "Plan:\n- rest\n- fluids", ""]
    assert [[s.text for s in d.sents] for d in nlp.pipe(texts)] == [[s.text for s in nlp(t).sents] for t in texts]
