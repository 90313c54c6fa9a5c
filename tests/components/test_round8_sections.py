"""Issue 11, eighth round: a header in capitals with a colon right after a comma that follows a word with no space
(a line break flattened to a comma after a line without a period) starts a section, so a case history's exam and
studies are not read under the past history; "quit" after a habit of the social history makes it historical.
Texts written for these tests."""

from __future__ import annotations

import pytest
import spacy

import medlens.components.sections  # noqa: F401  (registers the factory)
from medlens.pipeline import split_joined_lines
from tests.conftest import context_pipeline, context_statuses


@pytest.fixture(scope="module")
def nlp():
    nlp = spacy.blank("en")
    split_joined_lines(nlp)
    nlp.add_pipe("medlens_sections")
    return nlp


def categories(nlp, text: str) -> list[tuple[str, str]]:
    return [(s.category, s.title) for s in nlp(text)._.sections]


def test_a_capitals_header_right_after_a_word_and_a_comma_starts_a_section(nlp):
    text = ("PMH:, HTN for many years,MEDS:, Lisinopril,SHX/FHX:, smoker (quit '90),EXAM:, BP 150/90,"
            "STUDIES:, Na 132, CT head: a mass.")
    assert categories(nlp, text) == [("past_medical_history", "PMH:"), ("medications", "MEDS:"),
                                     ("social_history", "SHX/FHX:"), ("physical_exam", "EXAM:"),
                                     ("imaging", "STUDIES:")]


def test_not_without_capitals_a_colon_or_with_a_space(nlp):
    # "exam:" in small letters, "STUDIES" without a colon, a comma and a space: no header inside the line
    text = "PMH:, HTN for many years,exam: normal, then STUDIES, and more, EXAM: done"
    assert categories(nlp, text) == [("past_medical_history", "PMH:")]


@pytest.fixture(scope="module")
def ctx():
    return context_pipeline()


def test_quit_after_a_habit_of_the_social_history_is_historical(ctx):
    text = "SOCIAL HISTORY: Alcohol abuse (quit in 1992).  Tobacco use, she wants to quit."
    assert context_statuses(ctx, text, "Alcohol abuse", "Tobacco use") == ["historical", "present"]


def test_quit_elsewhere_is_no_cue(ctx):
    text = "HISTORY OF PRESENT ILLNESS: Chest pain made him quit walking."
    assert context_statuses(ctx, text, "Chest pain") == ["present"]


def test_may_suggest_is_a_hedge(ctx):
    text = "IMAGING: Two smaller foci may suggest metastasis.  The lesion could indicate an abscess.  Edema."
    assert context_statuses(ctx, text, "metastasis", "abscess", "Edema") == ["uncertain", "uncertain", "present"]
