"""Training data for the PHI tagger (the transformer half of the hybrid recognizer).

    python -m medlens.deid.training_data --pii ../shared/data/pii-spans/pii_dev.json \\
        --medical ../shared/data/ncbi-disease/train.tsv --medical ../shared/data/bc5cdr/train.tsv \\
        -o /work/ckpt/deid/data

writes span JSONL files for ``medlens train ner`` (nothing is written into the repository):

- ``notes.jsonl`` — synthetic notes from the generator's *training* templates and locales;
- ``frames.jsonl`` — short clinical sentences written here (:data:`FRAMES`) filled with
  names, street addresses, cities and countries of many Faker locales, written in
  lower case, upper case or as is: foreign addresses, places without a trigger word,
  lower-cased names (the locales of the held-out notes are never used);
- ``pii_train.jsonl`` / ``pii_dev.jsonl`` — the pii-spans sentences of the *training*
  and *dev* templates (:func:`pii_split`), types mapped by :data:`PII_TO_MODEL`;
- ``medical.jsonl`` — sentences of disease/chemical corpora (train splits) with no
  PHI, so that the model learns that "Parkinson disease" is not a name.

pii-spans is split by ``template_id`` (:func:`pii_split`, a hash, so the same for
everyone): sentences of held-out templates are never trained on and are what
``benchmarks/deid_eval.py`` reports.

The model's labels are a compact set (:data:`MODEL_LABELS`): NAME, ADDRESS
(street address, postcode), LOCATION (city, region, country), DATE, CONTACT
(phone, fax, email, URL, IP) and ID (every record, account, plan, licence,
vehicle and device number). Ages over 89 are left to the patterns.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from collections.abc import Iterable
from pathlib import Path

MODEL_LABELS: tuple[str, ...] = ("NAME", "ADDRESS", "LOCATION", "DATE", "CONTACT", "ID")

PII_TO_MODEL: dict[str, str | None] = {
    "PERSON": "NAME", "STREET_ADDRESS": "ADDRESS", "ZIP_CODE": "ADDRESS", "GPE": "LOCATION", "DATE_TIME": "DATE",
    "PHONE_NUMBER": "CONTACT", "EMAIL_ADDRESS": "CONTACT", "DOMAIN_NAME": "CONTACT", "US_SSN": "ID",
    "CREDIT_CARD": "ID", "IBAN_CODE": "ID", "US_DRIVER_LICENSE": "ID",
    "AGE": None, "ORGANIZATION": None, "TITLE": None, "NRP": None,
}
"""pii-spans entity types -> model labels (None: not PHI for the model)."""

PHI_TO_MODEL: dict[str, str | None] = {
    "NAME": "NAME", "ADDRESS": "ADDRESS", "ZIP": "ADDRESS", "LOCATION": "LOCATION", "DATE": "DATE", "AGE": None,
    "PHONE": "CONTACT", "EMAIL": "CONTACT", "URL": "CONTACT", "IP": "CONTACT", "SSN": "ID", "MRN": "ID",
    "HEALTH_PLAN": "ID", "ACCOUNT": "ID", "LICENSE": "ID", "VEHICLE": "ID", "DEVICE": "ID", "ID": "ID",
}
"""medlens PHI types (generator gold) -> model labels."""

SPLIT_BUCKETS = {"heldout": range(0, 5), "train": range(5, 9), "dev": range(9, 10)}


def pii_split(template_id) -> str:
    """``heldout`` (half of the templates), ``train`` or ``dev`` for a pii-spans ``template_id``.

    The split is a hash of the template id (first byte of its SHA-1, modulo 10), so it is
    deterministic and independent of the order of the file.
    """
    bucket = hashlib.sha1(str(template_id).encode("utf-8")).digest()[0] % 10
    for name, rng in SPLIT_BUCKETS.items():
        if bucket in rng:
            return name
    raise AssertionError(bucket)  # pragma: no cover - the buckets cover 0..9


_YEAR = re.compile(r"\s*\d{4}\s*")


def pii_records(path: str | Path, split: str) -> list[dict]:
    """The pii-spans sentences of ``split`` as span JSONL records with model labels."""
    items = json.loads(Path(path).read_text(encoding="utf-8"))
    out = []
    for k, x in enumerate(items):
        if pii_split(x["template_id"]) != split:
            continue
        spans = []
        for s in x["spans"]:
            label = PII_TO_MODEL.get(s["entity_type"])
            if label is None or (label == "DATE" and _YEAR.fullmatch(s["entity_value"])):
                continue
            spans.append({"start": s["start_position"], "end": s["end_position"], "label": label})
        out.append({"id": f"pii-{k}", "text": x["full_text"], "spans": _trim(x["full_text"], spans)})
    return out


def _trim(text: str, spans: list[dict]) -> list[dict]:
    """Spans without surrounding whitespace, sorted, overlaps dropped."""
    out: list[dict] = []
    for s in sorted(spans, key=lambda s: (s["start"], -s["end"])):
        a, b = s["start"], s["end"]
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b and (not out or a >= out[-1]["end"]):
            out.append({"start": a, "end": b, "label": s["label"]})
    return out


def note_records(n: int, seed: int) -> list[dict]:
    """Generated notes of the training templates, PHI types mapped to model labels."""
    from medlens.deid.generator import generate_notes

    out = []
    for note in generate_notes(n, "train", seed=seed):
        spans = [{"start": s.start, "end": s.end, "label": PHI_TO_MODEL[s.type]} for s in note.spans if PHI_TO_MODEL.get(s.type)]
        out.append({"id": note.id, "text": note.text, "spans": spans})
    return out


FRAME_LOCALES = ("en_US", "en_GB", "en_AU", "de_DE", "de_AT", "fr_FR", "es_ES", "es_MX", "it_IT", "nl_NL", "pl_PL",
                 "cs_CZ", "da_DK", "sv_SE", "no_NO", "pt_BR", "pt_PT", "ro_RO", "hr_HR", "hu_HU", "en_IN", "id_ID",
                 "vi_VN", "sk_SK", "sl_SI")
"""Locales for the sentence frames (those of the generator's held-out notes are left out)."""

FRAMES: tuple[str, ...] = (
    "Patient {NAME} was seen today for follow up of hypertension.",
    "spoke with {NAME} about the MRI results, questions answered.",
    "{NAME} reports improved sleep since starting melatonin.",
    "Discussed plan with {NAME_FIRST} and her daughter {NAME}.",
    "pt {NAME} presents w/ cough x3 days, no fever.",
    "Lives at {ADDRESS} with spouse.",
    "Home address: {ADDRESS}",
    "Please send the records to {ADDRESS}.",
    "Mailing address on file is {ADDRESS}; phone {PHONE}.",
    "Recently moved from {CITY} to be closer to family.",
    "Travelled to {COUNTRY} last month, no sick contacts.",
    "She was born in {CITY}, {COUNTRY} and emigrated in her twenties.",
    "Works in {CITY} as a teacher, nonsmoker.",
    "Visiting from {COUNTRY}; returns home on {DATE}.",
    "{NAME} of {CITY} called regarding refill of lisinopril.",
    "Transferred from the hospital in {CITY} on {DATE}.",
    "Emergency contact: {NAME} ({PHONE}).",
    "Referred by Dr. {NAME_LAST} in {CITY}.",
    "Follow-up letter mailed to {NAME}, {ADDRESS}.",
    "{CITY} resident with a history of Parkinson disease and type 2 diabetes.",
    "family in {CITY} ({COUNTRY}), will fly back after discharge",
    "Contact {EMAIL} for the imaging report.",
    "The patient, {NAME}, denies chest pain; history of Hodgkin lymphoma in remission.",
    "Seen with interpreter; {NAME} speaks only Portuguese and lives in {CITY}.",
)

_FRAME_SLOT = re.compile(r"\{([A-Z_]+)\}")


def frame_records(n: int, seed: int) -> list[dict]:
    """``n`` sentences from :data:`FRAMES` filled with Faker values of :data:`FRAME_LOCALES`.

    A third is lower-cased and a tenth upper-cased (the offsets do not change).
    """
    from faker import Faker

    rnd = random.Random(seed)
    fakers = {loc: Faker(loc) for loc in FRAME_LOCALES}
    out = []
    for k in range(n):
        fake = fakers[rnd.choice(FRAME_LOCALES)]
        fake.seed_instance(rnd.randrange(2**31))
        frame = FRAMES[k % len(FRAMES)]
        first, last = fake.first_name(), fake.last_name()
        address = fake.address() if rnd.random() < 0.5 else fake.street_address()
        if rnd.random() < 0.6:
            address = address.replace("\n", ", ")
        values = {
            "NAME": (f"{first} {last}", "NAME"), "NAME_FIRST": (first, "NAME"), "NAME_LAST": (last, "NAME"),
            "ADDRESS": (address, "ADDRESS"), "CITY": (fake.city(), "LOCATION"), "COUNTRY": (fake.country(), "LOCATION"),
            "DATE": (fake.date(rnd.choice(["%d.%m.%Y", "%d/%m/%Y", "%B %d", "%d %B %Y"])), "DATE"),
            "PHONE": (fake.phone_number(), "CONTACT"), "EMAIL": (fake.email(), "CONTACT"),
        }
        text, spans, pos = "", [], 0
        for m in _FRAME_SLOT.finditer(frame):
            text += frame[pos:m.start()]
            value, label = values[m.group(1)]
            spans.append({"start": len(text), "end": len(text) + len(value), "label": label})
            text += value
            pos = m.end()
        text += frame[pos:]
        r = rnd.random()
        if r < 0.33:
            text = text.lower() if len(text.lower()) == len(text) else text
        elif r < 0.43:
            text = text.upper() if len(text.upper()) == len(text) else text
        out.append({"id": f"frame-{k}", "text": text, "spans": _trim(text, spans)})
    return out


def medical_records(paths: Iterable[str | Path], n: int, seed: int) -> list[dict]:
    """``n`` sentences (seeded sample) of BIO TSV corpora, with no PHI spans."""
    sents: list[str] = []
    for path in paths:
        words: list[str] = []
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                if words:
                    sents.append(" ".join(words))
                words = []
            else:
                words.append(line.split("\t")[0])
        if words:
            sents.append(" ".join(words))
    rnd = random.Random(seed)
    return [{"id": f"medical-{k}", "text": t, "spans": []} for k, t in enumerate(rnd.sample(sents, min(n, len(sents))))]


def write_records(records: Iterable[dict], path: str | Path) -> int:
    """Write span JSONL; returns the number of lines."""
    n = 0
    with Path(path).open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    return n


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Write the PHI tagger's training data (span JSONL) outside the repository.")
    ap.add_argument("--pii", required=True, help="pii-spans pii_dev.json")
    ap.add_argument("--medical", action="append", default=[], help="BIO TSV of a medical corpus (train split), repeatable")
    ap.add_argument("-o", "--output", required=True, help="output folder")
    ap.add_argument("--notes", type=int, default=1500, help="generated notes (training templates)")
    ap.add_argument("--frames", type=int, default=900, help="frame sentences")
    ap.add_argument("--medical-sentences", type=int, default=600)
    ap.add_argument("--pii-repeat", type=int, default=2, help="copies of the pii-spans training sentences")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    counts = {
        "notes.jsonl": write_records(note_records(args.notes, args.seed), out / "notes.jsonl"),
        "frames.jsonl": write_records(frame_records(args.frames, args.seed), out / "frames.jsonl"),
        "pii_train.jsonl": write_records(pii_records(args.pii, "train") * args.pii_repeat, out / "pii_train.jsonl"),
        "pii_dev.jsonl": write_records(pii_records(args.pii, "dev"), out / "pii_dev.jsonl"),
        "pii_heldout_count": len(pii_records(args.pii, "heldout")),
        "dev_notes.jsonl": write_records(note_records(60, args.seed + 1000), out / "dev_notes.jsonl"),
    }
    if args.medical:
        counts["medical.jsonl"] = write_records(medical_records(args.medical, args.medical_sentences, args.seed),
                                                out / "medical.jsonl")
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
