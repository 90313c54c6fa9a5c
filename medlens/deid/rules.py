"""The de-identification rules as validated data (``resources/en/deid/``).

``patterns.json`` holds the patterns (regular expressions with a PHI type, a
priority and an optional validator), the address patterns and the name rules
(titles, trigger phrases, credentials, guard words, eponyms); ``names.json``
holds the first- and last-name lexicon and ``address_terms.json`` the street
suffixes and US states. Every file goes through a pydantic schema that rejects
unknown keys, and every regular expression and validator name is checked when
the rules are loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

from medlens.deid.types import PHI_TYPES
from medlens.deid.validators import VALIDATORS
from medlens.errors import Errors, ResourceError
from medlens.resources import load_resource, resource_path


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PatternRule(_Strict):
    """One pattern. ``regex`` may name a group ``phi`` (the identifier) inside context words."""

    name: str
    type: str
    regex: str
    priority: int = 50
    validator: str | None = None

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        if v not in PHI_TYPES:
            raise ValueError(f"unknown PHI type '{v}'; accepted: {', '.join(PHI_TYPES)}")
        return v

    @field_validator("validator")
    @classmethod
    def _validator(cls, v: str | None) -> str | None:
        if v is not None and v not in VALIDATORS:
            raise ValueError(f"unknown validator '{v}'; accepted: {', '.join(VALIDATORS)}")
        return v

    @field_validator("regex")
    @classmethod
    def _regex(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"invalid regular expression ({exc}): {v}") from exc
        return v


class AddressRules(_Strict):
    """Street, city-state-ZIP and location rules ({SUFFIXES} and {STATES} are filled in from ``address_terms.json``)."""

    street_regex: str
    city_state_zip_regex: str
    state_zip_regex: str
    location_triggers: list[str]


class NameRules(_Strict):
    """Titles, trigger phrases, credentials, guard words and eponyms for name detection."""

    titles: list[str]
    triggers: list[str]
    credentials: list[str]
    weak_triggers: list[str]
    particles: list[str]
    not_names: list[str]
    eponym_heads: list[str]
    eponyms: list[str]


class PatternsFile(_Strict):
    version: int
    patterns: list[PatternRule]
    address: AddressRules
    names: NameRules


class NamesFile(_Strict):
    version: int
    source: str
    first: list[str]
    last: list[str]


class AddressTermsFile(_Strict):
    version: int
    street_suffixes: list[str]
    states: dict[str, str]
    common_words: list[str]


@dataclass(frozen=True)
class DeidRules:
    """Everything the recognizer reads, compiled."""

    patterns: tuple[tuple[PatternRule, re.Pattern], ...]
    street: re.Pattern
    city_state_zip: re.Pattern
    state_zip: re.Pattern
    location_triggers: re.Pattern
    names: NameRules
    first_names: frozenset[str]
    last_names: frozenset[str]
    common_words: frozenset[str]


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


@lru_cache(maxsize=8)
def load_rules(patterns_path: str | None = None) -> DeidRules:
    """Load and compile the shipped rules (or a custom ``patterns.json``).

    Raises:
        ResourceError: a file is missing, not JSON, or does not match its schema.
    """
    path = Path(patterns_path) if patterns_path else resource_path("deid/patterns.json")
    pf = load_resource(path, PatternsFile)
    names = load_resource(resource_path("deid/names.json"), NamesFile)
    terms = load_resource(resource_path("deid/address_terms.json"), AddressTermsFile)
    suffixes = _alternation(terms.street_suffixes)
    territories = ["DC", "AS", "FM", "GU", "MH", "MP", "PW", "PR", "VI", "AA", "AE", "AP", "District of Columbia", "Puerto Rico", "Guam"]
    states = _alternation(list(terms.states) + list(terms.states.values()) + territories)
    try:
        street = re.compile(pf.address.street_regex.replace("{SUFFIXES}", suffixes))
        csz = re.compile(pf.address.city_state_zip_regex.replace("{STATES}", states))
        sz = re.compile(pf.address.state_zip_regex.replace("{STATES}", states))
    except re.error as exc:
        raise ResourceError(Errors.E005.format(path=path, details=f"address regex: {exc}")) from exc
    triggers = re.compile(r"(?i:\b(?:" + _alternation(pf.address.location_triggers) + r"))\s+(?:the\s+)?(?=[^\W\d_])")
    compiled = tuple((p, re.compile(p.regex)) for p in pf.patterns)
    return DeidRules(
        patterns=compiled, street=street, city_state_zip=csz, state_zip=sz, location_triggers=triggers,
        names=pf.names, first_names=frozenset(names.first), last_names=frozenset(names.last),
        common_words=frozenset(terms.common_words) | frozenset(pf.names.not_names),
    )
