"""Triage by acuity: how ill the patient is now, whatever the diagnoses.

The rules are data (``resources/en/common/acuity.json``): vital signs read with their name and unit
("SpO2 88 %", "HR 118", "RR 32", "BP 86/50", "T 38.9" or "101.2 F"), scored for adults with NEWS2's bands
and checked for children against age-banded limits (NICE NG143's traffic light, APLS), signs in words
("new confusion", "speaks in short phrases", "subcostal retractions", "blue lips"), and the patient's
condition (a baby under 3 months, pregnancy, a weakened immune system, frailty).

``assess_acuity(text, age)`` → :class:`Acuity` (the level the signs call for and each sign with its
reason); :func:`raise_for_acuity` combines it with the diagnosis route's level: it can only raise the
level ("emergency because SpO2 88 % (NEWS2 3)"), never lower it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from medlens.errors import Errors, ResourceError
from medlens.reasoning.patient import NEGATION, clause_start
from medlens.resources import load_resource, resource_path

LEVELS = ("self-care", "soon", "emergency")
VITALS = ("spo2", "hr", "rr", "sbp", "temp")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VitalSpec(_Strict):
    name: str
    unit: str
    low: float = Field(description="lowest plausible value; a value outside [low, high] is not read")
    high: float
    patterns: list[str] = Field(min_length=1, description="regexes; group 1 = the value (temp: group 2 = C or F)")
    fahrenheit_above: float | None = Field(None, description="temp: a value above this without a unit is °F")


class AdultScore(_Strict):
    name: str
    min_age: float
    bands: dict[str, list[tuple[float | None, int]]] = Field(
        description="vital → [[upper bound inclusive (null = no bound), points], ...] in increasing order")
    sign_points: dict[str, int] = {}
    emergency_at: int = Field(description="an aggregate score from this up is an emergency")
    soon_at: int = Field(description="an aggregate score from this up is 'see a doctor soon'")
    single_at: int = Field(description="a parameter scoring this many points sets at least ``single_level``")
    single_level: str


class VitalLimit(_Strict):
    vital: str
    min_age: float | None = None
    max_age: float | None = None
    above: float | None = None
    at_most: float | None = None
    at_least: float | None = None
    level: str
    source: str


class Sign(_Strict):
    name: str
    why: str
    level: str
    patterns: list[str] = Field(min_length=1)
    min_age: float | None = None
    max_age: float | None = None


class Modifier(_Strict):
    name: str
    why: str
    level: str
    patterns: list[str] = []
    min_age: float | None = None
    max_age: float | None = None


class CareLevel(_Strict):
    id: str = Field(description="a disease id of the knowledge (DDXPLUS:gerd)")
    level: str
    source: str
    from_age: float | None = Field(None, description="from this age (years) the level is ``from_age_level``")
    from_age_level: str | None = None


class AcuityRules(_Strict):
    about: str = ""
    vitals: dict[str, VitalSpec]
    adult: AdultScore
    adult_limits: list[VitalLimit] = []
    child: list[VitalLimit] = []
    signs: list[Sign] = []
    modifiers: list[Modifier] = []
    care: list[CareLevel] = []


@dataclass(frozen=True)
class VitalValue:
    """A vital sign read from the text: ``spo2`` 88.0 (``%``), with the words."""

    vital: str
    value: float
    text: str
    start: int


@dataclass(frozen=True)
class AcuitySign:
    """One reason for a triage level: a vital sign out of range, a sign in words, or the patient's condition."""

    kind: str  # vital, score, sign, modifier
    name: str
    level: str
    why: str


@dataclass(frozen=True)
class Acuity:
    """The level the patient's acuity calls for (None: nothing raises it) and the reasons, most urgent first."""

    level: str | None
    signs: tuple[AcuitySign, ...]
    vitals: tuple[VitalValue, ...] = ()
    score: int | None = None

    def reason(self) -> str:
        top = [s.why for s in self.signs if s.level == self.level]
        return "; ".join(top)


