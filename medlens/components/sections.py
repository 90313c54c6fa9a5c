"""Clinical section detection: headers such as "PMH:" or "HOSPITAL COURSE".

The header vocabulary is data (``resources/en/sections.json``): for each
category, header phrases matched in any case, abbreviations matched exactly as
written, and the entries that count only when a colon follows. All phrases are
compiled into one regular expression (a character trie, so a line is tested in
one pass however many phrases there are).

A line holds a header when, after optional indentation and markdown (``#``,
``**``, ``__``), it starts with a known phrase that is either followed by a
colon (``"HPI: 54 yo man ..."``) or alone on its line (``"HOSPITAL COURSE"``).
So "his past medical history is notable for" (mid-sentence), "Plan to start
metformin" and "Exam was normal" (no colon, not alone) are not headers.

Headers also start inside a line, always followed by a colon, in two cases
seen in real transcribed notes: after a sentence end (or a colon or semicolon)
and a comma, the mark of a line break flattened to a comma
(``"...access.,POSTOPERATIVE DIAGNOSIS: , Need ..."``, ``"stable.,Lungs: clear"``);
and after a sentence end and spaces when the phrase is written in capitals
(``"No edema.  PLAN:  Follow up"``); and, written in capitals with a colon, right after a comma that follows a word
with no space (``"HTN for many years,MEDS:, Vasotec"``: a flattened line break after a line that ends without a
period). A comma right after a header's colon
(``"ALLERGIES:, None"``) belongs to the header.

*Subsection* headers (``"Lungs:"``, ``"Heart:"``, ``"Neuro:"``, ``"GI:"``) name a
body system inside an exam or a review of systems; they always need a colon.
Their category comes from the main section they appear in, through the rules
file's ``subsections.within`` map (after ``vital_signs`` the findings are the
physical exam's; after ``review_of_systems`` they stay in it); elsewhere they
continue the enclosing section's category.

The sections cover the whole text in order: text before the first header is a
section of category ``"unknown"``; every section ends where the next begins;
the last one ends at ``len(doc.text)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator
from spacy.language import Language
from spacy.tokens import Doc

from medlens.doc import extensions
from medlens.doc.text import doc_text
from medlens.doc.types import Section
from medlens.resources import load_resource

UNKNOWN = "unknown"
DEFAULT_RULES = "sections.json"

_WS = re.compile(r"\s+")
_AROUND_JOINERS = re.compile(r"\s*([/&])\s*")


def header_ranges(doc: Doc) -> list[tuple[int, int]]:
    """Character ranges ``(start, end)`` of the section headers of ``doc`` ("ALLERGIES:"), sorted;
    entity recognizers leave them out (a header names a section, not a finding)."""
    return [(s.start_char, s.body_start_char) for s in (doc._.sections or []) if s.body_start_char > s.start_char]


def section_at(doc: Doc, char: int) -> str | None:
    """Category of the section holding character ``char`` of ``doc`` (None: no sections)."""
    from bisect import bisect_right

    sections = doc._.sections or []
    i = bisect_right([s.start_char for s in sections], char) - 1
    return sections[i].category if i >= 0 else None


def normalize_header(text: str) -> str:
    """Lookup key of a header phrase: spaces collapsed, none around ``/`` and ``&``.

    Case is kept; callers lowercase for case-insensitive phrases.
    """
    return _AROUND_JOINERS.sub(r"\1", _WS.sub(" ", text.strip()))


class SectionRule(BaseModel):
    """The header phrases of one section category."""

    model_config = ConfigDict(extra="forbid")

    category: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    headers: list[str] = Field(default_factory=list)
    abbreviations: list[str] = Field(default_factory=list)
    colon_required: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> SectionRule:
        if self.category == UNKNOWN:
            raise ValueError(f"category '{UNKNOWN}' is reserved for text before the first header")
        if not self.headers and not self.abbreviations:
            raise ValueError(f"category '{self.category}' has neither headers nor abbreviations")
        for field in ("headers", "abbreviations", "colon_required"):
            for phrase in getattr(self, field):
                if not phrase.strip() or ":" in phrase or "\n" in phrase or phrase != phrase.strip():
                    raise ValueError(
                        f"{field} of '{self.category}': {phrase!r} must be non-empty, "
                        "without a colon, a line break or surrounding spaces"
                    )
        known = {normalize_header(h).lower() for h in self.headers} | {normalize_header(a) for a in self.abbreviations}
        for phrase in self.colon_required:
            key = normalize_header(phrase)
            if key not in known and key.lower() not in known:
                raise ValueError(
                    f"colon_required of '{self.category}': {phrase!r} is not one of its headers or abbreviations"
                )
        return self


class SubsectionRules(BaseModel):
    """Body-system headers inside an exam or a review of systems ("Lungs:", "GI:")."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    headers: list[str] = Field(default_factory=list)
    abbreviations: list[str] = Field(default_factory=list)
    within: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> SubsectionRules:
        for field in ("headers", "abbreviations"):
            for phrase in getattr(self, field):
                if not phrase.strip() or ":" in phrase or "\n" in phrase or phrase != phrase.strip():
                    raise ValueError(f"subsections.{field}: {phrase!r} must be non-empty, without a colon, "
                                     "a line break or surrounding spaces")
        return self


