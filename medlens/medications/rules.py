"""Medication rules as data: schemas of ``resources/en/medications/*.json`` and their compiled matchers.

Every file is validated by a pydantic schema that rejects unknown keys
(:func:`medlens.resources.load_resource`), so a typo in a rules file is an
error naming the file and the field. :func:`load_rules` compiles the files once
into :class:`MedicationRules`, whose regular expressions the attribute
extractor (:mod:`medlens.medications.attributes`) and the drug-name merge
(:mod:`medlens.medications.names`) use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from medlens.resources import load_resource


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitRule(_Strict):
    ucum: str
    kind: str
    forms: list[str] = Field(min_length=1)


class PerUnitRule(_Strict):
    ucum: str
    forms: list[str] = Field(min_length=1)


class UnitsFile(_Strict):
    description: str = ""
    units: list[UnitRule]
    per_units: list[PerUnitRule]


class DoseFormRule(_Strict):
    code: str
    route: str | None = None
    forms: list[str] = Field(min_length=1)


class DoseFormsFile(_Strict):
    description: str = ""
    forms: list[DoseFormRule]


class RouteRule(_Strict):
    code: str
    snomed: str = Field(pattern=r"^\d{6,18}$")
    display: str
    forms: list[str] = Field(min_length=1)


class RoutesFile(_Strict):
    description: str = ""
    routes: list[RouteRule]


class FixedFrequency(_Strict):
    code: str
    gts: bool
    frequency: int | None
    period: float | None
    period_unit: Literal["min", "h", "d", "wk", "mo"] | None
    when: str | None = None
    forms: list[str] = Field(min_length=1)


class FrequencyPattern(_Strict):
    kind: Literal["every", "times"]
    period_unit: Literal["min", "h", "d", "wk", "mo"]
    pattern: str


class FrequenciesFile(_Strict):
    description: str = ""
    number_words: dict[str, int]
    fixed: list[FixedFrequency]
    patterns: list[FrequencyPattern]
    as_needed: list[str] = Field(min_length=1)


class StatusRule(_Strict):
    status: Literal["started", "stopped", "increased", "decreased", "held", "continued", "changed", "prescribed"]
    fhir: Literal["active", "stopped", "on-hold", "intended", "completed", "not-taken", "unknown"]
    cues: list[str] = Field(min_length=1)


class StatusesFile(_Strict):
    description: str = ""
    statuses: list[StatusRule]


class NameForm(_Strict):
    word: str
    route: str | None = None


class NamePartsFile(_Strict):
    description: str = ""
    salts: list[str]
    release: list[str]
    forms: list[NameForm]
    number_suffix: str


class AdverseEventsFile(_Strict):
    description: str = ""
    effect_then_drug: list[str]
    drug_then_effect: list[str]
    negation: list[str]
    speculation: list[str]
    effect_labels: list[str]
    drug_labels: list[str]
    therapeutic_triggers: list[str] = []
    indication_links: list[str] = []


def phrase_regex(phrases, *, groups: bool = False) -> str:
    """An alternation of literal phrases, longest first, whole words (spaces match any run of spaces).

    Args:
        phrases: the phrases (matched case-insensitively by the caller's flags).
        groups: unused marker kept for symmetry; phrases are never capturing.
    """
    parts = sorted({p.lower() for p in phrases}, key=len, reverse=True)
    alts = []
    for p in parts:
        body = r"\s+".join(re.escape(w) for w in p.split())
        # a phrase may start or end with punctuation ("%", "p.o.", "-induced"): only letters/digits need a boundary
        left = r"(?<![\w])" if p[:1].isalnum() else ""
        right = r"(?![\w])" if p[-1:].isalnum() else ""
        alts.append(f"{left}{body}{right}")
    return "(?:" + "|".join(alts) + ")"


@dataclass(frozen=True, eq=False)
class MedicationRules:
    """The medication rule files, loaded and compiled."""

    units: UnitsFile
    dose_forms: DoseFormsFile
    routes: RoutesFile
    frequencies: FrequenciesFile
    statuses: StatusesFile
    name_parts: NamePartsFile
    adverse_events: AdverseEventsFile

    def __post_init__(self) -> None:
        lookups = {
            "unit": [(f, u) for u in self.units.units for f in u.forms],
            "per_unit": [(f, u) for u in self.units.per_units for f in u.forms],
            "dose_form": [(f, d) for d in self.dose_forms.forms for f in d.forms],
            "route": [(f, r) for r in self.routes.routes for f in r.forms],
            "frequency": [(f, x) for x in self.frequencies.fixed for f in x.forms],
            "status": [(c, st) for st in self.statuses.statuses for c in st.cues],
        }
        object.__setattr__(self, "_lookups", {k: _index(v) for k, v in lookups.items()})

    def lookup(self, table: str, written: str):
        """The rule a written form names in ``table`` (unit, per_unit, dose_form, route, frequency,
        status), compared case-insensitively with runs of spaces squashed; None if unknown."""
        return self._lookups[table].get(_squash(written))

    def route_by_code(self, code: str) -> RouteRule | None:
        """The route rule with this code (``"INH"``), or None."""
        return next((r for r in self.routes.routes if r.code == code), None)

    def number(self, written: str) -> float | None:
        """A number written with digits ("1,000", "0.5", "1/2") or as a word ("two"), or None."""
        w = written.strip().lower()
        if w in self.frequencies.number_words:
            return float(self.frequencies.number_words[w])
        if w in ("half", "one-half", "one half"):
            return 0.5
        if "/" in w:  # "1/2" is a half; "25/100" is a combination, not a number
            a, _, b = w.replace(" ", "").partition("/")
            if a.isdigit() and b in ("2", "3", "4", "8") and int(a) < int(b):
                return float(a) / float(b)
            return None
        try:
            return float(w.replace(",", ""))
        except ValueError:
            return None


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def _index(pairs: list) -> dict:
    out: dict = {}
    for form, rule in pairs:
        out.setdefault(_squash(form), rule)
    return out


@lru_cache(maxsize=4)
def load_rules(folder: str = "medications") -> MedicationRules:
    """The medication rules shipped in ``resources/en/<folder>/`` (loaded once).

    Raises:
        ResourceError: a file is missing, not JSON, or does not match its schema.
    """
    return MedicationRules(
        units=load_resource(f"{folder}/units.json", UnitsFile),
        dose_forms=load_resource(f"{folder}/dose_forms.json", DoseFormsFile),
        routes=load_resource(f"{folder}/routes.json", RoutesFile),
        frequencies=load_resource(f"{folder}/frequencies.json", FrequenciesFile),
        statuses=load_resource(f"{folder}/statuses.json", StatusesFile),
        name_parts=load_resource(f"{folder}/drug_name_parts.json", NamePartsFile),
        adverse_events=load_resource(f"{folder}/adverse_events.json", AdverseEventsFile),
    )
