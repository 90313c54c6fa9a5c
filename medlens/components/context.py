"""Assertion detection with the ConText algorithm (``medlens_context``).

For every entity in ``doc.ents`` the component decides whether it is
*negated*, *uncertain*, *historical*, *hypothetical* or about a *family*
member, and writes an :class:`~medlens.doc.types.Assertion` to
``ent._.assertion``. The algorithm is ConText (Harkema et al. 2009, the
generalisation of NegEx), as implemented in medspaCy and pyConText; the
clinical knowledge (trigger phrases, their directions and scopes, section
defaults) lives in ``medlens/resources/en/context_rules.json`` and is validated
on load.

How an assertion is computed:

1. **Matching.** All rules are compiled once, at construction, into one
   ``PhraseMatcher`` (``attr="LOWER"``) for literal rules and one ``Matcher``
   for token-pattern rules.
2. **Pseudo-triggers.** A ``PSEUDO`` match ("no change", "gram negative",
   "not only") removes every trigger it overlaps, so "no change in the mass"
   does not negate *mass*.
3. **Overlaps.** Of overlapping triggers/terminators the longest wins ("no
   evidence of" beats "no"; "is negative for" beats "is negative").
4. **Scope.** A ``FORWARD`` trigger covers the tokens after it, ``BACKWARD``
   the tokens before it, ``BIDIRECTIONAL`` both, up to the sentence boundary
   and at most ``max_scope`` tokens (the rule's own limit, capped by the
   component's). The scope is cut at the nearest match whose category is in
   the trigger's ``terminated_by`` list: ``TERMINATE`` terms ("but",
   "however", "except", "which", "secondary to", ...) always; the file also
   lets a negation stop at an uncertainty or hypothetical trigger, and a
   historical trigger at a negation ("history of MI, no chest pain" -> chest
   pain is not historical).
   A trigger inside parentheses stops at the closing one ("the left eardrum
   (not the surgical ear) has an infection"). A rule's ``max_scope_after_entity``
   caps the forward scope when the trigger follows an entity directly: "migraine
   headaches without aura, left ear deafness" (the shipped "without") denies the
   aura only.
5. **Targets.** An entity is modified when it starts inside a forward scope or
   ends inside a backward scope. An entity that overlaps the trigger itself is
   never its target. Rules may restrict their targets with
   ``allowed_labels``/``excluded_labels`` (a category may set
   ``excluded_labels`` for all its rules: the shipped file does not negate
   ANATOMY or TEST entities — "no skin changes" denies the changes, not the skin;
   "no EKG changes" was an EKG — and keeps anatomy out of family history) and
   ``excluded_sections`` (the shipped "resolved" makes a problem historical
   except in the diagnosis lists and the course of the current episode: "Acute
   kidney injury, resolved" under discharge diagnoses happened in this stay) or
   ``only_sections`` (the shipped "was treated with" makes a treatment historical
   only in the history sections: in a hospital course it is this stay's).
6. **Section defaults.** When ``section_defaults`` is on and ``doc._.sections``
   is set, an entity in the *body* of a section listed in the rules file's
   ``section_defaults`` gets that category's flag, explained by a ``Cue``
   with category ``"SECTION"`` whose text and offsets are the section header.
   The shipped file maps ``family_history`` -> family and
   ``past_medical_history`` / ``past_surgical_history`` -> historical, and a
   patient handout's ``patient_leaflet`` sections ("SIGNS AND SYMPTOMS:",
   "CAUSES:") -> hypothetical; labels the category excludes (anatomy) get no
   section default either. Plan,
   instruction and allergy sections get **no** default: "plan: start
   metformin" is not hypothetical, so hypothetical comes only from triggers
   ("if", "return if", "as needed for" ...). While section defaults are on,
   trigger words inside a section *header* ("Family History:") are ignored:
   the header speaks through its section default (or, for sections without
   one, not at all); with ``section_defaults=False`` header words act as
   ordinary triggers.

**Combining sources.** Flags are the OR of every source: a trigger never
clears a section default and vice versa ("Family history: no diabetes" is
negated *and* family). Every raised flag is explained by at least one cue, and
cues are ordered by position in the text.

Decisions on classic ambiguous phrases: "X is unlikely" is *uncertain*, not
negated (a low probability is not an absence); "rule out X" / "r/o X" is
uncertain while "X was ruled out" is negated; "resolved" is historical (except in the
current episode's diagnosis lists and course: "Acute kidney injury, resolved" under
discharge diagnoses happened in this stay).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy
from pydantic import BaseModel, ConfigDict, Field, model_validator
from spacy.language import Language
from spacy.attrs import SENT_START
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span

from medlens.doc import extensions
from medlens.doc.types import Assertion, Cue, Section
from medlens.errors import ConfigError, Errors, ResourceError
from medlens.resources import load_resource, resource_path

__all__ = [
    "CATEGORY_FLAGS",
    "ContextDetector",
    "ContextRule",
    "ContextRules",
    "load_context_rules",
    "make_context",
]

DEFAULT_RULES_FILE = "context_rules.json"

Category = Literal[
    "NEGATED_EXISTENCE",
    "POSSIBLE_EXISTENCE",
    "HISTORICAL",
    "HYPOTHETICAL",
    "FAMILY",
    "PSEUDO",
    "TERMINATE",
]
TriggerCategory = Literal["NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HISTORICAL", "HYPOTHETICAL", "FAMILY"]
Direction = Literal["FORWARD", "BACKWARD", "BIDIRECTIONAL"]

#: Which ``Assertion`` flag each trigger category raises.
CATEGORY_FLAGS: dict[str, str] = {
    "NEGATED_EXISTENCE": "negated",
    "POSSIBLE_EXISTENCE": "uncertain",
    "HISTORICAL": "historical",
    "HYPOTHETICAL": "hypothetical",
    "FAMILY": "family",
}
_FLAG_ORDER = ("negated", "uncertain", "historical", "hypothetical", "family")
_NON_TRIGGERS = frozenset({"PSEUDO", "TERMINATE"})


# --------------------------------------------------------------------------- schema


class ContextRule(BaseModel):
    """One ConText rule: a trigger, a pseudo-trigger or a scope terminator.

    Exactly one of ``literal`` (matched case-insensitively, tokenized like the
    documents) and ``pattern`` (a spaCy ``Matcher`` token pattern) is given.
    Triggers need a ``direction``; ``PSEUDO`` and ``TERMINATE`` rules take none.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    literal: str | None = Field(default=None, min_length=1)
    pattern: list[dict] | None = Field(default=None, min_length=1)
    category: Category
    direction: Direction | None = None
    max_scope: int | None = Field(default=None, ge=1)
    max_scope_after_entity: int | None = Field(default=None, ge=1)
    terminated_by: list[Category] | None = None
    allowed_labels: list[str] | None = None
    excluded_labels: list[str] | None = None
    excluded_sections: list[str] | None = None
    only_sections: list[str] | None = None

    @model_validator(mode="after")
    def _check(self) -> ContextRule:
        if (self.literal is None) == (self.pattern is None):
            raise ValueError("give exactly one of 'literal' and 'pattern'")
        if self.category in _NON_TRIGGERS:
            if self.direction is not None:
                raise ValueError(f"a {self.category} rule takes no direction (got '{self.direction}')")
        elif self.direction is None:
            raise ValueError(
                f"a {self.category} rule needs a direction: one of FORWARD, BACKWARD, BIDIRECTIONAL"
            )
        return self


