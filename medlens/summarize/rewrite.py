"""Rewrite rules and sentence helpers shared by the extractive visit-note writer (:mod:`medlens.summarize.dialogue`)
and the optional generator that smooths its sentences (:mod:`medlens.summarize.generate`)."""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import BaseModel, ConfigDict

from medlens.resources import load_resource


class RewriteRules(BaseModel):
    """Schema of ``dialogue_rewrite.json``."""

    model_config = ConfigDict(extra="forbid")

    version: str
    description: str = ""
    speakers: dict[str, str]
    fillers: list[str]
    chitchat: list[str]
    first_person: dict[str, str]
    second_person: dict[str, str]
    yes_answers: list[str]
    no_answers: list[str]
    section_cues: dict[str, list[str]]
    procedural: list[str]
    hedges: list[str] = []
    talk_about_talk: list[str] = []
    plan_openers: list[str] = []
    units: dict[str, str] = {}


@lru_cache(maxsize=4)
def rewrite_rules(path: str | None = None) -> RewriteRules:
    """The rewrite rules (``resources/en/dialogue_rewrite.json``, or the file at ``path``), read once."""
    return load_resource(path or "dialogue_rewrite.json", RewriteRules)


def finish_sentence(sentence: str) -> str:
    """A note sentence from rewritten words: stray commas trimmed, "i" as "I", a capital first letter, a full stop."""
    sentence = sentence.strip(" ,;")
    if not sentence:
        return ""
    sentence = re.sub(r"\bi\b", "I", sentence)
    sentence = sentence[0].upper() + sentence[1:]
    return sentence if sentence[-1] in ".!?" else sentence + "."


_ORDINALS = {"1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth", "5th": "fifth", "6th": "sixth",
             "7th": "seventh", "8th": "eighth", "9th": "ninth", "10th": "tenth"}


def note_numbers(text: str, units: dict[str, str]) -> str:
    """Numbers, doses and ratios as notes write them: "five pounds" -> "5 pounds", "15 milligrams" -> "15 mg",
    "1,000" -> "1000", "2 out of 6" -> "2/6", "120 over 80" -> "120/80" (ordinals and a lone "one" stay words)."""
    from text_to_num import alpha2digit

    t = alpha2digit(text, "en", threshold=2)
    t = re.sub(r"\b(\d+(?:st|nd|rd|th))\b", lambda m: _ORDINALS.get(m.group(1), m.group(1)), t)
    t = re.sub(r"\b(\d{1,3}),(\d{3})\b", r"\1\2", t)
    t = re.sub(r"\b(\d+) (?:out of|over) (\d+)\b", r"\1/\2", t)
    if units:
        t = re.sub(r"(?<=\d )(" + "|".join(re.escape(u) for u in units) + r")\b", lambda m: units[m.group(1).lower()], t,
                   flags=re.I)
    return t
