"""A trained reranker over the candidate ids of the mention normalizer's routes.

:class:`~medlens.components.mention_ids.MentionNormalizer` tries its routes in a fixed
order and takes the first id one of them gives. The reranker instead gathers the
candidates of all routes for a mention -- the id annotators gave the same text in the
training corpora, the linker's ranked links (also of the document's abbreviation written
out and of spelling variants), the mention's head, the nearest concept texts by meaning
(:class:`~medlens.components.mention_semantic.SemanticIndex`) -- describes each candidate
with a few features (:data:`FEATURES`: which routes proposed it and at what rank, the
cosine of its nearest text, string similarity, how often the training annotators used it,
MeSH descriptor / supplementary concept / OMIM, ...) and scores it with a linear model
learnt on held-out training mentions (``scripts/train_mention_reranker.py``). The best
candidate wins; the normalizer's own choice is one feature among the others.

The model is a small JSON file (``medlens/assets/mention_reranker/reranker.json``, see
its ``MODEL_CARD.md``): feature names, their means and scales, the weights and the
intercept. Feature extraction is plain Python and numpy.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medlens.errors import Errors, ModelError

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "assets" / "mention_reranker" / "reranker.json"
"""The shipped reranker (diseases; trained on the train hold-out of NCBI-disease and BC5CDR)."""

ROUTES = ("annotated", "abbreviation", "composite", "link", "variant", "semantic", "head", "none")
"""Routes of :class:`~medlens.components.mention_ids.Normalized`."""

FEATURES = (
    "base",                    # the normalizer's own choice
    *(f"base_{r}" for r in ROUTES[:-1]),  # ... and by which route
    "annotated",               # the id annotators gave this text (majority)
    "annotated_abbr",          # ... to the abbreviation's long form
    "link_top",                # the linker's first accepted id (exact/normalized)
    "link_rr",                 # 1 / rank among the linker's accepted ids (any method)
    "link_score",              # the linker's score
    "link_fuzzy",              # found only by fuzzy/partial matching
    "abbr_link",               # a link of the document's long form
    "variant_link",            # a link of a spelling variant
    "head_link",               # a link of the mention's head (trailing words)
    "head_words_dropped",      # how many leading words the head drops
    "cos",                     # cosine of the candidate's nearest concept text to the mention
    "cos_gap",                 # cos minus the best cosine of any candidate
    "sem_rr",                  # 1 / rank among the nearest concepts
    "cos_abbr",                # cosine to the long form (0 without one)
    "fuzz",                    # rapidfuzz ratio of the mention to the candidate's closest text (0..1)
    "fuzz_tsr",                # token-set ratio, same texts
    "prior",                   # log(1 + distinct training mentions annotated with the candidate)
    "prior_any",               # the annotators used the candidate at all
    "descriptor",              # MeSH descriptor (MESH:D)
    "supplementary",           # MeSH supplementary concept (MESH:C)
    "omim",                    # OMIM id
    "n_routes",                # how many routes proposed it
    "parent_of_base",          # a broader concept (is_a parent) of the routes' choice or the first link
    "cos_memory",              # cosine of the candidate's nearest training mention (annotators' memory)
    "memory_rr",               # 1 / rank among the concepts of the nearest training mentions
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One candidate id of a mention and its feature values (in :data:`FEATURES` order)."""

    concept_id: str
    features: tuple[float, ...]


