"""Fuzzy graph search (``KnowledgeGraph.search``): latency and top-hit agreement, old vs new.

Queries, drawn with a fixed seed from the real default graph and the labeled corpora:

* ``edit``: 500 synonyms (4-60 characters) with 1 or 2 random character edits
  (substitution, deletion, insertion or transposition of neighbours);
* ``reorder``: 200 synonyms of 2-5 words with their words shuffled;
* ``mention``: 300 distinct entity mentions (B-/I- spans of 4-60 characters) of
  NCBI-disease and BC5CDR devel (``../shared/data``);
* ``linker``: the searches the linker itself makes in the default pipeline +
  ``transformer_ner`` over 100 medical abstracts of the throughput benchmark
  (abstracts 200-299): model spans the dictionary did not match, most of them
  with no concept at all (skipped with ``--no-linker-calls``).

Each query carries the label family the linker would pass (the synonym's
concept's label, DISEASE for a Disease mention, DRUG for a Chemical one).

Systems: **old** is the search as it was before the trigram-ceiling search
(copied below, :func:`old_search`: an FTS5 OR over all of the query's trigrams,
the 400 bm25-best synonyms, rapidfuzz scoring); **new** is
``KnowledgeGraph.search``; **exact** is the right answer, a rapidfuzz scan of
every synonym (``process.cdist``). Both systems run in this one process, query
by query, taking turns (who goes first alternates).

Calls: linker-style (``min_score=0.85``, ``limit=5``, the label family) on all
queries; interactive (``min_score=0.5``, ``limit=10``, no labels: ``medlens kg
search``) on every 5th query. With ``--pipeline``, also the words/s of the
default pipeline + ``transformer_ner`` on 100 medical abstracts with the old
search, the new one, and fuzzy linking off.

    .venv/bin/python benchmarks/kg_search.py [--kg PATH] [--pipeline] [--no-readme]

Writes the "Fuzzy graph search" section of benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

from _report import markdown_table, run_info, update_readme_section  # noqa: E402

HEADING = "Fuzzy graph search (KnowledgeGraph.search)"
SEED = 20261128
FAMILY = {"DISEASE": ("DISEASE", "FINDING", "SYMPTOM"), "SYMPTOM": ("DISEASE", "FINDING", "SYMPTOM"),
          "FINDING": ("DISEASE", "FINDING", "SYMPTOM"), "DRUG": ("DRUG",), "TEST": ("TEST",),
          "PROCEDURE": ("PROCEDURE",), "ANATOMY": ("ANATOMY",)}
"""The linker's label families (``medlens.components.linker._COMPATIBLE``)."""
KINDS = ("edit", "reorder", "mention")
"""The query kinds drawn from the graph and the corpora; ``linker`` calls are reported apart."""
LETTERS = "abcdefghijklmnopqrstuvwxyz"


# -- the search before this change, kept here to compare against ------------------------------------
def old_search(kg, text: str, limit: int = 10, labels=None, min_score: float = 0.5) -> list:
    """``KnowledgeGraph.search`` as it was: the 400 bm25-best synonyms over an OR of all the query's
    trigrams (grams with a double quote left out), scored with rapidfuzz."""
    from rapidfuzz import fuzz

    from medlens.kg.store import SearchHit
    from medlens.normalize import simple_norm

    query = simple_norm(text)
    if not query:
        return []
    wanted = set(labels) if labels else None
    if len(query) < 3:
        rows = kg.query("SELECT rowid, concept_id, text FROM synonyms WHERE lower(text)=? LIMIT ?", (query, 400)).fetchall()
    else:
        grams = {query[i: i + 3] for i in range(len(query) - 2)}
        grams = {g for g in grams if '"' not in g}
        if not grams:
            return []
        match = " OR ".join(f'"{g}"' for g in sorted(grams))
        rows = kg.query("SELECT s.rowid, s.concept_id, s.text FROM synonyms_fts f JOIN synonyms s ON s.rowid=f.rowid "
                        "WHERE synonyms_fts MATCH ? ORDER BY bm25(synonyms_fts) LIMIT ?", (match, 400)).fetchall()
    candidates: dict[str, tuple[str, float]] = {}
    for _, concept_id, syn in rows:
        s = simple_norm(syn)
        score = max(fuzz.ratio(query, s), 0.95 * fuzz.token_sort_ratio(query, s)) / 100.0
        if score >= min_score and score > candidates.get(concept_id, ("", -1.0))[1]:
            candidates[concept_id] = (syn, score)
    concepts = kg.concepts(candidates)
    hits = [SearchHit(concepts[cid], syn, round(score, 4)) for cid, (syn, score) in candidates.items()
            if cid in concepts and (wanted is None or concepts[cid].label in wanted)]
    hits.sort(key=lambda h: (-h.score, len(h.matched), h.concept.id))
    return hits[:limit]


