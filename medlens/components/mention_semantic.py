"""Nearest concept names by meaning, for the mentions that no spelling route resolves.

:class:`SemanticIndex` embeds, with the shipped sentence encoder
(:mod:`medlens.tagging.encoder`, all-MiniLM-L6-v2 int8), every name and synonym of
the graph's concepts of one vocabulary and label -- for MeSH diseases: the MeSH
headings and entry terms, the MEDIC names and synonyms, the OMIM titles and the
training corpora's annotated mentions (``mention`` synonyms of source
``mentions``) -- and gives a mention the concepts of its nearest texts (cosine).
:class:`~medlens.components.mention_ids.MentionNormalizer` uses it last, for
paraphrases such as "artery calcification" (Vascular Calcification).

The embeddings (about 90,000 disease texts: some minutes on 2 cores, once) are
cached on disk per text in :func:`medlens.runtime.cache_dir`
(``$MEDLENS_CACHE`` or ``~/.cache/medlens``), keyed by the encoder, so another
graph re-embeds only the texts it adds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medlens.kg.store import KnowledgeGraph
from medlens.runtime import cache_dir

CACHE_VERSION = "1"


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A concept near a mention: its id, the cosine and the concept text it matched."""

    concept_id: str
    score: float
    matched: str


class SemanticIndex:
    """Concept texts of some labels and id prefixes, embedded for nearest-neighbour look-up.

    Args:
        kg: the knowledge graph.
        labels: concept labels embedded (default ``DISEASE`` and ``FINDING``: MeSH files pathologic
            processes such as hemorrhage and necrosis as findings, ``label_rules.json``).
        accept: id prefixes embedded (default ``MESH:`` and ``OMIM:``).
        encoder: a :class:`~medlens.tagging.encoder.SentenceEncoder`; None loads the shipped one.
        cache: keep the text embeddings on disk (one file per encoder).
        progress: show a progress bar while texts are embedded.
    """

    def __init__(self, kg: KnowledgeGraph, labels: Sequence[str] = ("DISEASE", "FINDING"),
                 accept: Sequence[str] = ("MESH:", "OMIM:"), encoder=None, cache: bool = True,
                 progress: bool = True) -> None:
        self.kg = kg
        self.labels = tuple(labels)
        self.accept = tuple(accept)
        self._encoder = encoder
        self.cache = cache
        self.progress = progress
        self._texts: list[str] | None = None
        self._ids: list[list[str]] = []
        self._vectors: np.ndarray | None = None
        self._rows_of: dict[str, list[int]] | None = None

    @property
    def encoder(self):
        if self._encoder is None:
            from medlens.tagging.encoder import default_encoder

            self._encoder = default_encoder()
        return self._encoder

    def texts(self) -> tuple[list[str], list[list[str]]]:
        """The distinct lower-cased concept texts and, per text, the ids it names (sorted)."""
        marks = ",".join("?" * len(self.labels))
        rows = self.kg.query(
            "SELECT lower(s.text), s.concept_id FROM synonyms s JOIN concepts c ON c.id = s.concept_id "
            f"WHERE c.label IN ({marks}) UNION SELECT lower(name), id FROM concepts WHERE label IN ({marks})",
            [*self.labels, *self.labels])
        by_text: dict[str, set[str]] = {}
        for text, cid in rows:
            text = " ".join(text.split()) if text else ""  # one line per text in the cache
            if cid.startswith(self.accept) and text:
                by_text.setdefault(text, set()).add(cid)
        texts = sorted(by_text)
        return texts, [sorted(by_text[t]) for t in texts]

    def _cache_path(self) -> Path:
        return cache_dir() / "semantic" / f"texts-v{CACHE_VERSION}-{self.encoder.fingerprint}.npz"

    def _embed(self, texts: list[str]) -> np.ndarray:
        """Embeddings of ``texts``, from the on-disk cache where present; new ones are added to it."""
        if not texts:  # a graph without texts of these labels and prefixes: an empty index, no encoder
            return np.zeros((0, 0), dtype=np.float32)
        known: dict[str, int] = {}
        old_texts: list[str] = []
        old_vecs = None
        path = self._cache_path() if self.cache else None
        if path is not None and path.is_file():
            try:
                z = np.load(path, allow_pickle=False)
                old_texts, old_vecs = bytes(z["texts"]).decode("utf-8").split("\n"), z["vectors"]
                if len(old_texts) != len(old_vecs):
                    raise ValueError("texts and vectors differ in number")
                known = {t: i for i, t in enumerate(old_texts)}
            except (OSError, ValueError, KeyError):
                known, old_texts, old_vecs = {}, [], None
        missing = [t for t in texts if t not in known]
        new_vecs = self.encoder.encode(missing, progress=self.progress, desc="embedding concept names") if missing \
            else np.zeros((0, 0), dtype=np.float32)
        new_index = {t: i for i, t in enumerate(missing)}
        dim = new_vecs.shape[1] if missing else old_vecs.shape[1]
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for j, t in enumerate(texts):
            out[j] = new_vecs[new_index[t]] if t in new_index else old_vecs[known[t]]
        if path is not None and missing:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                all_texts = old_texts + missing
                all_vecs = new_vecs.astype(np.float16) if old_vecs is None else \
                    np.concatenate([old_vecs.astype(np.float16), new_vecs.astype(np.float16)])
                tmp = path.with_name(path.stem + ".tmp.npz")
                np.savez(tmp, texts=np.frombuffer("\n".join(all_texts).encode("utf-8"), dtype=np.uint8), vectors=all_vecs)
                tmp.replace(path)
            except OSError:
                pass  # a read-only cache: keep the embeddings in memory only
        return out

    def _load(self) -> None:
        if self._texts is None:
            texts, ids = self.texts()
            self._vectors = self._embed(texts)
            self._texts, self._ids = texts, ids

    def nearest(self, text: str, k: int = 5) -> list[Neighbour]:
        """The concepts of the ``k`` concept texts closest to ``text``, best first (one entry per id).

        Args:
            text: a mention.
            k: how many concept texts to consider.
        """
        return self.query(text, k)[1]

    def query(self, text: str, k: int = 5) -> tuple[np.ndarray | None, list[Neighbour]]:
        """The cosine of ``text`` to every concept text (None for an empty text or index) and its
        :meth:`nearest` concepts; :meth:`similarities_from` reads the cosines of given concepts."""
        self._load()
        if not self._texts or not text.strip():
            return None, []
        q = self.encoder.encode([text.lower().strip()])[0]
        sims = self._vectors @ q
        return sims, self._top(sims, k)

    def similarities_from(self, sims: np.ndarray | None, concept_ids: Sequence[str]) -> dict[str, float]:
        """Concept id -> the best cosine of its texts, from :meth:`query`'s cosines (ids without an
        embedded text are left out)."""
        if sims is None:
            return {}
        if self._rows_of is None:
            rows: dict[str, list[int]] = {}
            for i, ids in enumerate(self._ids):
                for cid in ids:
                    rows.setdefault(cid, []).append(i)
            self._rows_of = rows
        return {cid: float(sims[self._rows_of[cid]].max()) for cid in concept_ids if cid in self._rows_of}

    def similarities(self, text: str, concept_ids: Sequence[str]) -> dict[str, float]:
        """Concept id -> the best cosine of its texts to ``text``."""
        return self.similarities_from(self.query(text, 1)[0], concept_ids)

    def _top(self, sims: np.ndarray, k: int) -> list[Neighbour]:
        k = min(k, len(sims))
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top])]
        out: list[Neighbour] = []
        seen: set[str] = set()
        for i in top:
            for cid in self._ids[i]:
                if cid not in seen:
                    seen.add(cid)
                    out.append(Neighbour(cid, float(sims[i]), self._texts[i]))
        return out


__all__ = ["Neighbour", "SemanticIndex"]
