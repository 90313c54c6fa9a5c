"""Lay language → clinical terms, before the pipeline runs.

``resources/en/lay_synonyms.json`` maps phrases patients use ("throwing up",
"it burns when I pee", "red scaly patches") to the clinical term the
recognizer knows ("vomiting", "dysuria", "erythematous plaque"), with the HPO
id where one fits. :func:`rewrite` replaces each phrase (case-insensitive,
word boundaries, longest first, no overlaps) by its term and keeps a map back
to the original characters, so the rewritten text goes through the same
pipeline — sections, sentences, recognizer, ConText — and "no burning when I
pee" still comes out negated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from medlens.resources import load_resource

DEFAULT_FILE = "lay_synonyms.json"


class LayEntry(BaseModel):
    """One lay phrase and the clinical term it stands for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lay: str = Field(min_length=2)
    term: str = Field(min_length=2)
    id: str | None = Field(None, pattern=r"^[A-Za-z][A-Za-z0-9_]*:\S+$")

    @field_validator("lay")
    @classmethod
    def _lower(cls, v: str) -> str:
        return " ".join(v.lower().replace("\u2019", "'").split())


class LayLexicon(BaseModel):
    """The lay-synonym file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    description: str = ""
    license: str = ""
    entries: list[LayEntry]


@dataclass(frozen=True, slots=True)
class Replacement:
    """One rewritten phrase: where it was, where its term is, and the entry."""

    orig_start: int
    orig_end: int
    new_start: int
    new_end: int
    entry: LayEntry


@dataclass(frozen=True)
class Rewritten:
    """Text with lay phrases replaced, and the way back to the original offsets."""

    original: str
    text: str
    replacements: tuple[Replacement, ...]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a character span of the rewritten text back to the original text."""
        return self._map(start, True), self._map(end, False)

    def _map(self, pos: int, is_start: bool) -> int:
        shift = 0
        for r in self.replacements:
            if pos < r.new_start:
                break
            if pos < r.new_end or (not is_start and pos == r.new_end):
                return r.orig_start if is_start else r.orig_end
            shift = r.orig_end - r.new_end
        return pos + shift

    def replacement_at(self, start: int, end: int) -> Replacement | None:
        """The replacement overlapping a span of the rewritten text, if any."""
        for r in self.replacements:
            if r.new_start < end and start < r.new_end:
                return r
        return None


class LayRewriter:
    """Compiled lay lexicon.

    Args:
        lexicon: a :class:`LayLexicon`; None loads the shipped ``lay_synonyms.json``.
    """

    def __init__(self, lexicon: LayLexicon | None = None) -> None:
        self.lexicon = lexicon or load_lay_lexicon()
        self.entries = {e.lay: e for e in self.lexicon.entries}
        phrases = sorted(self.entries, key=lambda p: (-len(p), p))
        alts = "|".join(r"\s+".join(re.escape(w) for w in p.split()) for p in phrases)
        self._re = re.compile(rf"(?<![\w'])(?:{alts})(?![\w'])", re.IGNORECASE) if phrases else None

    def rewrite(self, text: str) -> Rewritten:
        """Replace every lay phrase of ``text`` by its clinical term."""
        if self._re is None:
            return Rewritten(text, text, ())
        norm = text.replace("\u2019", "'")
        out: list[str] = []
        reps: list[Replacement] = []
        pos = 0
        new_len = 0
        for m in self._re.finditer(norm):
            entry = self.entries[" ".join(m.group(0).lower().split())]
            out.append(text[pos:m.start()])
            new_len += m.start() - pos
            out.append(entry.term)
            reps.append(Replacement(m.start(), m.end(), new_len, new_len + len(entry.term), entry))
            new_len += len(entry.term)
            pos = m.end()
        out.append(text[pos:])
        return Rewritten(text, "".join(out), tuple(reps))


def load_lay_lexicon(path: str | Path | None = None) -> LayLexicon:
    """Read and validate a lay-synonym file (default: the shipped one)."""
    return load_resource(path or DEFAULT_FILE, LayLexicon)


@lru_cache(maxsize=4)
def default_rewriter() -> LayRewriter:
    """The rewriter over the shipped lexicon, compiled once."""
    return LayRewriter()


__all__ = ["LayEntry", "LayLexicon", "LayRewriter", "Rewritten", "default_rewriter", "load_lay_lexicon"]