# -- queries -----------------------------------------------------------------------------------------
def edit(text: str, rng: random.Random, n: int) -> str:
    """``text`` with ``n`` random character edits."""
    for _ in range(n):
        i = rng.randrange(len(text))
        op = rng.choice("sdit")
        if op == "s":
            text = text[:i] + rng.choice(LETTERS) + text[i + 1:]
        elif op == "d" and len(text) > 4:
            text = text[:i] + text[i + 1:]
        elif op == "i":
            text = text[:i] + rng.choice(LETTERS) + text[i:]
        elif op == "t" and i < len(text) - 1:
            text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
    return text


def mentions(path: Path) -> list[tuple[str, str]]:
    """``(text, type)`` of the B-/I- spans of a token<TAB>tag file (tokens joined by spaces)."""
    out, cur = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        tag = parts[1] if len(parts) == 2 else "O"
        if tag.startswith("I-") and cur and cur[1] == tag[2:]:
            cur[0].append(parts[0])
            continue
        if cur:
            out.append((" ".join(cur[0]), cur[1]))
        cur = ([parts[0]], tag[2:]) if tag[:2] in ("B-", "I-") else None
    if cur:
        out.append((" ".join(cur[0]), cur[1]))
    return out


def build_queries(kg, seed: int = SEED) -> list[tuple[str, str, tuple[str, ...]]]:
    """``(kind, query, label family)`` for the three kinds of query."""
    rng = random.Random(seed)
    rows = [r for r in kg.query("SELECT s.text, c.label FROM synonyms s JOIN concepts c ON c.id = s.concept_id "
                                "WHERE c.label != 'OTHER' ORDER BY s.rowid") if 4 <= len(r[0]) <= 60]
    queries = [("edit", edit(text, rng, rng.choice((1, 2))), FAMILY[label]) for text, label in rng.sample(rows, 500)]
    multi = [r for r in rows if 2 <= len(r[0].split()) <= 5]
    while sum(q[0] == "reorder" for q in queries) < 200:
        text, label = rng.choice(multi)
        words = text.split()
        shuffled = words[:]
        rng.shuffle(shuffled)
        if shuffled != words:
            queries.append(("reorder", " ".join(shuffled), FAMILY[label]))
    found: set[tuple[str, str]] = set()
    for corpus in ("ncbi-disease", "bc5cdr"):
        found.update((t, typ) for t, typ in mentions(DATA / corpus / "devel.tsv") if 4 <= len(t) <= 60)
    for text, typ in rng.sample(sorted(found), 300):
        queries.append(("mention", text, FAMILY["DRUG" if typ == "Chemical" else "DISEASE"]))
    return queries


def linker_calls(kg_path: str | None, first: int = 200, n_texts: int = 100) -> list[tuple[str, str, tuple[str, ...] | None]]:
    """``("linker", text, labels)`` of every ``search`` the linker makes on abstracts ``first..first+n_texts``
    with the transformer recognizer in the pipeline (distinct calls: the linker caches them)."""
    import medlens
    from medlens.config import COMPONENTS
    from throughput import load_texts

    texts = load_texts(first + n_texts)[first:]
    nlp = medlens.load(components=(*COMPONENTS[:2], "transformer_ner", *COMPONENTS[2:]), kg_path=kg_path)
    graph = nlp.get_pipe("medlens_linker").kg
    calls: list[tuple[str, str, tuple[str, ...] | None]] = []
    real = graph.search

    def record(text, limit=10, labels=None, min_score=0.5):
        calls.append(("linker", text, tuple(sorted(labels)) if labels else None))
        return real(text, limit=limit, labels=labels, min_score=min_score)

    graph.search = record
    try:
        list(nlp.pipe(texts))
    finally:
        del graph.search
    return calls