def _check(path: Path, rules: AcuityRules) -> None:
    def bad(where: str, details: str) -> ResourceError:
        return ResourceError(Errors.E1280.format(path=path, where=where, details=details))

    for key, spec in rules.vitals.items():
        if key not in VITALS:
            raise bad(f"vitals.{key}", f"unknown vital; known: {list(VITALS)}")
        for p in spec.patterns:
            try:
                rx = re.compile(p)
            except re.error as exc:
                raise bad(f"vitals.{key}", f"bad pattern {p!r} ({exc})") from None
            if rx.groups < 1:
                raise bad(f"vitals.{key}", f"pattern {p!r} has no group for the value")
    for key, bands in rules.adult.bands.items():
        if key not in rules.vitals:
            raise bad(f"adult.bands.{key}", f"no vital {key!r}; known: {sorted(rules.vitals)}")
        bounds = [b for b, _ in bands]
        if not bands or bounds[-1] is not None or any(b is None for b in bounds[:-1]) or bounds[:-1] != sorted(bounds[:-1]):
            raise bad(f"adult.bands.{key}", "bands must be increasing upper bounds ending with [null, points]")
    for key in rules.adult.sign_points:
        if key not in {s.name for s in rules.signs}:
            raise bad(f"adult.sign_points.{key}", f"no sign named {key!r}")
    if rules.adult.single_level not in ("soon", "emergency"):
        raise bad("adult.single_level", f"level {rules.adult.single_level!r} is not 'soon' or 'emergency'")
    for kind, lims in (("adult_limits", rules.adult_limits), ("child", rules.child)):
        for n, lim in enumerate(lims, 1):
            if lim.vital not in rules.vitals:
                raise bad(f"{kind}[{n}]", f"no vital {lim.vital!r}; known: {sorted(rules.vitals)}")
            if sum(x is not None for x in (lim.above, lim.at_most, lim.at_least)) != 1:
                raise bad(f"{kind}[{n}]", "give exactly one of 'above', 'at_most', 'at_least'")
    for kind, items in (("signs", rules.signs), ("modifiers", rules.modifiers), ("adult_limits", rules.adult_limits),
                        ("child", rules.child)):
        for n, item in enumerate(items, 1):
            if item.level not in ("soon", "emergency"):
                raise bad(f"{kind}[{n}]", f"level {item.level!r} is not 'soon' or 'emergency'")
            for p in getattr(item, "patterns", []):
                try:
                    re.compile(p)
                except re.error as exc:
                    raise bad(f"{kind}[{n}]", f"bad pattern {p!r} ({exc})") from None
    for n, c in enumerate(rules.care, 1):
        if c.level not in LEVELS or (c.from_age_level or c.level) not in LEVELS:
            raise bad(f"care[{n}]", f"level {c.level!r} / {c.from_age_level!r} is not one of {list(LEVELS)}")
        if (c.from_age is None) != (c.from_age_level is None):
            raise bad(f"care[{n}]", "give both 'from_age' and 'from_age_level', or neither")
    if len({c.id for c in rules.care}) != len(rules.care):
        raise bad("care", "a disease is listed twice")
    for n, m in enumerate(rules.modifiers, 1):
        if not m.patterns and m.min_age is None and m.max_age is None:
            raise bad(f"modifiers[{n}]", "a modifier needs 'patterns' or an age bound")


@lru_cache(maxsize=4)
def acuity_rules(path: str | None = None) -> AcuityRules:
    """The acuity rules (default: the shipped ``resources/en/common/acuity.json``), validated.

    Raises:
        ResourceError: E005 when the file does not match the schema; E1280 when a rule names an unknown vital
            or sign, has a bad pattern, bands out of order, or a level other than soon / emergency.
    """
    p = Path(path) if path else resource_path("common/acuity.json")
    rules = load_resource(p, AcuityRules)
    _check(p, rules)
    return rules


_COMPILED: dict[int, tuple[AcuityRules, dict]] = {}


def _compiled(rules: AcuityRules) -> dict:
    hit = _COMPILED.get(id(rules))
    if hit is not None and hit[0] is rules:
        return hit[1]
    flags = re.IGNORECASE
    vit = {k: [re.compile(rf"(?<![\w-]){p}", flags) for p in v.patterns] for k, v in rules.vitals.items()}
    signs = [[re.compile(rf"(?<![\w-]){p}(?![\w-])", flags) for p in s.patterns] for s in rules.signs]
    mods = [[re.compile(rf"(?<![\w-]){p}(?![\w-])", flags) for p in m.patterns] for m in rules.modifiers]
    out = {"vitals": vit, "signs": signs, "modifiers": mods}
    _COMPILED[id(rules)] = (rules, out)
    return out


