"""A distilled NER student against its teacher: devel strict F1 and speed, side by side in one process.

Accuracy: both int8 models on the devel splits of NCBI-disease and BC5CDR, each sentence alone
(:func:`ner_model.accuracy`, the same scoring as the "NER model" section). Speed: both models through
``medlens_transformer_ner`` on the same BC5CDR devel sentences and ~200-word documents, at each thread
count, taking turns for ``--rounds`` rounds (median; :func:`ner_model.speed`), and words per CPU-second on
1 thread (process CPU time, steadier than wall time on a shared machine; :func:`cpu_speed`). The verdict is issue 17's
rule: the student may replace the teacher only if its strict F1 is within 0.5 of the teacher's on every
devel type and it is at least 1.6x faster.

    python benchmarks/ner_distill.py --student /tmp/student/onnx [--teacher medlens/assets/ner] --json-out r.json

Prints markdown tables; the figures go into benchmarks/README.md by hand ("NER distillation (issue 17)").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from _report import markdown_table, run_info  # noqa: E402
from ner_model import ASSET, DEVSETS, accuracy, speed, speed_texts  # noqa: E402

MAX_F1_DROP = 0.5
MIN_SPEEDUP = 1.6


def cpu_speed(texts: list[str], models: dict[str, str], rounds: int) -> dict[str, float]:
    """Words per CPU-second of each model through the component on 1 thread (process CPU time, which other
    jobs on a shared machine disturb far less than wall time): the median of ``rounds`` alternating runs."""
    import statistics
    import time

    import spacy

    import medlens.components.transformer_ner  # noqa: F401  (registers the factory)

    n_words = sum(len(t.split()) for t in texts)
    pipes = {}
    for name, path in models.items():
        nlp = spacy.blank("en")
        nlp.add_pipe("medlens_transformer_ner", config={"model_path": path, "threads": 1})
        list(nlp.pipe(texts[:16]))
        pipes[name] = nlp
    runs: dict[str, list[float]] = {k: [] for k in pipes}
    for _ in range(rounds):
        for name, nlp in pipes.items():
            t0 = time.process_time()
            list(nlp.pipe(texts))
            runs[name].append(n_words / (time.process_time() - t0))
    return {k: round(statistics.median(v)) for k, v in runs.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--student", required=True, help="the student's exported folder (model.int8.onnx)")
    ap.add_argument("--teacher", default=str(ASSET), help="the teacher's int8 folder (default: the shipped model)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--speed-words", type=int, default=20000)
    ap.add_argument("--speed-only", action="store_true")
    ap.add_argument("--max-sentences", type=int, default=None, help="score only the first N devel sentences (quick checks)")
    ap.add_argument("--json-out")
    args = ap.parse_args()
    missing = [str(p) for p, _ in DEVSETS.values() if not p.exists()]
    if missing:
        sys.exit(f"skipped: corpora not found ({', '.join(missing)}); they live in ../shared/data")
    teacher, student = Path(args.teacher), Path(args.student)
    out: dict = {"run": run_info(), "teacher": str(teacher), "student": str(student)}
    if not args.speed_only:
        rows, raw = accuracy({"teacher": str(teacher / "model.int8.onnx"), "student": str(student / "model.int8.onnx")},
                            args.max_sentences)
        print(markdown_table(["model", "devel set", "type", "strict P", "strict R", "strict F1", "overlap P", "overlap R",
                              "overlap F1", "gold"], rows, ["l", "l", "l", "r", "r", "r", "r", "r", "r", "r"]))
        out["accuracy"] = raw
        drops = {}
        for key, sc in raw.items():
            model, dset = key.split("|")
            if model != "student":
                continue
            for typ, s in sc["strict"].items():
                if typ == "micro" and len(sc["strict"]) == 2:
                    continue
                drops[f"{dset} {typ}"] = round(100 * (s["f1"] - raw[f"teacher|{dset}"]["strict"][typ]["f1"]), 2)
        out["f1_difference"] = drops
        print("student - teacher strict F1:", drops)
    sentences, documents = speed_texts(args.speed_words)
    threads = [int(x) for x in args.threads.split(",")]
    rows, info = speed({"sentences": sentences, "documents": documents}, teacher, None, threads, args.rounds, 16,
                       {"student": str(student)})
    teacher_name = "medlens_transformer_ner (ONNX Runtime, int8)"
    speedups = {k: round(v["words_per_second"]["student"] / v["words_per_second"][teacher_name], 2)
                for k, v in info.items() if "|" in k}
    print(markdown_table(["texts", "threads", "model", "words/s", "texts/s", "entities", ""],
                         [[*r[:2], "teacher" if r[2] == teacher_name else r[2], *r[3:]] for r in rows]))
    print("student / teacher words/s:", speedups)
    out.update(speed=info, speedup=speedups)
    cpu = {tname: cpu_speed(xs, {"teacher": str(teacher), "student": str(student)}, max(args.rounds, 5))
           for tname, xs in {"sentences": sentences, "documents": documents}.items()}
    out["cpu_words_per_second"] = cpu
    for tname, v in cpu.items():
        print(f"{tname}, 1 thread, words per CPU-second: teacher {v['teacher']:,}, student {v['student']:,} "
              f"({v['student'] / v['teacher']:.2f}x)")
    if "f1_difference" in out:
        ok = all(d >= -MAX_F1_DROP for d in out["f1_difference"].values()) and min(speedups.values()) >= MIN_SPEEDUP
        out["ships"] = ok
        print(f"ships (every F1 within {MAX_F1_DROP}, every speed-up >= {MIN_SPEEDUP}x): {ok}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(out, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
