"""Write the gold list of mtsamples notes whose assessment names one of the 49 DDXPlus diseases (run ONCE).

For every note of ../shared/data/mtsamples/notes.csv that tells the presentation
(a HISTORY OF PRESENT ILLNESS, SUBJECTIVE, CHIEF COMPLAINT or REASON FOR ... section)
and is not an operative or radiology report, the assessment-type sections
(ASSESSMENT, IMPRESSION, DIAGNOSIS/DIAGNOSES of any kind, A/P) are searched for
the names of the DDXPlus diseases (the ``diseases`` patterns of
medlens/resources/en/common/ddxplus_mapping.json, written before this list).
Notes with a match become gold cases: the diseases named (in order of mention;
the first is the primary), and a split by note id (even = dev, odd = held-out).
At evaluation time the assessment and plan sections are cut from the input, so
the answer is not in the text given to medlens.

Output: benchmarks/data/common_mtsamples_gold.json (committed before any tuning).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "mtsamples" / "notes.csv"
OUT = ROOT / "benchmarks" / "data" / "common_mtsamples_gold.json"

HEADER = re.compile(r"(?:^|[,.]\s*|\s{2,})([A-Z][A-Z /&()-]{2,60}):", re.M)
ASSESS = re.compile(r"ASSESSMENT|IMPRESSION|DIAGNOS|^A/P$|^PLAN$|RECOMMENDATION|FINDINGS AT|DISPOSITION")
PRESENTATION = re.compile(r"HISTORY OF PRESENT ILLNESS|SUBJECTIVE|CHIEF COMPLAINT|REASON FOR (ADMISSION|CONSULT|VISIT|REFERRAL)|HISTORY:")


def sections(text: str) -> list[tuple[str, int, int]]:
    """``(header, start, end)`` of each header-led section (start = the header's position)."""
    heads = [(m.group(1).strip(), m.start(1)) for m in HEADER.finditer(text)]
    return [(h, s, heads[i + 1][1] if i + 1 < len(heads) else len(text)) for i, (h, s) in enumerate(heads)]


def split_note(text: str) -> tuple[str, str]:
    """``(input text without assessment-type sections, the assessment text)``."""
    keep, answer, pos = [], [], 0
    secs = sections(text)
    if secs:
        keep.append(text[:secs[0][1]])
    for h, s, e in secs:
        (answer if ASSESS.search(h) else keep).append(text[s:e])
    if not secs:
        keep.append(text)
    return "".join(keep), " ".join(answer)


def main() -> None:
    mapping = json.loads((ROOT / "medlens/resources/en/common/ddxplus_mapping.json").read_text(encoding="utf-8"))
    names = {d["id"]: d["name"] for d in json.loads((ROOT / "medlens/resources/en/common/ddxplus.json").read_text(encoding="utf-8"))["diseases"]}
    pats = {did: [re.compile(rf"(?<![\w-]){p}(?![\w-])", re.I) for p in v["patterns"]]
            for did, v in mapping["diseases"].items() if did != "about"}
    rows = list(csv.DictReader(DATA.open(encoding="utf-8")))
    cases = []
    for r in rows:
        if r["medical_specialty"].strip() in ("Surgery", "Radiology", "Autopsy", "Lab Medicine - Pathology"):
            continue
        text = r["transcription"]
        if not PRESENTATION.search(text):
            continue
        given, answer = split_note(text)
        if not answer.strip() or len(given) < 200:
            continue
        found = []
        for did, ps in pats.items():
            hits = [m.start() for p in ps for m in [p.search(answer)] if m]
            # a negated or ruled-out mention is not the diagnosis
            if hits:
                pos = min(hits)
                before = answer[max(0, pos - 40):pos].lower()
                if re.search(r"\b(no|not|without|rule out|r/o|negative for|history of|h/o|status post|s/p)\b", before):
                    continue
                found.append((pos, did))
        if not found:
            continue
        gold = [did for _, did in sorted(found)]
        split = "dev" if int(hashlib.sha1(r["note_id"].encode()).hexdigest(), 16) % 2 == 0 else "heldout"
        cases.append({"note_id": r["note_id"], "specialty": r["medical_specialty"].strip(), "sample_name": r["sample_name"].strip(),
                      "gold": gold, "gold_names": [names[g] for g in gold], "split": split})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"about": __doc__.strip().split("\n")[0], "source": "mtsamples notes.csv (kdpsingh/clinspacy, MIT)",
                               "cases": cases}, indent=1) + "\n", encoding="utf-8")
    from collections import Counter
    print(len(cases), Counter(c["split"] for c in cases), Counter(c["gold_names"][0] for c in cases).most_common())


if __name__ == "__main__":
    main()
