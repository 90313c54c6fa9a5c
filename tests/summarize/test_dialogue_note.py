"""Visit notes from tiny hand-made conversations: speakers, third person, pertinent negatives, grounding."""

from __future__ import annotations

import re

import pytest

from tests.conftest import FIXTURES

VISIT = (FIXTURES / "summarize" / "visit.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def note(nlp):
    from medlens.summarize import summarize

    return summarize(VISIT, kind="dialogue", nlp=nlp, doc_id="v1")


def _section(note, name):
    return next(s for s in note.sections if s.name == name)


def test_parse_dialogue_speakers_and_offsets():
    from medlens.summarize.dialogue import parse_dialogue

    text = "Doctor: how are you?\nPatient: my knee hurts.\n[patient_guest] he fell.\n"
    turns, warnings = parse_dialogue(text)
    assert [(t.speaker, t.text) for t in turns] == [("doctor", "how are you?"), ("patient", "my knee hurts."),
                                                   ("other", "he fell.")]
    assert all(text[t.start:t.end] == t.text for t in turns)
    assert warnings == []


def test_parse_dialogue_without_labels_warns_and_empty_fails():
    from medlens.errors import InputError
    from medlens.summarize.dialogue import parse_dialogue

    turns, warnings = parse_dialogue("how are you?\nmy knee hurts.\n")
    assert [t.speaker for t in turns] == ["other", "other"] and "no speaker labels" in warnings[0]
    with pytest.raises(InputError, match="the dialogue is empty"):
        parse_dialogue("  \n\n")


def test_visit_note_patient_words_in_third_person(note):
    hpi = _section(note, "history_of_present_illness").sentences
    assert hpi[0].text == "He has had a cough for 3 days and he feels short of breath."
    assert hpi[0].turns == [1]


def test_visit_note_answers_become_pertinent_negatives_and_positives(note):
    ros = {s.text: s.turns for s in _section(note, "review_of_systems").sentences}
    assert ros["Denies fever."] == [2, 3]
    assert ros["Endorses chest pain."] == [4, 5]


def test_visit_note_doctor_findings_results_and_plan(note):
    assert "crackles" in _section(note, "physical_exam").sentences[0].text
    assert "x-ray" in _section(note, "results").sentences[0].text
    plan = _section(note, "assessment_and_plan").sentences[0]
    assert plan.text.startswith("We will start him on amoxicillin") and plan.turns == [8]
    assert note.text.startswith("CHIEF COMPLAINT\n\nCough.")


def test_visit_note_every_sentence_is_grounded_in_its_turns(note):
    """No invented facts: apart from template and pronoun words, each sentence's words are its turns' words."""
    template = {"denies", "endorses", "he", "his", "him", "she", "her", "has", "feels", "is", "the", "patient", "we",
                "will", "mg"}
    assert note.grounded == 1.0
    for section in note.sections:
        for sent in section.sentences:
            assert sent.turns
            source = " ".join(note.turns[i].text.lower() for i in sent.turns)
            words = set(re.findall(r"[a-z][a-z\-]*", sent.text.lower())) - template
            assert words <= set(re.findall(r"[a-z][a-z\-]*", source)), (sent.text, source)


def test_visit_note_fhir_validates(note):
    pytest.importorskip("fhir.resources", reason="FHIR validation needs the dev extra")
    from fhir.resources.R4B.bundle import Bundle

    from medlens.summarize.fhir import visit_note_to_fhir

    bundle = visit_note_to_fhir(note, date="2026-12-02T10:00:00+00:00")
    Bundle.model_validate(bundle)
    titles = [s["title"] for s in bundle["entry"][0]["resource"]["section"]]
    assert titles[0] == "Chief complaint" and titles[-1] == "Assessment and plan"


def test_turn_classifier_trains_from_weak_labels():
    from medlens.summarize.turns import predict_sections, split_note, train_turn_classifier, weak_labels

    note = "CHIEF COMPLAINT\n\nKnee pain.\n\nPHYSICAL EXAM\n\nKnee swelling noted.\n\nPLAN\n\nStart ibuprofen twice daily."
    turns = [("doctor", "what brings you in"), ("patient", "my knee pain is bad"),
             ("doctor", "there is knee swelling on exam"), ("doctor", "start ibuprofen twice daily")]
    assert split_note(note)[0] == ("chief_complaint", "Knee pain.")
    labels = weak_labels(turns, note)
    assert labels == ["none", "chief_complaint", "physical_exam", "assessment_and_plan"]
    model = train_turn_classifier([(turns, note)] * 3, min_count=1)
    predicted = [label for label, _ in predict_sections(model, turns)]
    assert predicted == labels


def test_rewrite_steps_write_numbers_plans_and_drop_hedges_and_cut_offs():
    from medlens.summarize.dialogue import _cutoffs, _drop_phrases, _numbers, _rules, _we_will

    rules = _rules()
    assert _numbers("metformin 1,000 milligrams twice daily for two weeks", rules.units) == "metformin 1000 mg twice daily for 2 weeks"
    assert _numbers("a 2 out of 6 murmur, pressure one hundred twenty over eighty", rules.units) == "a 2/6 murmur, pressure 120/80"
    assert _numbers("for his first problem, one of them", rules.units) == "for his first problem, one of them"
    assert _drop_phrases("i think that you have, you know, kind of a strain", rules.hedges) == "you have, a strain"
    assert _cutoffs("i f- felt the pop in my back-") == "i felt the pop in my back"
    assert _cutoffs("so, are you ... how are you doing with the pain") == "how are you doing with the pain"
    assert _cutoffs("trying to, trying to exercise") == "trying to exercise"
    assert _we_will("and i'm going to go ahead and prescribe meloxicam", rules.plan_openers) == "we will prescribe meloxicam"
    assert _we_will("i'd like you to rest", rules.plan_openers) == "i'd like you to rest"


INTRO_VISIT = """[doctor] hi , anna . anna is a 45-year-old female who presents today for knee pain .
[patient] hi .
[doctor] let me ask you , when did the knee pain start ?
[patient] um , about two weeks ago , you know , after i fell .
[doctor] i'm going to examine you now .
[doctor] on exam , there is swelling of the right knee .
[doctor] i think you have a knee sprain . we're going to start ibuprofen 400 milligrams three times a day .
"""


def test_visit_note_repeats_the_introduction_in_the_plan_and_skips_talk_about_talk(nlp):
    from medlens.summarize import summarize

    note = summarize(INTRO_VISIT, kind="dialogue", nlp=nlp)
    plan = _section(note, "assessment_and_plan").sentences
    intro = "Anna is a 45-year-old female who presents today for knee pain."
    assert plan[0].text == intro and plan[0].turns == [0]
    assert _section(note, "history_of_present_illness").sentences[0].text == intro
    assert "We will start ibuprofen 400 mg 3 times a day." in [s.text for s in plan]
    assert "ask" not in note.text.lower() and "examine" not in note.text.lower()
    plain = summarize_steps_off(nlp)
    assert _section(plain, "assessment_and_plan").sentences[0].text != intro


def summarize_steps_off(nlp):
    from medlens.summarize.dialogue import STEPS, summarize_dialogue

    return summarize_dialogue(INTRO_VISIT, nlp=nlp, skip=STEPS)


def test_unknown_rewrite_step_is_a_clear_error(nlp):
    from medlens.errors import InputError
    from medlens.summarize.dialogue import summarize_dialogue

    with pytest.raises(InputError, match="rewrite step.*'spelling'.*numbers"):
        summarize_dialogue(INTRO_VISIT, nlp=nlp, skip=["spelling"])


def test_visit_note_from_a_dialogue_without_speaker_labels(nlp):
    """No labels: every line is a turn of speaker 'other'; the note is still written, with a warning."""
    from medlens.summarize import summarize

    text = "\n".join(line.split("] ", 1)[1] for line in VISIT.splitlines() if line.strip())
    note = summarize(text, kind="dialogue", nlp=nlp)
    assert all(t.speaker == "other" for t in note.turns) and len(note.turns) == 10
    assert "no speaker labels" in note.warnings[0]
    assert note.grounded == 1.0 and "amoxicillin" in note.text and "crackles" in note.text


def test_visit_note_of_small_talk_says_nothing_was_written(nlp):
    from medlens.summarize import summarize

    note = summarize("[doctor] hi , how are you ?\n[patient] good , thanks .\n", kind="dialogue", nlp=nlp)
    assert all(not s.sentences for s in note.sections) and note.text == ""
    assert "no note sentence could be written from this conversation" in note.warnings
