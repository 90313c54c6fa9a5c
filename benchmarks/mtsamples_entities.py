"""Hand-checked entities of real clinical notes (MTSamples): sample, then score.

``sample`` picks 40 notes of ../shared/data/mtsamples/notes.csv (seed 11: one
note of each specialty, then the rest at random; notes of 600 to 6,000
characters), gives every other note (sorted by specialty, then id) to the dev
half and the others to the held-out half, and in each note a window of text
holding about 11 consecutive entities of the pipeline's output (seeded). It
writes the entities found in those windows, one JSON object a line, to judge:

    benchmarks/data/mtsamples_entities_{dev,heldout}.jsonl

Each line: note_id, specialty, split, window [start, end], start, end, text,
label, link (top concept id and name), assertion status; then the verdicts a
reader adds: ``label_ok`` (false also when the span is no entity at all:
``label_gold`` "O"), ``link_ok`` (null when there is no link), ``assertion_ok``,
and ``*_gold`` with the correct value where a verdict is false.

``rerun`` runs the current pipeline on the same notes and windows and writes
every entity of the new output in the windows to ``--out``, carrying over the
verdicts of entities whose span, label, link and assertion did not change (the
others are left to judge). ``sample --second`` draws held-out set #2 the same way from 20 other notes (seed 29, 20 specialties at
random, one note each) into ``mtsamples_entities_heldout2.jsonl``; ``sample --third`` draws held-out set #3 the
same way (seed 47) from 20 notes neither sample nor any MTSamples file of benchmarks/data (:data:`USED_BY`) took,
into ``mtsamples_entities_heldout3.jsonl``; ``sample --fourth`` draws held-out set #4 (seed 71, about 12
consecutive entities a window) from 20 notes none of those took nor any file of benchmarks/data that names MTSamples
notes when it was drawn (:data:`USED_BY4`: set #3's files and the differential's held-out #2 too), into
``mtsamples_entities_heldout4.jsonl``; ``sample --fifth`` draws held-out set #5 (seed 97 for the notes, 98 for the
windows, about 12 entities a window) from 20 notes none of those took nor any file of benchmarks/data that names
MTSamples notes when it was drawn (:data:`USED_BY5` and the files that had appeared since, :data:`USED_BY5_ALSO`), into
``mtsamples_entities_heldout5.jsonl``; ``sample --sixth`` draws held-out set #6 (seed 131 for the notes, 132 for the
windows, about 12 entities a window) from 20 notes none of those took nor any file of benchmarks/data that names
MTSamples notes when it was drawn (:data:`USED_BY6` and the files that had appeared since, :data:`USED_BY6_ALSO`), into
``mtsamples_entities_heldout6.jsonl``; ``sample --seventh`` draws held-out set #7 (seed 173 for the notes, 174 for
the windows, about 13 entities a window) from 20 notes none of those took nor any file of benchmarks/data that names
MTSamples notes when it was drawn (:data:`USED_BY7` and the files that had appeared since, :data:`USED_BY7_ALSO`):
fewer than 20 specialties still have such notes, so the specialties left are put in a random order and, in rounds,
each gives one note drawn at random (not a copy of a chosen note's text) until there are 20 — at most 2 notes of a
specialty, as many specialties as are left — into ``mtsamples_entities_heldout7.jsonl``; ``sample --eighth`` draws
held-out set #8 the same way as set #7 (seed 181 for the notes, 182 for the windows, about 12 entities a window) from
20 notes none of those took nor any file of benchmarks/data that names MTSamples notes when it was drawn
(:data:`USED_BY8` and the files that had appeared since, :data:`USED_BY8_ALSO`), into
``mtsamples_entities_heldout8.jsonl``; a later draw should leave out :data:`USED_BY9`. ``score`` prints label precision, top-link precision
and assertion accuracy of judged files.

Run::

    python benchmarks/mtsamples_entities.py sample
    python benchmarks/mtsamples_entities.py sample --second   # held-out set #2
    python benchmarks/mtsamples_entities.py sample --third    # held-out set #3
    python benchmarks/mtsamples_entities.py sample --fourth   # held-out set #4
    python benchmarks/mtsamples_entities.py sample --fifth    # held-out set #5
    python benchmarks/mtsamples_entities.py sample --sixth    # held-out set #6
    python benchmarks/mtsamples_entities.py sample --seventh  # held-out set #7
    python benchmarks/mtsamples_entities.py sample --eighth   # held-out set #8
    python benchmarks/mtsamples_entities.py rerun --split heldout --out /tmp/heldout_new.jsonl
    python benchmarks/mtsamples_entities.py score benchmarks/data/mtsamples_entities_heldout.jsonl
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
# ../shared/data next to the project (also from a git worktree deeper down: the first parent that has it)
DATA = next((p / "shared" / "data" / "mtsamples" / "notes.csv" for p in HERE.parents
             if (p / "shared" / "data" / "mtsamples" / "notes.csv").exists()),
            HERE.parent.parent / "shared" / "data" / "mtsamples" / "notes.csv")
OUT = HERE / "data"
SEED = 11
N_NOTES = 40
PER_NOTE = 11


def read_notes(path: Path = DATA) -> dict[str, dict]:
    """The notes of ``notes.csv`` by id (exits with a message when the data is absent)."""
    if not path.exists():
        sys.exit(f"{path} not found: this benchmark needs ../shared/data/mtsamples")
    with path.open(newline="", encoding="utf-8") as fh:
        return {row["note_id"]: row for row in csv.DictReader(fh)}


def pick_notes(notes: dict[str, dict]) -> list[tuple[str, str]]:
    """``(note_id, split)`` of the 40 sampled notes."""
    rng = random.Random(SEED)
    by_spec: dict[str, list[str]] = defaultdict(list)
    for nid, row in sorted(notes.items(), key=lambda kv: int(kv[0])):
        if 600 <= len(row["transcription"]) <= 6000:
            by_spec[row["medical_specialty"].strip()].append(nid)
    chosen: list[str] = []
    for spec in sorted(by_spec):
        chosen.append(rng.choice(by_spec[spec]))
    rest = [n for spec in sorted(by_spec) for n in by_spec[spec] if n not in chosen]
    rng.shuffle(rest)
    chosen += rest[: max(0, N_NOTES - len(chosen))]
    chosen = chosen[:N_NOTES]
    chosen.sort(key=lambda n: (notes[n]["medical_specialty"].strip(), int(n)))
    return [(n, "dev" if i % 2 == 0 else "heldout") for i, n in enumerate(chosen)]


def entity_rows(nlp, note: dict, window: tuple[int, int] | None):
    """Entities of the pipeline's output on ``note`` (all, or those overlapping ``window``)."""
    doc = nlp(note["transcription"])
    rows = []
    for ent in doc.ents:
        if window is not None and (ent.end_char <= window[0] or ent.start_char >= window[1]):
            continue
        top = ent._.concepts[0] if ent._.concepts else None
        a = ent._.assertion
        rows.append({
            "start": ent.start_char, "end": ent.end_char, "text": ent.text, "label": ent.label_,
            "section": ent._.section,
            "link": [top.concept_id, top.name] if top else None,
            "assertion": a.status if a is not None else "present",
        })
    return doc, rows


