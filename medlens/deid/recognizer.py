"""Rule-based PHI detection: validated patterns, addresses and names.

:class:`PatternRecognizer` finds identifiers in a plain string and returns
:class:`~medlens.deid.types.PhiSpan` records with character offsets. It
combines

- the patterns of ``patterns.json`` (emails, URLs, IPs, SSNs with the SSA
  rules, card numbers with the Luhn check, IBANs with mod 97, dates in many
  formats, ages over 89, phone numbers, record/plan/account/licence/device/
  vehicle numbers after their context words, other long identifiers);
- street addresses, ``City, ST 12345`` lines and places after words such as
  "lives in";
- names: after a title ("Dr. Smith"), a trigger ("Patient:", "signed by",
  "his wife"), before a credential ("Jane Roe, MD"), or from the first- and
  last-name lexicon; then every other mention of a name found.

Medical words are guarded: a name candidate followed by an eponym head
("Parkinson disease", "Hodgkin lymphoma"), a known eponym ("Crohn's"), or a
candidate inside a ``protected`` range (the caller passes the medical
entities of the document, e.g. the dictionary recognizer's ``doc.ents``) is
not a name unless a title or a strong trigger says so.

:class:`HybridRecognizer` adds a transformer model (:mod:`medlens.deid.model`):
its spans are united with the pattern spans (the patterns keep their spans and
types; the parts of a model span that no pattern covers are added), and the
same medical guard applies to the model's names and places.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from medlens.deid.rules import DeidRules, load_rules
from medlens.deid.types import PHI_TYPES, PhiSpan
from medlens.deid.validators import VALIDATORS
from medlens.errors import ConfigError, Errors

_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_POSSESSIVE = re.compile(r"['’]s$|s['’]$", re.IGNORECASE)

# priorities of the non-pattern rules (patterns carry their own in patterns.json)
P_STREET, P_CITY, P_ZIP, P_NAME_STRONG, P_NAME_WEAK, P_NAME_LEXICON, P_NAME_ECHO, P_LOCATION = 74, 62, 72, 64, 49, 48, 46, 40


@dataclass(slots=True)
class _Tok:
    text: str
    start: int
    end: int
    key: str  # lower-cased, possessive stripped
    end_core: int  # end without a possessive 's


@dataclass(slots=True)
class _Cand:
    type: str
    start: int
    end: int
    priority: int
    source: str


class PatternRecognizer:
    """Finds PHI in text with validated patterns and name rules.

    Args:
        rules: compiled rules (default: the shipped ``resources/en/deid`` files).
        types: PHI types to report (default: all of :data:`PHI_TYPES`).
        use_lexicon: find names from the first/last-name lexicon without a title
            or trigger (True by default; False keeps only titled/triggered names).

    Raises:
        ConfigError: an unknown PHI type is asked for.
    """

    def __init__(self, rules: DeidRules | None = None, *, types: Iterable[str] | None = None,
                 use_lexicon: bool = True) -> None:
        self.rules = rules or load_rules()
        if types is not None:
            types = list(types)
            for t in types:
                if t not in PHI_TYPES:
                    raise ConfigError(Errors.E007.format(value=t, opts=", ".join(PHI_TYPES)))
        self.types = frozenset(types) if types is not None else frozenset(PHI_TYPES)
        self.use_lexicon = use_lexicon
        n = self.rules.names
        self._titles = {t.lower().rstrip(".") for t in n.titles}
        self._credentials = {c.lower().rstrip(".") for c in n.credentials}
        self._particles = frozenset(p.lower() for p in n.particles)
        self._not_names = frozenset(w.lower() for w in n.not_names)
        self._heads = frozenset(h.lower() for h in n.eponym_heads)
        self._eponyms = frozenset(e.lower() for e in n.eponyms)
        self._strong = _phrase_end_regex(n.triggers)
        self._weak = _phrase_end_regex(n.weak_triggers)

    # ------------------------------------------------------------------ public
    def predict(self, text: str, protected: Sequence[tuple[int, int]] = ()) -> list[PhiSpan]:
        """PHI spans in ``text``, sorted and non-overlapping (pure).

        Args:
            text: the document text.
            protected: sorted ``(start, end)`` character ranges of medical mentions
                (diseases, drugs, ...) that a lexicon-only name must not touch.
        """
        cands: list[_Cand] = []
        cands += self._patterns(text)
        cands += self._addresses(text)
        toks = [self._tok(m) for m in _WORD.finditer(text)]
        cands += self._names(text, toks, protected)
        cands += self._locations(text, toks, protected)
        chosen = _resolve([c for c in cands if c.type in self.types])
        return [PhiSpan(type=c.type, start=c.start, end=c.end, source=c.source) for c in chosen]

    def is_medical_name(self, text: str, start: int, end: int) -> bool:
        """``text[start:end]`` is (part of) an eponymous disease, sign or procedure: a known
        eponym ("Crohn's") or followed by an eponym head ("Parkinson disease", "Hodgkin lymphoma")."""
        words = [self._tok(m) for m in _WORD.finditer(text, start, end)]
        if any(w.key in self._eponyms for w in words):
            return True
        m = _WORD.search(text, end)
        if m is not None and text[end:m.start()].strip(" -'’s") == "" and m.group().lower() in self._heads:
            return True
        return False

    # ---------------------------------------------------------------- patterns
    def _patterns(self, text: str) -> list[_Cand]:
        out = []
        for rule, rx in self.rules.patterns:
            if rule.type not in self.types:
                continue
            check = VALIDATORS[rule.validator] if rule.validator else None
            has_phi = "phi" in rx.groupindex
            for m in rx.finditer(text):
                s, e = m.span("phi") if has_phi else m.span()
                if s < 0 or e <= s:
                    continue
                if check is not None and not check(text[s:e]):
                    continue
                out.append(_Cand(rule.type, s, e, rule.priority, f"pattern:{rule.name}"))
        return out

    def _addresses(self, text: str) -> list[_Cand]:
        out = []
        r = self.rules
        for m in r.street.finditer(text):
            s, e = m.span("phi")
            out.append(_Cand("ADDRESS", s, e, P_STREET, "address:street"))
        for m in r.city_state_zip.finditer(text):
            city = m.group("city")
            if city.lower() not in self._not_names:
                out.append(_Cand("LOCATION", *m.span("city"), P_CITY, "address:city"))
            if m.group("zip"):
                out.append(_Cand("ZIP", *m.span("zip"), P_ZIP, "address:zip"))
        for m in r.state_zip.finditer(text):
            out.append(_Cand("ZIP", *m.span("zip"), P_ZIP, "address:zip"))
        return out

    # ------------------------------------------------------------------- names
    def _tok(self, m: re.Match) -> _Tok:
        word = m.group()
        core = _POSSESSIVE.sub("", word) if len(word) > 3 else word
        return _Tok(word, m.start(), m.end(), core.lower(), m.start() + len(core))

    def _is_name_word(self, t: _Tok) -> bool:
        return t.key in self.rules.first_names or t.key in self.rules.last_names

    def _capitalized(self, t: _Tok, allow_upper: bool) -> bool:
        w = t.text
        if not w[0].isupper():
            return False
        if len(w) == 1:
            return True
        rest = w[1:]
        if any(c.islower() for c in rest):
            return True
        return allow_upper  # ALLCAPS only where a trigger says a name follows

    def _run(self, text: str, toks: list[_Tok], i: int, allow_upper: bool, max_len: int = 4) -> int:
        """End index (exclusive) of the run of name-like tokens starting at ``i``."""
        j = i
        while j < len(toks) and j - i < max_len:
            t = toks[j]
            if j > i:
                gap = text[toks[j - 1].end:t.start]
                if not (gap == " " or gap in (". ", ".") and len(toks[j - 1].text) == 1):  # "J. Smith", "J.R."
                    break
                if toks[j - 1].end_core != toks[j - 1].end:  # "Smith's wife": a possessive ends a name
                    break
            if t.key in self._particles and j > i and j + 1 < len(toks):
                j += 1
                continue
            if not self._capitalized(t, allow_upper):
                break
            if t.key in self._not_names or t.key in self._titles or t.key in self._credentials:
                break
            if t.key in self.rules.common_words and not self._is_name_word(t):
                break
            j += 1
        while j > i and toks[j - 1].key in self._particles:
            j -= 1
        return j

    def _eponym_follows(self, text: str, toks: list[_Tok], j: int) -> bool:
        """The run ending before token ``j`` names a disease, sign or procedure."""
        if j < len(toks):
            gap = text[toks[j - 1].end:toks[j].start]
            if gap.strip(" -") == "" and toks[j].key in self._heads:
                return True
        return False

    def _names(self, text: str, toks: list[_Tok], protected: Sequence[tuple[int, int]]) -> list[_Cand]:
        if "NAME" not in self.types or not toks:
            return []
        out: list[_Cand] = []
        found: set[str] = set()
        i = 0
        n = len(toks)
        while i < n:
            t = toks[i]
            if not t.text[0].isupper():
                i += 1
                continue
            prev = toks[i - 1] if i > 0 else None
            before = text[max(0, t.start - 40):t.start]
            titled = (prev is not None and prev.key in self._titles and prev.text[0].isupper()
                      and re.fullmatch(r"\.?\s{1,2}", text[prev.end:t.start]) is not None)
            strong = titled or self._strong.search(before) is not None
            weak = not strong and self._weak.search(before) is not None
            j = self._run(text, toks, i, allow_upper=strong)
            if j == i:
                i += 1
                continue
            run = toks[i:j]
            credential = j < n and toks[j].key in self._credentials and re.fullmatch(r",?\s", text[run[-1].end:toks[j].start] or "x") is not None \
                and toks[j].text[0].isupper()
            if credential:
                strong = True
            if not strong and not run[-1].text[0].isupper():
                i += 1
                continue
            start, end = run[0].start, run[-1].end_core
            keys = [r.key for r in run]
            eponym = self._eponym_follows(text, toks, j) or any(k in self._eponyms for k in keys)
            guarded = _overlaps(protected, start, end)
            accept = False
            source = ""
            if titled:
                accept, source = not self._eponym_follows(text, toks, j), "name:title"
            elif strong:
                accept, source = not eponym and not (guarded and not credential), "name:trigger"
            elif not eponym and not guarded:
                lex = [self._is_name_word(r) and r.key not in self.rules.common_words for r in run]
                if weak and any(lex):
                    accept, source = True, "name:weak_trigger"
                elif self.use_lexicon and any(r.key in self.rules.first_names and l for r, l in zip(run, lex)) \
                        and (len(run) > 1 or len(t.key) >= 3):
                    accept, source = True, "name:lexicon"
                elif self.use_lexicon and len(run) >= 2 and sum(lex) == len(run):
                    accept, source = True, "name:lexicon"
            if accept:
                prio = P_NAME_STRONG if source in ("name:title", "name:trigger") else P_NAME_WEAK
                out.append(_Cand("NAME", start, end, prio, source))
                found.update(k for k in keys if len(k) >= 2 and k not in self.rules.common_words and k not in self._particles)
                i = j
            else:
                i += 1
        if found:  # every other mention of a name already found ("Smith" after "John Smith")
            taken = sorted((c.start, c.end) for c in out)
            for t in toks:
                if t.key in found and t.text[0].isupper() and not _overlaps(taken, t.start, t.end_core) \
                        and not _overlaps(protected, t.start, t.end_core):
                    out.append(_Cand("NAME", t.start, t.end_core, P_NAME_ECHO, "name:echo"))
        return out

    def _locations(self, text: str, toks: list[_Tok], protected: Sequence[tuple[int, int]]) -> list[_Cand]:
        if "LOCATION" not in self.types or not toks:
            return []
        starts = [t.start for t in toks]
        out = []
        for m in self.rules.location_triggers.finditer(text):
            i = bisect_left(starts, m.end())
            if i >= len(toks) or toks[i].start != m.end():
                continue
            if toks[i].key in self._titles:
                continue
            j = self._run(text, toks, i, allow_upper=False, max_len=3)
            if j == i or _overlaps(protected, toks[i].start, toks[j - 1].end):
                continue
            out.append(_Cand("LOCATION", toks[i].start, toks[j - 1].end_core, P_LOCATION, "location:trigger"))
        return out


MODEL_GUARDED = frozenset({"NAME", "LOCATION"})
_ALNUM = re.compile(r"[^\W_]", re.UNICODE)
_EDGE = " \t\r\n,;:.()[]{}\"'-/"


class HybridRecognizer:
    """Patterns and a transformer model together: the union of their spans.

    Args:
        patterns: the rule-based recognizer.
        model: a :class:`medlens.deid.model.PhiModel`, or None (patterns only).

    A model span of type NAME or LOCATION is dropped when it overlaps a ``protected``
    (medical) range or reads as an eponym (:meth:`PatternRecognizer.is_medical_name`);
    any model span that is a form field label (one word opening a line, then a colon:
    "Guarantor:") is dropped, and so is a model span of another type than NAME with fewer
    than three letters or digits ("92" of a blood pressure).
    Pattern spans are kept as they are; the parts of a model span outside every pattern
    span (trimmed of spaces and punctuation, with at least two letters or digits) are added
    with the model's type — when a pattern span cut the model span, only the pieces with a
    digit or an uncommon word of three letters or more.
    """

    def __init__(self, patterns: PatternRecognizer, model=None) -> None:
        self.patterns = patterns
        self.model = model

    def predict(self, text: str, protected: Sequence[tuple[int, int]] = ()) -> list[PhiSpan]:
        """PHI spans in ``text``, sorted and non-overlapping (pure)."""
        return self.predict_many([text], [protected])[0]

    def predict_many(self, texts: Sequence[str], protected: Sequence[Sequence[tuple[int, int]]]) -> list[list[PhiSpan]]:
        """:meth:`predict` for several texts (the model runs on them in batches)."""
        found = [self.patterns.predict(t, p) for t, p in zip(texts, protected)]
        if self.model is None:
            return found
        model_spans = self.model.predict(texts)
        return [self.union(t, pat, mod, prot) for t, pat, mod, prot in zip(texts, found, model_spans, protected)]

    def union(self, text: str, pattern_spans: Sequence[PhiSpan], model_spans: Sequence[PhiSpan],
              protected: Sequence[tuple[int, int]] = ()) -> list[PhiSpan]:
        """Pattern spans plus the guarded, uncovered parts of the model spans, sorted by start."""
        types = self.patterns.types
        taken = sorted((s.start, s.end) for s in pattern_spans)
        out = list(pattern_spans)
        for m in model_spans:
            if m.type not in types:
                continue
            if m.type in MODEL_GUARDED and (_overlaps(protected, m.start, m.end)
                                            or self.patterns.is_medical_name(text, m.start, m.end)):
                continue
            if _field_label(text, m.start, m.end):
                continue
            if m.type != "NAME" and len(_ALNUM.findall(text, m.start, m.end)) < 3:
                continue  # "92" of a blood pressure, "yo": too short to be PHI without a pattern
            parts = _subtract(m.start, m.end, taken)
            cut = parts != [(m.start, m.end)]
            for a, b in parts:
                while a < b and text[a] in _EDGE:
                    a += 1
                while b > a and text[b - 1] in _EDGE:
                    b -= 1
                if len(_ALNUM.findall(text, a, b)) < 2 or (cut and not self._informative(text, a, b)):
                    continue
                out.append(PhiSpan(type=m.type, start=a, end=b, source="model"))
        out.sort(key=lambda s: s.start)
        return out

    def _informative(self, text: str, start: int, end: int) -> bool:
        """A leftover piece of a model span (next to a pattern span) is kept only with a digit or
        a word of three letters or more that is not a common English word ("corner of", "and" are not)."""
        if any(c.isdigit() for c in text[start:end]):
            return True
        common = self.patterns.rules.common_words
        return any(len(w) >= 3 and w.lower() not in common for w in _WORD.findall(text, start, end))


_LABEL_AFTER = re.compile(r"[ \t]*:")


def _field_label(text: str, start: int, end: int) -> bool:
    """One word alone at the start of a line and followed by a colon: a form field ("Guarantor:"), not PHI."""
    line_start = text.rfind("\n", 0, start) + 1
    return (text[line_start:start].strip() == "" and _WORD.fullmatch(text[start:end]) is not None
            and _LABEL_AFTER.match(text, end) is not None)


def _subtract(start: int, end: int, taken: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Parts of ``[start, end)`` outside the sorted ranges ``taken``."""
    parts = []
    pos = start
    for s, e in taken:
        if e <= pos or s >= end:
            continue
        if s > pos:
            parts.append((pos, s))
        pos = max(pos, e)
    if pos < end:
        parts.append((pos, end))
    return parts


