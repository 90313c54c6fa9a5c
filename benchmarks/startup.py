"""Cold start: how long until ``medlens.load()`` has analyzed its first document.

    .venv/bin/python benchmarks/startup.py [--runs 7] [--kg PATH] [--no-model] [--json OUT]

Each run is a fresh interpreter (``python -c``) that does exactly what a user does:
``import medlens; nlp = medlens.load(); nlp("x")``, with every default component (the
shipped transformer recognizer, adverse-event tagger and document classifier included).
The child reports three stages (import, ``load()``, first document) on its own clock;
the parent measures the whole process (interpreter start and exit included) and its CPU
time (user + system, all threads), which other jobs on the machine disturb far less than
wall time. Files are in the page cache after the first run (a warm disk, cold process).

Prints min and median of each figure over the runs. On a shared machine the minimum is
the best estimate of the quiet-machine time (noise only ever adds time).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import medlens
t1 = time.perf_counter()
nlp = medlens.load(**json.loads(sys.argv[1]))
t2 = time.perf_counter()
nlp("x")
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "first_doc": t3 - t2, "ready": t3 - t0,
                  "components": nlp.pipe_names, "torch_imported": "torch" in sys.modules}))
"""


def cpu_flags() -> str:
    """The SIMD instruction sets of this CPU that matter for int8 inference (from /proc/cpuinfo)."""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return platform.machine()
    keep = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f in flags]
    return " ".join(keep) or "no AVX2"


def one_run(kwargs: dict, env: dict) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(kwargs)], capture_output=True, text=True, env=env,
                          cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"the child failed:\n{proc.stderr[-3000:]}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row["process_wall"] = wall
    row["process_cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--kg", help="knowledge graph (default: $MEDLENS_KG or the default location)")
    ap.add_argument("--no-model", action="store_true", help="the rules-only pipeline (RULES_ONLY)")
    ap.add_argument("--json", type=Path, help="write every run and the summary here")
    args = ap.parse_args()

    kwargs: dict = {}
    if args.kg:
        kwargs["kg_path"] = args.kg
    if args.no_model:
        from medlens.config import RULES_ONLY

        kwargs["components"] = list(RULES_ONLY)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    one_run(kwargs, env)  # warm the page cache; not counted
    runs = [one_run(kwargs, env) for _ in range(args.runs)]
    keys = ("import", "load", "first_doc", "ready", "process_wall", "process_cpu")
    summary = {k: {"min": min(r[k] for r in runs), "median": statistics.median(r[k] for r in runs)} for k in keys}
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"medlens cold start, {args.runs} runs, {os.cpu_count()} cores ({cpu_flags()}), load average {load:.1f}")
    print(f"components: {', '.join(runs[0]['components'])}; torch imported: {runs[0]['torch_imported']}")
    print(f"{'stage':<14}{'min s':>8}{'median s':>10}")
    for k in keys:
        print(f"{k:<14}{summary[k]['min']:>8.2f}{summary[k]['median']:>10.2f}")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "summary": summary, "cpu": cpu_flags(), "load_average": load},
                                        indent=1))


if __name__ == "__main__":
    main()