SEED2 = 29


def pick_notes2(notes: dict[str, dict]) -> list[tuple[str, str]]:
    """``(note_id, "heldout2")`` of 20 notes none of :func:`pick_notes` took: 20 specialties drawn at random
    (seed 29), one note of 600 to 6,000 characters from each."""
    used = _picked(notes, pick_notes)
    rng = random.Random(SEED2)
    by_spec: dict[str, list[str]] = defaultdict(list)
    for nid, row in sorted(notes.items(), key=lambda kv: int(kv[0])):
        if nid not in used and 600 <= len(row["transcription"]) <= 6000:
            by_spec[row["medical_specialty"].strip()].append(nid)
    specs = sorted(by_spec)
    rng.shuffle(specs)
    chosen = [rng.choice(by_spec[spec]) for spec in specs[:20]]
    chosen.sort(key=lambda n: (notes[n]["medical_specialty"].strip(), int(n)))
    return [(n, "heldout2") for n in chosen]


SEED3 = 47
# Files of benchmarks/data whose MTSamples notes held-out set #3 leaves out: every note of the entity sets
# before it and every note another MTSamples benchmark judged (named, not globbed, so the draw stays the same
# when later files appear).
USED_BY = (
    "mtsamples_entities_dev.jsonl", "mtsamples_entities_dev_after.jsonl", "mtsamples_entities_dev_after2.jsonl",
    "mtsamples_entities_heldout.jsonl", "mtsamples_entities_heldout_after.jsonl",
    "mtsamples_entities_heldout_after2.jsonl", "mtsamples_entities_heldout2.jsonl",
    "mtsamples_entities_heldout2_after.jsonl", "mtsamples_entities_heldout2_after_seen.jsonl",
    "assertion_cues_dev.jsonl", "assertion_cues_heldout.jsonl", "medication_lists_dev.jsonl",
    "medication_lists_heldout.jsonl", "summarize_gold.jsonl", "common_mtsamples_gold.json",
)


