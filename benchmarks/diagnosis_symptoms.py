"""Free-text symptom descriptions → diagnosis with a disease–symptom table.

The table is ``../shared/data/disease-symptom-kb`` (41 diseases, 131 symptoms),
loaded through :class:`medlens.reasoning.DiseaseSymptomTable` — never copied
into the repository. The descriptions are ``benchmarks/data/symptom_descriptions.jsonl``:
lay-language patient descriptions written for medlens (several per disease,
varied wording, some negations). Each goes through the lay rewriter, the
pipeline (with ConText negation), the table's symptom matching and naive
Bayes; we report top-1 and top-3 accuracy.

Run: ``.venv/bin/python benchmarks/diagnosis_symptoms.py`` (``--table DIR``, ``--no-readme``, ``--errors``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import markdown_table, run_info, update_readme_section  # noqa: E402

HEADING = "Differential diagnosis: lay symptom descriptions"
ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "benchmarks" / "data" / "symptom_descriptions.jsonl"
TABLE = ROOT.parent / "shared" / "data" / "disease-symptom-kb"


def norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--table", type=Path, default=TABLE)
    ap.add_argument("--dev", type=Path, default=DEV)
    ap.add_argument("--kg", type=Path, default=None)
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--errors", action="store_true", help="print the descriptions ranked wrong")
    args = ap.parse_args()
    if not (args.table / "dataset.csv").is_file():
        sys.exit(f"disease-symptom table not found: {args.table} (the labeled data lives in ../shared/data)")

    from medlens.reasoning import DiagnosisEngine, DiseaseSymptomTable

    t0 = time.perf_counter()
    table = DiseaseSymptomTable.from_dir(args.table)
    engine = DiagnosisEngine.load(args.kg, table=table)
    engine.symptom_concepts()
    ready = time.perf_counter() - t0
    cases = [json.loads(line) for line in args.dev.read_text(encoding="utf-8").splitlines() if line.strip()]
    known = {norm(d) for d in table.diseases}
    missing = sorted({c["disease"] for c in cases if norm(c["disease"]) not in known})
    if missing:
        sys.exit(f"dev set diseases not in the table: {missing}")
    top1 = top3 = 0
    ranks = []
    negated = 0
    start = time.perf_counter()
    for c in cases:
        findings = engine.findings(text=c["text"])
        negated += any(f.status == "absent" for f in findings)
        res = engine.diagnose(findings, top=len(table.diseases), questions=0)
        names = [norm(d.name) for d in res.diagnoses]
        rank = names.index(norm(c["disease"])) + 1 if norm(c["disease"]) in names else len(table.diseases)
        ranks.append(rank)
        top1 += rank == 1
        top3 += rank <= 3
        if args.errors and rank > 1:
            print(f"rank {rank}: {c['disease']} <- {c['text']}\n   found: {[(f.name, f.status) for f in res.findings]}"
                  f"\n   top: {[d.name for d in res.diagnoses[:3]]}")
    secs = time.perf_counter() - start
    n = len(cases)
    info = run_info()
    table_md = markdown_table(
        ["descriptions", "diseases", "with a negation", "top-1 %", "top-3 %", "mean rank", "ms/description"],
        [[n, len({c['disease'] for c in cases}), negated, f"{100 * top1 / n:.1f}", f"{100 * top3 / n:.1f}",
          f"{sum(ranks) / n:.2f}", f"{1000 * secs / n:.0f}"]], align=["r"] * 7)
    md = (f"Recorded {info['date']} on {info['machine']['summary']}, commit {info['commit']}.\n\n{table_md}\n\n"
          f"Run: `.venv/bin/python benchmarks/diagnosis_symptoms.py`. Table: `../shared/data/disease-symptom-kb` "
          f"({len(table.diseases)} diseases, {len(table.symptoms)} symptoms) read by `DiseaseSymptomTable.from_dir`; "
          f"scorer: naive Bayes (add-1 smoothing, present and negated symptoms; symptoms not mentioned are unknown). "
          f"Descriptions: `benchmarks/data/symptom_descriptions.jsonl`, {n} lay-language descriptions written for "
          f"medlens ({negated} with at least one negated finding). This is a development set: the lay lexicon "
          f"(`medlens/resources/en/lay_synonyms.json`) was written alongside it, so the figures are optimistic for "
          f"unseen wording. Engine ready (graph, pipeline, symptom linking) in {ready:.1f} s; time per description "
          f"includes the pipeline.")
    if not args.no_readme:
        update_readme_section(HEADING, md)
    print(md)


if __name__ == "__main__":
    main()
