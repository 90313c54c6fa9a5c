"""Entity F1 of medlens's dictionary recognizer + linker on NCBI-disease and BC5CDR devel.

    .venv/bin/python benchmarks/ner_f1.py [--kg PATH] [--limit N] [--no-readme]

Each sentence of the BIO files is rebuilt as text (tokens joined by single
spaces, so gold offsets are exact), run through the default pipeline, and the
predicted entities are mapped to gold types: DISEASE/SYMPTOM/FINDING ->
Disease, DRUG -> Chemical (TEST, PROCEDURE and ANATOMY are not gold types and
are left out). Scores:

- strict: same type, same start and end (seqeval's entity-level convention);
- overlap: same type and at least one shared character (each gold and each
  prediction matched at most once).

Results are written into benchmarks/README.md under "## Dictionary NER F1".
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(HERE))

from _report import markdown_table, run_info, update_readme_section  # noqa: E402

LABEL_MAP = {"DISEASE": "Disease", "SYMPTOM": "Disease", "FINDING": "Disease", "DRUG": "Chemical", "CHEMICAL": "Chemical"}
CORPORA = {"ncbi-disease": ("Disease",), "bc5cdr": ("Chemical", "Disease")}


def read_bio(path: Path, limit: int | None = None) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """Sentences as (text, gold spans) from a token<TAB>tag file."""
    out: list[tuple[str, list[tuple[int, int, str]]]] = []
    tokens: list[tuple[str, str]] = []

    def flush() -> None:
        if not tokens:
            return
        text_parts, spans, pos, cur = [], [], 0, None
        for tok, tag in tokens:
            start = pos
            text_parts.append(tok)
            pos += len(tok) + 1
            if tag.startswith("B-") or (tag.startswith("I-") and (cur is None or cur[2] != tag[2:])):
                if cur:
                    spans.append(tuple(cur))
                cur = [start, start + len(tok), tag[2:]]
            elif tag.startswith("I-") and cur:
                cur[1] = start + len(tok)
            else:
                if cur:
                    spans.append(tuple(cur))
                cur = None
        if cur:
            spans.append(tuple(cur))
        out.append((" ".join(text_parts), spans))
        tokens.clear()

    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line.strip():
                flush()
                if limit and len(out) >= limit:
                    break
                continue
            tok, tag = line.split("\t")
            tokens.append((tok, tag))
    flush()
    return out[:limit] if limit else out


def score(gold: list[set], pred: list[set], types: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Strict and overlap P/R/F1 per type and micro over the types."""
    res: dict[str, dict[str, float]] = {}
    for mode in ("strict", "overlap"):
        tp_p: dict[str, int] = defaultdict(int)
        tp_g: dict[str, int] = defaultdict(int)
        n_p: dict[str, int] = defaultdict(int)
        n_g: dict[str, int] = defaultdict(int)
        for g, p in zip(gold, pred):
            for t in types:
                gs = [s for s in g if s[2] == t]
                ps = [s for s in p if s[2] == t]
                n_g[t] += len(gs)
                n_p[t] += len(ps)
                if mode == "strict":
                    hit = len(set(gs) & set(ps))
                    tp_p[t] += hit
                    tp_g[t] += hit
                else:
                    used: set[int] = set()
                    for gsp in gs:
                        for j, psp in enumerate(ps):
                            if j not in used and psp[0] < gsp[1] and gsp[0] < psp[1]:
                                used.add(j)
                                tp_g[t] += 1
                                break
                    tp_p[t] += len(used)
        for t in (*types, "micro"):
            if t == "micro":
                a, b, c, d = sum(tp_p.values()), sum(n_p.values()), sum(tp_g.values()), sum(n_g.values())
            else:
                a, b, c, d = tp_p[t], n_p[t], tp_g[t], n_g[t]
            p = a / b if b else 0.0
            r = c / d if d else 0.0
            f = 2 * p * r / (p + r) if p + r else 0.0
            res[f"{mode}:{t}"] = {"p": p, "r": r, "f1": f, "gold": d, "pred": b}
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kg", help="knowledge graph file (default location if omitted)")
    ap.add_argument("--limit", type=int, help="only the first N sentences of each corpus")
    ap.add_argument("--no-readme", action="store_true", help="print only; do not update benchmarks/README.md")
    ap.add_argument("--model", action="store_true",
                    help="also run the shipped transformer recognizer before the dictionary, as the default pipeline does")
    args = ap.parse_args()
    missing = [c for c in CORPORA if not (DATA / c / "devel.tsv").is_file()]
    if missing:
        print(f"skipped: {', '.join(str(DATA / c / 'devel.tsv') for c in missing)} not found")
        return 0

    import medlens

    components = ("sections", "sentences", "dictionary_ner", "linker")
    if args.model:
        components = ("sections", "sentences", "transformer_ner", "dictionary_ner", "linker")
    nlp = medlens.load(kg_path=args.kg, components=components)
    system = "dictionary + transformer (default)" if args.model else "dictionary"
    rows = []
    for corpus, types in CORPORA.items():
        sents = read_bio(DATA / corpus / "devel.tsv", args.limit)
        t0 = time.perf_counter()
        preds = []
        for doc in nlp.pipe((t for t, _ in sents), batch_size=256):
            preds.append({(e.start_char, e.end_char, LABEL_MAP[e.label_]) for e in doc.ents
                          if LABEL_MAP.get(e.label_) in types})
        secs = time.perf_counter() - t0
        gold = [set(s) for _, s in sents]
        res = score(gold, preds, types)
        for t in (*types, "micro") if len(types) > 1 else types:
            s, o = res[f"strict:{t}"], res[f"overlap:{t}"]
            rows.append([system, corpus, t, s["gold"], s["pred"], f"{100 * s['p']:.1f}", f"{100 * s['r']:.1f}", f"{100 * s['f1']:.1f}",
                         f"{100 * o['p']:.1f}", f"{100 * o['r']:.1f}", f"{100 * o['f1']:.1f}"])
        print(f"{corpus}: {len(sents)} sentences in {secs:.1f}s")
    header = ["pipeline", "corpus (devel)", "type", "gold", "predicted", "strict P", "strict R", "strict F1", "overlap P", "overlap R", "overlap F1"]
    from _report import parse_markdown_table, read_readme_section

    # keep the other pipeline's rows from the last recorded run
    old = read_readme_section("Dictionary NER F1") or ""
    old_header, old_rows = parse_markdown_table(old)
    if old_header == header:
        rows = [r for r in old_rows if r[0] != system] + rows
    table = markdown_table(header, rows, align="lllrrrrrrr")
    print(table)
    if not args.no_readme:
        info = run_info()
        update_readme_section("Dictionary NER F1", (
            f"Last recorded {info['date']} on {info['machine']['summary']}, commit {info['commit']} ({system})"
            f"{f', first {args.limit} sentences' if args.limit else ''}.\n\n{table}\n\n"
            "Run: `.venv/bin/python benchmarks/ner_f1.py [--model]`. *dictionary*: the dictionary recognizer and "
            "linker of the default graph, no trained model; *dictionary + transformer*: the shipped int8 model first "
            "(its spans win), then the dictionary (CHEMICAL counts as Chemical). Each devel sentence is rebuilt as text (tokens joined by spaces), and "
            "DISEASE/SYMPTOM/FINDING entities count as Disease, DRUG as Chemical. Strict = same type and exact "
            "boundaries (seqeval convention); overlap = same type and at least one shared character. "
            "The BIO files carry no concept ids, so linking accuracy itself is not scored here.\n\n"
            "Where the dictionary loses (from reading the errors): abbreviations defined in another sentence "
            "of the abstract (the corpora come as separate sentences; within a document, `(HD)`-style "
            "definitions are followed); gold spans that include modifiers or coordinations "
            "(\"hereditary breast and ovarian cancer\", \"prostate carcinoma\"); lab analytes "
            "(potassium, creatinine, sodium) that medlens labels TEST, as a clinical note means them; "
            "and gene/protein names in the drug lists (mRNA, VEGF, insulin receptor) counted as chemicals.\n"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
