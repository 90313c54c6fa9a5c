"""De-identification benchmark: medlens vs Microsoft Presidio, in one run.

    .venv/bin/python benchmarks/deid_eval.py [--notes 300] [--model default|none|PATH] [--no-presidio] [--no-readme]

Data (never copied into the repository):
- ``../shared/data/pii-spans/pii_dev.json`` (presidio-research synthetic sentences), only the
  sentences of its *held-out templates* (:func:`medlens.deid.training_data.pii_split`, a hash of
  ``template_id``): the other templates train the PHI model and are never scored here;
- held-out synthetic clinical notes from :mod:`medlens.deid.generator` (templates and
  name origins never used for development or training);
- ``../shared/data/ncbi-disease/devel.tsv`` and ``../shared/data/bc5cdr/devel.tsv``:
  the share of disease and chemical mentions that de-identification would alter.

Scoring is type-agnostic for recall (de-identification must remove a
identifier whatever type it is given) and reported per gold type:
- entity recall: a gold identifier counts as found if any predicted span overlaps it;
- token recall: the share of the gold identifiers' word tokens covered by predicted spans;
- entity precision: predicted spans that overlap a gold identifier / all predicted spans;
- token precision: predicted word tokens inside gold identifiers / all predicted tokens.
Predicted spans overlapping a gold span of a type that is not a Safe Harbor identifier
(ORGANIZATION, TITLE, NRP, ages under 90, bare years) are left out of precision.

Presidio runs in its own environment (benchmarks/presidio/setup_env.sh) with its
default recognizers and the spaCy model en_core_web_sm 3.8.0 from PyPI.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = ROOT.parent / "shared" / "data"
PRESIDIO_PY = BENCH / ".envs" / "presidio" / "bin" / "python"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

from _report import markdown_table, run_info, update_readme_section  # noqa: E402

PII_MAP = {"PERSON": "NAME", "STREET_ADDRESS": "ADDRESS", "GPE": "LOCATION", "ZIP_CODE": "ZIP", "DATE_TIME": "DATE",
           "AGE": "AGE", "PHONE_NUMBER": "PHONE", "EMAIL_ADDRESS": "EMAIL", "US_SSN": "SSN", "CREDIT_CARD": "ACCOUNT",
           "IBAN_CODE": "ACCOUNT", "US_DRIVER_LICENSE": "LICENSE", "DOMAIN_NAME": "URL"}
NOT_PHI = {"ORGANIZATION", "TITLE", "NRP"}
_TOKEN = re.compile(r"\w+")


def load_pii(split: str = "heldout") -> list[dict]:
    """pii-spans sentences of the ``split`` templates as {id, text, gold: [(type, s, e)], ignore: [(s, e)]}."""
    from medlens.deid.training_data import pii_split

    items = json.loads((DATA / "pii-spans" / "pii_dev.json").read_text(encoding="utf-8"))
    out = []
    for k, x in enumerate(items):
        if pii_split(x["template_id"]) != split:
            continue
        gold, ignore = [], []
        for s in x["spans"]:
            t, a, b = s["entity_type"], s["start_position"], s["end_position"]
            v = s["entity_value"]
            if t in NOT_PHI or (t == "AGE" and not (v.strip().isdigit() and int(v) > 89)) \
                    or (t == "DATE_TIME" and re.fullmatch(r"\s*\d{4}\s*", v)):
                ignore.append((a, b))
            elif t in PII_MAP:
                gold.append((PII_MAP[t], a, b))
            else:
                ignore.append((a, b))
        out.append({"id": f"pii-{k}", "text": x["full_text"], "gold": gold, "ignore": ignore})
    return out


def load_notes(n: int) -> list[dict]:
    from medlens.deid.generator import generate_notes

    return [{"id": note.id, "text": note.text, "gold": [(s.type, s.start, s.end) for s in note.spans], "ignore": [],
             "template": note.template} for note in generate_notes(n, "heldout", seed=2024)]


def load_tsv(path: Path) -> list[dict]:
    """Sentences of a BIO TSV as text with their gold mentions (type, start, end)."""
    out, words, tags = [], [], []

    def flush():
        if not words:
            return
        text, spans, pos, cur = "", [], 0, None
        for w, t in zip(words, tags):
            if text:
                text += " "
            start = len(text)
            text += w
            if t.startswith("B-"):
                cur = [t[2:], start, len(text)]
                spans.append(cur)
            elif t.startswith("I-") and cur is not None:
                cur[2] = len(text)
            else:
                cur = None
        out.append({"id": f"{path.parent.name}-{len(out)}", "text": text, "mentions": [tuple(s) for s in spans]})
        words.clear()
        tags.clear()

    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            flush()
            continue
        w, _, t = line.partition("\t")
        words.append(w)
        tags.append(t.strip() or "O")
    flush()
    return out


def run_medlens(items: list[dict], model: str | None = "none") -> tuple[dict[str, list[tuple[str, int, int]]], float]:
    from medlens.components.deid import phi_of
    from medlens.deid import deid_pipeline

    nlp = deid_pipeline(model=model, model_threads=1)
    start = time.perf_counter()
    preds = {}
    for item, doc in zip(items, nlp.pipe(x["text"] for x in items)):
        preds[item["id"]] = [(p.type, p.start, p.end) for p in phi_of(doc)]
    return preds, time.perf_counter() - start


PRESIDIO_MAP = {"PERSON": "NAME", "LOCATION": "LOCATION", "DATE_TIME": "DATE", "PHONE_NUMBER": "PHONE",
                "EMAIL_ADDRESS": "EMAIL", "US_SSN": "SSN", "CREDIT_CARD": "ACCOUNT", "IBAN_CODE": "ACCOUNT",
                "US_BANK_NUMBER": "ACCOUNT", "US_DRIVER_LICENSE": "LICENSE", "MEDICAL_LICENSE": "LICENSE",
                "US_PASSPORT": "LICENSE", "URL": "URL", "IP_ADDRESS": "IP", "NRP": None}


def run_presidio(items: list[dict]) -> tuple[dict[str, list[tuple[str, int, int]]], float, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        inp = Path(tmp) / "in.jsonl"
        inp.write_text("".join(json.dumps({"id": x["id"], "text": x["text"]}) + "\n" for x in items), encoding="utf-8")
        proc = subprocess.run(["nice", "-n", "10", str(PRESIDIO_PY), str(BENCH / "presidio" / "worker.py"), str(inp)],
                              capture_output=True, text=True, check=True)
    preds, summary = {}, {}
    for line in proc.stdout.splitlines():
        row = json.loads(line)
        if "summary" in row:
            summary = row["summary"]
            continue
        preds[row["id"]] = [(PRESIDIO_MAP.get(s["type"], "ID"), s["start"], s["end"]) for s in row["spans"]
                            if PRESIDIO_MAP.get(s["type"], "ID") is not None]
    return preds, summary.get("seconds", float("nan")), summary


def _tokens(text: str, s: int, e: int) -> set[int]:
    return {m.start() for m in _TOKEN.finditer(text, s, e) if m.start() >= s and m.end() <= e} or \
           {m.start() for m in _TOKEN.finditer(text) if m.start() < e and m.end() > s}


def _overlap(a, b) -> bool:
    return a[1] < b[2] and b[1] < a[2]


def score(items: list[dict], preds: dict) -> dict:
    """Per gold type and overall: entity/token recall; overall entity/token precision; per predicted type precision."""
    by_type = defaultdict(lambda: {"n": 0, "found": 0, "tok": 0, "tok_found": 0})
    p_ent = p_ent_ok = p_tok = p_tok_ok = 0
    by_pred = defaultdict(lambda: [0, 0])
    for item in items:
        text, gold = item["text"], item["gold"]
        pred = [p for p in preds.get(item["id"], [])
                if not any(p[1] < b and a < p[2] for a, b in item["ignore"]) or any(_overlap(p, g) for g in gold)]
        pred_tokens = set().union(*[_tokens(text, p[1], p[2]) for p in pred]) if pred else set()
        gold_tokens = set().union(*[_tokens(text, g[1], g[2]) for g in gold]) if gold else set()
        for g in gold:
            st = by_type[g[0]]
            st["n"] += 1
            st["found"] += any(_overlap(p, g) for p in pred)
            gt = _tokens(text, g[1], g[2])
            st["tok"] += len(gt)
            st["tok_found"] += len(gt & pred_tokens)
        for p in pred:
            ok = any(_overlap(p, g) for g in gold)
            p_ent += 1
            p_ent_ok += ok
            by_pred[p[0]][0] += 1
            by_pred[p[0]][1] += ok
        p_tok += len(pred_tokens)
        p_tok_ok += len(pred_tokens & gold_tokens)
    tot = {k: sum(v[k] for v in by_type.values()) for k in ("n", "found", "tok", "tok_found")}
    return {"types": dict(by_type), "total": tot, "ent_precision": p_ent_ok / p_ent if p_ent else float("nan"),
            "tok_precision": p_tok_ok / p_tok if p_tok else float("nan"), "pred_types": dict(by_pred), "n_pred": p_ent}


def altered(items: list[dict], preds: dict) -> dict[str, tuple[int, int]]:
    counts = defaultdict(lambda: [0, 0])
    for item in items:
        pred = preds.get(item["id"], [])
        for t, s, e in item["mentions"]:
            counts[t][0] += 1
            counts[t][1] += any(p[1] < e and s < p[2] for p in pred)
    return {k: tuple(v) for k, v in counts.items()}


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f}" if b else "–"


def misses(items: list[dict], preds: dict, limit: int = 15) -> list[str]:
    out = []
    for item in items:
        for g in item["gold"]:
            if not any(_overlap(p, g) for p in preds.get(item["id"], [])):
                out.append(f"{g[0]}: {item['text'][g[1]:g[2]]!r}")
    return out[:limit]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--notes", type=int, default=300, help="held-out generated notes")
    ap.add_argument("--no-presidio", action="store_true")
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--show-misses", action="store_true")
    ap.add_argument("--model", default="default", help="PHI model of the hybrid system: default (shipped asset), none, or a model folder")
    args = ap.parse_args()
    from medlens.deid.model import load_phi_model

    hybrid = args.model != "none" and load_phi_model(args.model) is not None
    if not hybrid:
        print("no PHI model: measuring the patterns alone", file=sys.stderr)
    use_presidio = not args.no_presidio and PRESIDIO_PY.exists()
    if not args.no_presidio and not use_presidio:
        print("Presidio env missing: run benchmarks/presidio/setup_env.sh (measuring medlens alone)", file=sys.stderr)
    pii = load_pii("heldout")
    sets = {f"pii-spans (held-out templates, {len(pii)} sentences)": pii, f"generated notes (held-out templates, {args.notes})": load_notes(args.notes)}
    medical = {"ncbi-disease devel": load_tsv(DATA / "ncbi-disease" / "devel.tsv"), "bc5cdr devel": load_tsv(DATA / "bc5cdr" / "devel.tsv")}
    systems = ["medlens patterns"] + (["medlens hybrid"] if hybrid else []) + (["Presidio"] if use_presidio else [])
    results: dict = {}
    for name, items in {**sets, **medical}.items():
        print(f"running {name} ({len(items)} texts)", file=sys.stderr)
        res = {}
        res["medlens patterns"] = run_medlens(items, "none")
        if hybrid:
            res["medlens hybrid"] = run_medlens(items, args.model)
        if use_presidio:
            p_preds, p_secs, summary = run_presidio(items)
            res["Presidio"] = (p_preds, p_secs)
            results["presidio_summary"] = summary
        results[name] = res

    cmd = f".venv/bin/python benchmarks/deid_eval.py --notes {args.notes}" + (f" --model {args.model}" if args.model != "default" else "")
    md = [f"Machine: {run_info()['machine']['summary']}. Date {run_info()['date']}, commit {run_info()['commit']}. "
          f"Command: `{cmd}`.", ""]
    intro = ("medlens: `deid_pipeline()` = sections + dictionary NER (medical guard) + `medlens_deid`; "
             "**medlens patterns** = validated patterns and name rules only (`model=\"none\"`)")
    if hybrid:
        intro += (f"; **medlens hybrid** = the same plus the transformer PHI model ({'the shipped `medlens/assets/deid`' if args.model == 'default' else '`' + args.model + '`'}, "
                  "int8 ONNX, 1 thread), spans united with the patterns'")
    else:
        intro += "; no PHI model was available, so no hybrid row"
    if use_presidio:
        s_ = results["presidio_summary"]
        intro += (f". Presidio: presidio-analyzer {s_.get('presidio_analyzer')}, default recognizers, spaCy model {s_.get('spacy_model')} "
                  "(run in benchmarks/.envs/presidio)")
    else:
        intro += (". Presidio was not run (--no-presidio)" if args.no_presidio else
                  ". Presidio was not run (its environment is missing: benchmarks/presidio/setup_env.sh)")
    md += [intro + ".", ""]
    md.append("pii-spans: only the sentences of its **held-out templates** (half of the 105 `template_id`s, chosen by a hash: "
              "`medlens.deid.training_data.pii_split`); the other templates are the PHI model's training and dev data. "
              "Before the split the benchmark scored all 749 sentences, so figures are not comparable with older runs.")
    md.append("")
    md.append("Recall is type-agnostic (an identifier counts as removed if any predicted span overlaps it); "
              "precision counts predicted spans/tokens that overlap a gold identifier. Not scored as identifiers: "
              "ORGANIZATION, TITLE, NRP, ages under 90 and bare years (not Safe Harbor identifiers); predictions on them are ignored.")
    md.append("")
    md.append("Caveats: the generated notes come from templates and Faker values written alongside the rules (held-out "
              "templates and name origins, but the same author and style), so their numbers are optimistic; "
              "pii-spans is general (non-clinical, international) text and the fairer test.")
    md.append("")
    head = len(md)
    summary_rows = []
    for name in sets:
        items = sets[name]
        scores = {sys_: score(items, results[name][sys_][0]) for sys_ in systems}
        for sys_ in systems:
            sc = scores[sys_]
            t = sc["total"]
            summary_rows.append([name, sys_, _pct(t["found"], t["n"]), _pct(t["tok_found"], t["tok"]),
                                 f"{100 * sc['ent_precision']:.1f}", f"{100 * sc['tok_precision']:.1f}",
                                 f"{1000 * results[name][sys_][1] / len(items):.1f}"])
        rows = []
        for typ in sorted(scores["medlens patterns"]["types"]):
            row = [typ, scores["medlens patterns"]["types"][typ]["n"]]
            for sys_ in systems:
                st = scores[sys_]["types"].get(typ, {"n": 0, "found": 0, "tok": 0, "tok_found": 0})
                pt = scores[sys_]["pred_types"].get(typ, [0, 0])
                row += [_pct(st["found"], st["n"]), _pct(st["tok_found"], st["tok"]), _pct(pt[1], pt[0])]
            rows.append(row)
        header = ["type", "gold"] + [f"{s_} {m}" for s_ in systems for m in ("ent. recall", "tok. recall", "precision*")]
        md += [f"### {name}", "", markdown_table(header, rows, ["l"] + ["r"] * (len(header) - 1)), "",
               "\\* precision of the spans each system labelled with that type (type-agnostic match).", ""]
        if args.show_misses:
            for sys_ in systems:
                print(f"--- misses {sys_} on {name}:", *misses(items, results[name][sys_][0], 40), sep="\n  ", file=sys.stderr)
    md = md[:head] + ["### Summary", "", markdown_table(["data", "system", "entity recall %", "token recall %", "entity precision %",
                                                      "token precision %", "ms/text"], summary_rows,
                                                     ["l", "l", "r", "r", "r", "r", "r"]), ""] + md[head:]
    rows = []
    for name, items in medical.items():
        for sys_ in systems:
            counts = altered(items, results[name][sys_][0])
            rows.append([name, sys_] + [f"{counts[t][1]} / {counts[t][0]} ({_pct(counts[t][1], counts[t][0])} %)" if t in counts else "–"
                                        for t in ("Disease", "Chemical")])
    md += ["### Medical mentions altered", "", "Share of gold mentions that any predicted PHI span overlaps (target < 1 %).", "",
           markdown_table(["data", "system", "Disease mentions altered", "Chemical mentions altered"], rows), ""]
    text = "\n".join(md)
    print(text)
    if not args.no_readme:
        update_readme_section("De-identification (medlens deid vs Presidio)", text)


if __name__ == "__main__":
    main()