def used_note_ids(names: tuple[str, ...] = USED_BY) -> set[str]:
    """Note ids of the files ``names`` (default :data:`USED_BY`) names (those present)."""
    used: set[str] = set()
    for name in names:
        path = OUT / name
        if not path.exists():
            continue
        if path.suffix == ".json":
            rows = json.loads(path.read_text(encoding="utf-8")).get("cases", [])
        else:
            rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
        used |= {str(r["note_id"]) for r in rows if "note_id" in r}
    return used


def _text_key(note: dict) -> str:
    """A note's text with its whitespace collapsed: the same note under two specialties has the same key."""
    return " ".join(note["transcription"].split())


def _picked(notes: dict[str, dict], *pickers) -> set[str]:
    """Ids of the notes that the draws ``pickers`` (``pick_notes`` .. ``pick_notes5``) took."""
    return {n for pick in pickers for n, _ in pick(notes)}


def _drawable(notes: dict[str, dict], used: set[str]) -> list[str]:
    """Ids, in numeric order, of the notes of 600 to 6,000 characters that are not in ``used`` and not a copy of
    the text of one of them."""
    used_texts = {_text_key(notes[n]) for n in used if n in notes}
    return [nid for nid, row in sorted(notes.items(), key=lambda kv: int(kv[0]))
            if nid not in used and _text_key(row) not in used_texts and 600 <= len(row["transcription"]) <= 6000]


def _specialties_in_random_order(notes: dict[str, dict], used: set[str],
                                 rng: random.Random) -> tuple[dict[str, list[str]], list[str]]:
    """The drawable notes (:func:`_drawable`) by specialty, and the specialties sorted, then shuffled by ``rng``."""
    by_spec: dict[str, list[str]] = defaultdict(list)
    for nid in _drawable(notes, used):
        by_spec[notes[nid]["medical_specialty"].strip()].append(nid)
    specs = sorted(by_spec)
    rng.shuffle(specs)
    return by_spec, specs


def _one_note_per_specialty(notes: dict[str, dict], used: set[str], seed: int, split: str) -> list[tuple[str, str]]:
    """``(note_id, split)`` of one note of 600 to 6,000 characters from each of 20 specialties drawn at random
    (``seed``), among the notes not in ``used`` and not a copy of one of their texts (the same note can stand
    under 2 specialties); sorted by specialty, then id."""
    rng = random.Random(seed)
    by_spec, specs = _specialties_in_random_order(notes, used, rng)
    chosen = [rng.choice(by_spec[spec]) for spec in specs[:20]]
    chosen.sort(key=lambda n: (notes[n]["medical_specialty"].strip(), int(n)))
    return [(n, split) for n in chosen]


def pick_notes3(notes: dict[str, dict]) -> list[tuple[str, str]]:
    """``(note_id, "heldout3")`` of 20 notes none of :func:`pick_notes`, :func:`pick_notes2` or the files of
    :data:`USED_BY` took (nor a copy of one's text): 20 specialties drawn at random (seed 47), one note of 600 to 6,000 characters from each."""
    used = _picked(notes, pick_notes, pick_notes2) | used_note_ids()
    return _one_note_per_specialty(notes, used, SEED3, "heldout3")


