"""Checksums and plausibility checks for pattern candidates.

Each validator takes the candidate text and returns True to keep it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

_DIGITS = re.compile(r"\d")


def digits(text: str) -> str:
    """The digits of ``text``, in order."""
    return "".join(_DIGITS.findall(text))


def luhn(text: str) -> bool:
    """Luhn (mod 10) checksum of card numbers; 12-19 digits."""
    ds = digits(text)
    if not 12 <= len(ds) <= 19 or len(set(ds)) < 3:
        return False
    total = 0
    for i, ch in enumerate(reversed(ds)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def ssn(text: str) -> bool:
    """SSA rules: area not 000, 666 or 9xx; group not 00; serial not 0000; not all one digit."""
    ds = digits(text)
    if len(ds) != 9 or len(set(ds)) == 1:
        return False
    area, group, serial = ds[:3], ds[3:5], ds[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def ipv4(text: str) -> bool:
    """Four octets 0-255, not a version-like number with leading zeros."""
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) <= 255 and (p == "0" or not p.startswith("0")) for p in parts)


def ipv6(text: str) -> bool:
    """A parseable IPv6 address with at least three groups (not a time like 12:30:00)."""
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return text.count(":") >= 3 and any(c.isalpha() for c in text) or text.count(":") >= 5


def iban(text: str) -> bool:
    """ISO 13616 mod-97 check."""
    s = text.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    try:
        number = int("".join(str(int(c, 36)) for c in moved))
    except ValueError:
        return False
    return number % 97 == 1


def numeric_date(text: str) -> bool:
    """A numeric date whose separators agree and whose year is plausible; not a fraction of small numbers."""
    head = text.split(" ")[0].split(",")[0]
    parts = re.split(r"[-/.]", head)
    if len(parts) != 3:
        return False
    a, b, y = (int(p) for p in parts)
    return (1 <= a <= 12 and 1 <= b <= 31) or (1 <= b <= 12 and 1 <= a <= 31)


_MONTH_ONLY = re.compile(r"^(?:May|MAY|Mar|MAR|March|Jan|Jun|Jul|Aug|Oct|Dec|Sept?|Nov|Feb|Apr)\.?$")


def month_name_date(text: str) -> bool:
    """A month name with a day or a year ("May" or "March" alone is a word, not a date)."""
    stripped = re.sub(r"^(?:(?:Mon|Tues?|Wed(?:nes)?|Thu(?:rs)?|Fri|Sat(?:ur)?|Sun)(?:day)?\.?,? )", "", text).strip()
    if not any(c.isdigit() for c in stripped):
        return False
    return not _MONTH_ONLY.match(stripped)


def phone(text: str) -> bool:
    """7-15 digits, not all the same."""
    ds = digits(text)
    return 7 <= len(ds) <= 15 and len(set(ds)) > 2


def phone_loose(text: str) -> bool:
    """A phone number found by a context word: 6-15 digits in at most 6 groups, not a date or a decimal."""
    ds = digits(text)
    if not 6 <= len(ds) <= 15 or len(set(ds)) < 3:
        return False
    groups = re.findall(r"\d+", text)
    return len(groups) <= 6 and not re.fullmatch(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}", text)


def has_digit(text: str) -> bool:
    """At least two digits (serial numbers, plates)."""
    return len(digits(text)) >= 2


def vin(text: str) -> bool:
    """17 characters with both letters and at least 3 digits (VINs never use I, O, Q)."""
    return sum(c.isdigit() for c in text) >= 3 and sum(c.isalpha() for c in text) >= 2


def domain(text: str) -> bool:
    """A bare domain with a letter-bearing host label (not "e.g." or a version number)."""
    host = text.split("/")[0]
    labels = host.split(".")
    return len(labels) >= 2 and len(labels[0]) >= 2 and any(c.isalpha() for c in labels[0])


VALIDATORS: dict[str, Callable[[str], bool]] = {
    "luhn": luhn, "ssn": ssn, "ipv4": ipv4, "ipv6": ipv6, "iban": iban, "numeric_date": numeric_date,
    "month_name_date": month_name_date, "phone": phone, "phone_loose": phone_loose, "has_digit": has_digit,
    "vin": vin, "domain": domain,
}
"""Validators by the name used in ``patterns.json``."""