# -- the exact answer --------------------------------------------------------------------------------
def exact_top(kg, queries: list[tuple[str, str, tuple[str, ...] | None]], min_score: float, limit: int) -> list[list]:
    """Per query, the ``limit`` best ``(score, concept_id)`` by a scan of every synonym."""
    import numpy as np
    from rapidfuzz import fuzz, process

    from medlens.normalize import simple_norm

    rows = kg.query("SELECT s.concept_id, s.text, c.label FROM synonyms s JOIN concepts c ON c.id = s.concept_id").fetchall()
    norms = [simple_norm(t) for _, t, _ in rows]
    out = []
    step = 25
    for i in range(0, len(queries), step):
        chunk = [simple_norm(q[1]) for q in queries[i:i + step]]
        by_ratio = process.cdist(chunk, norms, scorer=fuzz.ratio, score_cutoff=max(min_score * 100 - 1, 0), dtype=np.float32)
        by_sort = process.cdist(chunk, norms, scorer=fuzz.token_sort_ratio,
                                score_cutoff=min(max(min_score / 0.95 * 100 - 1, 0), 100), dtype=np.float32)
        for j, q in enumerate(chunk):
            wanted = set(queries[i + j][2]) if queries[i + j][2] else None
            best: dict[str, tuple[float, str]] = {}
            for k in set(np.flatnonzero(by_ratio[j]).tolist()) | set(np.flatnonzero(by_sort[j]).tolist()):
                cid, syn, label = rows[k]
                if wanted is not None and label not in wanted:
                    continue
                s = max(fuzz.ratio(q, norms[k]), 0.95 * fuzz.token_sort_ratio(q, norms[k])) / 100.0
                if s >= min_score and (cid not in best or (-s, len(syn)) < (-best[cid][0], len(best[cid][1]))):
                    best[cid] = (s, syn)
            ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], len(kv[1][1]), kv[0]))[:limit]
            out.append([(round(s, 4), cid) for cid, (s, _) in ranked])
    return out


# -- timing --------------------------------------------------------------------------------------------
def run_both(kg, queries, min_score: float, limit: int, labels: bool) -> dict[str, dict]:
    """Both searches on every query, taking turns; results as ``(score, concept_id)`` lists and latencies."""
    systems = {"old": lambda q, lab: old_search(kg, q, limit=limit, labels=lab, min_score=min_score),
               "new": lambda q, lab: kg.search(q, limit=limit, labels=lab, min_score=min_score)}
    res: dict[str, dict] = {name: {"hits": [], "ms": [], "below": 0} for name in systems}
    for i, (_, text, family) in enumerate(queries):
        names = list(systems) if i % 2 == 0 else list(reversed(systems))
        for name in names:
            t0 = time.perf_counter()
            hits = systems[name](text, family if labels else None)
            res[name]["ms"].append((time.perf_counter() - t0) * 1000)
            res[name]["hits"].append([(h.score, h.concept.id) for h in hits])
            res[name]["below"] += sum(h.score < min_score for h in hits)
    return res


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def agreement(a: list[list], b: list[list], idx: list[int]) -> tuple[float, float]:
    """% of ``idx`` where ``a`` and ``b`` have the same top hit, and the same hits (as sets)."""
    if not idx:
        return float("nan"), float("nan")
    top = sum(bool(a[i]) and bool(b[i]) and a[i][0] == b[i][0] for i in idx)
    all_ = sum(set(a[i]) == set(b[i]) for i in idx)
    return 100 * top / len(idx), 100 * all_ / len(idx)


