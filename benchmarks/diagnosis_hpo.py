"""Differential diagnosis on simulated patients from the HPO disease annotations.

Patients are generated in the Phenomizer style (Köhler et al. 2009) from the
knowledge graph's ``has_phenotype`` edges:

1. a disease with at least 3 annotations is drawn uniformly;
2. each annotated term is kept with its annotated frequency (0.5 when the
   annotation has none); at least 2 and at most 10 are kept;
3. imprecision: each kept term is replaced, with probability 0.3, by one of
   its parents (never the root or "Phenotypic abnormality");
4. noise: 1-2 terms drawn from the annotations of *other* diseases, unrelated
   to this disease (not among its annotated terms or their ancestors);
5. absent findings: 1-2 terms drawn the same way, marked as absent.

Every patient is ranked against all annotated diseases (~12.7k) by medlens's
phenotype scorer, and, on the same patients, by pyhpo's own HPOSet similarity
(Resnik, best-match average, ``kind="omim"`` information content; pyhpo cannot
use absent findings). pyhpo's similarity is pure Python (about 10 s per patient
here against every disease), so it runs on the first ``--pyhpo-patients``
patients; medlens's numbers are given on the same subset too. The rank of the
true disease counts ties as half (1 + #better + #tied/2).

Run: ``.venv/bin/python benchmarks/diagnosis_hpo.py`` (``--patients 1000``,
``--pyhpo-patients 60``, ``--seed``, ``--no-pyhpo``, ``--no-readme``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import markdown_table, run_info, update_readme_section  # noqa: E402

from medlens.kg.store import KnowledgeGraph  # noqa: E402
from medlens.reasoning.phenotype import ROOT_TERMS, PhenotypeIndex, ScorerSettings  # noqa: E402

HEADING = "Differential diagnosis: simulated HPO patients"


def simulate(idx: PhenotypeIndex, n: int, seed: int, imprecision: float = 0.3) -> list[dict]:
    """Phenomizer-style patients: ``{"disease", "present": [term idx], "absent": [term idx]}``."""
    rng = np.random.default_rng(seed)
    roots = {idx.term_index[r] for r in ROOT_TERMS if r in idx.term_index}
    n_ann = np.diff(idx.ann_ptr)
    eligible = np.flatnonzero(n_ann >= 3)
    patients = []
    for d in rng.choice(eligible, size=n, replace=True):
        d = int(d)
        ann = idx.disease_annotations(d)
        freqs = np.array([0.5 if f is None else f for _, f in ann])
        keep = [t for (t, _), f in zip(ann, freqs) if rng.random() < f]
        if len(keep) < 2:
            rest = [t for (t, _) in sorted(ann, key=lambda a: -(a[1] or 0.5)) if t not in keep]
            keep += rest[: 2 - len(keep)]
        if len(keep) > 10:
            keep = list(rng.choice(keep, size=10, replace=False))
        present = []
        for t in keep:
            parents = [p for p in idx.parent_lists[int(t)] if p not in roots]
            if parents and rng.random() < imprecision:
                t = parents[int(rng.integers(len(parents)))]
            present.append(int(t))
        own = set()
        for t, _ in ann:
            own.update(int(a) for a in idx.ancestors(t))
        unrelated: list[int] = []
        while len(unrelated) < 4:
            t = int(idx.ann_term[int(rng.integers(len(idx.ann_term)))])
            if t not in own and t not in unrelated:
                unrelated.append(t)
        k_noise, k_absent = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        present += unrelated[:k_noise]
        absent = unrelated[k_noise:k_noise + k_absent]
        patients.append({"disease": d, "present": list(dict.fromkeys(present)), "absent": absent})
    return patients


def rank_of(scores: np.ndarray, true: int) -> float:
    s = scores[true]
    better = int((scores > s).sum())
    tied = int((scores == s).sum()) - 1
    return 1 + better + tied / 2


def summarize(ranks: list[float]) -> dict[str, float]:
    r = np.array(ranks)
    return {"n": len(r), "top1": float((r <= 1).mean() * 100), "top10": float((r <= 10).mean() * 100),
            "mean_rank": float(r.mean()), "median_rank": float(np.median(r))}


def run_medlens(idx: PhenotypeIndex, patients: list[dict], settings: ScorerSettings,
                use_absent: bool = True) -> tuple[list[float], float]:
    ranks = []
    start = time.perf_counter()
    for p in patients:
        scores = idx.score(p["present"], p["absent"] if use_absent else (), settings)
        ranks.append(rank_of(scores, p["disease"]))
    return ranks, time.perf_counter() - start


def run_pyhpo(idx: PhenotypeIndex, patients: list[dict]) -> tuple[list[float], float, float, int]:
    from pyhpo import HPOSet, Ontology

    t0 = time.perf_counter()
    Ontology()
    sets: list[tuple[int, object]] = []
    for kind, prefix in ((Ontology.omim_diseases, "OMIM"), (Ontology.orpha_diseases, "ORPHA"),
                         (Ontology.decipher_diseases, "DECIPHER")):
        for dis in kind:
            i = idx.disease_index.get(f"{prefix}:{dis.id}")
            if i is not None and dis.hpo:
                sets.append((i, HPOSet.from_queries(list(dis.hpo))))
    load = time.perf_counter() - t0
    ranks = []
    start = time.perf_counter()
    for p in patients:
        q = HPOSet.from_queries([idx.terms[t] for t in p["present"]])
        scores = np.full(len(idx.diseases), -1.0)
        for i, s in sets:
            scores[i] = q.similarity(s, kind="omim", method="resnik", combine="BMA")
        ranks.append(rank_of(scores, p["disease"]))
    return ranks, time.perf_counter() - start, load, len(sets)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--pyhpo-patients", type=int, default=60)
    ap.add_argument("--seed", type=int, default=2009)
    ap.add_argument("--kg", type=Path, default=None)
    ap.add_argument("--no-pyhpo", action="store_true")
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args()

    kg = KnowledgeGraph.open(args.kg)
    t0 = time.perf_counter()
    idx = PhenotypeIndex.from_graph(kg)
    build = time.perf_counter() - t0
    print(f"index: {len(idx.terms)} terms, {len(idx.diseases)} diseases, built in {build:.2f} s", flush=True)
    patients = simulate(idx, args.patients, args.seed)
    settings = ScorerSettings()
    idx.score(patients[0]["present"], patients[0]["absent"], settings)  # warm-up

    rows = []
    ranks, secs = run_medlens(idx, patients, settings)
    full = summarize(ranks)
    rows.append(["medlens (present + absent findings)", f"all {full['n']}", full, full["n"] / secs, secs / full["n"] * 1000])
    print("medlens", full, f"{secs / len(patients) * 1000:.1f} ms/patient", flush=True)
    ranks_np, secs_np = run_medlens(idx, patients, settings, use_absent=False)
    s = summarize(ranks_np)
    rows.append(["medlens (present findings only)", f"all {s['n']}", s, s["n"] / secs_np, secs_np / s["n"] * 1000])
    print("medlens, no absent", s, flush=True)
    k = min(args.pyhpo_patients, len(patients))
    py_note = ""
    if not args.no_pyhpo and k:
        sub = summarize(ranks[:k])
        rows.append(["medlens (present + absent findings)", f"first {k}", sub, full["n"] / secs, secs / full["n"] * 1000])
        sub_np = summarize(ranks_np[:k])
        rows.append(["medlens (present findings only)", f"first {k}", sub_np, s["n"] / secs_np, secs_np / s["n"] * 1000])
        py_ranks, py_secs, py_load, n_sets = run_pyhpo(idx, patients[:k])
        py = summarize(py_ranks)
        rows.append(["pyhpo 4.0.0 HPOSet.similarity (Resnik, BMA)", f"first {k}", py, k / py_secs, py_secs / k * 1000])
        print("pyhpo", py, f"{py_secs / k:.1f} s/patient", flush=True)
        py_note = (f" pyhpo ranked the {n_sets} diseases it annotates (its Ontology loaded in {py_load:.0f} s); "
                   f"present findings only, since it has no notion of an absent finding.")
    table = markdown_table(
        ["system", "patients", "top-1 %", "top-10 %", "mean rank", "median rank", "patients/s", "ms/patient"],
        [[name, who, f"{m['top1']:.1f}", f"{m['top10']:.1f}", f"{m['mean_rank']:.1f}", f"{m['median_rank']:.1f}",
          f"{rate:,.1f}" if rate >= 1 else f"{rate:.3f}", f"{ms:,.1f}"] for name, who, m, rate, ms in rows],
        align=["l", "l", "r", "r", "r", "r", "r", "r"])
    info = run_info()
    md = (f"Recorded {info['date']} on {info['machine']['summary']}, commit {info['commit']}.\n\n{table}\n\n"
          f"Run: `.venv/bin/python benchmarks/diagnosis_hpo.py --patients {args.patients} --pyhpo-patients {k} "
          f"--seed {args.seed}`. {len(patients)} simulated patients (seed {args.seed}) ranked against all "
          f"{len(idx.diseases):,} annotated diseases (OMIM, Orphanet, DECIPHER) of the default knowledge graph; "
          f"index built from the graph in {build:.2f} s. Patients follow the Phenomizer recipe: findings sampled "
          f"by annotated frequency (2-10), 30% replaced by a parent term (imprecision), 1-2 unrelated noise terms, "
          f"1-2 unrelated absent findings. Scorer: `medlens.reasoning.phenotype` with default `ScorerSettings` "
          f"({settings}). Rank ties count half.{py_note} Speeds are single-threaded.")
    if not args.no_readme:
        update_readme_section(HEADING, md)
    print(md)


if __name__ == "__main__":
    main()