class CategorySettings(BaseModel):
    """Per-category defaults for trigger rules (a rule's own setting wins)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    terminated_by: list[Category] = Field(default_factory=lambda: ["TERMINATE"])
    excluded_labels: list[str] = Field(default_factory=list)


class ContextRules(BaseModel):
    """Schema of ``context_rules.json``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    description: str = ""
    categories: dict[TriggerCategory, CategorySettings] = Field(default_factory=dict)
    section_defaults: dict[str, TriggerCategory] = Field(default_factory=dict)
    rules: list[ContextRule] = Field(min_length=1)


def load_context_rules(path: str | Path | None = None) -> ContextRules:
    """Load and validate a ConText rules file.

    Args:
        path: a JSON file; ``None`` loads the shipped ``resources/en/context_rules.json``.

    Raises:
        ResourceError: the file is missing, not JSON, or breaks the schema
            (the message names the file and the bad field).
    """
    return load_resource(path if path is not None else DEFAULT_RULES_FILE, ContextRules)


# --------------------------------------------------------------------------- internal records


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A rule with its effective settings resolved."""

    category: str
    flag: str | None
    forward: bool
    backward: bool
    max_scope: int | None
    terminated_by: frozenset[str]
    allowed_labels: frozenset[str] | None
    excluded_labels: frozenset[str]
    excluded_sections: frozenset[str] = frozenset()
    max_scope_after_entity: int | None = None
    only_sections: frozenset[str] | None = None


@dataclass(slots=True)
class _Match:
    rule: _Compiled
    start: int
    end: int
    back_start: int = 0
    fwd_end: int = 0


# --------------------------------------------------------------------------- component


class ContextDetector:
    """Sets ``ent._.assertion`` for every entity with the ConText algorithm.

    The component reads ``doc.ents``, sentence boundaries and, optionally,
    ``doc._.sections``; it writes only ``span._.assertion``.
    """

    def __init__(
        self,
        nlp: Language,
        name: str = "medlens_context",
        *,
        rules: str | Path | None = None,
        max_scope: int | None = None,
        section_defaults: bool = True,
    ) -> None:
        """Compile the rules into matchers.

        Args:
            nlp: the pipeline; its vocab and tokenizer are used to compile the rules.
            name: the component's name in the pipeline.
            rules: path of a ConText rules JSON file. ``None`` (default) uses the
                shipped ``medlens/resources/en/context_rules.json``.
            max_scope: cap, in tokens, on every trigger's scope on each side.
                ``None`` (default) lets a scope run to the sentence boundary
                unless the rule sets its own ``max_scope``.
            section_defaults: when True (default), entities in sections listed
                under ``section_defaults`` in the rules file (family history,
                past medical/surgical history) get that section's flag with a
                ``"SECTION"`` cue. When False, only triggers count.

        Raises:
            ResourceError: the rules file is invalid, or a token pattern is not
                a valid spaCy ``Matcher`` pattern.
        """
        if max_scope is not None and max_scope < 1:
            raise ConfigError(
                Errors.E003.format(details=f"max_scope must be a positive integer or None, got {max_scope!r}")
            )
        extensions.register()  # idempotent; never overwrites another package's attributes
        self.name = name
        self.max_scope = max_scope
        self.section_defaults = section_defaults
        self.rules_path = Path(rules) if rules is not None else resource_path(DEFAULT_RULES_FILE)
        self.rules = load_context_rules(rules)
        self._section_categories: dict[str, str] = dict(self.rules.section_defaults)
        # a section's default, like a trigger, spares the labels its category excludes (anatomy)
        self._section_excluded: dict[str, frozenset[str]] = {
            section: frozenset(self.rules.categories[cat].excluded_labels) if cat in self.rules.categories else frozenset()
            for section, cat in self._section_categories.items()}
        self._compile(nlp)

    # -- construction -------------------------------------------------------

    def _compile(self, nlp: Language) -> None:
        vocab = nlp.vocab
        self._phrase_matcher = PhraseMatcher(vocab, attr="LOWER")
        self._matcher = Matcher(vocab, validate=True)
        self._by_key: dict[int, _Compiled] = {}
        literals: dict[str, list[Doc]] = {}
        for i, rule in enumerate(self.rules.rules):
            compiled = self._compile_rule(rule)
            key = f"medlens_context_{i}"
            self._by_key[vocab.strings.add(key)] = compiled
            if rule.literal is not None:
                literals[key] = [nlp.make_doc(rule.literal)]
            else:
                try:
                    self._matcher.add(key, [rule.pattern])
                except ValueError as exc:  # spaCy's MatchPatternError is a ValueError
                    raise ResourceError(
                        Errors.E005.format(path=self.rules_path, details=f"rules.{i}.pattern: {exc}")
                    ) from exc
        for key, docs in literals.items():
            self._phrase_matcher.add(key, docs)
        self._has_patterns = len(self._matcher) > 0

    def _compile_rule(self, rule: ContextRule) -> _Compiled:
        settings = self.rules.categories.get(rule.category)  # type: ignore[call-overload]
        if rule.terminated_by is not None:
            terminated_by = frozenset(rule.terminated_by)
        elif settings is not None:
            terminated_by = frozenset(settings.terminated_by)
        else:
            terminated_by = frozenset({"TERMINATE"})
        excluded = rule.excluded_labels if rule.excluded_labels is not None else (
            settings.excluded_labels if settings is not None else [])
        scopes = [s for s in (rule.max_scope, self.max_scope) if s is not None]
        direction = rule.direction or ""
        return _Compiled(
            category=rule.category,
            flag=CATEGORY_FLAGS.get(rule.category),
            forward=direction in ("FORWARD", "BIDIRECTIONAL"),
            backward=direction in ("BACKWARD", "BIDIRECTIONAL"),
            max_scope=min(scopes) if scopes else None,
            terminated_by=terminated_by,
            allowed_labels=frozenset(rule.allowed_labels) if rule.allowed_labels is not None else None,
            excluded_labels=frozenset(excluded),
            excluded_sections=frozenset(rule.excluded_sections or ()),
            max_scope_after_entity=rule.max_scope_after_entity,
            only_sections=frozenset(rule.only_sections) if rule.only_sections is not None else None,
        )

    # -- spaCy protocol -----------------------------------------------------

    def __call__(self, doc: Doc) -> Doc:
        """Compute and write the assertion of every entity in ``doc``."""
        self.set_annotations(doc, self.predict(doc))
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterable[Doc]:
        """Process a stream of docs (``batch_size`` is accepted for spaCy and unused)."""
        for doc in docs:
            yield self(doc)

    def set_annotations(self, doc: Doc, assertions: Sequence[Assertion]) -> None:
        """Write ``assertions`` (one per entity, in ``doc.ents`` order) to ``ent._.assertion``."""
        for ent, assertion in zip(doc.ents, assertions, strict=True):
            ent._.assertion = assertion

    def predict(self, doc: Doc) -> list[Assertion]:
        """Assertion of every entity in ``doc.ents``, in order; the doc is not modified.

        Args:
            doc: a Doc with entities and (ideally) sentence boundaries. Without
                sentence boundaries the whole doc counts as one sentence.

        Returns:
            One :class:`Assertion` per entity; all flags False means affirmed.
        """
        ents = doc.ents
        if not ents:
            return []
        sent_starts = _sentence_starts(doc)
        sections = self._sections(doc) if self.section_defaults else None
        triggers = self._find_triggers(doc, sent_starts, _header_chars(sections[1]) if sections else ())

        # triggers grouped per sentence (index into sent_starts)
        by_sent: dict[int, list[_Match]] = {}
        for m in triggers:
            by_sent.setdefault(bisect_right(sent_starts, m.start) - 1, []).append(m)

        out: list[Assertion] = []
        for ent in ents:
            hits: list[tuple[int, _Match]] = []
            if by_sent:
                for m in by_sent.get(bisect_right(sent_starts, ent.start) - 1, ()):
                    if _targets(m, ent) and _in_rule_sections(m.rule, ent._.section):
                        hits.append((doc[m.start].idx, m))
            section_cue = self._section_cue(ent, sections) if sections and self._section_categories else None
            if not hits and section_cue is None:
                out.append(_AFFIRMED)
                continue
            flags = dict.fromkeys(_FLAG_ORDER, False)
            cues: list[Cue] = []
            if section_cue is not None:
                flags[CATEGORY_FLAGS[self._section_categories[section_cue[0]]]] = True
                cues.append(section_cue[1])
            hits.sort(key=lambda h: h[0])
            for _, m in hits:
                flags[m.rule.flag] = True  # type: ignore[index]
                last = doc[m.end - 1]
                cues.append(
                    Cue(
                        category=m.rule.category,
                        text=doc[m.start : m.end].text,  # not doc.text[...]: doc.text joins every token
                        start_char=doc[m.start].idx,
                        end_char=last.idx + len(last),
                    )
                )
            cues.sort(key=lambda c: (c.start_char, c.end_char))
            out.append(Assertion(**flags, cues=tuple(cues)))
        return out

    # -- steps --------------------------------------------------------------

    def _find_triggers(
        self, doc: Doc, sent_starts: list[int], headers: Sequence[tuple[int, int]] = ()
    ) -> list[_Match]:
        """Matches of trigger rules with their scopes resolved (steps 1-4).

        Matches that start inside a section header (``headers``: character
        ranges) are dropped: the header speaks through its section default.
        """
        raw = self._phrase_matcher(doc)
        if self._has_patterns:
            raw = list(raw) + list(self._matcher(doc))
        if not raw:
            return []
        by_key = self._by_key
        pseudo: list[tuple[int, int]] = []
        cands: list[_Match] = []
        for key, start, end in raw:
            rule = by_key[key]
            if headers and _in_ranges(doc[start].idx, headers):
                continue
            if rule.category == "PSEUDO":
                pseudo.append((start, end))
            else:
                cands.append(_Match(rule, start, end))
        if pseudo:
            cands = [m for m in cands if not any(s < m.end and m.start < e for s, e in pseudo)]
        if not cands:
            return []
        # longest match wins among overlapping matches; ties go to the earlier one
        cands.sort(key=lambda m: (m.start - m.end, m.start))
        taken = bytearray(len(doc))
        kept: list[_Match] = []
        for m in cands:
            if any(taken[m.start : m.end]):
                continue
            taken[m.start : m.end] = b"\x01" * (m.end - m.start)
            kept.append(m)
        kept.sort(key=lambda m: m.start)

        n_sents = len(sent_starts)
        n_tokens = len(doc)
        in_ent = bytearray(n_tokens)
        for e in doc.ents:
            in_ent[e.start:e.end] = b"\x01" * (e.end - e.start)
        triggers: list[_Match] = []
        for i, m in enumerate(kept):
            rule = m.rule
            if rule.flag is None:  # TERMINATE
                continue
            si = bisect_right(sent_starts, m.start) - 1
            s_start = sent_starts[si]
            s_end = sent_starts[si + 1] if si + 1 < n_sents else n_tokens
            back_start, fwd_end = m.start, m.end
            if rule.backward:
                back_start = s_start
                if rule.max_scope is not None:
                    back_start = max(back_start, m.start - rule.max_scope)
                for other in reversed(kept[:i]):
                    if other.end <= back_start:
                        break
                    if other.rule.category in rule.terminated_by and other.end <= m.start:
                        back_start = max(back_start, other.end)
                        break
            if rule.forward:
                fwd_end = s_end
                if rule.max_scope is not None:
                    fwd_end = min(fwd_end, m.end + rule.max_scope)
                if rule.max_scope_after_entity is not None and m.start > 0 and in_ent[m.start - 1]:
                    # "migraine headaches without aura, left ear deafness": right after an entity the
                    # trigger qualifies it, so its scope is the next few words, not the rest of the list
                    fwd_end = min(fwd_end, m.end + rule.max_scope_after_entity)
                close = _closing_paren(doc, s_start, m.start, fwd_end)
                if close is not None:  # "(not the surgical ear) has an infection": the aside ends the scope
                    fwd_end = close
                for other in kept[i + 1 :]:
                    if other.start >= fwd_end:
                        break
                    if other.rule.category in rule.terminated_by:
                        fwd_end = min(fwd_end, other.start)
                        break
            m.back_start, m.fwd_end = back_start, fwd_end
            triggers.append(m)
        return triggers

    def _sections(self, doc: Doc) -> tuple[list[int], list[Section]] | None:
        sections = doc._.sections
        if not sections:
            return None
        ordered = sorted(sections, key=lambda s: s.start_char)
        return [s.start_char for s in ordered], ordered

    def _section_cue(self, ent: Span, sections: tuple[list[int], list[Section]]) -> tuple[str, Cue] | None:
        starts, ordered = sections
        i = bisect_right(starts, ent.start_char) - 1
        if i < 0:
            return None
        section = ordered[i]
        if section.category not in self._section_categories or ent.label_ in self._section_excluded[section.category]:
            return None
        if not (section.body_start_char <= ent.start_char < section.end_char):
            return None  # the entity is part of the header itself, or past the section's end
        title = section.title or section.category
        return section.category, Cue("SECTION", title, section.start_char, section.body_start_char)


_AFFIRMED = Assertion()


def _header_chars(sections: Sequence[Section]) -> list[tuple[int, int]]:
    """Character ranges of section headers (title up to the body)."""
    return [(s.start_char, s.body_start_char) for s in sections if s.body_start_char > s.start_char]


def _in_ranges(char: int, ranges: Sequence[tuple[int, int]]) -> bool:
    return any(start <= char < end for start, end in ranges)


def _in_rule_sections(rule: _Compiled, section: str | None) -> bool:
    """Whether a rule applies in an entity's section (``excluded_sections``, ``only_sections``)."""
    if rule.excluded_sections and section in rule.excluded_sections:
        return False
    return rule.only_sections is None or section in rule.only_sections