_OFF = re.compile(r"\b(?:off(?:\s+of)?|stopped|discontinued|no\s+longer)\b", re.I)
_ADVICE = re.compile(r"\b(?:if|return|returns|call|watch\s+for|look\s+out\s+for|warning\s+signs?|signs\s+of|symptoms\s+of|"
                     r"precautions?|should|would|unless|in\s+case|rule\s+out|r/o)\b", re.I)


def _negated(text: str, start: int) -> bool:
    """A negation cue in the clause before ``start`` ("no confusion", "not blue", "off immunosuppression")."""
    before = text[max(0, start - 40):start]
    clause = re.split(r"[.;:!?\n]|,\s*(?:but|and)\b", before)[-1]
    return bool(NEGATION.search(clause) or _OFF.search(clause))


def _advice(text: str, start: int) -> bool:
    """The sentence holding ``start`` gives advice or return precautions ("return if he has grunting"), or
    wonders ("rule out"): the sign is not the patient's now. The clause ends at ";" too, as in the engine's
    and :func:`~medlens.reasoning.patient.sentences`' clauses ("return if fever; grunting now": grunting counts)."""
    return bool(_ADVICE.search(text[clause_start(text, start):start]))


def _found(text: str, rxs: list[re.Pattern]) -> re.Match | None:
    return next((m for rx in rxs for m in rx.finditer(text) if not _negated(text, m.start()) and not _advice(text, m.start())),
                None)


def read_vitals(text: str, rules: AcuityRules | None = None) -> list[VitalValue]:
    """Every vital sign value the text gives with its name ("SpO2 90%", "HR 108", "BP 118/70", "T 101.2 F"),
    in °C for temperatures; values outside the vital's plausible range are not read."""
    rules = rules or acuity_rules()
    out = []
    for key, rxs in _compiled(rules)["vitals"].items():
        spec = rules.vitals[key]
        for rx in rxs:
            for m in rx.finditer(text):
                v = float(m.group(1))
                if key == "temp":
                    unit = (m.group(2) or "").upper() if rx.groups >= 2 else ""
                    if unit == "F" or (not unit and spec.fahrenheit_above is not None and v > spec.fahrenheit_above):
                        v = round((v - 32) * 5 / 9, 1)
                if spec.low <= v <= spec.high:
                    out.append(VitalValue(key, v, m.group(0).strip(), m.start()))
    return sorted(out, key=lambda x: x.start)


def _fmt(v: VitalValue, rules: AcuityRules) -> str:
    spec = rules.vitals[v.vital]
    unit = {"%": " %", "/min": "/min", "mmHg": " mmHg", "°C": " °C"}.get(spec.unit, " " + spec.unit)
    return f"{spec.name} {v.value:g}{unit}"


def _points(value: float, bands: list[tuple[float | None, int]]) -> int:
    for bound, pts in bands:
        if bound is None or value <= bound:
            return pts
    return 0


def _age_ok(age: float | None, lo: float | None, hi: float | None) -> bool:
    if lo is None and hi is None:
        return True
    if age is None:
        return False
    return (lo is None or age >= lo) and (hi is None or age < hi)