class SectionRules(BaseModel):
    """Schema of ``sections.json``."""

    model_config = ConfigDict(extra="forbid")

    version: str
    language: str = "en"
    description: str = ""
    sections: list[SectionRule] = Field(min_length=1)
    subsections: SubsectionRules = Field(default_factory=SubsectionRules)

    @model_validator(mode="after")
    def _subsections(self) -> SectionRules:
        categories = {rule.category for rule in self.sections}
        main_ci = {normalize_header(h).lower() for rule in self.sections for h in rule.headers}
        main_cs = {normalize_header(a) for rule in self.sections for a in rule.abbreviations}
        for h in self.subsections.headers:
            if normalize_header(h).lower() in main_ci:
                raise ValueError(f"subsection header {h!r} is already a section header; keep only one")
        for a in self.subsections.abbreviations:
            if normalize_header(a) in main_cs or normalize_header(a).lower() in main_ci:
                raise ValueError(f"subsection abbreviation {a!r} is already a section header; keep only one")
        for parent, child in self.subsections.within.items():
            for name in (parent, child):
                if name not in categories:
                    raise ValueError(f"subsections.within: unknown category {name!r}; "
                                     f"valid: {', '.join(sorted(categories))}")
        return self

    @model_validator(mode="after")
    def _unique(self) -> SectionRules:
        seen_ci: dict[str, str] = {}
        seen_cs: dict[str, str] = {}
        categories: set[str] = set()
        for rule in self.sections:
            if rule.category in categories:
                raise ValueError(f"category '{rule.category}' appears twice; merge its headers into one entry")
            categories.add(rule.category)
            for h in rule.headers:
                key = normalize_header(h).lower()
                if key in seen_ci:
                    raise ValueError(f"header {h!r} is listed under both '{seen_ci[key]}' and '{rule.category}'")
                seen_ci[key] = rule.category
            for a in rule.abbreviations:
                key = normalize_header(a)
                if key in seen_cs:
                    raise ValueError(f"abbreviation {a!r} is listed under both '{seen_cs[key]}' and '{rule.category}'")
                seen_cs[key] = rule.category
        for key, category in seen_cs.items():
            if key.lower() in seen_ci:
                raise ValueError(
                    f"abbreviation {key!r} of '{category}' is already matched in any case by header "
                    f"{key.lower()!r} of '{seen_ci[key.lower()]}'; keep only one"
                )
        return self