SEED4 = 71
PER_NOTE4 = 12
# Held-out set #4 leaves out every note of the sets before it and of every file of benchmarks/data that names
# MTSamples notes when it was drawn (named, not globbed, so the draw stays the same when later files appear).
USED_BY4 = USED_BY + (
    "mtsamples_entities_dev_after3.jsonl", "mtsamples_entities_heldout_after3.jsonl",
    "mtsamples_entities_heldout2_after3.jsonl", "mtsamples_entities_heldout2_after3_seen.jsonl",
    "mtsamples_entities_heldout3.jsonl", "mtsamples_entities_heldout3_after.jsonl", "common_mtsamples_gold2.json",
)
# What a later draw (#5) must leave out as well: set #4's own files.
USED_BY5 = USED_BY4 + ("mtsamples_entities_heldout4.jsonl", "mtsamples_entities_heldout4_after.jsonl")


def pick_notes4(notes: dict[str, dict]) -> list[tuple[str, str]]:
    """``(note_id, "heldout4")`` of 20 notes that none of :func:`pick_notes`, :func:`pick_notes2`,
    :func:`pick_notes3` or the files of :data:`USED_BY4` took (nor a copy of one's text): 20 specialties drawn at
    random (seed 71), one note of 600 to 6,000 characters from each."""
    used = _picked(notes, pick_notes, pick_notes2, pick_notes3) | used_note_ids(USED_BY4)
    return _one_note_per_specialty(notes, used, SEED4, "heldout4")


SEED5 = 97
PER_NOTE5 = 12
# Files of benchmarks/data that named MTSamples notes when set #5 was drawn and that USED_BY5 did not list yet
# (re-runs of earlier sets and the differential's held-out #3); named, not globbed, as above.
USED_BY5_ALSO = (
    "mtsamples_entities_dev_after4.jsonl", "mtsamples_entities_heldout_after4.jsonl",
    "mtsamples_entities_heldout2_after4.jsonl", "mtsamples_entities_heldout3_after4.jsonl",
    "common_mtsamples_gold3.json",
)
# What a later draw (#6) must leave out as well: set #5's own files.
USED_BY6 = USED_BY5 + USED_BY5_ALSO + ("mtsamples_entities_heldout5.jsonl", "mtsamples_entities_heldout5_after.jsonl")


def pick_notes5(notes: dict[str, dict]) -> list[tuple[str, str]]:
    """``(note_id, "heldout5")`` of 20 notes that none of :func:`pick_notes` .. :func:`pick_notes4` or the files of
    :data:`USED_BY5` and :data:`USED_BY5_ALSO` took (nor a copy of one's text): 20 specialties drawn at random
    (seed 97), one note of 600 to 6,000 characters from each."""
    used = _picked(notes, pick_notes, pick_notes2, pick_notes3, pick_notes4) | used_note_ids(USED_BY5 + USED_BY5_ALSO)
    return _one_note_per_specialty(notes, used, SEED5, "heldout5")


SEED6 = 131
PER_NOTE6 = 12
# Files of benchmarks/data that named MTSamples notes when set #6 was drawn and that USED_BY6 did not list yet
# (the re-runs of earlier sets after round 5); named, not globbed, as above.
USED_BY6_ALSO = (
    "mtsamples_entities_dev_after5.jsonl", "mtsamples_entities_heldout_after5.jsonl",
    "mtsamples_entities_heldout2_after5.jsonl", "mtsamples_entities_heldout3_after5.jsonl",
    "mtsamples_entities_heldout4_after5.jsonl",
)
# What a later draw (#7) must leave out as well: set #6's own files.
USED_BY7 = USED_BY6 + USED_BY6_ALSO + ("mtsamples_entities_heldout6.jsonl", "mtsamples_entities_heldout6_after.jsonl")