def assess_acuity(text: str | None, age: float | None = None, rules: AcuityRules | None = None) -> Acuity:
    """The triage level the patient's state calls for, with its reasons.

    Args:
        text: the note or the patient's description.
        age: the patient's age in years (None: unknown; taken as an adult for the vital signs, no age rule applies).
        rules: the acuity rules (default: the shipped ones).

    Returns:
        :class:`Acuity`: ``level`` None when nothing raises the level.
    """
    if not text:
        return Acuity(None, ())
    rules = rules or acuity_rules()
    comp = _compiled(rules)
    vitals = read_vitals(text, rules)
    signs: list[AcuitySign] = []
    present_signs: set[str] = set()
    sign_why: dict[str, str] = {}
    for sign, rxs in zip(rules.signs, comp["signs"]):
        if not _age_ok(age, sign.min_age, sign.max_age) and not (age is None and sign.min_age is None):
            continue
        hit = _found(text, rxs)
        if hit:
            present_signs.add(sign.name)
            sign_why[sign.name] = f"{sign.why} (\"{hit.group(0)}\")"
            signs.append(AcuitySign("sign", sign.name, sign.level, sign_why[sign.name]))
    # worst value of each vital: for NEWS2 the one with the most points; for a child's limits each value is checked
    score = None
    adult = rules.adult
    if age is None or age >= adult.min_age:
        total, single, parts = 0, 0, []
        for key, bands in adult.bands.items():
            vals = [v for v in vitals if v.vital == key]
            if not vals:
                continue
            v = max(vals, key=lambda v: _points(v.value, bands))
            pts = _points(v.value, bands)
            if pts:
                parts.append((pts, f"{_fmt(v, rules)} ({adult.name} {pts})"))
            total += pts
            single = max(single, pts)
        for name, pts in adult.sign_points.items():
            if name in present_signs:
                total += pts
                single = max(single, pts)
        if vitals:
            score = total
            parts.sort(key=lambda x: -x[0])
            parts += [(pts, f"{name} ({adult.name} {pts})") for name, pts in adult.sign_points.items() if name in present_signs]
            what = ", ".join(p for _, p in parts)
            level = "emergency" if total >= adult.emergency_at else "soon" if total >= adult.soon_at else None
            if single >= adult.single_at and (level is None or LEVELS.index(adult.single_level) > LEVELS.index(level)):
                level = adult.single_level
            if level:
                signs.append(AcuitySign("score", adult.name, level, f"{what}: {adult.name} score {total}"))
    limits = rules.adult_limits if age is None or age >= adult.min_age else rules.child
    for lim in limits:
        if not _age_ok(age, lim.min_age, lim.max_age):
            continue
        for v in vitals:
            if v.vital != lim.vital:
                continue
            if (lim.above is not None and v.value > lim.above) or (lim.at_most is not None and v.value <= lim.at_most) \
                    or (lim.at_least is not None and v.value >= lim.at_least):
                signs.append(AcuitySign("vital", v.vital, lim.level, f"{_fmt(v, rules)} ({lim.source})"))
                break
    for mod, rxs in zip(rules.modifiers, comp["modifiers"]):
        # an unknown age does not rule out a modifier its words show ("I'm pregnant")
        if not _age_ok(age, mod.min_age, mod.max_age) and not (age is None and rxs):
            continue
        if rxs and not _found(text, rxs):
            continue
        signs.append(AcuitySign("modifier", mod.name, mod.level, mod.why))
    kinds = ("vital", "score", "sign", "modifier")
    signs.sort(key=lambda s: (-LEVELS.index(s.level), kinds.index(s.kind)))
    # one reason per sign name, the most urgent
    seen, uniq = set(), []
    for s in signs:
        if (s.kind, s.name) not in seen:
            seen.add((s.kind, s.name))
            uniq.append(s)
    level = uniq[0].level if uniq else None
    return Acuity(level, tuple(uniq), tuple(vitals), score)


_CARE_SEVERITY = {"emergency": 2, "soon": 3, "self-care": 4}


def care_severity(severity: list[int | None], ids: list[str], age: float | None = None, rules: AcuityRules | None = None,
                  path: str | Path | None = None) -> list[int | None]:
    """The severity the diagnosis route triages with: DDXPlus's, or the level of the rules' ``care`` list where
    it gives one (emergency → 2, soon → 3, self-care → 4; a severity 1 stays 1), at the patient's ``age``.

    Raises:
        ResourceError: E1281 when the care list names a disease the knowledge does not have.
    """
    rules = rules or acuity_rules()
    index = {d: n for n, d in enumerate(ids)}
    out = list(severity)
    for c in rules.care:
        if c.id not in index:
            raise ResourceError(Errors.E1281.format(path=path or resource_path("common/acuity.json"), id=c.id,
                                                    known=", ".join(ids[:8])))
        n = index[c.id]
        level = c.from_age_level if c.from_age is not None and age is not None and age >= c.from_age else c.level
        s = _CARE_SEVERITY[level]
        out[n] = out[n] if level == "emergency" and out[n] is not None and out[n] <= s else s
    return out


def raise_for_acuity(level: str, reason: str, acuity: Acuity) -> tuple[str, str]:
    """``(level, reason)`` raised to the acuity's level when that is higher (never lowered); the reason says
    why ("SpO2 88 % (NEWS2 3), RR 32/min (NEWS2 3): NEWS2 score 9")."""
    if acuity.level is None or LEVELS.index(acuity.level) <= LEVELS.index(level):
        return level, reason
    return acuity.level, f"{acuity.level} because {acuity.reason()}"
