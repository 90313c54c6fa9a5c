"""Compare finished `medlens train ner` runs epoch by epoch (devel strict F1), e.g. with and without domain pretraining.

    .venv/bin/python benchmarks/ner_runs.py NAME=RUN_DIR [NAME=RUN_DIR ...] [--note TEXT] [--no-readme]

Each RUN_DIR is a `medlens train ner -o RUN_DIR` output (its ``history.json`` and
``train_config.json``; a base model written by `medlens pretrain` is described from
its ``pretrain.json``). The table goes into benchmarks/README.md under
"## NER training runs". Runs are compared on the same devel sets the runs were
scored on each epoch (PyTorch, during training).

The recipe used for the domain-pretraining experiment:

    python scripts/shared_text.py /tmp/text
    medlens pretrain /tmp/text -o /tmp/mlm --epochs 1 --lr 1e-4 --max-steps 400 --threads 1
    medlens train ner ... --base-model /tmp/mlm/best -o /tmp/ner-dapt   # the shipped model's recipe
    medlens train ner ... -o /tmp/ner-base                              # the same without --base-model
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _report import markdown_table, run_info, update_readme_section  # noqa: E402

COLUMNS = (("ncbi", "DISEASE", "NCBI DISEASE"), ("bc5cdr", "CHEMICAL", "BC5CDR CHEMICAL"),
           ("bc5cdr", "DISEASE", "BC5CDR DISEASE"), ("bc5cdr", "micro", "BC5CDR micro"))


def describe(run: Path) -> str:
    """Base model and settings of a run, in a few words."""
    cfg = json.loads((run / "train_config.json").read_text(encoding="utf-8"))
    base = "all-MiniLM-L6-v2"
    if cfg.get("base_model"):
        meta_path = Path(cfg["base_model"]) / "pretrain.json"
        if meta_path.is_file():
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            steps = f"{meta['step']} steps" if "step" in meta else f"{meta.get('epoch', '?')} epoch(s)"
            base = f"all-MiniLM-L6-v2 + MLM on shared text ({steps})"
        else:
            base = Path(cfg["base_model"]).name
    frozen = ", frozen embeddings" if cfg.get("freeze_embeddings") else ""
    packed = ", packed sentences (scored packed)" if cfg.get("pack_sentences") else ""
    return (f"{base}; {cfg['epochs']} epochs, lr {cfg['lr']}, batch {cfg['batch_size']}, "
            f"max length {cfg['max_length']}{frozen}{packed}, {cfg.get('threads') or 'all'} thread(s)")


def rows_for(name: str, run: Path) -> list[list[object]]:
    history = json.loads((run / "history.json").read_text(encoding="utf-8"))
    rows = []
    for rec in history:
        cells: list[object] = [name, rec["epoch"], f"{rec['seconds'] / 60:.1f}"]
        for corpus, typ, _ in COLUMNS:
            f1 = rec.get(corpus, {}).get("strict", {}).get(typ, {}).get("f1")
            cells.append("–" if f1 is None else f"{100 * f1:.2f}")
        rows.append(cells)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="NAME=RUN_DIR")
    ap.add_argument("--note", action="append", default=[], help="A line to add under the table (repeatable).")
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args(argv)
    rows, runs = [], []
    for item in args.runs:
        name, _, path = item.partition("=")
        run = Path(path)
        if not (run / "history.json").is_file():
            print(f"{run}: no history.json (not a finished `medlens train ner` run)", file=sys.stderr)
            return 2
        rows += rows_for(name, run)
        runs.append(f"- **{name}**: {describe(run)}.")
    table = markdown_table(["run", "epoch", "elapsed min", *(c[2] for c in COLUMNS)], rows, align="lrrrrrr")
    print(table)
    if not args.no_readme:
        info = run_info()
        md = (f"Recorded {info['date']} on {info['machine']['summary']}, commit {info['commit']}. "
              "Devel strict F1 (seqeval conventions) after each epoch, PyTorch fp32, as the training loop scores it.\n\n"
              + table + "\n\n" + "\n".join(runs) + "\n"
              + ("\n" + "\n".join(args.note) + "\n" if args.note else "")
              + "\nRun: `.venv/bin/python benchmarks/ner_runs.py NAME=RUN_DIR ...` (see the script's docstring for the recipe).")
        update_readme_section("NER training runs", md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