def pick_notes6(notes: dict[str, dict]) -> list[tuple[str, str]]:
    """``(note_id, "heldout6")`` of 20 notes that none of :func:`pick_notes` .. :func:`pick_notes5` or the files of
    :data:`USED_BY6` and :data:`USED_BY6_ALSO` took (nor a copy of one's text): 20 specialties drawn at random
    (seed 131), one note of 600 to 6,000 characters from each. Only 19 specialties still had such a note when it was
    drawn, so the 20th note is drawn at random (same seed) among the other notes left, whatever their specialty, and
    not a copy of a chosen note's text."""
    used = (_picked(notes, pick_notes, pick_notes2, pick_notes3, pick_notes4, pick_notes5)
            | used_note_ids(USED_BY6 + USED_BY6_ALSO))
    picked = _one_note_per_specialty(notes, used, SEED6, "heldout6")
    chosen = [n for n, _ in picked]
    taken = used | set(chosen)
    texts = {_text_key(notes[n]) for n in taken if n in notes}
    rest = _drawable(notes, taken)
    rng = random.Random(SEED6)
    rng.shuffle(rest)
    for nid in rest:
        if len(chosen) >= 20:
            break
        text = _text_key(notes[nid])
        if text not in texts:
            chosen.append(nid)
            texts.add(text)
    chosen.sort(key=lambda n: (notes[n]["medical_specialty"].strip(), int(n)))
    return [(n, "heldout6") for n in chosen]


SEED7 = 173
PER_NOTE7 = 13
N_NOTES7 = 20
MAX_PER_SPEC7 = 2
# Files of benchmarks/data that named MTSamples notes when set #7 was drawn and that USED_BY7 did not list yet
# (the re-runs of earlier sets after round 6); named, not globbed, as above.
USED_BY7_ALSO = (
    "mtsamples_entities_dev_after6.jsonl", "mtsamples_entities_heldout_after6.jsonl",
    "mtsamples_entities_heldout2_after6.jsonl", "mtsamples_entities_heldout3_after6.jsonl",
    "mtsamples_entities_heldout4_after6.jsonl", "mtsamples_entities_heldout5_after6.jsonl",
)
# What a later draw (#8) must leave out as well: set #7's own files.
USED_BY8 = USED_BY7 + USED_BY7_ALSO + ("mtsamples_entities_heldout7.jsonl", "mtsamples_entities_heldout7_after.jsonl")


def _rounds_of_specialties(notes: dict[str, dict], used: set[str], seed: int, split: str, n: int = N_NOTES7,
                           per_spec: int = MAX_PER_SPEC7) -> list[tuple[str, str]]:
    """``(note_id, split)`` of ``n`` notes of 600 to 6,000 characters among the notes not in ``used`` and not a copy
    of one of their texts (:func:`_drawable`), at most ``per_spec`` of a specialty, preferring variety: the
    specialties are put in a random order (``seed``), and in rounds each specialty in that order gives one note drawn
    at random (same generator) among its notes left that are not a copy of a chosen note's text, until ``n`` notes
    are chosen (round 1 takes one note of every specialty left, round 2 a second one, ...); sorted by specialty, then
    id."""
    rng = random.Random(seed)
    by_spec, specs = _specialties_in_random_order(notes, used, rng)
    chosen: list[str] = []
    texts: set[str] = set()
    for _ in range(per_spec):
        for spec in specs:
            if len(chosen) >= n:
                break
            left = [nid for nid in by_spec[spec] if nid not in chosen and _text_key(notes[nid]) not in texts]
            if left:
                nid = rng.choice(left)
                chosen.append(nid)
                texts.add(_text_key(notes[nid]))
    chosen.sort(key=lambda nid: (notes[nid]["medical_specialty"].strip(), int(nid)))
    return [(nid, split) for nid in chosen]


def pick_notes7(notes: dict[str, dict]) -> list[tuple[str, str]]:
    """``(note_id, "heldout7")`` of 20 notes that none of :func:`pick_notes` .. :func:`pick_notes6` or the files of
    :data:`USED_BY7` and :data:`USED_BY7_ALSO` took (nor a copy of one's text): at most 2 notes of a specialty, drawn
    by :func:`_rounds_of_specialties` (seed 173): one note of each specialty left in a random order, then a second
    note of the first specialties of that order until there are 20."""
    used = (_picked(notes, pick_notes, pick_notes2, pick_notes3, pick_notes4, pick_notes5, pick_notes6)
            | used_note_ids(USED_BY7 + USED_BY7_ALSO))
    return _rounds_of_specialties(notes, used, SEED7, "heldout7")


