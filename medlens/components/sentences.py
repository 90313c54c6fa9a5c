"""Clinical sentence splitting.

Clinical notes are made of headers, lists and half-sentences more than of
prose, so the rules differ from those of a newswire sentencizer:

* a section header is its own sentence ("HPI:" is one, and the text after it on
  the same line starts the next);
* each item of a bulleted (``-``, ``*``, ``•``) or numbered (``1.``, ``2)``)
  list is a sentence;
* a line break ends a sentence after a blank line, before a list item or a
  header, after sentence-final punctuation, and before a capitalized line
  unless the previous line ends with a word that needs a continuation
  ("with", "of", ...) or with a comma; a wrapped line starting in lower case
  continues the sentence;
* a comma right after ``.``, ``?``, ``!``, ``:`` or ``;`` followed by a
  capitalized word or a list item counts as a line break: transcribed notes
  flattened to one line write their line breaks so
  (``"...intact.,2.  Coagulopathy"``, ``"None.,Lungs: clear"``);
* ``.``, ``?`` and ``!`` end a sentence when an upper-case word follows, except
  after abbreviations ("b.i.d.", "Dr.", "e.g."), initials ("J. Smith");
  decimals ("7.5 mg") never split and semicolons do not split.

The abbreviation lists and the other word lists are data
(``resources/en/sentence_rules.json``). The component reads
``doc._.sections`` (so it runs after ``medlens_sections``) and sets
``token.is_sent_start`` on every token, so ``doc.sents`` works.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy
from pydantic import BaseModel, ConfigDict, Field, model_validator
from spacy.attrs import IDX, SENT_START
from spacy.language import Language
from spacy.tokens import Doc

from medlens.doc import extensions
from medlens.doc.text import doc_text
from medlens.errors import Errors, PipelineError
from medlens.resources import load_resource

DEFAULT_RULES = "sentence_rules.json"

_CLOSERS = "\"')]}\u201d\u2019"
_OPENERS = "\"'([{\u201c\u2018"
_JOINERS = frozenset(",;-/(&+=\u2013\u2014")
_INITIAL = re.compile(r"^[A-Z]\.$")
_DOTTED = re.compile(r"^(?:[A-Za-z]\.){2,}$")
_TERMINAL = re.compile(r"[.?!]+[\"')\]}\u201d\u2019]*[ \t]+(?=\S)")
_JOINED = re.compile(r"[.?!:;][\"')\]}\u201d\u2019]*[ \t]*,[ \t]*(?=\S)")
_LINE_BREAK = re.compile(r"\r?\n(?P<blank>(?:[ \t\f\v\r]*\n)*)[ \t\f\v\r]*(?=\S)")


class Abbreviations(BaseModel):
    """Abbreviations, lower case, each ending with its period."""

    model_config = ConfigDict(extra="forbid")

    never_end: list[str] = Field(default_factory=list)
    can_end: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Abbreviations:
        for field in ("never_end", "can_end"):
            for abbr in getattr(self, field):
                if not abbr.endswith(".") or abbr != abbr.lower() or any(c.isspace() for c in abbr):
                    raise ValueError(f"abbreviations.{field}: {abbr!r} must be lower case, without spaces, ending with '.'")
        both = sorted(set(self.never_end) & set(self.can_end))
        if both:
            raise ValueError(f"abbreviations listed in both never_end and can_end: {', '.join(both)}")
        return self


class SentenceRules(BaseModel):
    """Schema of ``sentence_rules.json``."""

    model_config = ConfigDict(extra="forbid")

    version: str
    language: str = "en"
    description: str = ""
    abbreviations: Abbreviations
    letter_designators: list[str] = Field(default_factory=list)
    continuation_words: list[str] = Field(default_factory=list)
    bullets: list[str] = Field(min_length=1)
    tight_bullets: list[str] = Field(default_factory=list)
    split_before_capitalized_line: bool = True
    comma_line_breaks: bool = True

    @model_validator(mode="after")
    def _check(self) -> SentenceRules:
        for field in ("bullets", "tight_bullets"):
            for bullet in getattr(self, field):
                if not bullet or any(c.isspace() for c in bullet):
                    raise ValueError(f"{field}: {bullet!r} must be non-empty and without spaces")
        for bullet in self.tight_bullets:
            if any(c.isalnum() for c in bullet):
                raise ValueError(f"tight_bullets: {bullet!r} must not contain letters or digits")
        return self


class SentenceSplitter:
    """Sets clinical sentence boundaries (``token.is_sent_start``).

    Args:
        nlp: the pipeline (its component names are quoted in errors).
        name: component name.
        rules: path of a JSON rules file with the schema of
            ``resources/en/sentence_rules.json``; None (default) uses that
            shipped file.

    Raises:
        ResourceError: the rules file is missing or invalid (the message names
            the file and the field).
    """

    def __init__(self, nlp: Language | None = None, name: str = "medlens_sentences", *, rules: str | Path | None = None) -> None:
        extensions.register()
        self.nlp = nlp
        self.name = name
        self.rules_path = rules if rules is not None else DEFAULT_RULES
        self.rules = load_resource(self.rules_path, SentenceRules)
        self._never_end = frozenset(self.rules.abbreviations.never_end)
        self._can_end = frozenset(self.rules.abbreviations.can_end)
        self._designators = frozenset(w.lower() for w in self.rules.letter_designators)
        self._continuations = frozenset(w.lower() for w in self.rules.continuation_words)
        self._split_capitalized = self.rules.split_before_capitalized_line
        self._comma_breaks = self.rules.comma_line_breaks
        bullets = "|".join(re.escape(b) for b in sorted(self.rules.bullets, key=len, reverse=True))
        tight = "|".join(re.escape(b) for b in sorted(self.rules.tight_bullets, key=len, reverse=True))
        numbered = r"\d{1,3}[.)]|\(\d{1,3}\)|[A-Za-z][.)]|\([A-Za-z]\)|[IVX]{1,4}\.|#\d{1,3}"
        marker = rf"(?:(?:{bullets}|{numbered})[ \t]"
        if tight:
            marker += rf"|(?:{tight})(?=[^\W\d_])"
        marker += ")"
        self._list_item = re.compile(marker)

    # -- decisions -------------------------------------------------------

    def _ends_sentence(self, text: str, word_end: int, next_pos: int, at_line_break: bool) -> bool:
        """Does the word ending at ``word_end`` end a sentence, given what follows at ``next_pos``?"""
        word_start = max(text.rfind(" ", 0, word_end), text.rfind("\t", 0, word_end), text.rfind("\n", 0, word_end)) + 1
        comma = text.rfind(",", word_start, word_end)
        if comma >= 0 and self._after_joined_break(text, comma + 1):
            word_start = comma + 1  # "HISTORY:,1." -> the word is "1."
        word = text[word_start:word_end]
        core = word.rstrip(_CLOSERS)
        nxt = next_pos
        n = len(text)
        while nxt < n - 1 and text[nxt] in _OPENERS:
            nxt += 1
        next_char = text[nxt]
        next_upper = next_char.isupper()
        if not core:
            return at_line_break and self._split_capitalized and next_upper
        last = core[-1]
        if last in "?!":
            return at_line_break or next_upper
        if last == ".":
            if self._is_list_marker(text, word_start):
                return False
            bare = core.lstrip(_OPENERS)
            low = bare.lower()
            if low in self._never_end:
                return False
            if _INITIAL.match(bare) and self._is_initial(text, word_start):
                return False
            if low in self._can_end or _DOTTED.match(bare):
                return next_upper
            return at_line_break or next_upper or next_char.isdigit()
        # no final punctuation: only line breaks can end the sentence here
        if not at_line_break or not self._split_capitalized or not next_upper:
            return False
        if last in _JOINERS:
            return False
        return core.lstrip(_OPENERS).lower() not in self._continuations

    def _is_list_marker(self, text: str, word_start: int) -> bool:
        """Is the word at ``word_start`` the marker of a list item ("1.", "a.") that opens its line?"""
        line_start = word_start
        while line_start > 0 and text[line_start - 1] in " \t":
            line_start -= 1
        if line_start > 0 and text[line_start - 1] != "\n" and not self._after_joined_break(text, line_start):
            return False
        return self._list_item.match(text, word_start) is not None

    def _abbreviation_before(self, text: str, end: int) -> bool:
        """Does the word ending at ``end`` (with its period) read as an abbreviation ("b.i.d.", "Dr.")?"""
        start = max(text.rfind(" ", 0, end), text.rfind("\t", 0, end), text.rfind("\n", 0, end), text.rfind(",", 0, end)) + 1
        bare = text[start:end].strip(_OPENERS + _CLOSERS)
        low = bare.lower()
        return low in self._never_end or low in self._can_end or bool(_DOTTED.match(bare))

    def _after_joined_break(self, text: str, pos: int) -> bool:
        """Is ``pos`` just after a line break flattened to a comma (``".,"``, ``":,"``)?"""
        if not self._comma_breaks or pos == 0 or text[pos - 1] != ",":
            return False
        i = pos - 1
        while i > 0 and text[i - 1] in " \t":
            i -= 1
        while i > 0 and text[i - 1] in _CLOSERS:
            i -= 1
        return i > 0 and text[i - 1] in ".?!:;"

    def _is_initial(self, text: str, word_start: int) -> bool:
        """Is the capital letter with a period at ``word_start`` a person's initial?

        Yes after a title or another initial ("Dr. J. Smith", "J. R. Smith"),
        after a capitalized name ("John A. Smith") and after a function word
        ("seen by J. Smith"); no after a number ("38.5 C.") or a letter
        designator ("vitamin D.", "Hepatitis B.").
        """
        prev_end = word_start
        while prev_end > 0 and text[prev_end - 1] in " \t":
            prev_end -= 1
        if prev_end == 0 or text[prev_end - 1] == "\n":
            return True
        prev_start = max(text.rfind(" ", 0, prev_end), text.rfind("\t", 0, prev_end), text.rfind("\n", 0, prev_end)) + 1
        prev = text[prev_start:prev_end].strip(_OPENERS + _CLOSERS + ",;:")
        low = prev.lower()
        if low in self._designators:
            return False
        if low in self._never_end or low in self._continuations or _INITIAL.match(prev):
            return True
        return prev[:1].isupper() and prev[1:].isalpha() and prev[1:].islower()

    def sentence_starts(self, text: str, sections: Iterable) -> list[int]:
        """Character offsets where sentences start (sorted; always includes the first non-space character).

        Args:
            text: the document text.
            sections: the document's :class:`~medlens.doc.types.Section` list.
        """
        n = len(text)
        starts: set[int] = {0}
        # headers and the bodies that follow them
        for section in sections:
            if section.title:
                starts.add(section.start_char)
                body = section.body_start_char
                while body < section.end_char and text[body].isspace():
                    body += 1
                if body < section.end_char:
                    starts.add(body)
        # punctuation inside a line
        for m in _TERMINAL.finditer(text):
            end = m.end()
            if end < n and self._ends_sentence(text, m.start() + len(m.group().rstrip(" \t")), end, False):
                starts.add(end)
        list_item = self._list_item
        # line breaks flattened to a comma after a sentence end or a colon
        if self._comma_breaks:
            for m in _JOINED.finditer(text):
                nxt = m.end()
                if list_item.match(text, nxt) or text[nxt].isupper():
                    punct = m.start() + 1
                    if text[m.start()] == "." and (self._abbreviation_before(text, punct)
                                                   or not self._ends_sentence(text, punct, nxt, True)):
                        continue
                    starts.add(nxt)
        # line breaks
        for m in _LINE_BREAK.finditer(text):
            nxt = m.end()
            if m.group("blank") or list_item.match(text, nxt):
                starts.add(nxt)
                continue
            prev_end = m.start()
            while prev_end > 0 and text[prev_end - 1] in " \t\r\f\v":
                prev_end -= 1
            if prev_end == 0 or text[prev_end - 1] == "\n":
                starts.add(nxt)
                continue
            if self._ends_sentence(text, prev_end, nxt, True):
                starts.add(nxt)
        return sorted(starts)

    # -- component API ---------------------------------------------------

    def predict(self, doc: Doc) -> numpy.ndarray:
        """Sentence-start flags for ``doc`` (pure: writes nothing).

        Args:
            doc: a document annotated by ``medlens_sections``.

        Returns:
            One int per token: 1 if the token starts a sentence, -1 otherwise.

        Raises:
            PipelineError: ``doc._.sections`` is not set (``medlens_sections`` did not run).
        """
        sections = doc._.sections
        if sections is None:
            order = ", ".join(self.nlp.pipe_names) if self.nlp is not None else "(unknown)"
            raise PipelineError(Errors.E002.format(name=self.name, attr="doc._.sections", order=order, providers="medlens_sections"))
        n = len(doc)
        flags = numpy.full(n, -1, dtype="int64")
        if n == 0:
            return flags
        offsets = numpy.asarray(self.sentence_starts(doc_text(doc), sections), dtype="int64")
        token_starts = doc.to_array(IDX).astype("int64")
        tokens = numpy.searchsorted(token_starts, offsets, side="left")
        flags[tokens[tokens < n]] = 1
        flags[0] = 1
        return flags

    def set_annotations(self, doc: Doc, flags: numpy.ndarray) -> None:
        """Write ``token.is_sent_start`` for every token.

        Args:
            doc: the document ``flags`` were predicted for.
            flags: the output of :meth:`predict`.
        """
        if len(doc):
            doc.from_array([SENT_START], flags.reshape(-1, 1).astype("uint64"))

    def __call__(self, doc: Doc) -> Doc:
        """Split one document into sentences."""
        self.set_annotations(doc, self.predict(doc))
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        """Split a stream of documents.

        Args:
            docs: the documents.
            batch_size: unused (every document is independent); kept for spaCy's API.
        """
        for doc in docs:
            yield self(doc)


@Language.factory(
    "medlens_sentences",
    assigns=["token.is_sent_start"],
    requires=["doc._.sections"],
    default_config={"rules": None},
)
def make_sentences(nlp: Language, name: str, rules: str | None) -> SentenceSplitter:
    """spaCy factory of :class:`SentenceSplitter` (``nlp.add_pipe("medlens_sentences")``).

    Args:
        nlp: the pipeline.
        name: component name.
        rules: path of a sentence rules file; None uses the shipped
            ``resources/en/sentence_rules.json``.
    """
    extensions.register()
    return SentenceSplitter(nlp, name=name, rules=rules)
