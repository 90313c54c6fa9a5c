"""Where the default pipeline spends its time, component by component, on real notes.

    .venv/bin/python benchmarks/profile_pipeline.py [--notes 100] [--repeats 3] [--kg PATH]
        [--cprofile COMPONENT] [--json OUT]

Data: ``../shared/data/mtsamples/notes.csv`` (real transcribed notes; a development set:
nothing is tuned on it here, it only measures speed). The first ``--notes`` notes in file
order are read once; the pipeline is ``medlens.load()`` with every default component.

Each repeat runs the components one after another over all the notes, as ``nlp.pipe``
does (a component with a ``pipe`` method gets the documents in batches of
``--batch-size``), and times each component. The figure per component is the minimum
over the repeats: on a shared machine other jobs only ever add time, so the minimum is
the most stable estimate (also report the machine load). The first repeat also warms
caches (ONNX Runtime's, the linker's), as a long batch job would be; its times are printed
as "1st run". "CPU s" is the CPU time of the whole process (all threads) during the
component: less disturbed by other jobs than wall time, but it counts the model threads'
work, not the wait.

``--cprofile medlens_linker`` prints the top functions inside one component (cProfile,
one extra pass). The output fingerprint (a hash of every entity, its label, assertion,
concept links, the categories and the adverse events) shows whether a change kept the
results identical.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import hashlib
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "mtsamples" / "notes.csv"


def read_notes(path: Path, n: int) -> list[str]:
    if not path.is_file():
        sys.exit(f"{path} not found: this benchmark reads the MTSamples notes of ../shared/data (see its README).")
    csv.field_size_limit(10_000_000)
    with path.open(newline="", encoding="utf-8") as fh:
        texts = [row["transcription"] for row in csv.DictReader(fh) if row["transcription"].strip()]
    return texts[:n]


def run_components(nlp, texts: list[str], batch_size: int, only: str | None = None,
                   profiler=None) -> tuple[dict, dict, list]:
    """Wall seconds and CPU seconds (all threads of the process) per component (and the
    tokenizer) over ``texts``; the final docs."""
    times, cpu = {}, {}
    t, c = time.perf_counter(), time.process_time()
    docs = [nlp.make_doc(text) for text in texts]
    times["tokenizer"], cpu["tokenizer"] = time.perf_counter() - t, time.process_time() - c
    for name, proc in nlp.pipeline:
        if profiler is not None and name == only:
            profiler.enable()
        t, c = time.perf_counter(), time.process_time()
        if hasattr(proc, "pipe"):
            docs = list(proc.pipe(docs, batch_size=batch_size))
        else:
            docs = [proc(doc) for doc in docs]
        times[name], cpu[name] = time.perf_counter() - t, time.process_time() - c
        if profiler is not None and name == only:
            profiler.disable()
    return times, cpu, docs


def fingerprint(docs) -> str:
    h = hashlib.sha256()
    for doc in docs:
        for e in doc.ents:
            h.update(repr((e.start_char, e.end_char, e.label_, getattr(e._, "concepts", None),
                           getattr(e._, "assertion", None))).encode())
        h.update(json.dumps({k: round(v, 5) for k, v in sorted(doc.cats.items())}).encode())
        for ev in getattr(doc._, "adverse_events", None) or []:
            h.update(repr(ev).encode())
        h.update(b"#")
    return h.hexdigest()[:16]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--kg", help="knowledge graph (default: $MEDLENS_KG or the default location)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--cprofile", metavar="COMPONENT", help="print cProfile's top functions of this component")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()

    import medlens

    texts = read_notes(args.data, args.notes)
    words = sum(len(t.split()) for t in texts)
    t = time.perf_counter()
    nlp = medlens.load(kg_path=args.kg) if args.kg else medlens.load()
    load_s = time.perf_counter() - t
    runs, cpu_runs = [], []
    for _ in range(args.repeats):
        times, cpu, docs = run_components(nlp, texts, args.batch_size)
        runs.append(times)
        cpu_runs.append(cpu)
    best = {name: min(r[name] for r in runs) for name in runs[0]}
    best_cpu = {name: min(r[name] for r in cpu_runs) for name in runs[0]}
    total_best = min(sum(r.values()) for r in runs)
    total_cpu = min(sum(r.values()) for r in cpu_runs)
    try:
        load_avg = os.getloadavg()[0]
    except OSError:
        load_avg = float("nan")
    print(f"{len(texts)} MTSamples notes, {words:,} words; load() {load_s:.1f} s; {args.repeats} repeats (min); "
          f"machine load average {load_avg:.1f} on {os.cpu_count()} cores")
    print(f"{'component':<28}{'wall s':>8}{'share':>8}{'words/s':>12}{'CPU s':>8}{'1st run s':>11}")
    for name, s in best.items():
        print(f"{name:<28}{s:>8.2f}{s / sum(best.values()):>8.0%}{words / s if s else float('inf'):>12,.0f}"
              f"{best_cpu[name]:>8.2f}{runs[0][name]:>11.2f}")
    print(f"{'all (best repeat)':<28}{total_best:>8.2f}{'':>8}{words / total_best:>12,.0f}{total_cpu:>8.2f}"
          f"{sum(runs[0].values()):>11.2f}")
    fp = fingerprint(docs)
    print(f"output fingerprint: {fp}")
    if args.cprofile:
        prof = cProfile.Profile()
        run_components(nlp, texts, args.batch_size, only=args.cprofile, profiler=prof)
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())
    if args.json:
        args.json.write_text(json.dumps({"notes": len(texts), "words": words, "load_s": load_s, "runs": runs,
                                         "cpu_runs": cpu_runs,
                                         "best": best, "best_cpu": best_cpu, "total_best": total_best, "total_cpu": total_cpu, "words_per_s": words / total_best,
                                         "fingerprint": fp, "load_average": load_avg}, indent=1))


if __name__ == "__main__":
    main()
