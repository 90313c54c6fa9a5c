"""PHI types, detected PHI spans and the result of replacing them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PHI_TYPES: tuple[str, ...] = (
    "NAME", "ADDRESS", "LOCATION", "ZIP", "DATE", "AGE", "PHONE", "EMAIL", "SSN", "MRN",
    "HEALTH_PLAN", "ACCOUNT", "LICENSE", "VEHICLE", "DEVICE", "URL", "IP", "ID",
)
"""The identifier types detected (HIPAA Safe Harbor identifiers that occur in text).

NAME (patients, relatives, clinicians), ADDRESS (street address, unit, P.O. box),
LOCATION (city and other place below the state), ZIP, DATE (every element but
the year), AGE (over 89), PHONE (phone and fax), EMAIL, SSN, MRN (medical
record, encounter, accession numbers), HEALTH_PLAN (member, policy, group ids),
ACCOUNT (account, card and IBAN numbers), LICENSE (driver's, professional, NPI,
DEA), VEHICLE (VIN, plate), DEVICE (serial numbers, UDI), URL, IP, ID (any
other unique identifying number).
"""

Action = Literal["redact", "mask", "surrogate", "keep"]
ACTIONS: tuple[str, ...] = ("redact", "mask", "surrogate", "keep")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PhiSpan(_Frozen):
    """One detected identifier: character offsets into the original text.

    Attributes:
        type: one of :data:`PHI_TYPES`.
        start, end: character offsets (end exclusive).
        source: the rule that found it (``pattern:<name>``, ``name:title``, ``name:lexicon``, ``model``, ...).
    """

    type: str
    start: int
    end: int
    source: str


class Replacement(_Frozen):
    """Where one identifier was, and what took its place.

    The original and the new text are not stored: slice them from the
    original text (``start:end``) and the output (``new_start:new_end``).
    """

    type: str
    action: Action
    start: int
    end: int
    new_start: int
    new_end: int
    source: str


class DeidResult(_Frozen):
    """A de-identified text and the offset mapping from the original to it.

    Attributes:
        text: the text with every identifier replaced (excluded from ``repr``).
        replacements: one entry per replaced identifier, in text order.
    """

    text: str = Field(repr=False)
    replacements: list[Replacement]