def _phrase_end_regex(phrases: list[str]) -> re.Pattern:
    """Matches when a text ends with one of ``phrases`` (then optional spaces, a quote, a colon)."""
    alt = "|".join(re.escape(p) for p in sorted(set(phrases), key=len, reverse=True))
    return re.compile(r"(?i:(?<![\w])(?:" + alt + r"))[ \t]*[:,\-]?[ \t]*[\"']?$")


def _overlaps(ranges: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    if not ranges:
        return False
    i = bisect_left(ranges, (start, start))
    for k in (i - 1, i):
        if 0 <= k < len(ranges) and ranges[k][0] < end and start < ranges[k][1]:
            return True
    # a long protected range may start well before
    k = i - 1
    while k >= 0 and ranges[k][0] >= start - 200:
        if ranges[k][0] < end and start < ranges[k][1]:
            return True
        k -= 1
    return False


def _resolve(cands: list[_Cand]) -> list[_Cand]:
    """Highest priority first, then the longest; overlapping lower candidates are dropped."""
    cands.sort(key=lambda c: (-c.priority, -(c.end - c.start), c.start))
    taken: list[tuple[int, int]] = []
    chosen: list[_Cand] = []
    for c in cands:
        if any(s < c.end and c.start < e for s, e in taken):
            continue
        taken.append((c.start, c.end))
        chosen.append(c)
    chosen.sort(key=lambda c: c.start)
    return chosen
