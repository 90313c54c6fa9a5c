"""Findings by meaning: clauses of the patient's words matched to symptom concepts with a sentence encoder.

The lexicon and the pipeline (:mod:`medlens.reasoning.lay`, the recognizer,
ConText) are the precise first route. What they miss — "I pee like every
hour", "my eyeballs hurt from behind", "feel worn out" — is caught here:

1. the text is cut into clauses (sentences, then commas, semicolons and
   ``and``/``but``/``plus``/``also``/``then``), fillers ("um", "like", "so")
   trimmed from their edges;
2. each clause is embedded with the shipped all-MiniLM-L6-v2 encoder
   (:mod:`medlens.tagging.encoder`) and compared (cosine) with the embedded
   texts of symptom concepts: the name, exact and lay synonyms and definition
   of the graph's HPO symptom terms (label ``SYMPTOM``, ~260 terms) and of every
   term of the lay lexicon, the lexicon's lay phrases, and — when a disease–symptom
   table is used — the table's symptom names;
3. the closest concept text of each group (graph concepts; table symptoms) is
   kept when its cosine reaches the group's threshold (calibrated on the lay
   dev set ``benchmarks/data/lay_dev.jsonl``, see ``docs/reasoning.md``);
4. negation is per clause, by its negation cue ("no", "not", "without",
   "never", "don't have" ...) and the cue's scope, the words after it: the
   match is absent when those words alone still name the concept (it is their
   closest concept, or one of its texts reaches the threshold: "no fever at
   all" → Low-grade fever, absent; "not short of breath" → Dyspnea, absent),
   and present when they do not — the concept was before the cue ("shaking
   chills without cough" → Chills, present). Findings of the first route keep
   their ConText assertion.

Each match becomes a :class:`~medlens.reasoning.models.Finding` with
``origin="semantic"``, the clause as ``text``, and the cosine (``score``) and
concept text (``matched``) that explain it. The concept embeddings are built
once (a progress bar shows it; a few seconds on 2 cores) and cached on disk
in the user cache directory (``$MEDLENS_CACHE`` or ``~/.cache/medlens``), keyed
by the graph, the encoder and the lexicon.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medlens.kg.store import KnowledgeGraph
from medlens.reasoning.lay import LayLexicon, load_lay_lexicon
from medlens.reasoning.models import Finding
from medlens.runtime import CACHE_ENV, cache_dir  # noqa: F401 (re-exported)
from medlens.tagging.encoder import SentenceEncoder, default_encoder

CACHE_VERSION = "1"
GRAPH_THRESHOLD = 0.55
"""Cosine a clause needs to become a graph (HPO) finding; calibrated on the lay dev set."""
TABLE_THRESHOLD = 0.60
"""Cosine a clause needs to become a table-symptom finding; calibrated on the lay dev set."""
SYNONYM_KINDS = ("preferred", "exact", "lay")
CONCEPT_SOURCES = ("hpo",)
CONCEPT_LABELS = ("SYMPTOM",)

_SPLIT = re.compile(r"[.!?;:\n]+|,|\s+(?:and|but|plus|also|then|or|&)\s+|\s+-{1,2}\s+", re.IGNORECASE)
_EDGE = re.compile(r"^(?:(?:and|but|so|um+|uh+|yeah|well|like|also|oh|ok|okay|then|plus|just)\b[\s,]*)+|"
                   r"(?:[\s,]+(?:too|also|as well|lol|though))+$", re.IGNORECASE)
_CUE = re.compile(r"\b(?:no|not|never|without|denies|denied|nor|none|neither|"
                  r"(?:do|does|did|have|has|had|is|are|was|were)(?:n't|nt| not)(?:\s+(?:have|had|got|get|feel|notice))?|"
                  r"negative for|free of|no longer)\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z]{3,}", re.IGNORECASE)
_OWNER = re.compile(r"^(?:(?:on|in|of|to|at|around|across|over|under|my|the|his|her|their|your|our|both|a|an)\s+)+")


@dataclass(frozen=True, slots=True)
class Clause:
    """A piece of the input text: its characters and words."""

    start: int
    end: int
    text: str


def clauses(text: str) -> list[Clause]:
    """Cut ``text`` into clauses (sentence, comma, semicolon and and/but/plus/also/then/or boundaries).

    Returns:
        Clauses with at least one word of three letters, fillers trimmed from their edges.
    """
    out: list[Clause] = []
    pos = 0
    for m in [*_SPLIT.finditer(text), None]:
        end = m.start() if m else len(text)
        piece = text[pos:end]
        t, prev = piece.strip(), None
        while t != prev:
            prev, t = t, _EDGE.sub("", t).strip(" \t,")
        if t and _WORD.search(t):
            s = pos + piece.find(t)
            out.append(Clause(s, s + len(t), t))
        pos = m.end() if m else len(text)
    return out


def negation_cue(text: str) -> re.Match | None:
    """The first negation cue of a clause, if any ("no", "not", "without", "don't have" ...)."""
    return _CUE.search(text)


@dataclass
class ConceptTexts:
    """Embedded texts of concepts: ``texts[i]`` names ``ids[i]`` (``kinds[i]``: name, synonym, definition, lay, table)."""

    texts: list[str]
    ids: list[str]
    kinds: list[str]
    vectors: np.ndarray

    def __post_init__(self) -> None:
        self.id_array = np.array(self.ids, dtype=object)


def concept_texts(kg: KnowledgeGraph, lexicon: LayLexicon, sources: Sequence[str] = CONCEPT_SOURCES,
                  labels: Sequence[str] = CONCEPT_LABELS) -> tuple[list[str], list[str], list[str]]:
    """The texts to embed: the graph's symptom terms and the lexicon's terms (name, synonyms, definition), lay phrases.

    Args:
        kg: the graph.
        lexicon: the lay lexicon; its phrases and the concepts of its ids are embedded too.
        sources: graph sources whose concepts are embedded (default HPO).
        labels: labels of those concepts (default SYMPTOM: the symptom part of HPO, about 260 terms;
            the other 18,000 HPO terms are mostly dysmorphology and lab abnormalities).

    Returns:
        ``(texts, ids, kinds)``, one entry per text, duplicates (same text and id) removed.
    """
    ids = [r[0] for r in kg.query(
        f"SELECT id FROM concepts WHERE source IN ({','.join('?' * len(sources))}) "
        f"AND label IN ({','.join('?' * len(labels))}) ORDER BY id", [*sources, *labels])]
    lay_ids = sorted({e.id for e in lexicon.entries if e.id})
    concepts = kg.concepts(list(dict.fromkeys([*ids, *lay_ids])))
    rows: dict[tuple[str, str], str] = {}
    for cid in dict.fromkeys([*ids, *lay_ids]):
        c = concepts.get(cid)
        if c is None:
            continue
        rows.setdefault((c.name.lower(), cid), "name")
        for syn in kg.synonyms(cid):
            if syn.kind in SYNONYM_KINDS:
                rows.setdefault((syn.text.lower(), cid), "synonym")
        if c.definition:
            rows.setdefault((c.definition, cid), "definition")
    for e in lexicon.entries:
        if e.id and e.id in concepts:
            rows.setdefault((e.lay, e.id), "lay")
    texts = [t for t, _ in rows]
    return texts, [i for _, i in rows], list(rows.values())


class SemanticMatcher:
    """Matches clauses of a text to symptom concepts by meaning.

    Args:
        kg: the knowledge graph (HPO symptom terms, their synonyms and definitions).
        encoder: the sentence encoder; None loads the shipped one.
        lexicon: the lay lexicon; None loads the shipped one.
        graph_threshold: cosine a clause needs to match a graph concept.
        table_threshold: cosine a clause needs to match a table symptom.
        cache: cache concept embeddings on disk (in :func:`cache_dir`).
        progress: show a progress bar while the concept embeddings are built.
        sources: graph sources whose symptom concepts are embedded (default HPO).
        labels: labels of the embedded graph concepts (default SYMPTOM).
    """

    def __init__(self, kg: KnowledgeGraph, encoder: SentenceEncoder | None = None, lexicon: LayLexicon | None = None,
                 graph_threshold: float = GRAPH_THRESHOLD, table_threshold: float = TABLE_THRESHOLD,
                 cache: bool = True, progress: bool = True, sources: Sequence[str] = CONCEPT_SOURCES,
                 labels: Sequence[str] = CONCEPT_LABELS) -> None:
        self.kg = kg
        self.sources, self.labels = tuple(sources), tuple(labels)
        self.encoder = encoder or default_encoder()
        self.lexicon = lexicon or load_lay_lexicon()
        self.graph_threshold = graph_threshold
        self.table_threshold = table_threshold
        self.cache = cache
        self.progress = progress
        self._concepts: ConceptTexts | None = None
        self._tables: dict[tuple[str, ...], ConceptTexts] = {}
        self._names: dict[str, str] = {}

    # -- concept embeddings -------------------------------------------------------------
    def cache_key(self) -> str:
        """Hash of what the concept embeddings depend on: graph file, encoder, lexicon and this module's version."""
        h = hashlib.sha256()
        st = Path(self.kg.path).stat()
        h.update(f"{CACHE_VERSION}|{Path(self.kg.path).resolve()}|{st.st_size}|{st.st_mtime_ns}|"
                 f"{self.kg.meta('built_at')}|{self.encoder.fingerprint}|".encode())
        h.update(self.lexicon.model_dump_json().encode())
        h.update("|".join([*SYNONYM_KINDS, *self.sources, *self.labels]).encode())
        return h.hexdigest()[:20]

    @property
    def concepts(self) -> ConceptTexts:
        """The graph's concept texts and their embeddings (built on first use, cached on disk)."""
        if self._concepts is None:
            path = cache_dir() / "semantic" / f"concepts-{self.cache_key()}.npz"
            if self.cache and path.is_file():
                try:
                    z = np.load(path, allow_pickle=False)
                    self._concepts = ConceptTexts(z["texts"].tolist(), z["ids"].tolist(), z["kinds"].tolist(),
                                                  z["vectors"].astype(np.float32))
                except (OSError, ValueError, KeyError):
                    self._concepts = None
            if self._concepts is None:
                texts, ids, kinds = concept_texts(self.kg, self.lexicon, self.sources, self.labels)
                vecs = self.encoder.encode(texts, progress=self.progress, desc="embedding symptom concepts")
                self._concepts = ConceptTexts(texts, ids, kinds, vecs)
                if self.cache:
                    try:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        tmp = path.with_suffix(".tmp.npz")
                        np.savez(tmp, texts=np.array(texts), ids=np.array(ids), kinds=np.array(kinds),
                                 vectors=vecs.astype(np.float16))
                        tmp.replace(path)
                    except OSError:
                        pass  # a read-only home: keep the embeddings in memory only
        return self._concepts

    def table_texts(self, phrases: Mapping[str, tuple[str, str]]) -> ConceptTexts:
        """Embedded table symptom names (``phrases``: text → ``(id, name)``), kept in memory per table."""
        key = tuple(sorted(phrases))
        if key not in self._tables:
            texts = list(key)
            self._tables[key] = ConceptTexts(texts, [phrases[t][0] for t in texts], ["table"] * len(texts),
                                             self.encoder.encode(texts))
        return self._tables[key]

    def name_of(self, cid: str) -> str:
        if cid not in self._names:
            c = self.kg.concept(cid)
            self._names[cid] = c.name if c else cid
        return self._names[cid]

    # -- matching -------------------------------------------------------------------------
    def only_anatomy(self, text: str) -> bool:
        """Whether a clause only names a body part ("chest" of "a rash on my arms and chest", "my left arm"):
        such a clause says where, not what, and must not be matched to a symptom of that place by meaning."""
        t = _OWNER.sub("", text.strip().lower()).strip()
        if not t or len(t.split()) > 3:
            return False
        for cand in dict.fromkeys((t, t[:-1] if t.endswith("s") and not t.endswith("ss") else t)):
            labels = {c.label for c in self.kg.lookup(cand)}
            if labels:
                return "ANATOMY" in labels and not labels & {"SYMPTOM", "DISEASE", "FINDING"}
        return False

    def match(self, text: str, found: Sequence[Finding] = (), phrases: Mapping[str, tuple[str, str]] | None = None,
              ) -> list[Finding]:
        """Findings by meaning for the clauses of ``text``.

        Args:
            text: the patient's words (original text, before lay rewriting).
            found: findings the pipeline already found in ``text`` (their concepts are not added again).
            phrases: table symptom names (lower-cased text → ``(id, name)``), matched as their own group.

        Returns:
            New findings with ``origin="semantic"``, at most one per group (graph, table) and clause.
        """
        parts = [c for c in clauses(text) if not self.only_anatomy(c.text)]
        if not parts:
            return []
        groups: list[tuple[ConceptTexts, float]] = [(self.concepts, self.graph_threshold)]
        if phrases:
            groups.append((self.table_texts(phrases), self.table_threshold))
        cues = [negation_cue(c.text) for c in parts]
        scopes = [(i, c.text[m.end():].strip()) for i, (c, m) in enumerate(zip(parts, cues)) if m]
        scopes = [(i, s) for i, s in scopes if _WORD.search(s)]
        vecs = self.encoder.encode([c.text for c in parts] + [s for _, s in scopes])
        clause_vecs, scope_vecs = vecs[:len(parts)], dict(zip((i for i, _ in scopes), vecs[len(parts):]))
        known = {cid for f in found for cid in (f.id, *f.concepts, *f.hpo)}
        out: list[Finding] = []
        for ct, threshold in groups:
            if not ct.texts:
                continue
            sims = (ct.vectors @ clause_vecs.T).T  # [concepts, d] @ [d, clauses]: ~10x faster in OpenBLAS than q @ V.T
            for i, clause in enumerate(parts):
                j = int(np.argmax(sims[i]))
                score = float(sims[i, j])
                cid = ct.ids[j]
                if score < threshold or cid in known:
                    continue
                absent = False
                if i in scope_vecs:  # the words after the cue alone still name the concept
                    scope_sims = ct.vectors @ scope_vecs[i]
                    absent = (ct.ids[int(np.argmax(scope_sims))] == cid
                              or float(scope_sims[ct.id_array == cid].max()) >= threshold)
                name = ct.texts[j] if ct.kinds[j] == "table" else self.name_of(cid)
                hpo = [cid] if cid.startswith("HP:") else []
                out.append(Finding(id=cid, name=name, status="absent" if absent else "present", text=clause.text,
                                   start=clause.start, end=clause.end, origin="semantic", concepts=[cid], hpo=hpo,
                                   score=round(score, 4), matched=ct.texts[j]))
                known.add(cid)
        return out


__all__ = ["Clause", "SemanticMatcher", "cache_dir", "clauses", "concept_texts", "negation_cue"]