SEED8 = 181
PER_NOTE8 = 12
# Files of benchmarks/data that named MTSamples notes when set #8 was drawn and that USED_BY8 did not list yet
# (the re-runs of earlier sets after round 7); named, not globbed, as above.
USED_BY8_ALSO = (
    "mtsamples_entities_dev_after7.jsonl", "mtsamples_entities_heldout_after7.jsonl",
    "mtsamples_entities_heldout2_after7.jsonl", "mtsamples_entities_heldout3_after7.jsonl",
    "mtsamples_entities_heldout4_after7.jsonl", "mtsamples_entities_heldout5_after7.jsonl",
    "mtsamples_entities_heldout6_after7.jsonl",
)
# What a later draw (#9) must leave out as well: set #8's own files.
USED_BY9 = USED_BY8 + USED_BY8_ALSO + ("mtsamples_entities_heldout8.jsonl", "mtsamples_entities_heldout8_after.jsonl")


def pick_notes8(notes: dict[str, dict]) -> list[tuple[str, str]]:
    """``(note_id, "heldout8")`` of 20 notes that none of :func:`pick_notes` .. :func:`pick_notes7` or the files of
    :data:`USED_BY8` and :data:`USED_BY8_ALSO` took (nor a copy of one's text): at most 2 notes of a specialty, drawn
    by :func:`_rounds_of_specialties` as set #7 (seed 181)."""
    used = (_picked(notes, pick_notes, pick_notes2, pick_notes3, pick_notes4, pick_notes5, pick_notes6, pick_notes7)
            | used_note_ids(USED_BY8 + USED_BY8_ALSO))
    return _rounds_of_specialties(notes, used, SEED8, "heldout8")


def cmd_sample(args) -> None:
    import medlens

    notes = read_notes()
    nlp = medlens.load()
    second, third = getattr(args, "second", False), getattr(args, "third", False)
    fourth, fifth = getattr(args, "fourth", False), getattr(args, "fifth", False)
    sixth, seventh = getattr(args, "sixth", False), getattr(args, "seventh", False)
    eighth = getattr(args, "eighth", False)
    per_note = PER_NOTE8 if eighth else PER_NOTE7 if seventh else PER_NOTE6 if sixth else PER_NOTE5 if fifth else PER_NOTE4 if fourth else PER_NOTE
    if eighth:
        rng, out, picked = random.Random(SEED8 + 1), {"heldout8": []}, pick_notes8(notes)
    elif seventh:
        rng, out, picked = random.Random(SEED7 + 1), {"heldout7": []}, pick_notes7(notes)
    elif sixth:
        rng, out, picked = random.Random(SEED6 + 1), {"heldout6": []}, pick_notes6(notes)
    elif fifth:
        rng, out, picked = random.Random(SEED5 + 1), {"heldout5": []}, pick_notes5(notes)
    elif fourth:
        rng, out, picked = random.Random(SEED4 + 1), {"heldout4": []}, pick_notes4(notes)
    elif third:
        rng, out, picked = random.Random(SEED3 + 1), {"heldout3": []}, pick_notes3(notes)
    elif second:
        rng, out, picked = random.Random(SEED2 + 1), {"heldout2": []}, pick_notes2(notes)
    else:
        rng, out, picked = random.Random(SEED + 1), {"dev": [], "heldout": []}, pick_notes(notes)
    for nid, split in picked:
        note = notes[nid]
        _, rows = entity_rows(nlp, note, None)
        if not rows:
            continue
        first = rng.randrange(max(1, len(rows) - per_note + 1))
        sel = rows[first: first + per_note]
        window = (sel[0]["start"], sel[-1]["end"])
        for r in sel:
            out[split].append({"note_id": nid, "specialty": note["medical_specialty"].strip(), "split": split,
                               "window": list(window), **r})
    OUT.mkdir(exist_ok=True)
    for split, rows in out.items():
        path = OUT / f"mtsamples_entities_{split}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{path}: {len(rows)} entities, {len({r['note_id'] for r in rows})} notes")


