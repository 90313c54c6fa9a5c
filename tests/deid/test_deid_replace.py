"""Replacement engine: redact / mask / surrogate, consistency, date shifting, formats, mapping."""

from __future__ import annotations

import re

import pytest

from medlens.deid import PatternRecognizer, replace_phi
from medlens.deid.engine import make_options
from medlens.deid.surrogates import SurrogateMaker, shift_date
from medlens.deid.validators import luhn, ssn
from medlens.errors import ConfigError

NOTE = "Patient: John Smith. Seen 03/14/2021 and 03/20/2021 by Dr. Smith. Call (617) 555-0123. SSN 123-45-6789."


@pytest.fixture(scope="module")
def spans():
    return PatternRecognizer().predict(NOTE)


def test_redact_and_mapping(spans):
    res = replace_phi(NOTE, spans, make_options())
    assert "[NAME]" in res.text and "John" not in res.text and "617" not in res.text
    for r in res.replacements:
        assert res.text[r.new_start:r.new_end] == f"[{r.type}]"
        assert NOTE[r.start:r.end]


def test_mask_keeps_length_and_punctuation(spans):
    res = replace_phi(NOTE, spans, make_options(default_action="mask"))
    assert len(res.text) == len(NOTE)
    assert "(***) ***-****" in res.text


def test_surrogates_consistent_with_a_key(spans):
    a = replace_phi(NOTE, spans, make_options(default_action="surrogate", key="patient-1"))
    b = replace_phi(NOTE, spans, make_options(default_action="surrogate", key="patient-1"))
    c = replace_phi(NOTE, spans, make_options(default_action="surrogate", key="patient-2"))
    assert a.text == b.text and a.text != c.text
    names = {NOTE[r.start:r.end]: a.text[r.new_start:r.new_end] for r in a.replacements if r.type == "NAME"}
    assert names["John Smith"].split()[-1] == names["Smith"]  # same person -> same surrogate


def test_surrogate_dates_keep_intervals_and_formats(spans):
    res = replace_phi(NOTE, spans, make_options(default_action="surrogate", key="k"))
    dates = [res.text[r.new_start:r.new_end] for r in res.replacements if r.type == "DATE"]
    assert all(re.fullmatch(r"\d{2}/\d{2}/\d{4}", d) for d in dates)
    import datetime as dt

    d1, d2 = (dt.datetime.strptime(d, "%m/%d/%Y") for d in dates)
    assert (d2 - d1).days == 6


def test_surrogate_formats_are_valid():
    maker = SurrogateMaker(b"k")
    assert re.fullmatch(r"\(\d{3}\) 555-01\d\d", maker.make("PHONE", "(617) 555-0123"))
    assert ssn(maker.make("SSN", "123-45-6789"))
    card = maker.make("ACCOUNT", "4454 7945 1139 0933")
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", card) and luhn(card) and card != "4454 7945 1139 0933"
    assert maker.make("AGE", "97") == "90"


@pytest.mark.parametrize("text, days, expected", [
    ("03/14/2021", 10, "03/24/2021"), ("2021-03-14", -14, "2021-02-28"), ("January 5, 2020", 31, "February 5, 2020"),
    ("5 Jan 2020", 1, "6 Jan 2020"), ("3/14", 1, "3/15"), ("March 2020", 62, "May 2020"),
])
def test_shift_date_formats(text, days, expected):
    assert shift_date(text, days) == expected


def test_bad_options_name_value_and_choices():
    with pytest.raises(ConfigError, match="explode"):
        make_options(default_action="explode")
    with pytest.raises(ConfigError, match="NOPE"):
        make_options(actions={"NOPE": "redact"})


def _surrogate_first_name(text: str, key: str = "k") -> str:
    res = replace_phi(text, PatternRecognizer().predict(text), make_options(default_action="surrogate", key=key))
    (name,) = [res.text[r.new_start:r.new_end] for r in res.replacements if r.type == "NAME"]
    return name.split()[0]


@pytest.mark.parametrize("key", ["patient-42", "k", "p-7", "x"])
def test_surrogate_first_name_agrees_with_title_and_pronoun(key):
    from faker.providers.person.en_US import Provider

    male, female = set(Provider.first_names_male), set(Provider.first_names_female)
    # a title before the name wins, even over the original first name's own sex
    assert _surrogate_first_name("Mr. John Doe has Hodgkin lymphoma.", key) in male
    assert _surrogate_first_name("Mr. Mary Doe has Hodgkin lymphoma.", key) in male
    assert _surrogate_first_name("Mrs. John Doe has Hodgkin lymphoma.", key) in female
    assert _surrogate_first_name("Seen Ms. Jordan Lee today.", key) in female
    # no title: the original name's own sex, then the first pronoun after it
    assert _surrogate_first_name("Patient: Mary Jones, seen today.", key) in female
    assert _surrogate_first_name("Patient: Jordan Lee, seen today. She reports pain.", key) in female
    assert _surrogate_first_name("Patient: Jordan Lee, seen today. He reports pain.", key) in male


def test_surrogate_keeps_a_title_inside_the_span():
    from faker.providers.person.en_US import Provider

    maker = SurrogateMaker(b"k")
    new = maker.make("NAME", "Mrs. John Doe")
    assert new.startswith("Mrs. ") and new.split()[1] in Provider.first_names_female
    assert maker.make("NAME", "Doe") == new.split()[-1]  # the last name is the same surrogate alone
