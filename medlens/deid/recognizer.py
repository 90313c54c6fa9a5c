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
