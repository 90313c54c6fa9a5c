"""Phenotype similarity over HPO disease annotations, in the Phenomizer tradition.

Every HPO term ``t`` gets an information content ``IC(t) = -ln(n(t) / N)``,
where ``n(t)`` is the number of diseases annotated with ``t`` or one of its
descendants and ``N`` the number of annotated diseases. Two terms are as
similar as their most informative common ancestor (Resnik). A patient with
present findings ``Q+`` and absent findings ``Q-`` is scored against each
disease ``D`` (annotations ``A(D)`` with frequencies ``f``):

* **query → disease** (Phenomizer's best-match average): the mean over
  ``q ∈ Q+`` of ``max_{t ∈ A(D)} IC(MICA(q, t)) · w(f)``, with
  ``w(f) = 1 - β + β·f`` (``β = frequency_weight``, 0 by default: plain
  Phenomizer matching);
* **disease → query**: the frequency-weighted mean over ``t ∈ A(D)`` of
  ``max_{q ∈ Q+} IC(MICA(t, q))``, so that a disease whose frequent
  features are missing from the patient ranks lower;
* **absent findings**: each ``q ∈ Q-`` that the disease is annotated with
  (``q`` or a descendant) subtracts ``γ · IC(q) · f``; a disease that
  explicitly *lacks* a present finding (Orphanet "excluded") loses
  ``γ · IC(q)``;

``score = α·(query→disease) + (1-α)·(disease→query) − penalties``.

All of it runs on numpy arrays loaded once from the graph
(:meth:`PhenotypeIndex.from_graph`, cached per graph file); ranking the
~12.7k annotated diseases costs a few milliseconds per patient.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medlens.errors import Errors, InputError, KnowledgeGraphError
from medlens.kg.store import KnowledgeGraph

ROOT_TERMS = ("HP:0000001", "HP:0000118")
"""The ontology root and "Phenotypic abnormality": they carry no information."""


@dataclass(frozen=True)
class ScorerSettings:
    """Weights of the phenotype scorer (see the module docstring).

    Attributes:
        alpha: weight of query→disease against disease→query (default 0.7).
        frequency_weight: β in ``w(f) = 1 - β + β·f`` (default 0: on simulated patients,
            weighting query→disease matches by frequency lowered top-1 accuracy; the
            frequencies still weigh disease→query and absent findings).
        absent_weight: γ, how much an absent finding annotated to a disease costs it (default 1.0).
        unknown_frequency: the frequency assumed when an annotation has none (default 0.5).
        temperature: softmax temperature turning scores into probabilities (default 0.25).
    """

    alpha: float = 0.7
    frequency_weight: float = 0.0
    absent_weight: float = 1.0
    unknown_frequency: float = 0.5
    temperature: float = 0.25


@dataclass(frozen=True)
class Annotation:
    """One ``disease --has_phenotype--> term`` edge as the scorer holds it."""

    term: str
    frequency: float | None


class PhenotypeIndex:
    """HPO terms, their ancestors and information content, and disease annotations as arrays.

    Build it with :meth:`from_graph` (cached per graph file) or :meth:`from_data` (tests).

    Attributes:
        terms: HPO ids, index ``i`` ↔ ``terms[i]``.
        term_names: their names.
        diseases: annotated disease ids (``OMIM:…``, ``ORPHA:…``, ``DECIPHER:…``).
        disease_names: their names.
        ic: information content of each term (numpy float array).
    """

    def __init__(self, terms: Sequence[str], term_names: Sequence[str], parents: Iterable[tuple[str, str]],
                 diseases: Sequence[str], disease_names: Sequence[str],
                 annotations: Iterable[tuple[str, str, float | None]],
                 lacks: Iterable[tuple[str, str]] = (), source: str = "") -> None:
        self.source = source
        self.terms = list(terms)
        self.term_names = list(term_names)
        self.term_index = {t: i for i, t in enumerate(self.terms)}
        self.diseases = list(diseases)
        self.disease_names = list(disease_names)
        self.disease_index = {d: i for i, d in enumerate(self.diseases)}
        n_t = len(self.terms)
        ti, di = self.term_index, self.disease_index
        # parents and ancestor closure (self included), as CSR arrays
        par: list[list[int]] = [[] for _ in range(n_t)]
        for child, parent in parents:
            if child in ti and parent in ti and child != parent:
                par[ti[child]].append(ti[parent])
        self.parent_lists = par
        closure: list[np.ndarray | None] = [None] * n_t

        def close(i: int) -> np.ndarray:
            stack = [i]
            while stack:
                j = stack[-1]
                if closure[j] is not None:
                    stack.pop()
                    continue
                pending = [p for p in par[j] if closure[p] is None]
                if pending:
                    stack.extend(pending)
                    continue
                parts = [np.array([j], dtype=np.int32)] + [closure[p] for p in par[j]]
                closure[j] = np.unique(np.concatenate(parts))
                stack.pop()
            return closure[i]

        for i in range(n_t):
            close(i)
        sizes = np.array([len(c) for c in closure], dtype=np.int64)
        self.anc_ptr = np.concatenate([[0], np.cumsum(sizes)])
        self.anc_idx = np.concatenate(closure).astype(np.int32) if n_t else np.zeros(0, np.int32)

        # direct annotations, sorted by disease
        rows = [(di[d], ti[t], -1.0 if f is None else float(f)) for d, t, f in annotations if d in di and t in ti]
        if not rows:
            raise KnowledgeGraphError(Errors.E1378.format(where="", what="HPO disease annotations (has_phenotype relations)"))
        arr = np.array(rows, dtype=np.float64)
        order = np.lexsort((arr[:, 1], arr[:, 0]))
        arr = arr[order]
        self.ann_disease = arr[:, 0].astype(np.int32)
        self.ann_term = arr[:, 1].astype(np.int32)
        self.ann_freq_raw = arr[:, 2]  # -1 = unknown
        n_d = len(self.diseases)
        self.ann_ptr = np.searchsorted(self.ann_disease, np.arange(n_d + 1)).astype(np.int64)

        # expand each annotation to its ancestors: (annotation, ancestor) pairs
        counts = sizes[self.ann_term]
        self.exp_ptr = np.concatenate([[0], np.cumsum(counts)])
        starts = self.anc_ptr[self.ann_term]
        offs = np.arange(int(counts.sum())) - np.repeat(self.exp_ptr[:-1], counts)
        self.exp_term = self.anc_idx[np.repeat(starts, counts) + offs]
        exp_dis = np.repeat(self.ann_disease, counts)

        # propagated disease x term set; value = max frequency of the annotations below the term
        key = exp_dis.astype(np.int64) * n_t + self.exp_term
        freq_rep = np.repeat(self.ann_freq_raw, counts)
        order = np.lexsort((-freq_rep, key))
        key_s, freq_s = key[order], freq_rep[order]
        first = np.concatenate([[True], key_s[1:] != key_s[:-1]])
        ukey, ufreq = key_s[first], freq_s[first]  # max frequency per (disease, term); -1 when all unknown
        p_dis, p_term = ukey // n_t, ukey % n_t
        # by term (CSC-like) for query -> disease
        order = np.argsort(p_term, kind="stable")
        self.col_term = p_term[order].astype(np.int32)
        self.col_dis = p_dis[order].astype(np.int32)
        self.col_freq_raw = ufreq[order]
        self.col_ptr = np.searchsorted(self.col_term, np.arange(n_t + 1)).astype(np.int64)
        # information content
        n_ann = np.diff(self.col_ptr).astype(np.float64)
        self.n_annotated = n_ann
        total = float(n_d)
        with np.errstate(divide="ignore"):
            ic = -np.log(np.where(n_ann > 0, n_ann, 1.0) / total)
        ic[n_ann == 0] = np.log(total)
        for r in ROOT_TERMS:
            if r in ti:
                ic[ti[r]] = 0.0
        self.ic = ic
        # excluded phenotypes
        lk = [(di[d], ti[t]) for d, t in lacks if d in di and t in ti]
        self.lacks: dict[int, set[int]] = {}
        for d, t in lk:
            self.lacks.setdefault(t, set()).add(d)

    # -- building ----------------------------------------------------------------
    @classmethod
    def from_graph(cls, kg: KnowledgeGraph) -> PhenotypeIndex:
        """The index of a graph, built once per graph file and process (thread-safe).

        Raises:
            KnowledgeGraphError: the graph holds no HPO terms or disease annotations.
        """
        key = str(Path(kg.path).resolve())
        with _LOCK:
            idx = _CACHE.get(key)
            if idx is None:
                idx = _CACHE[key] = cls._read_graph(kg)
        return idx

    @classmethod
    def _read_graph(cls, kg: KnowledgeGraph) -> PhenotypeIndex:
        terms = list(kg.query("SELECT id, name FROM concepts WHERE id >= 'HP:' AND id < 'HP;' ORDER BY id"))
        if not terms:
            raise KnowledgeGraphError(Errors.E1378.format(where=f" {kg.path}", what="HPO terms"))
        parents = kg.query("SELECT subject, object FROM relations WHERE predicate='is_a' AND subject >= 'HP:' AND subject < 'HP;'")
        ann = list(kg.query(
            "SELECT subject, object, json_extract(attrs, '$.frequency') FROM relations WHERE predicate='has_phenotype'"))
        dis_ids = sorted({a[0] for a in ann})
        names = {}
        for i in range(0, len(dis_ids), 900):
            chunk = dis_ids[i:i + 900]
            names.update(kg.query(f"SELECT id, name FROM concepts WHERE id IN ({','.join('?' * len(chunk))})", chunk))
        lacks = kg.query("SELECT subject, object FROM relations WHERE predicate='lacks_phenotype'")
        return cls([t for t, _ in terms], [n for _, n in terms], parents, dis_ids,
                   [names.get(d, d) for d in dis_ids], ann, lacks, source=str(kg.path))

    @classmethod
    def from_data(cls, terms: dict[str, str], is_a: Iterable[tuple[str, str]],
                  diseases: dict[str, str], annotations: Iterable[tuple[str, str, float | None]],
                  lacks: Iterable[tuple[str, str]] = ()) -> PhenotypeIndex:
        """An index from plain data (tests, custom ontologies).

        Args:
            terms: term id → name.
            is_a: ``(child, parent)`` pairs.
            diseases: disease id → name.
            annotations: ``(disease, term, frequency or None)``.
            lacks: ``(disease, term)`` phenotypes the disease is known not to have.
        """
        return cls(list(terms), list(terms.values()), is_a, list(diseases), list(diseases.values()),
                   annotations, lacks, source="data")

    # -- helpers -------------------------------------------------------------------
    def ancestors(self, term: int) -> np.ndarray:
        """Indices of a term's ancestors, itself included."""
        return self.anc_idx[self.anc_ptr[term]:self.anc_ptr[term + 1]]

    def index_of(self, term_id: str) -> int:
        """The index of an HPO id; raises :class:`InputError` for unknown ids."""
        i = self.term_index.get(term_id)
        if i is None:
            raise InputError(Errors.E1379.format(value=term_id, n=len(self.terms),
                                                 last=self.terms[-1] if self.terms else "-"))
        return i

    def frequencies(self, raw: np.ndarray, unknown: float) -> np.ndarray:
        return np.where(raw < 0, unknown, raw)

    def disease_annotations(self, d: int) -> list[tuple[int, float | None]]:
        lo, hi = self.ann_ptr[d], self.ann_ptr[d + 1]
        return [(int(t), None if f < 0 else float(f)) for t, f in zip(self.ann_term[lo:hi], self.ann_freq_raw[lo:hi])]

    def propagated_frequency(self, d: int, term: int) -> float | None:
        """Max frequency of ``d``'s annotations at or below ``term``; None if not annotated there; -1 unknown."""
        lo, hi = self.col_ptr[term], self.col_ptr[term + 1]
        pos = lo + np.searchsorted(self.col_dis[lo:hi], d)
        if pos < hi and self.col_dis[pos] == d:
            return float(self.col_freq_raw[pos])
        return None

    # -- scoring -------------------------------------------------------------------
    def score(self, present: Sequence[int], absent: Sequence[int] = (),
              settings: ScorerSettings = ScorerSettings()) -> np.ndarray:
        """Scores of every disease for a patient (term indices), higher is better.

        Args:
            present: indices of present findings.
            absent: indices of findings known to be absent.
            settings: the scorer weights.

        Returns:
            One float per disease, in the order of :attr:`diseases`.
        """
        n_d = len(self.diseases)
        present = list(dict.fromkeys(present))
        absent = [a for a in dict.fromkeys(absent) if a not in set(present)]
        score = np.zeros(n_d)
        beta, unk = settings.frequency_weight, settings.unknown_frequency
        if present:
            # query -> disease
            qd = np.zeros(n_d)
            for q in present:
                best = np.zeros(n_d)
                for a in self.ancestors(q):
                    ic = self.ic[a]
                    if ic <= 0:
                        continue
                    lo, hi = self.col_ptr[a], self.col_ptr[a + 1]
                    rows = self.col_dis[lo:hi]
                    w = 1.0 - beta + beta * self.frequencies(self.col_freq_raw[lo:hi], unk)
                    cand = ic * w
                    cur = best[rows]
                    best[rows] = np.where(cand > cur, cand, cur)
                qd += best
            qd /= len(present)
            # disease -> query: for each annotation, the max IC over its ancestors that are in the query's closure
            in_q = np.zeros(len(self.terms))
            for q in present:
                anc = self.ancestors(q)
                in_q[anc] = self.ic[anc]
            vals = in_q[self.exp_term]
            per_ann = np.maximum.reduceat(vals, self.exp_ptr[:-1]) if len(vals) else np.zeros(0)
            f = self.frequencies(self.ann_freq_raw, unk)
            num = np.add.reduceat(per_ann * f, self.ann_ptr[:-1].clip(max=len(f) - 1))
            den = np.add.reduceat(f, self.ann_ptr[:-1].clip(max=len(f) - 1))
            empty = np.diff(self.ann_ptr) == 0
            num[empty] = 0.0
            den[empty] = 1.0
            dq = num / np.maximum(den, 1e-9)
            score = settings.alpha * qd + (1.0 - settings.alpha) * dq
            # explicit exclusions
            for q in present:
                for a in self.ancestors(q):
                    for d in self.lacks.get(int(a), ()):
                        score[d] -= settings.absent_weight * self.ic[q] / len(present)
        n_all = max(1, len(present))
        for q in absent:
            lo, hi = self.col_ptr[q], self.col_ptr[q + 1]
            if hi > lo:
                f = self.frequencies(self.col_freq_raw[lo:hi], unk)
                score[self.col_dis[lo:hi]] -= settings.absent_weight * self.ic[q] * f / n_all
        return score

    def probabilities(self, scores: np.ndarray, temperature: float) -> np.ndarray:
        """Softmax of scores (all diseases sum to 1)."""
        z = (scores - scores.max()) / max(temperature, 1e-6)
        e = np.exp(z)
        return e / e.sum()

    def mica(self, a: int, b: int) -> int:
        """The most informative common ancestor of two terms (index)."""
        common = np.intersect1d(self.ancestors(a), self.ancestors(b), assume_unique=True)
        return int(common[np.argmax(self.ic[common])]) if len(common) else -1


_CACHE: dict[str, PhenotypeIndex] = {}
_LOCK = threading.Lock()