def table(queries, res, exact, min_score: float) -> tuple[list[list[object]], dict]:
    rows, info = [], {}
    groups = [(k, [k]) for k in KINDS] + [("all three", list(KINDS)), ("linker", ["linker"])]
    for kind, members in groups:
        idx = [i for i, q in enumerate(queries) if q[0] in members]
        if not idx:
            continue
        old, new = res["old"]["hits"], res["new"]["hits"]
        with_old = [i for i in idx if old[i]]
        with_exact = [i for i in idx if exact[i]]
        top_vs_old, all_vs_old = agreement(new, old, with_old)
        # the new search's score at every rank at least the old one's (and as many hits)
        not_worse = 100 * sum(len(new[i]) >= len(old[i]) and all(n[0] >= o[0] for n, o in zip(new[i], old[i]))
                              for i in idx) / len(idx)
        new_exact, _ = agreement(new, exact, with_exact)
        old_exact, _ = agreement(old, exact, with_exact)
        o_ms = [res["old"]["ms"][i] for i in idx]
        n_ms = [res["new"]["ms"][i] for i in idx]
        row = [kind, len(idx), len(with_old), f"{statistics.median(o_ms):.1f}", f"{pct(o_ms, 95):.1f}",
               f"{statistics.median(n_ms):.2f}", f"{pct(n_ms, 95):.2f}", f"{top_vs_old:.1f}", f"{all_vs_old:.1f}",
               f"{not_worse:.1f}", f"{old_exact:.1f}", f"{new_exact:.1f}"]
        rows.append(row)
        info[kind] = row
    info["hits below min_score (new)"] = res["new"]["below"]
    info["min_score"] = min_score
    return rows, info


HEADER = ["queries", "n", "old finds a hit", "old median ms", "old p95 ms", "new median ms", "new p95 ms",
          "same top hit as old %", "same hits as old %", "new ≥ old at every rank %", "old top = exact %",
          "new top = exact %"]
ALIGN = ["l"] + ["r"] * 11


