"""Convert the DDXPlus knowledge (CC-BY) into medlens's compact common-disease file.

Reads ``../shared/data/ddxplus/fr/`` (the original French release: conditions,
evidences, and ``ddxplus_bed_stats_4.json`` = the prior of each pathology and
P(evidence value | pathology) computed from DDXPlus's synthetic *training*
patients) and writes ``medlens/resources/en/common/ddxplus.json``, which
medlens ships and reads at run time (the package never needs ../shared).

Each pathology gets its ICD-10-CM code: DDXPlus writes WHO ICD-10 codes, some
in lower case, one as two categories; the code is upper-cased, checked with
``simple_icd_10_cm``, and replaced where the mapping file's ``icd10cm`` table
says ICD-10-CM differs (the reason is kept).

With ``--resolve KG`` it also resolves the reviewed mapping file's ``terms``
(HPO / ICD-10-CM names or ids) to graph concept ids and writes them back as
``concepts`` (a reviewer then checks the diff).

Usage::

    python scripts/convert_ddxplus.py [--data ../shared/data/ddxplus] [--resolve KG]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "medlens" / "resources" / "en" / "common" / "ddxplus.json"
MAPPING = ROOT / "medlens" / "resources" / "en" / "common" / "ddxplus_mapping.json"
FLOOR = 1e-4  # values below this in the bed stats (1e-07 = "never seen") are dropped

SOURCE = {
    "name": "ddxplus",
    "version": "2022 (fr release, bed stats 4)",
    "title": "DDXPlus: a dataset for automatic medical diagnosis (49 pathologies, 223 evidences)",
    "license": "CC-BY 4.0",
    "origin": ("Fansi Tchango A, Goel R, Wen Z, Martel J, Ghosn J. DDXPlus: A New Dataset For Automatic Medical "
               "Diagnosis. NeurIPS 2022 Datasets and Benchmarks. https://github.com/mila-iqia/ddxplus; "
               "probabilities from ddxplus_bed_stats_4.json (mila-iqia/Casande-RL), computed from DDXPlus training patients"),
}


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()


def icd10cm_code(raw: str, overrides: dict) -> tuple[str, str, str | None]:
    """(original, ICD-10-CM code, reason it differs or None)."""
    import simple_icd_10_cm as cm

    orig = ", ".join(c.strip().upper() for c in raw.split(","))
    if orig in overrides:
        code, why = overrides[orig]["code"], overrides[orig]["why"]
    else:
        code, why = orig, None
    if not cm.is_valid_item(code):
        raise SystemExit(f"ICD-10-CM code {code!r} (DDXPlus {raw!r}) is not in ICD-10-CM; add it to the mapping's icd10cm table")
    return orig, code, why


def convert(data: Path) -> dict:
    fr = data / "fr"
    conds = json.loads((fr / "release_conditions.json").read_text(encoding="utf-8"))
    evs = json.loads((fr / "release_evidences.json").read_text(encoding="utf-8"))
    stats = json.loads((fr / "ddxplus_bed_stats_4.json").read_text(encoding="utf-8"))
    mapping = json.loads(MAPPING.read_text(encoding="utf-8"))
    overrides = {k: v for k, v in mapping["icd10cm"].items() if k != "about"}
    diseases = []
    for fr_name, c in conds.items():
        st = stats[fr_name]
        orig, code, why = icd10cm_code(c["icd10-id"], overrides)
        findings: dict[str, float] = {}
        values: dict[str, dict[str, float]] = {}
        for ev, p in st["findings"].items():
            if ev not in evs:
                raise SystemExit(f"{fr_name}: evidence {ev!r} of the bed stats is not in release_evidences.json")
            if isinstance(p, dict):
                kept = {str(v): round(q, 4) for v, q in p.items() if q >= FLOOR}
                if kept:
                    values[ev] = kept
            else:
                findings[ev] = round(float(p), 4)
        diseases.append({
            "id": "DDXPLUS:" + slug(c["cond-name-eng"]),
            "name": c["cond-name-eng"],
            "name_fr": fr_name,
            "icd10": orig,
            "icd10cm": code,
            **({"icd10cm_note": why} if why else {}),
            "severity": int(c["severity"]),
            "prior": round(float(st["prior"]), 6),
            "evidences": sorted([*c["symptoms"], *c["antecedents"]]),
            "findings": findings,
            "values": values,
        })
    evidences = {}
    for name, e in evs.items():
        evidences[name] = {
            "question": e["question_en"],
            "antecedent": bool(e["is_antecedent"]),
            "type": e["data_type"],
            "default": e["default_value"],
            **({"values": {k: v["en"] for k, v in e["value_meaning"].items()}} if e["value_meaning"] else {}),
        }
    return {"source": SOURCE, "diseases": diseases, "evidences": evidences}


def resolve(kg_path: str) -> None:
    """Write graph concept ids for the mapping's ``terms`` (names or ids)."""
    from medlens.kg.store import KnowledgeGraph

    kg = KnowledgeGraph.open(kg_path)
    mapping = json.loads(MAPPING.read_text(encoding="utf-8"))
    missing = []

    def ids_of(terms: list[str]) -> list[str]:
        out: list[str] = []
        for t in terms:
            if ":" in t and not t.endswith(":"):
                if kg.concept(t) is None:
                    missing.append(t)
                    continue
                out.append(t)
                continue
            found = [c.id for c in kg.lookup(t) if c.id.startswith("HP:")] or \
                    [c.id for c in kg.lookup(t) if c.id.startswith("ICD10CM:")]
            if not found:
                missing.append(t)
            out.extend(found[:2])
        return list(dict.fromkeys(out))

    for entry in mapping["evidences"].values():
        entry["concepts"] = ids_of(entry.get("terms", []))
    for groups in mapping["values"].values():
        for entry in groups.values():
            entry["concepts"] = ids_of(entry.get("terms", []))
    MAPPING.write_text(json.dumps(mapping, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"resolved; not found in the graph: {sorted(set(missing))}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ddxplus"))
    ap.add_argument("--resolve", metavar="KG", help="resolve the mapping's terms to concept ids with this graph")
    args = ap.parse_args()
    if args.resolve:
        resolve(args.resolve)
    out = convert(Path(args.data))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KB): {len(out['diseases'])} diseases, {len(out['evidences'])} evidences")


if __name__ == "__main__":
    main()
