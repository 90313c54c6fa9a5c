"""Synthetic clinical notes with PHI inserted at known offsets (for training and evaluation).

Templates (``resources/en/deid/note_templates.json``) are short notes of many
kinds (discharge summary, ED note, radiology, lab, letter, portal message,
...) with slots such as ``{PATIENT}``, ``{DATE_LONG}``, ``{PHONE}``. Each slot
is filled by Faker in the note's name origin (US, UK, Spanish, German,
Indian, Nigerian, ...) and recorded as a gold span. Templates are split
``train`` / ``heldout``; the held-out notes also draw names from locales the
name lexicon never saw (:data:`medlens.deid.build_resources.HELD_OUT_LOCALES`).

Every date element but the year is PHI; ages only over 89; ``{AGE}`` (under
90) and ``{STATE}`` are filled but are not PHI.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from medlens.errors import ConfigError, Errors
from medlens.resources import load_resource, resource_path

TRAIN_LOCALES = ("en_US", "en_GB", "es_MX", "de_DE", "fr_FR", "it_IT", "en_IN", "pt_BR", "pl_PL", "vi_VN", "zh_CN")
HELDOUT_LOCALES = ("en_US", "fi_FI", "tr_TR", "yo_NG", "tw_GH")
SPLITS = ("train", "heldout")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Template(_Strict):
    id: str
    kind: str
    split: str
    text: str


class TemplatesFile(_Strict):
    version: int
    templates: list[Template]


class GoldSpan(_Strict):
    """A PHI span the generator inserted: type and character offsets."""

    type: str
    start: int
    end: int


class SyntheticNote(_Strict):
    """One generated note (``template`` is the template id, ``split`` its split)."""

    id: str
    template: str
    split: str
    text: str
    spans: list[GoldSpan]


_SLOT = re.compile(r"\{([A-Z0-9_]+)\}")


def _latin_name(fake, kind: str) -> str:
    for _ in range(20):
        v = getattr(fake, kind)()
        if all(ord(c) < 0x2000 for c in v):
            return v
    return getattr(fake, kind)() if False else "Taylor"


def _values(fake, us, rnd: random.Random) -> dict[str, tuple[str, str | None]]:
    first, last = _latin_name(fake, "first_name"), _latin_name(fake, "last_name")
    dfirst, dlast = _latin_name(fake, "first_name"), _latin_name(fake, "last_name")
    d2 = f"{_latin_name(fake, 'first_name')} {_latin_name(fake, 'last_name')}"
    rel = _latin_name(fake, "first_name") + (" " + last if rnd.random() < 0.5 else "")
    d = fake.date_between(start_date="-3y", end_date="today")
    d2_ = fake.date_between(start_date=d, end_date="+30d")
    dob = fake.date_of_birth(minimum_age=18, maximum_age=89)
    long_fmt = rnd.choice(["%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%b. %d, %Y", "%B %-d, %Y"])
    num_fmt = rnd.choice(["%m/%d/%Y", "%-m/%-d/%Y", "%m/%d/%y", "%m-%d-%Y"])
    phone_fmt = rnd.choice(["(###) ###-####", "###-###-####", "###.###.####", "+1 ###-###-####"])
    phones = [us.numerify(phone_fmt.replace("(###)", f"({rnd.randint(2, 9)}##)")) for _ in range(3)]
    return {
        "PATIENT": (f"{first} {last}", "NAME"), "PATIENT_FIRST": (first, "NAME"), "PATIENT_LAST": (last, "NAME"),
        "PATIENT_FIRST_UPPER": (first.upper(), "NAME"), "PATIENT_LAST_UPPER": (last.upper(), "NAME"),
        "PATIENT_TITLE": (rnd.choice(["Mr.", "Mrs.", "Ms."]), None),
        "DOCTOR": (f"{dfirst} {dlast}", "NAME"), "DOCTOR_LAST": (dlast, "NAME"), "DOCTOR2": (d2, "NAME"),
        "RELATIVE": (rel, "NAME"),
        "DATE": (d.strftime(num_fmt), "DATE"), "DATE2": (d2_.strftime(num_fmt), "DATE"),
        "DATE_LONG": (d.strftime(long_fmt), "DATE"), "DATE_ISO": (d.isoformat(), "DATE"),
        "DATE_MD": (f"{d2_.month}/{d2_.day}", "DATE"), "DOB": (dob.strftime(num_fmt), "DATE"),
        "TIME": (f"{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}", None),
        "AGE": (str(rnd.randint(25, 88)), None), "AGE90": (str(rnd.randint(90, 104)), "AGE"),
        "PHONE": (phones[0], "PHONE"), "PHONE2": (phones[1], "PHONE"), "FAX": (phones[2], "PHONE"),
        "EMAIL": (fake.free_email() if rnd.random() < 0.5 else us.email(), "EMAIL"),
        "MRN": (rnd.choice([us.numerify("########"), us.bothify("??######").upper(), us.numerify("###-##-###")]), "MRN"),
        "SSN": (us.ssn(), "SSN"), "ACCOUNT": (us.numerify("##########"), "ACCOUNT"),
        "CARD": (us.credit_card_number(), "ACCOUNT"), "PLAN_ID": (us.bothify("???#########").upper(), "HEALTH_PLAN"),
        "LICENSE": (us.bothify("?#######").upper(), "LICENSE"), "VIN": (us.vin(), "VEHICLE"),
        "SERIAL": (us.bothify("??#######").upper(), "DEVICE"), "URL": (us.url(), "URL"), "IP": (us.ipv4(), "IP"),
        "ADDRESS": (us.street_address(), "ADDRESS"), "CITY": (us.city(), "LOCATION"), "STATE": (us.state_abbr(), None),
        "ZIP": (us.postcode(), "ZIP"),
    }


def load_templates(path: str | Path | None = None) -> list[Template]:
    """The note templates (shipped file by default)."""
    return load_resource(Path(path) if path else resource_path("deid/note_templates.json"), TemplatesFile).templates


def generate_notes(n: int, split: str = "train", seed: int = 0, templates: list[Template] | None = None) -> list[SyntheticNote]:
    """``n`` synthetic notes from the templates of ``split``, reproducible from ``seed``.

    Raises:
        ConfigError: ``split`` is not one of :data:`SPLITS`.
    """
    from faker import Faker

    if split not in SPLITS:
        raise ConfigError(Errors.E003.format(details=f"split '{split}' is unknown; accepted: {', '.join(SPLITS)}"))
    pool = [t for t in (templates or load_templates()) if t.split == split]
    locales = TRAIN_LOCALES if split == "train" else HELDOUT_LOCALES
    rnd = random.Random(seed)
    fakers = {loc: Faker(loc) for loc in locales}
    us = Faker("en_US")
    notes = []
    for k in range(n):
        tpl = pool[k % len(pool)]
        loc = rnd.choice(locales)
        fake = fakers[loc]
        fake.seed_instance(rnd.randrange(2**31))
        us.seed_instance(rnd.randrange(2**31))
        values = _values(fake, us, rnd)
        out, spans, pos = [], [], 0
        length = 0
        for m in _SLOT.finditer(tpl.text):
            lit = tpl.text[pos:m.start()]
            out.append(lit)
            length += len(lit)
            if m.group(1) not in values:
                raise ConfigError(Errors.E003.format(details=f"template {tpl.id}: unknown slot {{{m.group(1)}}}; accepted: {', '.join(values)}"))
            value, phi_type = values[m.group(1)]
            if phi_type:
                if phi_type == "NAME":  # one span per name word group, as an annotator would mark it
                    spans.append(GoldSpan(type=phi_type, start=length, end=length + len(value)))
                else:
                    spans.append(GoldSpan(type=phi_type, start=length, end=length + len(value)))
            out.append(value)
            length += len(value)
            pos = m.end()
        out.append(tpl.text[pos:])
        notes.append(SyntheticNote(id=f"{split}-{k:05d}", template=tpl.id, split=split, text="".join(out), spans=spans))
    return notes


def write_jsonl(notes: list[SyntheticNote], path: str | Path) -> None:
    """Notes as span JSONL (``{"text", "spans": [{"start", "end", "label"}]}``), the training stack's format."""
    with Path(path).open("w", encoding="utf-8") as fh:
        for note in notes:
            fh.write(json.dumps({"id": note.id, "text": note.text,
                                 "spans": [{"start": s.start, "end": s.end, "label": s.type} for s in note.spans]},
                                ensure_ascii=False) + "\n")