class LinearReranker:
    """A linear scorer over :data:`FEATURES` (standardized), read from a JSON file.

    Args:
        path: the model file (``{"features": [...], "mean": [...], "scale": [...], "coef": [...],
            "intercept": x, "labels": [...], "routes": [...]}``; ``labels``: the entity labels it
            reranks, ``routes``: the routes whose choice it may overturn -- the shipped one leaves the
            annotators' id of the same text, abbreviations and composites alone); None: the shipped one.

    Raises:
        ModelError: E1060 when the file is missing, unreadable or does not fit :data:`FEATURES`.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else DEFAULT_MODEL
        try:
            meta = json.loads(self.path.read_text(encoding="utf-8"))
            names = list(meta["features"])
            self.mean = np.asarray(meta["mean"], dtype=np.float64)
            self.scale = np.asarray(meta["scale"], dtype=np.float64)
            self.coef = np.asarray(meta["coef"], dtype=np.float64)
            self.intercept = float(meta["intercept"])
            self.labels = tuple(meta.get("labels", ("DISEASE",)))
            self.routes = tuple(meta.get("routes", ROUTES))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(Errors.E1060.format(path=self.path, details=exc)) from exc
        unknown = [n for n in names if n not in FEATURES]
        if unknown or not (len(names) == len(self.mean) == len(self.scale) == len(self.coef)):
            raise ModelError(Errors.E1060.format(
                path=self.path, details=f"features {unknown or names} do not match medlens's {len(FEATURES)} features"))
        self.columns = [FEATURES.index(n) for n in names]
        self.meta = meta

    def scores(self, candidates: Sequence[Candidate]) -> np.ndarray:
        """The score of each candidate (higher is better)."""
        if not candidates:
            return np.zeros(0)
        x = np.asarray([c.features for c in candidates], dtype=np.float64)[:, self.columns]
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept


class CandidateGenerator:
    """The candidates of all routes of a normalizer for one mention, with their features.

    Args:
        normalizer: a :class:`~medlens.components.mention_ids.MentionNormalizer` (its linker,
            graph, annotated table and semantic index are used).
        k: nearest concepts taken from the semantic index.
    """

    def __init__(self, normalizer, k: int = 10) -> None:
        self.norm = normalizer
        self.k = k
        self._prior: dict[str, int] | None = None
        self._texts_of: dict[str, list[str]] = {}
        self._memory: tuple[np.ndarray, list[str]] | None = None

    def prior(self) -> dict[str, int]:
        """Concept id -> distinct training mentions annotated with it."""
        if self._prior is None:
            self._prior = {cid: n for cid, n in self.norm.kg.query(
                "SELECT concept_id, count(*) FROM synonyms WHERE source = 'mentions' GROUP BY concept_id")}
        return self._prior

    def _texts(self, cid: str) -> list[str]:
        if cid not in self._texts_of:
            rows = self.norm.kg.query(
                "SELECT lower(text) FROM synonyms WHERE concept_id = ? UNION SELECT lower(name) FROM concepts WHERE id = ?",
                [cid, cid])
            self._texts_of[cid] = [r[0] for r in rows if r[0]][:200]
        return self._texts_of[cid]

    def _memory_rows(self) -> tuple[np.ndarray, list[str]]:
        """Rows of the semantic index that are training mentions, and the concept of each
        (one row per text and concept)."""
        if self._memory is None:
            index = self.norm.semantic
            index._load()
            mentions: dict[str, set[str]] = {}
            for cid, text in self.norm.kg.query("SELECT concept_id, text FROM synonyms WHERE source = 'mentions'"):
                mentions.setdefault(" ".join(text.lower().split()), set()).add(cid)
            rows, ids = [], []
            for i, text in enumerate(index._texts or []):
                for cid in sorted(mentions.get(text, ())):
                    if cid in index._ids[i]:
                        rows.append(i)
                        ids.append(cid)
            self._memory = (np.asarray(rows, dtype=np.int64), ids)
        return self._memory

    def _parents(self, cid: str) -> list[str]:
        """The accepted ids of the concept's broader concepts (``is_a``)."""
        try:
            rels = self.norm.kg.relations(cid, predicate="is_a", direction="out")
        except Exception:  # noqa: BLE001 - a graph without relations for it
            return []
        return sorted({r.object for r in rels if r.object.startswith(self.norm.accept)})

    def _links(self, text: str, label: str | None) -> list[tuple[str, float, str]]:
        """The linker's accepted ids for ``text`` (mapped to the target vocabulary), in rank order."""
        out: list[tuple[str, float, str]] = []
        seen: set[str] = set()
        for link in self.norm.linker.link_text(text, label):
            for cid in self.norm.accepted_ids(link.concept_id):
                if cid not in seen:
                    seen.add(cid)
                    out.append((cid, link.score, link.method))
        return out

    def candidates(self, text: str, label: str | None, abbreviations: dict[str, str] | None, base) -> list[Candidate]:
        """Every candidate id for the mention with its features; ``base`` is the normalizer's
        :class:`~medlens.components.mention_ids.Normalized` result for it."""
        from rapidfuzz import fuzz

        norm = self.norm
        abbreviations = abbreviations or {}
        feats: dict[str, dict[str, float]] = {}

        def add(cid: str, **values: float) -> None:
            f = feats.setdefault(cid, {})
            for k, v in values.items():
                f[k] = max(f.get(k, 0.0), v)

        if len(base.ids) == 1:
            add(base.ids[0], base=1.0, **{f"base_{base.route}": 1.0})
        for cid in norm.annotated_ids_of(text, label):
            add(cid, annotated=1.0)
        long = abbreviations.get(text)
        if long:
            for cid in norm.annotated_ids_of(long, label):
                add(cid, annotated_abbr=1.0)
        for rank, (cid, score, method) in enumerate(self._links(text, label)):
            strong = method not in ("fuzzy", "partial")
            add(cid, link_rr=1.0 / (rank + 1), link_score=score, link_fuzzy=0.0 if strong else 1.0,
                link_top=1.0 if rank == 0 and strong else 0.0)
        if long:
            for rank, (cid, _s, _m) in enumerate(self._links(long, label)[:3]):
                add(cid, abbr_link=1.0 / (rank + 1))
        from medlens.components.mention_ids import spelling_variants

        for v in spelling_variants(text)[:3]:
            for rank, (cid, _s, method) in enumerate(self._links(v, label)[:2]):
                if method not in ("fuzzy", "partial"):
                    add(cid, variant_link=1.0 / (rank + 1))
        words = text.split()
        for i in range(1, min(len(words), 4)):
            hits = [c for c in self._links(" ".join(words[i:]), label)[:2]]
            for rank, (cid, _s, method) in enumerate(hits):
                if method not in ("fuzzy", "partial"):
                    add(cid, head_link=1.0 / (rank + 1), head_words_dropped=float(i))
            if hits:
                break
        for cid in [c for c, f in feats.items() if f.get("base") or f.get("link_top")]:
            for parent in self._parents(cid):
                add(parent, parent_of_base=1.0)
        sims = None
        index = norm.semantic
        if index is not None and (label is None or label in index.labels):
            sims, near = index.query(long or text, k=self.k)
            for rank, n in enumerate(near):
                add(n.concept_id, sem_rr=1.0 / (rank + 1))
            rows, row_ids = self._memory_rows()
            if sims is not None and len(rows):
                mem = sims[rows]
                rank = 0
                for j in np.argsort(-mem)[:10]:
                    cid = row_ids[j]
                    if "memory_rr" not in feats.get(cid, {}):
                        rank += 1
                        add(cid, memory_rr=1.0 / rank)
                    if rank >= 3:
                        break
                best_mem: dict[str, float] = {}
                for j, cid in enumerate(row_ids):
                    if cid in feats and mem[j] > best_mem.get(cid, -1.0):
                        best_mem[cid] = float(mem[j])
                for cid, v in best_mem.items():
                    add(cid, cos_memory=v)
        if not feats:
            return []
        cos_abbr = index.similarities(long, list(feats)) if (index is not None and long and sims is not None) else {}
        cos = index.similarities_from(sims, list(feats)) if sims is not None else {}
        best_cos = max(cos.values(), default=0.0)
        prior = self.prior()
        low = text.lower()
        out: list[Candidate] = []
        for cid, f in feats.items():
            texts = self._texts(cid)
            f["n_routes"] = float(sum(1 for k in ("base", "annotated", "link_rr", "abbr_link", "variant_link",
                                                   "head_link", "sem_rr") if f.get(k)))
            f["cos"] = cos.get(cid, 0.0)
            f["cos_gap"] = f["cos"] - best_cos
            f["cos_abbr"] = cos_abbr.get(cid, 0.0)
            f["fuzz"] = max((fuzz.ratio(low, t) for t in texts), default=0.0) / 100.0
            f["fuzz_tsr"] = max((fuzz.token_set_ratio(low, t) for t in texts), default=0.0) / 100.0
            n = prior.get(cid, 0)
            f["prior"] = math.log1p(n)
            f["prior_any"] = 1.0 if n else 0.0
            f["descriptor"] = 1.0 if cid.startswith("MESH:D") else 0.0
            f["supplementary"] = 1.0 if cid.startswith("MESH:C") else 0.0
            f["omim"] = 1.0 if cid.startswith("OMIM:") else 0.0
            out.append(Candidate(cid, tuple(float(f.get(name, 0.0)) for name in FEATURES)))
        return out


__all__ = ["DEFAULT_MODEL", "FEATURES", "Candidate", "CandidateGenerator", "LinearReranker"]