def pipeline_speed(kg_path: str | None, limit: int = 100, rounds: int = 3) -> tuple[list[list[object]], int]:
    """Words/s of the default pipeline + ``transformer_ner`` with the old search, the new one and fuzzy
    linking off, each abstract read once, the pipelines taking turns chunk by chunk."""
    import medlens
    from medlens.config import COMPONENTS
    from medlens.kg.store import KnowledgeGraph
    from throughput import load_texts

    texts = load_texts(limit + 10)
    warm, texts = texts[limit:], texts[:limit]
    n_words = sum(len(t.split()) for t in texts)
    ner = (*COMPONENTS[:2], "transformer_ner", *COMPONENTS[2:])
    pipes = {"old search": medlens.load(components=ner, kg_path=kg_path),
             "new search": medlens.load(components=ner, kg_path=kg_path),
             "fuzzy=False": medlens.load(components=ner, kg_path=kg_path, linker={"fuzzy": False})}
    graph = pipes["old search"].get_pipe("medlens_linker").kg

    def use(name: str) -> None:  # the pipelines share one graph: swap its search method per run
        if name == "old search":
            graph.search = lambda text, limit=10, labels=None, min_score=0.5: old_search(graph, text, limit, labels, min_score)
        elif "search" in graph.__dict__:
            del graph.search
        assert isinstance(graph, KnowledgeGraph)

    for name, nlp in pipes.items():
        use(name)
        list(nlp.pipe(warm))
    seconds = dict.fromkeys(pipes, 0.0)
    ents = dict.fromkeys(pipes, 0)
    for r in range(rounds):
        chunk = texts[r::rounds]
        for name, nlp in pipes.items():
            use(name)
            t0 = time.perf_counter()
            ents[name] += sum(len(d.ents) for d in nlp.pipe(chunk))
            seconds[name] += time.perf_counter() - t0
    use("new search")
    return [[name, f"{n_words / seconds[name]:,.0f}", ents[name]] for name in pipes], n_words


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kg", default=None, help="graph file (default: the default graph)")
    ap.add_argument("--pipeline", action="store_true", help="also time the pipeline with the transformer recognizer")
    ap.add_argument("--no-linker-calls", action="store_true", help="leave out the linker's own calls (no model run)")
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args()
    missing = [c for c in ("ncbi-disease", "bc5cdr") if not (DATA / c / "devel.tsv").is_file()]
    if missing:
        sys.exit(f"devel sets not found under {DATA}: {', '.join(missing)}")

    from medlens.kg.store import KnowledgeGraph

    info = run_info()
    kg = KnowledgeGraph.open(args.kg)
    queries = build_queries(kg)
    if not args.no_linker_calls:
        queries += linker_calls(args.kg)
    t0 = time.perf_counter()
    kg.search("warm up", limit=5, min_score=0.85)
    first = time.perf_counter() - t0
    print(f"{len(queries)} queries; first new search (reads trigram frequencies and lengths): {first:.2f} s", flush=True)

    linker = run_both(kg, queries, 0.85, 5, labels=True)
    print("linker-style calls done", flush=True)
    sub = [q for q in queries if q[0] in KINDS][::5]
    interactive = run_both(kg, sub, 0.5, 10, labels=False)
    print("interactive calls done", flush=True)
    exact_l = exact_top(kg, queries, 0.85, 5)
    exact_i = exact_top(kg, [(k, q, None) for k, q, _ in sub], 0.5, 10)
    rows_l, info_l = table(queries, linker, exact_l, 0.85)
    rows_i, info_i = table(sub, interactive, exact_i, 0.5)
    print(markdown_table(HEADER, rows_l, ALIGN))
    print(markdown_table(HEADER, rows_i, ALIGN))
    print("hits below min_score (new):", info_l["hits below min_score (new)"], info_i["hits below min_score (new)"])
    pipe_rows, pipe_words = pipeline_speed(args.kg) if args.pipeline else (None, 0)
    if pipe_rows:
        print(markdown_table(["pipeline", "words/s", "entities"], pipe_rows, ["l", "r", "r"]))
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    if args.no_readme:
        return
    m = info["machine"]
    parts = [
        f"Recorded {info['date']} at commit {info['commit']} on {m['summary']}; one process, both searches in it "
        f"taking turns query by query; 1-minute load average at the end {load} (other jobs were running: compare "
        f"the columns within a row). First search of a graph (reads the trigram frequencies and synonym lengths "
        f"into memory): {first:.2f} s, not counted below.",
        f"**Linker-style calls** (`min_score=0.85`, `limit=5`, the linker's label family), {len(queries)} queries "
        f"(*all three* = edit + reorder + mention; *linker* = the calls the linker itself made):",
        markdown_table(HEADER, rows_l, ALIGN),
        f"**Interactive calls** (`min_score=0.5`, `limit=10`, no label filter: `medlens kg search`), every 5th "
        f"edit/reorder/mention query ({len(sub)}):",
        markdown_table(HEADER, rows_i, ALIGN),
        f"Hits below `min_score` returned by the new search: {info_l['hits below min_score (new)'] + info_i['hits below min_score (new)']}.",
    ]
    if pipe_rows:
        parts += ["Whole pipeline, `medlens.load(components=(sections, sentences, transformer_ner, dictionary_ner, "
                  "context, linker))`, `nlp.pipe` over the first 100 medical abstracts of the throughput benchmark "
                  f"({pipe_words:,} words), each read once, the three pipelines taking turns over 3 chunks (model "
                  "spans the dictionary did not match go to the linker's fuzzy search):",
                  markdown_table(["pipeline", "words/s", "entities"], pipe_rows, ["l", "r", "r"])]
    parts += [
        "Queries (seed fixed): *edit* = 500 synonyms of the default graph (4-60 characters) with 1-2 random "
        "character edits (substitution, deletion, insertion, transposition); *reorder* = 200 synonyms of 2-5 "
        "words, words shuffled; *mention* = 300 distinct B-/I- spans (4-60 characters) of NCBI-disease and "
        "BC5CDR devel; *linker* = every distinct `search` the linker made in the default pipeline + "
        "`transformer_ner` over abstracts 200-299 of the throughput benchmark (model spans the dictionary did not "
        "match; most have no concept at all, so they show the cost of a search that finds nothing). "
        "*old* = the search before the trigram-ceiling search (`old_search` in the script: FTS5 OR "
        "of all the query's trigrams, 400 bm25-best synonyms, rapidfuzz); *new* = `KnowledgeGraph.search` "
        "(`medlens/kg/fuzzy.py`; below `min_score` 0.8 it also scores the old 400 candidates); *exact* = a "
        "rapidfuzz scan of every synonym. *Same top hit* = same concept and score as the old search's first hit, "
        "over the queries where the old search finds something; *same hits* = the same (concept, score) set; *new ≥ old at every rank* = as many hits, and "
        "at each rank a score at least the old one's.",
        "Run: `.venv/bin/python benchmarks/kg_search.py [--pipeline] [--kg PATH] [--no-readme]`.",
    ]
    update_readme_section(HEADING, "\n\n".join(parts))
    print(f"README section '{HEADING}' updated")


if __name__ == "__main__":
    main()
