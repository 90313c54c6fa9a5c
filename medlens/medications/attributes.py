"""Rule-based drug attributes: strength, dose, route, frequency, duration, status and indication.

The extractor reads the text right after a drug mention (up to the next drug,
the end of the sentence or line, at most ``max_chars`` characters) and a few
words before it, with regular expressions compiled from the rule files of
``resources/en/medications/`` (:mod:`medlens.medications.rules`). Attributes
are found in a fixed order (strength, dose, duration, frequency with its
as-needed reason, route, indication) and a later one never overlaps an earlier
one, so "for 5 days" is a duration, not an indication, and "x1" in "x1 week" is
not a frequency.

    >>> from medlens.medications.attributes import AttributeExtractor
    >>> text = "metoprolol succinate 25 mg PO BID"
    >>> attrs = AttributeExtractor().extract(text, 0, 20)
    >>> attrs["strength"].value, attrs["route"].value, attrs["frequency"].details["per_day"]
    ('25 mg', 'PO', 2.0)
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from medlens.doc.types import DrugAttribute
from medlens.medications.rules import MedicationRules, load_rules, phrase_regex

_NUM_WORDS = r"one|two|three|four|five|six|seven|eight|nine|ten|twelve|fourteen|half|one-half"
NUM = rf"(?:\d+(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)+|\d+(?:,\d{{3}})*(?:\.\d+)?|\.\d+|{_NUM_WORDS})"
_RANGE = rf"(?P<a>{NUM})(?:\s*(?:-|–|to|or)\s*(?P<b>{NUM}))?"
_COMBINATION = re.compile(r"\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)+")
_PERIOD_UNITS = {"min": "min", "h": "h", "d": "d", "wk": "wk", "mo": "mo"}
_DAYS = {"min": 1 / 1440, "h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 30.0, "a": 365.0}
_DURATION_UNITS = {
    "minute": "min", "minutes": "min", "min": "min", "mins": "min",
    "hour": "h", "hours": "h", "hr": "h", "hrs": "h", "h": "h",
    "day": "d", "days": "d", "d": "d",
    "week": "wk", "weeks": "wk", "wk": "wk", "wks": "wk",
    "month": "mo", "months": "mo", "mo": "mo", "mos": "mo",
    "year": "a", "years": "a", "yr": "a", "yrs": "a",
    "dose": "doses", "doses": "doses", "cycle": "cycles", "cycles": "cycles",
}
_CLAUSE_END = re.compile(r"[.;:\n()]|,\s|\s(?:and|or|but|then|with|which|who|until|because|since)\s", re.I)
_INDICATION_LEAD = re.compile(r"(?<![\w])(?:for\s+(?:the\s+)?(?:treatment|management|prevention|control|relief)\s+of|"
                              r"to\s+(?:treat|control|prevent|manage)|for|indication:?)\s+(?!\d)", re.I)
_REASON_STOP = re.compile(r"\b(?:max|maximum|not|do|up|no|may|then|until|x|for|every|q\d|prn)\b", re.I)
_INDICATION_LABELS = frozenset({"DISEASE", "SYMPTOM", "FINDING"})
_NOT_INDICATION = frozenset({"a", "an", "the", "now", "this", "that", "these", "those", "him", "her", "his", "them",
                              "their", "it", "its", "my", "your", "our", "some", "any", "all", "more", "less", "which", "what",
                              "further", "another", "one", "two", "several", "approximately", "about", "up"})
_BE = r"(?:(?:was|were|is|are|has\s+been|have\s+been|had\s+been|will\s+be|to\s+be|being|been|got|get)\s+)?"


def _fmt(x: float) -> str:
    return f"{x:g}"


class AttributeExtractor:
    """Finds the attributes of drug mentions in text.

    Args:
        rules: compiled medication rules (None: the shipped ones, :func:`load_rules`).
        max_chars: the most characters read after a drug mention.
        before_chars: the most characters read before it (for status words).
    """

    def __init__(self, rules: MedicationRules | None = None, *, max_chars: int = 160, before_chars: int = 60) -> None:
        self.rules = rules or load_rules()
        self.max_chars = max_chars
        self.before_chars = before_chars
        r = self.rules
        units = [f for u in r.units.units for f in u.forms]
        per = [f for u in r.units.per_units for f in u.forms]
        forms = [f for d in r.dose_forms.forms for f in d.forms]
        alt = lambda xs: "|".join(re.escape(x).replace(r"\ ", r"\s+") for x in sorted(set(xs), key=len, reverse=True))  # noqa: E731
        lead = r"(?<![\w.#])"
        # "180 mg/dL", "12 g/dL": a laboratory value, not a strength
        self._strength = re.compile(rf"{lead}{_RANGE}\s*(?P<unit>{alt(units)})(?![\w])(?!\s*/\s*dl(?![\w]))"
                                    rf"(?:\s*/\s*(?P<per>{alt(per)})(?![\w]))?", re.I)
        self._dose = re.compile(rf"{lead}{_RANGE}\s*(?P<form>{alt(forms)})(?![\w])", re.I)
        dur_units = alt(_DURATION_UNITS)
        self._duration = re.compile(
            rf"(?<![\w])(?:(?:for|x|×|over)\s*(?:a\s+total\s+of\s+|another\s+|an\s+additional\s+|the\s+(?:next|past|last)\s+|a\s+further\s+)?"
            rf"(?P<a>{NUM}|a|an)(?:\s*(?:-|–|to)\s*(?P<b>{NUM}))?\s*(?:more\s+|additional\s+|further\s+)?(?P<u>{dur_units})"
            rf"|(?P<a2>{NUM})[-\s](?P<u2>day|week|month)\s+(?:course|supply|taper|trial))(?![\w])", re.I)
        fixed = [f for x in r.frequencies.fixed for f in x.forms]
        self._fixed_freq = re.compile(phrase_regex(fixed), re.I)
        self._freq_patterns = [(p, re.compile(rf"(?<![\w]){p.pattern}", re.I)) for p in r.frequencies.patterns]
        self._prn = re.compile(phrase_regex(r.frequencies.as_needed), re.I)
        # a count with no form right before a fixed frequency: "Colace 100 mg 1 b.i.d.", "Epivir one daily"
        self._bare_dose = re.compile(rf"{lead}(?P<a>[1-9]|one|two|three|four|half|one-half)\s+(?={phrase_regex(fixed)})", re.I)
        routes = [f for x in r.routes.routes for f in x.forms]
        self._route = re.compile(phrase_regex(routes), re.I)
        cues = [c for s in r.statuses.statuses for c in s.cues]
        self._status_before = re.compile(rf"{phrase_regex(cues)}(?:\s+(?:on|to|with|of|the|her|him|his|patient|a|an|trial\s+of|low-dose|high-dose|dose\s+of|oral|iv)){{0,3}}\s*$", re.I)
        self._status_after = re.compile(rf"^[^.;\n]{{0,60}}?(?<![\w]){_BE}(?P<cue>{phrase_regex([c for c in cues if c not in ('on', 'takes', 'taking', 'new', 'add', 'start')])})", re.I)

    # -- public -----------------------------------------------------------------------------------------

    def extract(self, text: str, start: int, end: int, *, stop: int | None = None, sentence_start: int | None = None,
                entities: Sequence[tuple[int, int, str, tuple[str, ...]]] | None = None,
                name_route: str | None = None) -> dict[str, DrugAttribute]:
        """Attributes of the drug mention ``text[start:end]``.

        Args:
            text: the whole document text.
            start, end: the drug mention's character offsets.
            stop: where the text that may describe this drug ends (the next drug mention, the end of its
                sentence or line); None: the end of the line, at most ``max_chars`` after ``end``.
            sentence_start: where the mention's sentence starts (status words are read from there or
                ``before_chars`` back, whichever is nearer); None: ``before_chars`` back.
            entities: other entities of the text as (start, end, label, concept ids): the indication is
                then an entity named after "for" ("for neuropathic pain" -> its concept); None (no entities
                known): the words after "for" up to the end of the phrase, unless they start with a
                determiner or pronoun ("for the remainder of ...").
            name_route: a route code implied by the drug's name ("albuterol inhaler" -> INH), used when
                no route is written.

        Returns:
            kind -> attribute, only for the kinds found.
        """
        limit = min(len(text), end + self.max_chars)
        nl = text.find("\n", end)
        if nl >= 0:
            limit = min(limit, nl)
        if stop is not None:
            limit = min(limit, max(stop, end))
        window = text[end:limit]
        taken: list[tuple[int, int]] = []
        found: dict[str, DrugAttribute] = {}

        def free(s: int, e: int) -> bool:
            return all(e <= a or s >= b for a, b in taken)

        def keep(attr: DrugAttribute | None) -> None:
            if attr is not None:
                found[attr.kind] = attr
                taken.append((attr.start_char, attr.end_char))

        keep(self._find_strength(window, end, free))
        keep(self._find_dose(window, end, free))
        keep(self._find_duration(window, end, free))
        keep(self._find_frequency(window, end, free))
        keep(self._find_route(window, end, free, name_route, found))
        keep(self._find_indication(window, end, free, entities))
        lo = max(0, start - self.before_chars)
        if sentence_start is not None:
            lo = max(lo, sentence_start)
        keep(self._find_status(text[lo:start], lo, window, end))
        if "strength" not in found:  # "received 2 g of ceftriaxone", "40 mg of prednisone"
            before = text[lo:start]
            m = re.search(rf"(?P<s>{self._strength.pattern})\s+(?:of\s+)?(?:\w+\s+)?$", before, re.I)
            if m:
                m2 = self._strength.match(before, m.start("s"), m.end("s"))
                keep(self._strength_attr(m2, lo) if m2 else None)
        return found

    # -- kinds ------------------------------------------------------------------------------------------

    def _amount(self, m: re.Match) -> tuple[float | None, float | None]:
        a = self.rules.number(m.group("a"))
        b = self.rules.number(m.group("b")) if m.group("b") else None
        return a, b

    def _strength_attr(self, m: re.Match, offset: int) -> DrugAttribute | None:
        unit = self.rules.lookup("unit", m.group("unit"))
        if unit is None:
            return None
        combo = _COMBINATION.fullmatch(m.group("a").replace(" ", ""))
        if combo and not m.group("b") and self.rules.number(m.group("a")) is None:
            # "carbidopa/levodopa 25/100 mg": one strength per ingredient
            per = self.rules.lookup("per_unit", m.group("per")) if m.group("per") else None
            ucum = unit.ucum + (f"/{per.ucum}" if per else "")
            parts = [float(x) for x in combo.group(0).split("/")]
            return DrugAttribute("strength", m.group(0), offset + m.start(), offset + m.end(),
                                 f"{'/'.join(_fmt(x) for x in parts)} {ucum}",
                                 {"amount": None, "amounts": "/".join(_fmt(x) for x in parts), "unit": ucum, "ucum": ucum,
                                  "unit_kind": unit.kind})
        a, b = self._amount(m)
        if a is None:
            return None
        per = self.rules.lookup("per_unit", m.group("per")) if m.group("per") else None
        ucum = unit.ucum + (f"/{per.ucum}" if per else "")
        amount = _fmt(a) + (f"-{_fmt(b)}" if b is not None else "")
        details = {"amount": a, "amount_max": b, "unit": ucum, "ucum": ucum, "unit_kind": unit.kind}
        return DrugAttribute("strength", m.group(0), offset + m.start(), offset + m.end(), f"{amount} {ucum}", details)

    def _find_strength(self, window: str, offset: int, free) -> DrugAttribute | None:
        for m in self._strength.finditer(window):
            if free(offset + m.start(), offset + m.end()):
                attr = self._strength_attr(m, offset)
                if attr is not None:
                    return attr
        return None

    def _find_dose(self, window: str, offset: int, free) -> DrugAttribute | None:
        for m in self._dose.finditer(window):
            s, e = offset + m.start(), offset + m.end()
            if not free(s, e):
                continue
            a, b = self._amount(m)
            form = self.rules.lookup("dose_form", m.group("form"))
            if a is None or form is None:
                continue
            amount = _fmt(a) + (f"-{_fmt(b)}" if b is not None else "")
            return DrugAttribute("dose", m.group(0), s, e, f"{amount} {form.code}",
                                 {"amount": a, "amount_max": b, "form": form.code, "implied_route": form.route})
        for m in self._bare_dose.finditer(window):
            s, e = offset + m.start("a"), offset + m.end("a")
            a = self.rules.number(m.group("a"))
            if a is not None and free(s, e):
                return DrugAttribute("dose", m.group("a"), s, e, _fmt(a),
                                     {"amount": a, "amount_max": None, "form": None, "implied_route": None})
        return None

    def _find_duration(self, window: str, offset: int, free) -> DrugAttribute | None:
        for m in self._duration.finditer(window):
            s, e = offset + m.start(), offset + m.end()
            if not free(s, e):
                continue
            a_txt = m.group("a") or m.group("a2")
            u_txt = (m.group("u") or m.group("u2")).lower()
            a = self.rules.number(a_txt)
            b = self.rules.number(m.group("b")) if m.group("b") else None
            unit = _DURATION_UNITS.get(u_txt)
            if a is None or unit is None:
                continue
            amount = _fmt(a) + (f"-{_fmt(b)}" if b is not None else "")
            details = {"amount": a, "amount_max": b, "unit": unit}
            if unit in _DAYS:
                details["days"] = a * _DAYS[unit]
            return DrugAttribute("duration", m.group(0), s, e, f"{amount} {unit}", details)
        return None

    def _find_frequency(self, window: str, offset: int, free) -> DrugAttribute | None:
        cands: list[tuple[int, int, dict, str]] = []
        for m in self._fixed_freq.finditer(window):
            rule = self.rules.lookup("frequency", m.group(0))
            if rule is None or not free(offset + m.start(), offset + m.end()):
                continue
            d = {"code": rule.code, "gts_code": rule.code if rule.gts else None, "frequency": rule.frequency,
                 "period": rule.period, "period_max": None, "period_unit": rule.period_unit, "when": rule.when}
            cands.append((m.start(), m.end(), d, rule.code))
            break
        for pat, rx in self._freq_patterns:
            for m in rx.finditer(window):
                if not free(offset + m.start(), offset + m.end()):
                    continue
                n = self.rules.number(m.group("n"))
                mm = self.rules.number(m.group("m")) if "m" in rx.groupindex and m.group("m") else None
                if n is None or n <= 0:
                    continue
                unit = _PERIOD_UNITS[pat.period_unit]
                if pat.kind == "every":
                    code = f"Q{_fmt(n)}{'-' + _fmt(mm) if mm else ''}{unit.upper()}"
                    d = {"code": code, "gts_code": code if unit == "h" and mm is None and n in (1, 2, 3, 4, 6, 8) else None,
                         "frequency": 1, "period": n, "period_max": mm, "period_unit": unit, "when": None}
                else:
                    code = f"{_fmt(n)}{'-' + _fmt(mm) if mm else ''}X{unit.upper()}"
                    d = {"code": code, "gts_code": None, "frequency": int(n), "frequency_max": int(mm) if mm else None,
                         "period": 1, "period_max": None, "period_unit": unit, "when": None}
                cands.append((m.start(), m.end(), d, code))
                break
        prn = next((m for m in self._prn.finditer(window) if free(offset + m.start(), offset + m.end())), None)
        if not cands and prn is None:
            return None
        if cands:
            cands.sort(key=lambda c: (c[0], -(c[1] - c[0])))
            s, e, d, code = cands[0]
        else:
            s, e, d, code = prn.start(), prn.end(), {"code": "PRN", "gts_code": None, "frequency": None, "period": None,
                                                       "period_max": None, "period_unit": None, "when": None}, "PRN"
        d["per_day"], d["per_day_max"] = _per_day(d)
        d["as_needed"] = prn is not None
        d["as_needed_reason"] = None
        if prn is not None:
            reason, r_end = self._prn_reason(window, prn.end())
            d["as_needed_reason"] = reason
            if code != "PRN":
                code += " PRN"
            s, e = min(s, prn.start()), max(e, r_end if reason else prn.end())
        return DrugAttribute("frequency", window[s:e], offset + s, offset + e, code, d)

    def _prn_reason(self, window: str, at: int) -> tuple[str | None, int]:
        rest = window[at:]
        m = re.match(r"\s*(?:for\s+|if\s+|when\s+)?(?:the\s+)?", rest, re.I)
        pos = m.end()
        if pos >= len(rest) or not rest[pos].isalpha():  # "p.r.n.,ALLERGIES:" (a list's joined lines): no reason
            return None, at
        stop = _CLAUSE_END.search(rest, pos)
        seg_end = stop.start() if stop else len(rest)
        for rx in (self._strength, self._dose, self._duration, self._fixed_freq, self._route, _REASON_STOP):
            mm = rx.search(rest, pos, seg_end)
            if mm:
                seg_end = min(seg_end, mm.start())
        words = list(re.finditer(r"[A-Za-z][\w'/-]*", rest[pos:seg_end]))[:4]
        if not words:
            return None, at
        r_end = pos + words[-1].end()
        return rest[pos:r_end], at + r_end

    def _find_route(self, window: str, offset: int, free, name_route: str | None, found) -> DrugAttribute | None:
        for m in self._route.finditer(window):
            s, e = offset + m.start(), offset + m.end()
            rule = self.rules.lookup("route", m.group(0))
            if rule is not None and free(s, e):
                return DrugAttribute("route", m.group(0), s, e, rule.code,
                                     {"code": rule.code, "snomed": rule.snomed, "display": rule.display})
        implied = name_route or (found["dose"].details.get("implied_route") if "dose" in found else None)
        rule = self.rules.route_by_code(implied) if implied else None
        if rule is None:
            return None
        return DrugAttribute("route", "", offset, offset, rule.code,
                             {"code": rule.code, "snomed": rule.snomed, "display": rule.display}, source="implied")

    def _find_indication(self, window: str, offset: int, free, entities) -> DrugAttribute | None:
        first = re.search(r"[;\n]|\.\s+(?=[A-Z0-9])|\.$", window)  # the mention's own clause ("p.o. t.i.d." goes on)
        for m in _INDICATION_LEAD.finditer(window, 0, first.start() if first else len(window)):
            s = m.end()
            if not free(offset + m.start(), offset + s + 1):
                continue
            stop = _CLAUSE_END.search(window, s)
            seg_end = stop.start() if stop else len(window)
            for rx in (self._strength, self._dose, self._duration, self._fixed_freq, self._prn):
                mm = rx.search(window, s, seg_end)
                if mm:
                    seg_end = min(seg_end, mm.start())
            # a named condition inside the phrase is the indication, with its concept
            for es, ee, label, ids in entities or ():
                if offset + s <= es < offset + seg_end + 1 and label in _INDICATION_LABELS:
                    ee = min(ee, offset + max(seg_end, ee - offset))
                    return DrugAttribute("indication", window[es - offset:ee - offset], es, ee,
                                         window[es - offset:ee - offset].lower(),
                                         {"label": label, "concept_id": ids[0] if ids else None})
            if entities is not None:
                continue  # with the document's entities, only a named condition is an indication
            words = list(re.finditer(r"[A-Za-z][\w'/-]*", window[s:seg_end]))[:6]
            if not words or not free(offset + s, offset + s + words[-1].end()):
                continue
            phrase = window[s:s + words[-1].end()]
            if words[0].group(0).lower() in _NOT_INDICATION:
                continue
            return DrugAttribute("indication", phrase, offset + s, offset + s + words[-1].end(), phrase.lower(),
                                 {"label": None, "concept_id": None})
        return None

    def _find_status(self, before: str, lo: int, window: str, end: int) -> DrugAttribute | None:
        m = self._status_before.search(before)
        if m:
            cue = re.match(phrase_regex([c for s in self.rules.statuses.statuses for c in s.cues]), before[m.start():], re.I)
            if cue is not None:
                rule = self.rules.lookup("status", cue.group(0))
                if rule is not None:
                    s = lo + m.start()
                    return DrugAttribute("status", cue.group(0), s, s + len(cue.group(0)), rule.status, {"fhir_status": rule.fhir})
        m = self._status_after.search(window)
        if m:
            rule = self.rules.lookup("status", m.group("cue"))
            if rule is not None:
                return DrugAttribute("status", m.group("cue"), end + m.start("cue"), end + m.end("cue"), rule.status,
                                     {"fhir_status": rule.fhir})
        return None


def _per_day(d: dict) -> tuple[float | None, float | None]:
    """Times per day (least and most) of a frequency's details, or None when it has no period."""
    freq, period, unit = d.get("frequency"), d.get("period"), d.get("period_unit")
    if not freq or not period or unit not in _DAYS:
        return None, None
    days = period * _DAYS[unit]
    most = freq / days
    fmax = d.get("frequency_max")
    pmax = d.get("period_max")
    least = freq / (pmax * _DAYS[unit]) if pmax else most
    if fmax:
        least, most = most, fmax / days
    return round(least, 4), (round(most, 4) if most != least else None)