def _targets(m: _Match, ent: Span) -> bool:
    """Whether trigger ``m`` modifies entity ``ent`` (step 5)."""
    rule = m.rule
    if rule.allowed_labels is not None and ent.label_ not in rule.allowed_labels:
        return False
    if rule.excluded_labels and ent.label_ in rule.excluded_labels:
        return False
    if ent.start >= m.end:
        return ent.start < m.fwd_end
    if ent.end <= m.start:
        return ent.end > m.back_start
    return False  # the entity overlaps the trigger


def _closing_paren(doc: Doc, s_start: int, start: int, end: int) -> int | None:
    """Token index of the ``)`` that closes a parenthesis open at ``start`` (within its sentence), if before ``end``."""
    depth = 0
    for t in doc[s_start:start]:
        if t.text == "(":
            depth += 1
        elif t.text == ")" and depth:
            depth -= 1
    if not depth:
        return None
    for i in range(start, end):
        if doc[i].text == ")":
            return i
    return None


def _sentence_starts(doc: Doc) -> list[int]:
    """Token indices where sentences start; ``[0]`` when the doc has no sentence boundaries."""
    if not doc.has_annotation("SENT_START"):
        return [0]
    starts = numpy.flatnonzero(doc.to_array(SENT_START) == 1).tolist()
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    return starts


@Language.factory(
    "medlens_context",
    assigns=["span._.assertion"],
    requires=["doc.ents", "token.is_sent_start", "doc._.sections"],
    default_config={"rules": None, "max_scope": None, "section_defaults": True},
)
def make_context(
    nlp: Language,
    name: str,
    rules: str | None,
    max_scope: int | None,
    section_defaults: bool,
) -> ContextDetector:
    """spaCy factory for :class:`ContextDetector` (registers medlens attributes first)."""
    extensions.register()
    return ContextDetector(nlp, name=name, rules=rules, max_scope=max_scope, section_defaults=section_defaults)
