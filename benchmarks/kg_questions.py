"""Score ``medlens.ask`` on the frozen KG question set (issue 15, part 2): accuracy per intent and split.

    PYTHONPATH=. MEDLENS_KG=$KG python benchmarks/kg_questions.py --split dev          # tune on this
    PYTHONPATH=. MEDLENS_KG=$KG python benchmarks/kg_questions.py --split heldout      # report, never tune
    PYTHONPATH=. MEDLENS_KG=$KG python benchmarks/kg_questions.py --validate           # every gold id in the graph?

The set is ``benchmarks/data/kg_questions.jsonl`` (see "KG question set" in benchmarks/README.md). Per answer type:

- ``single``: correct when a gold id (any listed id is accepted) is the top graph answer (top-1); top-3 is reported too.
- ``set``: precision, recall and F1 of the answer ids against the gold items (an item matches its id or one of its
  ``alt`` ids); correct when F1 >= 0.5. P@10 (precision of the first ten answer ids) is reported beside.
- ``none``: correct when ``kind == "none"``.
- ``ambiguous``: correct when ``readings`` are listed, or ``kind == "none"`` with a question back (``message`` holds
  a ``?``).

Ids are compared robustly: the prefix case and its common spellings (``HPO:``/``HP_``, ``ICD10:``/``ICD-10-CM:``,
``MSH:``/``MeSH:``, ``MIM:``, ``Orphanet:``, ``DrugBank:``) and the ICD dot are ignored, and an id without a prefix
matches a gold id with the same local part (``E11.9`` = ``E119`` = ``ICD10CM:E11.9``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
QUESTIONS = HERE / "data" / "kg_questions.jsonl"
INTENTS = ("disease_symptoms", "icd10_code", "diseases_with_findings", "what_is", "code_lookup", "drugs_inducing",
           "none", "ambiguous")
ANSWER_TYPES = ("set", "single", "none", "ambiguous")
SPLITS = ("dev", "heldout")
SET_CORRECT_F1 = 0.5

_PREFIX_ALIASES = {"HP": "HP", "HPO": "HP", "ICD10CM": "ICD10CM", "ICD10": "ICD10CM", "ICD-10-CM": "ICD10CM",
                   "ICD-10": "ICD10CM", "ICD10-CM": "ICD10CM", "MESH": "MESH", "MSH": "MESH", "OMIM": "OMIM",
                   "MIM": "OMIM", "ORPHA": "ORPHA", "ORPHANET": "ORPHA", "DRUGBANK": "", "DDXPLUS": "DDXPLUS",
                   "MEDLENS": "MEDLENS", "DECIPHER": "DECIPHER"}
_PREFIXED = re.compile(r"^\s*([A-Za-z][A-Za-z0-9-]*?)\s*[:_]\s*(.+?)\s*$")


def id_key(concept_id: str) -> tuple[str | None, str]:
    """(canonical prefix or None, local part) of an id: ``hpo_0001166`` -> ``("HP", "0001166")``,
    ``E11.9`` -> ``(None, "E119")``, ``DrugBank:DB00331`` / ``DB00331`` -> ``(None, "DB00331")``."""
    text = concept_id.strip()
    match = _PREFIXED.match(text)
    prefix: str | None = None
    local = text
    if match and match.group(1).upper() in _PREFIX_ALIASES:
        prefix = _PREFIX_ALIASES[match.group(1).upper()] or None
        local = match.group(2)
    return prefix, local.upper().replace(".", "")


def same_id(answer_id: str, gold_id: str) -> bool:
    """Whether an answer id names the gold id (an answer id without a prefix matches on the local part)."""
    a_prefix, a_local = id_key(answer_id)
    g_prefix, g_local = id_key(gold_id)
    if a_local != g_local:
        return False
    return a_prefix is None or g_prefix is None or a_prefix == g_prefix


def _item_ids(item: dict) -> list[str]:
    return [item["id"], *item.get("alt", [])]


def _matches(answer_id: str, item: dict) -> bool:
    return any(same_id(answer_id, g) for g in _item_ids(item))


def load_questions(path: Path = QUESTIONS) -> list[dict]:
    """The questions of a JSONL file, checked field by field (the error names the line)."""
    questions = []
    seen: set[str] = set()
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON ({exc})") from exc
        for field in ("id", "question", "intent", "answer_type", "gold", "split"):
            if field not in row:
                raise ValueError(f"{path}:{number}: missing field {field!r}")
        if row["answer_type"] not in ANSWER_TYPES:
            raise ValueError(f"{path}:{number}: answer_type {row['answer_type']!r} not in {ANSWER_TYPES}")
        if row["split"] not in SPLITS:
            raise ValueError(f"{path}:{number}: split {row['split']!r} not in {SPLITS}")
        if row["id"] in seen:
            raise ValueError(f"{path}:{number}: duplicate id {row['id']!r}")
        if row["answer_type"] in ("set", "single") and not row["gold"]:
            raise ValueError(f"{path}:{number}: a {row['answer_type']} question needs gold ids")
        if any("id" not in item for item in row["gold"]):
            raise ValueError(f"{path}:{number}: every gold item needs an 'id'")
        seen.add(row["id"])
        questions.append(row)
    return questions


def _as_dict(answer: Any) -> dict:
    """A ``medlens.qa.models.Answer`` (or its JSON dict) as a dict."""
    if hasattr(answer, "model_dump"):
        return answer.model_dump()
    if isinstance(answer, dict):
        return answer
    raise TypeError(f"expected a medlens.qa.models.Answer or a dict, got {type(answer).__name__}")


def answer_ids(answer: dict) -> list[str]:
    """The ids of the ranked answers, in order, without repeats."""
    ids: list[str] = []
    for item in answer.get("answers") or []:
        cid = item.get("id") if isinstance(item, dict) else getattr(item, "id", None)
        if cid and cid not in ids:
            ids.append(cid)
    return ids


def _prf(ids: list[str], gold: list[dict]) -> tuple[float, float, float]:
    if not ids:
        return 0.0, 0.0, 0.0
    right = sum(1 for cid in ids if any(_matches(cid, item) for item in gold))
    found = sum(1 for item in gold if any(_matches(cid, item) for cid in ids))
    precision = right / len(ids)
    recall = found / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def score_question(question: dict, answer: Any) -> dict:
    """The scores of one answer: ``correct`` always, ``top1``/``top3`` (single), ``precision``/``recall``/``f1``/
    ``p_at_10`` (set)."""
    got = _as_dict(answer)
    kind = got.get("kind")
    ids = answer_ids(got) if kind != "none" else []
    kind_ = question["answer_type"]
    out: dict[str, Any] = {"id": question["id"], "intent": question["intent"], "split": question["split"],
                           "answer_type": kind_, "kind": kind, "answer_ids": ids[:10]}
    if kind_ == "single":
        gold = question["gold"]
        out["top1"] = bool(ids) and any(_matches(ids[0], item) for item in gold)
        out["top3"] = any(_matches(cid, item) for cid in ids[:3] for item in gold)
        out["correct"] = out["top1"]
    elif kind_ == "set":
        precision, recall, f1 = _prf(ids, question["gold"])
        out.update(precision=precision, recall=recall, f1=f1, p_at_10=_prf(ids[:10], question["gold"])[0],
                   gold_size=len(question["gold"]))
        out["correct"] = f1 >= SET_CORRECT_F1
    elif kind_ == "none":
        out["correct"] = kind == "none"
    else:  # ambiguous
        readings = got.get("readings") or []
        asks_back = kind == "none" and "?" in (got.get("message") or "")
        out["correct"] = bool(readings) or asks_back
    return out


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def summarize(scores: list[dict]) -> dict:
    """Accuracy (and top-1/top-3, P/R/F1 where they apply) per intent, per split and overall."""
    def block(rows: list[dict]) -> dict:
        out: dict[str, Any] = {"n": len(rows), "accuracy": _mean(float(r["correct"]) for r in rows)}
        singles = [r for r in rows if r["answer_type"] == "single"]
        sets = [r for r in rows if r["answer_type"] == "set"]
        if singles:
            out["top1"] = _mean(float(r["top1"]) for r in singles)
            out["top3"] = _mean(float(r["top3"]) for r in singles)
        if sets:
            for key in ("precision", "recall", "f1", "p_at_10"):
                out[key] = _mean(r[key] for r in sets)
        if rows and "seconds" in rows[0]:
            out["mean_seconds"] = _mean(r["seconds"] for r in rows)
        return out

    result: dict[str, Any] = {}
    for split in (*SPLITS, "all"):
        rows = [r for r in scores if split == "all" or r["split"] == split]
        if not rows:
            continue
        by_intent = defaultdict(list)
        for r in rows:
            by_intent[r["intent"]].append(r)
        per_intent = {intent: block(by_intent[intent]) for intent in INTENTS if intent in by_intent}
        for intent in sorted(set(by_intent) - set(INTENTS)):
            per_intent[intent] = block(by_intent[intent])
        result[split] = {"overall": block(rows), "macro_accuracy": _mean(b["accuracy"] for b in per_intent.values()),
                         "intents": per_intent}
    return result


def evaluate(questions: list[dict], ask: Callable[[str], Any], split: str = "dev") -> tuple[list[dict], dict]:
    """Ask every question of ``split`` (``dev``, ``heldout`` or ``all``) and score it: (per-question scores, summary)."""
    chosen = [q for q in questions if split == "all" or q["split"] == split]
    scores = []
    for question in chosen:
        start = time.perf_counter()
        try:
            answer = ask(question["question"])
        except Exception as exc:  # noqa: BLE001 - a crash is a wrong answer, and it is reported
            answer = {"kind": "error", "answers": [], "message": f"{type(exc).__name__}: {exc}"}
        row = score_question(question, answer)
        row["seconds"] = time.perf_counter() - start
        if isinstance(answer, dict) and answer.get("kind") == "error":
            row["error"] = answer["message"]
        scores.append(row)
    return scores, summarize(scores)


def validate(questions: list[dict], kg: Any) -> list[str]:
    """Problems of the set against a graph: a gold (or alternative) id not in the graph, a gold name that is not
    the concept's name, an unknown intent. Empty when the set is sound."""
    problems = []
    for q in questions:
        if q["intent"] not in INTENTS:
            problems.append(f"{q['id']}: unknown intent {q['intent']!r}")
        for item in q["gold"]:
            for cid in _item_ids(item):
                concept = kg.concept(cid)
                if concept is None:
                    problems.append(f"{q['id']}: gold id {cid} is not in the graph")
                elif cid == item["id"] and item.get("name") and concept.name != item["name"]:
                    problems.append(f"{q['id']}: gold {cid} is named {concept.name!r} in the graph, not {item['name']!r}")
    return problems


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def report_table(summary: dict) -> str:
    """A markdown table: one row per intent and split."""
    lines = ["| split | intent | n | accuracy | top-1 | top-3 | P | R | F1 | P@10 |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for split, block in summary.items():
        rows = [*block["intents"].items(), ("**all**", block["overall"])]
        for intent, b in rows:
            lines.append(f"| {split} | {intent} | {b['n']} | {_fmt(b['accuracy'])} | {_fmt(b.get('top1'))} | "
                         f"{_fmt(b.get('top3'))} | {_fmt(b.get('precision'))} | {_fmt(b.get('recall'))} | "
                         f"{_fmt(b.get('f1'))} | {_fmt(b.get('p_at_10'))} |")
        lines.append(f"| {split} | macro over intents | | {_fmt(block['macro_accuracy'])} | | | | | | |")
    return "\n".join(lines)


def _medlens_ask() -> Callable[[str], Any]:
    try:
        import medlens
    except ImportError as exc:  # pragma: no cover - environment problem
        raise SystemExit(f"cannot import medlens: {exc}") from exc
    ask = getattr(medlens, "ask", None)
    if ask is None:
        raise SystemExit("medlens.ask does not exist in this checkout: nothing to score (use --validate to check the set)")
    return ask


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Score medlens.ask on the KG question set, per intent and split.")
    parser.add_argument("--split", choices=("dev", "heldout", "all"), default="dev",
                        help="which part to run (default dev; report heldout, never tune on it)")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--json", action="store_true", help="print the summary and per-question scores as JSON")
    parser.add_argument("--validate", action="store_true", help="only check that every gold id is in the graph")
    parser.add_argument("--kg", default=None, help="graph for --validate (default: $MEDLENS_KG or the default graph)")
    args = parser.parse_args(argv)
    try:
        questions = load_questions(args.questions)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.validate:
        from medlens.kg.store import KnowledgeGraph

        problems = validate(questions, KnowledgeGraph.open(args.kg))
        for problem in problems:
            print(problem)
        n_ids = sum(len(_item_ids(item)) for q in questions for item in q["gold"])
        print(f"{len(questions)} questions, {n_ids} gold ids: {len(problems)} problem(s)", file=sys.stderr)
        return 1 if problems else 0
    scores, summary = evaluate(questions, _medlens_ask(), args.split)
    if args.json:
        print(json.dumps({"summary": summary, "questions": scores}, indent=1))
    else:
        print(report_table(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