def _trie_regex(phrases: Iterable[str]) -> str:
    """One regex alternation for many phrases, factored as a character trie.

    Spaces match runs of spaces/tabs, ``/`` and ``&`` allow spaces around them.
    Longer continuations are tried first, so the longest phrase wins.
    """
    trie: dict = {}
    for phrase in phrases:
        node = trie
        for ch in phrase:
            node = node.setdefault(ch, {})
        node[""] = {}

    def atom(ch: str) -> str:
        if ch == " ":
            return r"[ \t]+"
        if ch in "/&":
            return rf"[ \t]*{re.escape(ch)}[ \t]*"
        return re.escape(ch)

    def build(node: dict) -> str:
        branches = [atom(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        optional = "" in node
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if optional:
            return "(?:" + body + ")?"
        return body

    return build(trie)


class SectionDetector:
    """Splits a note into sections at its headers.

    Args:
        nlp: the pipeline (unused; kept for the spaCy factory signature).
        name: component name.
        rules: path of a JSON rules file with the schema of
            ``resources/en/sections.json``; None (default) uses that shipped file.

    Raises:
        ResourceError: the rules file is missing or invalid (the message names
            the file and the field).
    """

    def __init__(self, nlp: Language | None = None, name: str = "medlens_sections", *, rules: str | Path | None = None) -> None:
        extensions.register()
        self.name = name
        self.rules_path = rules if rules is not None else DEFAULT_RULES
        self.rules = load_resource(self.rules_path, SectionRules)
        self._ci: dict[str, str] = {}
        self._cs: dict[str, str] = {}
        self._colon_required: set[str] = set()
        for rule in self.rules.sections:
            for h in rule.headers:
                self._ci[normalize_header(h).lower()] = rule.category
            for a in rule.abbreviations:
                self._cs[normalize_header(a)] = rule.category
            for c in rule.colon_required:
                self._colon_required.add(normalize_header(c))
        sub = self.rules.subsections
        self._sub_ci = {normalize_header(h).lower() for h in sub.headers}
        self._sub_cs = {normalize_header(a) for a in sub.abbreviations}
        self._within = dict(sub.within)
        ci = _trie_regex(set(self._ci) | self._sub_ci)
        cs = _trie_regex(set(self._cs) | self._sub_cs)
        phrase = f"(?i:{ci})|{cs}" if cs else f"(?i:{ci})"
        mark = r"(?:\#{1,6}[ \t]*|\*\*[ \t]*|__[ \t]*)"
        close = r"(?:[ \t]*(?:\*\*|__))?"
        # where a header may start: a line start, a line break flattened to a comma
        # after a sentence end (".,", ":,"), or a sentence end and spaces (capitals only)
        # (or after a header in capitals and a flattened line break: "EXAMINATION,VITAL SIGNS:"; or a comma with no
        # space right after a word: "HTN for many years,MEDS:, Vasotec" -- a header in capitals with a colon only)
        lead = (r"(?:^[ \t]*|(?<=[.!?:;])(?P<joined>[ \t]*,[ \t]*)|(?<=[.!?])(?P<inline>[ \t]+)"
                r"|(?<=[A-Z][A-Z])(?P<capsjoined>,[ \t]*)|(?<=[a-z0-9)\]])(?P<wordjoined>,))")
        # a header alone on its line: a line end, or (capitals) a line break flattened to a comma
        self._pattern = re.compile(
            rf"{lead}(?P<start>){mark}?(?P<phrase>{phrase}){close}"
            rf"(?:(?P<colon>[ \t]*:{close})|(?=[ \t]*(?:\r?\n|\r|\Z))|(?P<flat>(?=[ \t]*,[ \t]*[A-Z])))",
            re.MULTILINE,
        )

    @property
    def categories(self) -> list[str]:
        """The categories this detector can assign (besides ``"unknown"``)."""
        return [rule.category for rule in self.rules.sections]

    def find_headers(self, text: str) -> Iterator[tuple[str, int, int, int]]:
        """Headers in ``text`` as ``(category, start, end, body_start)`` character offsets.

        ``start`` is the header's first character (its markdown marker, if any),
        ``end`` is just past the header (after its colon), ``body_start`` is
        ``end`` moved past spaces and tabs (and a comma right after the colon).
        A subsection header ("Lungs:") has category ``""``: :meth:`predict`
        gives it the category of the section it is in.
        """
        for m in self._pattern.finditer(text):
            raw = m.group("phrase")
            key = normalize_header(raw)
            has_colon = m.group("colon") is not None
            flat = m.group("flat") is not None
            inline = m.group("joined") is not None or m.group("inline") is not None
            joined_to_word = m.group("wordjoined") is not None
            if flat and (raw != raw.upper() or m.group("inline") is not None or m.group("capsjoined") is not None
                         or joined_to_word):
                continue  # "PHYSICAL EXAMINATION,VITAL SIGNS:" only in capitals, at a line start
            if inline and not (has_colon or flat):
                continue
            if (m.group("capsjoined") is not None or joined_to_word) and not (has_colon and raw == raw.upper()):
                continue  # "HTN for many years,MEDS:, Vasotec": capitals and a colon right after a comma
            if m.group("inline") is not None and raw != raw.upper():
                continue
            if key in self._cs:
                category = self._cs[key]
            elif key.lower() in self._ci:
                category = self._ci[key.lower()]
            elif key in self._sub_cs or key.lower() in self._sub_ci:
                if not has_colon:
                    continue
                category = ""
            else:  # cannot happen: the regex only matches known phrases
                continue
            if not has_colon and (key in self._colon_required or key.lower() in self._colon_required):
                continue
            end = m.end()
            body = end
            while body < len(text) and text[body] in " \t":
                body += 1
            if (has_colon or flat) and body < len(text) and text[body] == ",":
                body += 1
                while body < len(text) and text[body] in " \t":
                    body += 1
            yield category, m.start("start"), end, body

    def predict(self, doc: Doc) -> list[Section]:
        """Sections of ``doc``, in order, covering all of its text (pure: writes nothing).

        Args:
            doc: the document.

        Returns:
            Contiguous sections; the first starts at 0 (category ``"unknown"``
            when the text does not begin with a header), the last ends at
            ``len(doc.text)``. An empty text gives an empty list.
        """
        text = doc_text(doc)
        n = len(text)
        if n == 0:
            return []
        headers = list(self.find_headers(text))
        sections: list[Section] = []
        if not headers or headers[0][1] > 0:
            first = headers[0][1] if headers else n
            sections.append(Section(UNKNOWN, "", 0, first, 0))
        parent = UNKNOWN
        for i, (category, start, end, body) in enumerate(headers):
            if category:
                parent = category
            else:  # a subsection: its category comes from the main section it is in
                category = self._within.get(parent, parent)
            stop = headers[i + 1][1] if i + 1 < len(headers) else n
            sections.append(Section(category, text[start:end].rstrip(), start, stop, min(body, stop)))
        return _with_exam_fields(text, sections)

    def set_annotations(self, doc: Doc, sections: list[Section]) -> None:
        """Write ``doc._.sections`` and flag header tokens with ``token._.is_section_header``.

        Args:
            doc: the document ``sections`` were predicted for.
            sections: the output of :meth:`predict`.
        """
        doc._.sections = sections
        for section in sections:
            if section.body_start_char <= section.start_char:
                continue
            span = doc.char_span(section.start_char, section.body_start_char, alignment_mode="expand")
            if span is None:
                continue
            for token in span:
                if not token.is_space:
                    token._.is_section_header = True

    def __call__(self, doc: Doc) -> Doc:
        """Annotate one document."""
        self.set_annotations(doc, self.predict(doc))
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        """Annotate a stream of documents.

        Args:
            docs: the documents.
            batch_size: unused (every document is independent); kept for spaCy's API.
        """
        for doc in docs:
            yield self(doc)


#: sections whose lines start with the examiner's field names ("Head & Face:", "Psychosis:", "Affect:")
FIELD_SECTIONS = frozenset({"physical_exam", "mental_status_exam", "objective"})
# a field name: one to three capitalized words ("&", "/" or "and" between them) at a line start
# (or a line break flattened to a comma after a sentence end, or after a sentence end and spaces:
# "...clear bilaterally.  Oropharynx:  Mucous membranes") followed by a colon, not by a number
_FIELD_NAME = r"(?P<field>[A-Z][A-Za-z]+(?:[ \t]*(?:&|/|and)?[ \t]*[A-Za-z]+){0,2})[ \t]*:(?![ \t]*\d)"
_FIELD = re.compile(r"(?:(?<=[.!?:;]),[ \t]*|(?<=\n)[ \t]*|(?<=[.!?])[ \t]+)" + _FIELD_NAME)
_FIELD_AT = re.compile(_FIELD_NAME)


def _with_exam_fields(text: str, sections: list[Section]) -> list[Section]:
    """``sections`` with the field names of an exam cut out as subsections of the same category
    ("...English.,Head & Face:  Inspection ...", "Psychosis:  Grandiose delusions"): a field name
    names what was examined, not a finding, and the rules file cannot list every examiner's fields."""
    out: list[Section] = []
    for sec in sections:
        if sec.category not in FIELD_SECTIONS:
            out.append(sec)
            continue
        cur = sec
        first = _FIELD_AT.match(text, sec.body_start_char, sec.end_char)
        found = ([first] if first else []) + list(_FIELD.finditer(text, sec.body_start_char, sec.end_char))
        for m in found:
            start = m.start("field")
            if start < cur.body_start_char:
                continue
            body = m.end()
            while body < sec.end_char and text[body] in " \t,":
                body += 1
            if start == cur.body_start_char:  # a field right after the header: the header runs on over it
                cur = Section(cur.category, cur.title, cur.start_char, cur.end_char, body)
                continue
            out.append(Section(cur.category, cur.title, cur.start_char, start, cur.body_start_char))
            cur = Section(sec.category, text[start:m.end()].rstrip(), start, sec.end_char, body)
        out.append(cur)
    return out


@Language.factory(
    "medlens_sections",
    assigns=["doc._.sections", "token._.is_section_header"],
    requires=[],
    default_config={"rules": None},
)
def make_sections(nlp: Language, name: str, rules: str | None) -> SectionDetector:
    """spaCy factory of :class:`SectionDetector` (``nlp.add_pipe("medlens_sections")``).

    Args:
        nlp: the pipeline.
        name: component name.
        rules: path of a sections rules file; None uses the shipped ``resources/en/sections.json``.
    """
    extensions.register()
    return SectionDetector(nlp, name=name, rules=rules)
