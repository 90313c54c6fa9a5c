"""Format-preserving, consistent surrogates for each PHI type.

A surrogate is chosen by a keyed HMAC-SHA256 of the PHI type and the
normalized original value, so that the same value gets the same surrogate
everywhere the same key is used (same person -> same surrogate, within a
document and across a patient's documents). Dates are shifted by one offset
per key, so intervals between dates are kept. Every surrogate keeps the form
of the original: a phone number stays a phone number with the same
separators, a card number keeps its length and passes the Luhn check, a date
keeps its format.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import hmac
import re
from functools import lru_cache

from medlens.deid.validators import digits

_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"]
_MONTH_RX = re.compile(r"(?i)\b(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b")
_WEEKDAY_RX = re.compile(r"(?i)^(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\.?,? ")
# the sex a title or a pronoun gives a name, so that "Mr. John Smith" never becomes "Mr. Bethany Mcgrath"
_TITLE_SEX = {"mr": "m", "mister": "m", "sir": "m", "sr": "m", "mrs": "f", "ms": "f", "miss": "f", "madam": "f",
              "sra": "f", "srta": "f"}
_TITLES = frozenset(_TITLE_SEX) | {"dr", "doctor", "prof", "professor", "mx"}
_TITLE_BEFORE_RX = re.compile(r"(?i)\b(" + "|".join(_TITLE_SEX) + r")\.?\s+$")
_PRONOUN_RX = re.compile(r"(?i)\b(?:(he|him|his|himself)|(she|her|hers|herself))\b")


class SurrogateMaker:
    """Makes surrogates from a secret key.

    Args:
        key: secret bytes; the same key gives the same surrogates and the same date shift.
        max_shift_days: dates move by a key-derived offset of 1..max_shift_days days, backwards or forwards.
    """

    def __init__(self, key: bytes, max_shift_days: int = 365) -> None:
        self.key = key
        n = self._int("date-shift", "", 2 * max_shift_days)
        self.shift_days = n - max_shift_days if n < max_shift_days else n - max_shift_days + 1  # never 0

    # ------------------------------------------------------------ primitives
    def _digest(self, kind: str, value: str) -> bytes:
        return hmac.new(self.key, f"{kind}\x1f{value}".encode(), hashlib.sha256).digest()

    def _int(self, kind: str, value: str, modulo: int) -> int:
        return int.from_bytes(self._digest(kind, value), "big") % modulo

    def _stream(self, kind: str, value: str):
        """An endless stream of pseudo-random ints 0..255 derived from the value."""
        block = 0
        while True:
            yield from self._digest(f"{kind}#{block}", value)
            block += 1

    # -------------------------------------------------------------- by type
    def make(self, phi_type: str, original: str, *, before: str = "", after: str = "") -> str:
        """A surrogate for ``original`` of type ``phi_type`` (a redaction tag when no form is known).

        ``before`` and ``after`` are the text around the original; a NAME's surrogate first name takes the
        sex its context gives (a title just before it, else the original first name's own, else the first
        he/she pronoun after it), so that "Mr. John Smith" never becomes "Mr. Bethany Mcgrath".
        """
        if phi_type == "NAME":
            return self._name(original, before, after)
        fn = getattr(self, f"_{phi_type.lower()}", None)
        out = fn(original) if fn else None
        return out if out is not None else self.shape(phi_type, original)

    def shape(self, kind: str, original: str) -> str:
        """Same shape: every digit a digit, every letter a letter of the same case; the rest kept."""
        rnd = self._stream(kind, original.upper())
        out = []
        for ch in original:
            if ch.isdigit():
                out.append(str(next(rnd) % 10))
            elif ch.isalpha():
                c = chr(ord("a") + next(rnd) % 26)
                out.append(c.upper() if ch.isupper() else c)
            else:
                out.append(ch)
        s = "".join(out)
        if s == original:  # vanishingly rare, but a surrogate must differ
            s = s[:-1] + ("1" if s[-1] != "1" else "2") if s and s[-1].isdigit() else s
        return s

    def _name(self, original: str, before: str = "", after: str = "") -> str:
        first, last = _name_lists()
        parts = re.split(r"(\s+|-|\.)", original)
        words = [p for p in parts if p and p[0].isalpha()]
        title = words[0].lower() if len(words) > 1 and words[0].lower() in _TITLES else None  # "Mr. John Smith"
        sex = _TITLE_SEX.get(title or "") or _title_sex(before) or _first_name_sex(words) or _pronoun_sex(after)
        firsts = _first_names_of(sex)
        out = []
        for p in parts:
            if not p or not p[0].isalpha():
                out.append(p)
                continue
            if title is not None and p.lower() == title:  # the title stays
                title = None
                out.append(p)
                continue
            if len(p) == 1:  # an initial
                out.append(chr(ord("A") + self._int("initial", p.lower(), 26)))
                continue
            key = re.sub(r"['’]s$", "", p.lower())
            pool = firsts if key in _first_set() else last  # position-free, so "Smith" = the Smith of "John Smith"
            new = pool[self._int("name", key, len(pool))]
            out.append(_same_case(new, p))
        return "".join(out)

    def _date(self, original: str) -> str | None:
        return shift_date(original, self.shift_days)

    def _age(self, original: str) -> str:
        return "90"  # Safe Harbor: every age over 89 is one category, "90 or older"

    def _phone(self, original: str) -> str:
        ds = digits(original)
        rnd = self._stream("phone", ds[-10:])
        new = [str(next(rnd) % 10) for _ in ds]
        if len(ds) in (10, 11):  # NANP: area code 2-9xx, exchange 555, line 01xx (reserved fictional)
            off = len(ds) - 10
            if off:
                new[0] = ds[0]
            new[off] = str(2 + next(rnd) % 8)
            new[off + 3:off + 6] = list("555")
            new[off + 6:off + 8] = list("01")
        elif original.lstrip().startswith("+") and len(ds) > 2:
            new[:2] = list(ds[:2])  # keep the country code
        return _refill(original, new)

    def _ssn(self, original: str) -> str:
        rnd = self._stream("ssn", digits(original))
        area = 1 + (next(rnd) * 256 + next(rnd)) % 665  # 001-665: never 000, 666 or 9xx
        group = 1 + next(rnd) % 99
        serial = 1 + (next(rnd) * 256 + next(rnd)) % 9999
        return _refill(original, list(f"{area:03d}{group:02d}{serial:04d}"))

    def _account(self, original: str) -> str:
        ds = digits(original)
        from medlens.deid.validators import luhn
        if 12 <= len(ds) <= 19 and luhn(ds):
            rnd = self._stream("card", ds)
            body = [ds[0]] + [str(next(rnd) % 10) for _ in ds[1:-1]]
            body.append(_luhn_digit("".join(body)))
            return _refill(original, body)
        return self.shape("ACCOUNT", original)

    def _email(self, original: str) -> str:
        first, last = _name_lists()
        user = f"{first[self._int('email-first', original.lower(), len(first))]}.{last[self._int('email-last', original.lower(), len(last))]}"
        return f"{_ascii(user).lower()}@example.org"

    def _url(self, original: str) -> str:
        scheme = re.match(r"(?i)^(https?://|ftp://)?(www\.)?", original).group(0)
        word = _ascii(_name_lists()[1][self._int("url", original.lower(), len(_name_lists()[1]))]).lower()
        return f"{scheme}{word}.example.org" + ("/" if original.endswith("/") else "")

    def _ip(self, original: str) -> str:
        if ":" in original:
            rnd = self._stream("ip6", original.lower())
            return "2001:db8:" + ":".join(f"{next(rnd) * 256 + next(rnd):x}" for _ in range(3)) + "::1"
        return f"192.0.2.{1 + self._int('ip4', original, 254)}"  # TEST-NET-1

    def _location(self, original: str) -> str:
        cities = _cities()
        return _same_case(cities[self._int("city", original.lower(), len(cities))], original)

    def _address(self, original: str) -> str:
        streets = _streets()
        m = re.match(r"^\s*(\d+[A-Z]?)", original)
        number = self.shape("ADDRESS-number", m.group(1)) if m else ""
        street = streets[self._int("street", original.lower(), len(streets))]
        unit = re.search(r"(?i)(,?\s+(?:apt\.?|apartment|suite|ste\.?|unit|#|room|rm\.?|fl\.?|floor)\s*#?\s*)([A-Z0-9-]+)$", original)
        tail = unit.group(1) + self.shape("ADDRESS-unit", unit.group(2)) if unit else ""
        if not m:  # "Suite 501", "P.O. Box 12": keep the words, change the numbers
            return self.shape("ADDRESS", original)
        return f"{number} {street}{tail}"

    def _zip(self, original: str) -> str:
        return self.shape("ZIP", original)


def _refill(template: str, new_digits: list[str]) -> str:
    """``template`` with its digits replaced, in order, by ``new_digits``."""
    it = iter(new_digits)
    return "".join(next(it, c) if c.isdigit() else c for c in template)


def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def _same_case(new: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return new.upper()
    if like.islower():
        return new.lower()
    return new


def _ascii(s: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", s) if c.isascii() and (c.isalnum() or c in ".-"))


@lru_cache(maxsize=1)
def _name_lists() -> tuple[list[str], list[str]]:
    """Surrogate first and last names: the US-English lists that Faker carries."""
    from faker.providers.person.en_US import Provider

    def vals(x):
        return sorted(x.keys() if isinstance(x, dict) else x)

    return vals(Provider.first_names), vals(Provider.last_names)


@lru_cache(maxsize=1)
def _first_set() -> frozenset[str]:
    return frozenset(n.lower() for n in _name_lists()[0])


@lru_cache(maxsize=1)
def _first_names_by_sex() -> dict[str, list[str]]:
    from faker.providers.person.en_US import Provider

    return {"m": sorted(Provider.first_names_male), "f": sorted(Provider.first_names_female)}


@lru_cache(maxsize=1)
def _sex_of_first_name() -> dict[str, str]:
    """Lower-cased first name -> "m" or "f", for the names that only one of the two lists holds."""
    by_sex = {sex: {n.lower() for n in names} for sex, names in _first_names_by_sex().items()}
    return {n: sex for sex, names in by_sex.items() for n in names - by_sex["f" if sex == "m" else "m"]}


def _first_names_of(sex: str | None) -> list[str]:
    """The surrogate first names for a name of that sex ("m", "f"; None: all of them)."""
    return _first_names_by_sex()[sex] if sex else _name_lists()[0]


def _title_sex(before: str) -> str | None:
    m = _TITLE_BEFORE_RX.search(before)
    return _TITLE_SEX[m.group(1).lower()] if m else None


def _first_name_sex(words: list[str]) -> str | None:
    first = next((w.lower() for w in words if w.lower() in _first_set()), None)
    return _sex_of_first_name().get(first) if first else None


def _pronoun_sex(after: str) -> str | None:
    m = _PRONOUN_RX.search(after)
    return None if m is None else "m" if m.group(1) else "f"


@lru_cache(maxsize=1)
def _cities() -> list[str]:
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(7)
    return sorted({fake.city() for _ in range(2000)})


@lru_cache(maxsize=1)
def _streets() -> list[str]:
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(11)
    return sorted({fake.street_name() for _ in range(3000)})


# ---------------------------------------------------------------- dates
def _month_index(word: str) -> int:
    w = word.lower().rstrip(".")
    for i, m in enumerate(_MONTHS):
        if m.startswith(w[:3]):
            return i + 1
    raise ValueError(word)


def _month_word(n: int, like: str) -> str:
    full = _MONTHS[n - 1]
    core = like.rstrip(".")
    out = full if len(core) > 4 or core.lower() in ("may", "june", "july") else full[:3]
    if core.lower().startswith("sept") and len(core) == 4 and n == 9:
        out = "sept"
    if len(core) == 4 and core.lower() == "sept" and n != 9:
        out = full[:3]
    out = _same_case(out.capitalize(), core if not core.istitle() else out.capitalize())
    if core.isupper():
        out = out.upper()
    return out + ("." if like.endswith(".") and len(out) <= 4 else "")


def _year4(y: str) -> int:
    if len(y) == 4:
        return int(y)
    n = int(y.lstrip("'"))
    return 2000 + n if n <= 30 else 1900 + n


def shift_date(text: str, days: int) -> str | None:
    """``text`` (a date in one of the detected formats) moved by ``days``, in the same format; None if unparsed.

    Numeric dates are read month-first unless the first number is over 12;
    partial dates keep their parts ("March 3" stays a month and a day, "March 2020"
    a month and a year, shifted by whole months rounded from ``days``).
    """
    s = text
    weekday = _WEEKDAY_RX.match(s)
    if weekday:
        s = s[weekday.end():]
    # numeric with year: 03/14/2021, 2021-03-14, 14.03.21, with an optional time
    m = re.fullmatch(r"(\d{1,4})([-/.])(\d{1,2})\2(\d{2,4})(.*)", s)
    if m:
        a, sep, b, c, rest = m.groups()
        try:
            if len(a) == 4:  # Y-M-D
                d = dt.date(int(a), int(b), int(c)) + dt.timedelta(days=days)
                out = f"{d.year:04d}{sep}{_pad(d.month, b)}{sep}{_pad(d.day, c)}"
            elif int(a) > 12:  # D/M/Y
                d = dt.date(_year4(c), int(b), int(a)) + dt.timedelta(days=days)
                out = f"{_pad(d.day, a)}{sep}{_pad(d.month, b)}{sep}{_fmt_year(d.year, c)}"
            else:  # M/D/Y
                d = dt.date(_year4(c), int(a), int(b)) + dt.timedelta(days=days)
                out = f"{_pad(d.month, a)}{sep}{_pad(d.day, b)}{sep}{_fmt_year(d.year, c)}"
        except ValueError:
            return None
        return _weekday_prefix(weekday, d) + out + rest
    m = re.fullmatch(r"(\d{1,2})([-/])(\d{1,2})", s)  # M/D
    if m:
        try:
            d = dt.date(2001, int(m.group(1)), int(m.group(3))) + dt.timedelta(days=days)
        except ValueError:
            return None
        return f"{_pad(d.month, m.group(1))}{m.group(2)}{_pad(d.day, m.group(3))}"
    mm = _MONTH_RX.search(s)
    if not mm:
        return None
    month = _month_index(mm.group(1))
    before, after = s[:mm.start()], s[mm.end():]
    dot = after.startswith(".")
    if dot:
        after = after[1:]
    day_m = re.search(r"(\d{1,2})(st|nd|rd|th)?", before) or re.match(r"[ -](\d{1,2})(st|nd|rd|th)?(?!\d)", after)
    year_m = re.search(r"('\d{2}|\d{4})\s*$", after)
    year = _year4(year_m.group(1)) if year_m else 2001
    try:
        if day_m:
            d = dt.date(year, month, int(day_m.group(1))) + dt.timedelta(days=days)
        else:  # month and year: move by whole months
            months = round(days / 30.4)
            total = year * 12 + (month - 1) + months
            d = dt.date(total // 12, total % 12 + 1, 1)
    except ValueError:
        return None
    mword = _month_word(d.month, mm.group(1) + ("." if dot else ""))
    if dot and mword.endswith("."):
        mword = mword[:-1]
        after_fmt = "."
    else:
        after_fmt = "." if dot else ""
    new_before, new_after = before, after
    if day_m and day_m.re.pattern.startswith("(") and day_m.string is before:
        new_before = before[:day_m.start(1)] + _pad(d.day, day_m.group(1)) + _ordinal(d.day, day_m.group(2)) + before[day_m.end():]
    elif day_m:
        new_after = after[:day_m.start(1)] + _pad(d.day, day_m.group(1)) + _ordinal(d.day, day_m.group(2)) + after[day_m.end():]
    if year_m:
        ys = year_m.group(1)
        new_year = f"'{d.year % 100:02d}" if ys.startswith("'") else f"{d.year:04d}"
        idx = new_after.rfind(ys)
        new_after = new_after[:idx] + new_after[idx:].replace(ys, new_year, 1)
    return _weekday_prefix(weekday, d if day_m else None) + new_before + mword + after_fmt + new_after


def _pad(n: int, like: str) -> str:
    return f"{n:02d}" if len(like) == 2 and like.startswith("0") or (len(like) == 2 and n >= 10) else str(n) if len(like) == 1 else f"{n:02d}"


def _fmt_year(year: int, like: str) -> str:
    return f"{year % 100:02d}" if len(like) == 2 else f"{year:04d}"


def _ordinal(n: int, suffix: str | None) -> str:
    if not suffix:
        return ""
    s = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return s.upper() if suffix.isupper() else s


def _weekday_prefix(match: re.Match | None, d: dt.date | None) -> str:
    if not match:
        return ""
    if d is None:
        return match.group(0)
    word = match.group(0)
    name = calendar.day_name[d.weekday()]
    core = re.match(r"[A-Za-z]+", word).group(0)
    new = name if len(core) > 3 else name[:3]
    if core.isupper():
        new = new.upper()
    return new + word[len(core):]
