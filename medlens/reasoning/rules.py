"""Guideline rules as data: conditions over findings and lab values → a suggestion with its reference.

``resources/en/guideline_rules.json`` (or a file of the same shape) is
validated on load with a schema that rejects unknown keys. A rule fires when

* every group in ``all`` has a present finding (a group is a list of concept
  ids; an HPO id also matches its descendants, so "Nuchal rigidity" satisfies
  "Stiff neck"'s parent);
* no id in ``none`` is present;
* every lab condition in ``labs`` holds for the lab values given.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from medlens.errors import Errors, InputError
from medlens.reasoning.models import Finding, Provenance, Suggestion
from medlens.resources import load_resource

DEFAULT_FILE = "guideline_rules.json"
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}
_ID = r"^[A-Za-z][A-Za-z0-9_]*:\S+$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LabCondition(_Strict):
    """``test op value`` in ``unit``, e.g. potassium >= 6.5 mmol/L."""

    test: str = Field(min_length=1)
    op: Literal["<", "<=", ">", ">=", "=="]
    value: float
    unit: str = Field(min_length=1)


class Reference(_Strict):
    """The guideline a rule comes from."""

    guideline: str = Field(min_length=3)
    organization: str = Field(min_length=2)
    year: int = Field(ge=1950, le=2100)
    citation: str = Field(min_length=10)


class Rule(_Strict):
    """One guideline rule."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    description: str = Field(min_length=3)
    all: list[list[str]] = Field(default=[], description="groups of concept ids; each group needs one present finding")
    none: list[str] = Field(default=[], description="concept ids that must not be present")
    labs: list[LabCondition] = []
    kind: Literal["test", "precaution", "treatment", "referral", "urgent"]
    suggestion: str = Field(min_length=3)
    reference: Reference

    @model_validator(mode="after")
    def _check(self) -> Rule:
        if not self.all and not self.labs:
            raise ValueError(f"rule '{self.id}' has no condition: give 'all' (finding groups) and/or 'labs'")
        for group in self.all:
            if not group:
                raise ValueError(f"rule '{self.id}' has an empty finding group in 'all'")
            for cid in group:
                if not re.match(_ID, cid):
                    raise ValueError(f"rule '{self.id}': '{cid}' is not a concept id (PREFIX:code, e.g. HP:0001945)")
        return self


class RuleSet(_Strict):
    """A guideline rules file."""

    version: str
    description: str = ""
    rules: list[Rule]

    @model_validator(mode="after")
    def _unique(self) -> RuleSet:
        ids = [r.id for r in self.rules]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate rule ids: {', '.join(dup)}")
        return self


class LabValue(_Strict):
    """A measured lab value given to the engine (``potassium=6.8`` or ``potassium=6.8 mmol/L``)."""

    test: str
    value: float
    unit: str | None = None

    @classmethod
    def parse(cls, text: str) -> LabValue:
        """Parse ``name=value[ unit]``.

        Raises:
            InputError: the text is not of that form.
        """
        m = re.match(r"^\s*([A-Za-z][\w .-]*?)\s*[=:]\s*(-?\d+(?:\.\d+)?)\s*(\S.*)?$", text)
        if not m:
            raise InputError(Errors.E1376.format(value=text))
        return cls(test=m.group(1).strip().lower(), value=float(m.group(2)), unit=(m.group(3) or "").strip() or None)


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Read and validate a rules file (default: the shipped guideline rules).

    Raises:
        ResourceError: the file is missing, not JSON, or does not match the schema.
    """
    return load_resource(path or DEFAULT_FILE, RuleSet)


class RuleEngine:
    """Evaluates a rule set.

    Args:
        rules: the rules; None loads the shipped file.
        ancestors: a function giving the ancestors of a concept id (HPO ``is_a``), so that a finding
            matches a rule written with a more general term; None matches ids exactly.
    """

    def __init__(self, rules: RuleSet | None = None, ancestors: Callable[[str], Iterable[str]] | None = None) -> None:
        self.rules = rules or load_rules()
        self.ancestors = ancestors or (lambda _cid: ())

    def evaluate(self, findings: Sequence[Finding], labs: Sequence[LabValue] = ()) -> list[Suggestion]:
        """Suggestions of every rule that fires, in file order.

        Raises:
            InputError: a lab value's unit differs from the unit of a rule about the same test.
        """
        have: set[str] = set()
        for f in findings:
            if f.status != "present":
                continue
            for cid in (f.id, *f.concepts, *f.hpo):
                have.add(cid)
                if cid.startswith("HP:"):
                    have.update(self.ancestors(cid))
        lab_by_name: Mapping[str, LabValue] = {lab.test.lower(): lab for lab in labs}
        out = []
        for rule in self.rules.rules:
            if not all(any(c in have for c in group) for group in rule.all):
                continue
            if any(c in have for c in rule.none):
                continue
            ok = True
            met: list[str] = []
            for cond in rule.labs:
                lab = lab_by_name.get(cond.test.lower())
                if lab is None:
                    ok = False
                    break
                if lab.unit and lab.unit.replace(" ", "").lower() != cond.unit.replace(" ", "").lower():
                    raise InputError(Errors.E1377.format(test=lab.test, unit=lab.unit, rule=rule.id, expected=cond.unit))
                if not _OPS[cond.op](lab.value, cond.value):
                    ok = False
                    break
                met.append(f"{cond.test} {lab.value:g} {cond.unit} {cond.op} {cond.value:g}")
            if not ok:
                continue
            names = [_group_name(group, findings, self.ancestors) for group in rule.all]
            reason = "; ".join([*(n for n in names if n), *met]) or rule.description
            ref = rule.reference
            out.append(Suggestion(kind=rule.kind, text=rule.suggestion, reason=f"{rule.description} ({reason})",
                                  provenance=Provenance(source="guideline rules", rule=rule.id,
                                                        reference=f"{ref.organization}: {ref.guideline} ({ref.year}). {ref.citation}")))
        return out


def _group_name(group: Sequence[str], findings: Sequence[Finding], ancestors: Callable[[str], Iterable[str]]) -> str:
    for f in findings:
        if f.status != "present":
            continue
        ids = {f.id, *f.concepts, *f.hpo}
        for h in f.hpo:
            ids.update(ancestors(h))
        if ids & set(group):
            return f.name
    return ""


@lru_cache(maxsize=1)
def default_rule_engine_rules() -> RuleSet:
    return load_rules()
