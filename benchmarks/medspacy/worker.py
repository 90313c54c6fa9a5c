"""Throughput of medspaCy's default pipeline, for the side-by-side benchmark.

Runs with the medspaCy environment's Python (benchmarks/.envs/medspacy, made by
setup_env.sh), never with medlens's: it imports nothing from medlens.

    benchmarks/.envs/medspacy/bin/python benchmarks/medspacy/worker.py TEXTS.jsonl \
        [--rules RULES.json] [--batch-size 64] [--warmup 20] [--mode both|pipe|loop] [--repeats 1]

TEXTS.jsonl holds one {"text": ...} per line. RULES.json is a list of
{"literal": ..., "category": ...}; each becomes one literal TargetRule (spaCy
PhraseMatcher on LOWER, medspaCy's default), so medspaCy matches a vocabulary
of the same order as medlens's dictionary instead of an empty one.

The pipeline is exactly ``medspacy.load()``: its defaults (DEFAULT_PIPE_NAMES in
medspacy/util.py) are the medspaCy tokenizer, the PyRuSH sentence splitter, the
TargetMatcher and ConText with its default rules; the sectionizer, QuickUMLS,
pre/postprocessors and doc consumer are off by default.

Prints one JSON line on stdout; everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from importlib import metadata


def _rss_mb() -> float:
    """Current resident set size of this process in MB (Linux /proc)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return float("nan")


def _peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _count(docs) -> tuple[int, int]:
    ents = negated = 0
    for doc in docs:
        ents += len(doc.ents)
        negated += sum(1 for e in doc.ents if getattr(e._, "is_negated", False))
    return ents, negated


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("texts", help="JSONL file, one {\"text\": ...} per line")
    ap.add_argument("--rules", help="JSON list of {literal, category} target rules")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=20, help="texts processed before timing")
    ap.add_argument("--mode", choices=("both", "pipe", "loop"), default="both")
    ap.add_argument("--repeats", type=int, default=1, help="timed pipe passes; the best counts")
    ap.add_argument("--sentencizer", choices=("pyrush", "spacy"), default="pyrush",
                    help="diagnostic only: 'spacy' swaps medspaCy's default PyRuSH for spaCy's rule sentencizer")
    args = ap.parse_args(argv)

    with open(args.texts, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f if line.strip()]
    rules_in = []
    if args.rules:
        with open(args.rules, encoding="utf-8") as f:
            rules_in = json.load(f)
    words = sum(len(t.split()) for t in texts)
    rss_start = _rss_mb()

    t0 = time.perf_counter()
    import medspacy
    from medspacy.target_matcher import TargetRule

    # PyRuSH >= 1.0.11 logs every token through loguru; the lock pins 1.0.10, and
    # this keeps the numbers honest should someone run a newer PyRuSH anyway.
    try:
        from loguru import logger

        logger.disable("PyRuSH")
    except ImportError:
        pass
    t_import = time.perf_counter()
    nlp = medspacy.load()
    if args.sentencizer == "spacy":
        nlp.replace_pipe("medspacy_pyrush", "sentencizer")
    t_load = time.perf_counter()
    if rules_in:
        matcher = nlp.get_pipe("medspacy_target_matcher")
        matcher.add([TargetRule(r["literal"], r.get("category", "PROBLEM")) for r in rules_in])
    t_rules = time.perf_counter()
    # spaCy builds some state lazily: warm up on a few texts before the clock starts.
    for doc in nlp.pipe(texts[: args.warmup]):
        pass
    t_ready = time.perf_counter()
    rss_ready = _rss_mb()

    result: dict = {
        "system": "medspacy",
        "texts": len(texts),
        "words": words,
        "target_rules": len(rules_in),
        "pipe_names": nlp.pipe_names,
        "tokenizer": f"{type(nlp.tokenizer).__module__}.{type(nlp.tokenizer).__name__}",
        "import_seconds": round(t_import - t0, 3),
        "load_seconds": round(t_load - t_import, 3),
        "rules_seconds": round(t_rules - t_load, 3),
        "ready_seconds": round(t_rules - t0, 3),  # import + load + rules, without warm-up
        "warmup_seconds": round(t_ready - t_rules, 3),
        "batch_size": args.batch_size,
    }

    if args.mode in ("both", "pipe"):
        passes = []
        for _ in range(max(1, args.repeats)):  # the best pass: on a shared machine other jobs only add time
            t, c = time.perf_counter(), time.process_time()
            ents, neg = _count(nlp.pipe(texts, batch_size=args.batch_size))
            passes.append((time.perf_counter() - t, time.process_time() - c))
        secs, cpu = min(passes)
        result.update(
            seconds=round(secs, 3),
            words_per_second=round(words / secs, 1),
            entities=ents,
            negated=neg,
            cpu_seconds=round(cpu, 3),
            pass_words_per_second=[round(words / p[0], 1) for p in passes],
        )
    if args.mode in ("both", "loop"):
        t = time.perf_counter()
        ents, neg = _count(nlp(text) for text in texts)
        secs = time.perf_counter() - t
        result.update(
            loop_seconds=round(secs, 3),
            loop_words_per_second=round(words / secs, 1),
            loop_entities=ents,
        )
        if args.mode == "loop":
            result.update(seconds=result["loop_seconds"], words_per_second=result["loop_words_per_second"],
                          entities=ents, negated=neg)

    result.update(
        rss_start_mb=round(rss_start, 1),
        rss_ready_mb=round(rss_ready, 1),
        peak_rss_mb=round(_peak_rss_mb(), 1),
        versions={
            "python": platform.python_version(),
            "medspacy": _version("medspacy"),
            "spacy": _version("spacy"),
            "PyRuSH": _version("PyRuSH"),
            "numpy": _version("numpy"),
        },
    )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