def _key(r: dict) -> tuple:
    return (r["note_id"], r["start"], r["end"], r["label"], tuple(r["link"] or ()), r["assertion"])


def cmd_rerun(args) -> None:
    import medlens

    notes = read_notes()
    judged = [json.loads(line) for line in Path(args.judged or OUT / f"mtsamples_entities_{args.split}.jsonl").open()]
    windows = {}
    for r in judged:
        windows[r["note_id"]] = tuple(r["window"])
    old = {_key(r): r for r in judged}
    nlp = medlens.load()
    carried = new = 0
    with open(args.out, "w", encoding="utf-8") as fh:
        for nid, window in windows.items():
            note = notes[nid]
            _, rows = entity_rows(nlp, note, window)
            for r in rows:
                row = {"note_id": nid, "specialty": note["medical_specialty"].strip(), "split": args.split,
                       "window": list(window), **r}
                prev = old.get(_key(row))
                if prev is not None and "label_ok" in prev:
                    for k in ("label_ok", "label_gold", "link_ok", "link_gold", "assertion_ok", "assertion_gold", "note"):
                        if k in prev:
                            row[k] = prev[k]
                    carried += 1
                else:
                    new += 1
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{args.out}: {carried} entities unchanged (verdicts carried over), {new} to judge")


def score(rows: list[dict]) -> dict:
    """Label precision, top-link precision, assertion accuracy of judged rows."""
    judged = [r for r in rows if "label_ok" in r]
    label_ok = sum(bool(r["label_ok"]) for r in judged)
    real = [r for r in judged if r.get("label_gold") != "O"]
    linked = [r for r in real if r.get("link") and r.get("link_ok") is not None]
    link_ok = sum(bool(r["link_ok"]) for r in linked)
    ass_ok = sum(bool(r["assertion_ok"]) for r in real)
    return {
        "entities": len(rows), "judged": len(judged), "not_entities": len(judged) - len(real),
        "label_precision": label_ok / max(1, len(judged)),
        "linked": len(linked), "link_precision": link_ok / max(1, len(linked)),
        "unlinked": sum(1 for r in real if not r.get("link")),
        "assertion_accuracy": ass_ok / max(1, len(real)),
    }


def cmd_score(args) -> None:
    for path in args.files:
        rows = [json.loads(line) for line in Path(path).open()]
        s = score(rows)
        print(path, json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in s.items()}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("sample")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--second", action="store_true",
                   help="sample held-out set #2 (20 notes the first sample did not take) instead")
    g.add_argument("--third", action="store_true",
                   help="sample held-out set #3 (20 notes no earlier sample or MTSamples benchmark file took) instead")
    g.add_argument("--fourth", action="store_true",
                   help="sample held-out set #4 (20 notes no earlier sample or benchmark file took; 12 entities a "
                        "window) instead")
    g.add_argument("--fifth", action="store_true",
                   help="sample held-out set #5 (20 notes no earlier sample or benchmark file took; 12 entities a "
                        "window) instead")
    g.add_argument("--sixth", action="store_true",
                   help="sample held-out set #6 (20 notes no earlier sample or benchmark file took; 12 entities a "
                        "window) instead")
    g.add_argument("--seventh", action="store_true",
                   help="sample held-out set #7 (20 notes no earlier sample or benchmark file took, at most 2 of a "
                        "specialty; 13 entities a window) instead")
    g.add_argument("--eighth", action="store_true",
                   help="sample held-out set #8 (20 notes no earlier sample or benchmark file took, at most 2 of a "
                        "specialty; 12 entities a window) instead")
    p = sub.add_parser("rerun")
    p.add_argument("--split", choices=["dev", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6",
                                       "heldout7", "heldout8"], required=True)
    p.add_argument("--judged", default=None, help="judged file (default: the frozen file of the split)")
    p.add_argument("--out", required=True)
    p = sub.add_parser("score")
    p.add_argument("files", nargs="+")
    args = ap.parse_args()
    {"sample": cmd_sample, "rerun": cmd_rerun, "score": cmd_score}[args.cmd](args)


if __name__ == "__main__":
    main()
