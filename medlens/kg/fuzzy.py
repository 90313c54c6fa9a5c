"""Fuzzy synonym search that reads few rows and knows when it may stop.

A synonym's score against a query is ``max(ratio, 0.95 * token_sort_ratio) / 100``
(rapidfuzz, both strings :func:`~medlens.normalize.simple_norm`-ed), the score
:meth:`KnowledgeGraph.search <medlens.kg.store.KnowledgeGraph.search>` reports.
This module finds the best-scoring synonyms without scoring every synonym that
shares a trigram with the query: common trigrams ("ion", "the") are held by tens
of thousands of synonyms.

**The ceiling.** ``ratio`` is ``2 L / (a + b)``, ``L`` the longest common
subsequence of the query (``a`` characters) and a synonym (``b``). Aligned along
that subsequence, each query character left out destroys at most 3 of the
query's trigrams and each extra synonym character at most 2, so a synonym that
lacks trigrams covering ``D`` positions of the query has
``L <= (3a + 2b - D) / 5`` (and ``L <= min(a, b)``): a ceiling on its score from
``D`` and ``b`` alone. ``token_sort_ratio`` compares the word-sorted strings; the
trigrams inside words are the same in both orders, so the same ceiling holds
with ``D`` counted over those.

**The search.** The query's trigrams are taken rarest first (document
frequencies from the full-text index) and their posting lists read (rowids
only, cheap). Every synonym seen gets the query positions covered by the chosen
trigrams it holds, hence a ceiling; a synonym not seen holds none of them, so
one ceiling covers them all. Synonyms are then read and scored: first the
:data:`LEAD_ROWS` likeliest (the most idf-weighted trigram evidence at a close
length, as bm25 would rank them, so that a best hit far down the ceiling order
is found early), then best ceiling first. The search stops when

- no unscored synonym can reach the ``limit``-th best score found (or
  ``min_score``): the result is exact; or
- none can reach the best score found: the best hit (and every hit tied with
  it) is exact; :data:`EXTRA_ROWS` more synonyms are scored for the lower hits,
  which are then best effort; or
- otherwise, when a stage (:data:`STAGES`) has read its budget of postings and
  scored its share of synonyms, the next stage reads more trigrams (tighter
  ceilings); after the last, the hits are the best of those scored (mostly
  queries with no hit at all end there).

Synonyms that share no trigram with the query are never candidates (as with the
bm25 search before): "aopa" and "arpa" score 0.75 but are not found.

Per graph it keeps in memory the trigram document frequencies (one entry per
distinct trigram), the normalized length of each synonym (two bytes each), and
the trigrams of the few synonyms whose normalized text differs from what the
index holds (accents, ``™``, irregular spaces), so that "sjogren" finds
"Sjögren" as surely as "sjögren" would; and, between searches, the most
recently read posting lists (:data:`POSTINGS_CACHE`) and the per-synonym work
arrays of finished searches (zeroed again), neither of which changes a hit.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections import OrderedDict, defaultdict

import numpy as np
from rapidfuzz import fuzz, process

from medlens.errors import KnowledgeGraphError
from medlens.normalize import simple_norm

STAGES: tuple[tuple[int, int], ...] = ((3_000, 128), (12_000, 384))
"""Per stage: the posting budget (sum of the document frequencies of the trigrams
read so far; the first stage always reads at least one trigram) and the most
synonyms the stage may score."""

EXTRA_ROWS = 64
"""Synonyms scored after the best hit is proven, for the hits below it."""

CHUNK = 64
"""Synonyms read and scored per SQL query."""

LEAD_ROWS = 64
"""Per stage, synonyms scored first for holding the most rare-trigram evidence
(idf-weighted, at a close length), before the rest in ceiling order."""

TOKEN_SORT_WEIGHT = 0.95
"""A word-order match counts this much of a same-order one."""

POSTINGS_CACHE = 2_000_000
"""Most trigram postings (rowids, 4 bytes each) an index keeps in memory between searches,
the most recently used first: a posting list read from the full-text index costs about a
millisecond, and the trigrams of clinical words recur from one query to the next. Lists
longer than an eighth of this are not kept."""

_POSTINGS = "SELECT group_concat(rowid) FROM synonyms_fts WHERE synonyms_fts MATCH ?"
_EMPTY = np.zeros(0, dtype=np.int64)


def synonym_score(query: str, synonym: str) -> float:
    """The 0..1 search score of two :func:`simple_norm`-ed strings."""
    return max(fuzz.ratio(query, synonym), TOKEN_SORT_WEIGHT * fuzz.token_sort_ratio(query, synonym)) / 100.0


def trigrams(text: str) -> list[str]:
    """The character trigrams of ``text``, one per position (with repeats)."""
    return [text[i : i + 3] for i in range(len(text) - 2)]


def ratio_ceiling(a: int, b: np.ndarray, destroyed: np.ndarray) -> np.ndarray:
    """Largest possible ``ratio`` (0..1) of a query of length ``a`` and strings of
    length ``b`` that lack trigrams covering ``destroyed`` of the query's positions
    (broadcast over ``b`` and ``destroyed``)."""
    lcs = np.minimum(np.minimum(a, b), np.floor((3 * a + 2 * b - destroyed) / 5))
    return np.maximum(lcs, 0) * 2.0 / np.maximum(a + b, 1)


def _phrase(gram: str) -> str:
    return '"' + gram.replace('"', '""') + '"'


class FuzzyIndex:
    """The in-memory side of fuzzy search over one graph's synonyms.

    Build it with :meth:`load` (about half a second on the default graph); it
    reads the graph through the connection it is given.

    Args:
        conn: the graph's connection.
        doc_freq: trigram -> number of synonyms holding it, as the index has them.
        lengths: normalized length of each synonym, indexed by rowid.
        respelled: trigram -> rowids, over the normalized text of the synonyms
            whose index text differs from it.
        respelled_rows: those synonyms (their index postings are ignored).
    """

    def __init__(self, conn: sqlite3.Connection, doc_freq: dict[str, int], lengths: np.ndarray,
                 respelled: dict[str, np.ndarray], respelled_rows: list[int]) -> None:
        self._conn = conn
        self._df = doc_freq
        self._lengths = lengths
        self._respelled = respelled
        self._respelled_rows = set(respelled_rows)
        self._indexed = np.ones(len(lengths), dtype=bool)  # whether the index text is the normalized text
        if respelled_rows:
            self._indexed[np.asarray(respelled_rows, dtype=np.int64)] = False
        self._max_len = int(lengths.max()) if len(lengths) else 0
        self._lock = threading.Lock()  # guards the two caches below (a graph may serve several threads)
        self._postings_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._postings_cached = 0  # postings held in _postings_cache
        self._scratch: list[tuple[np.ndarray, ...]] = []  # per-row arrays of finished searches, all zero

    @classmethod
    def load(cls, conn: sqlite3.Connection) -> FuzzyIndex:
        """Read trigram frequencies (an fts5vocab table in the connection's TEMP
        schema, so it works on read-only graphs) and synonym lengths."""
        conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.medlens_trigram_vocab "
                     "USING fts5vocab(main, 'synonyms_fts', 'row')")
        try:
            doc_freq = dict(conn.execute("SELECT term, doc FROM temp.medlens_trigram_vocab"))
        finally:
            conn.execute("DROP TABLE temp.medlens_trigram_vocab")
        ids, lens = conn.execute("SELECT group_concat(rowid), group_concat(length(text)) FROM synonyms").fetchone()
        rowids = np.fromstring(ids, dtype=np.int64, sep=",") if ids else _EMPTY
        lengths = np.zeros(int(rowids.max()) + 1 if len(rowids) else 1, dtype=np.uint16)
        if len(rowids):
            lengths[rowids] = np.minimum(np.fromstring(lens, dtype=np.int64, sep=","), 65_535)
        # synonyms whose normalized text is not their lower-cased text: not printable ASCII, or odd spaces
        respelled: dict[str, list[int]] = defaultdict(list)
        odd: list[int] = []
        for rowid, text in conn.execute("SELECT rowid, text FROM synonyms WHERE text GLOB '*[^ -~]*' "
                                        "OR instr(text, '  ') OR text != trim(text)"):
            norm = simple_norm(text)
            odd.append(rowid)
            lengths[rowid] = min(len(norm), 65_535)
            for gram in set(trigrams(norm)):
                respelled[gram].append(rowid)
        return cls(conn, doc_freq, lengths, {g: np.asarray(r, dtype=np.int64) for g, r in respelled.items()}, odd)

    # -- search --------------------------------------------------------------------
    def search(self, query: str, limit: int, labels: set[str] | None, min_score: float) -> dict[str, tuple[str, float]]:
        """The best synonym of each of the best concepts for ``query``.

        Args:
            query: the :func:`simple_norm`-ed query, at least 3 characters.
            limit: how many concepts the caller will keep (the search aims at the
                ``limit`` best; more may be returned).
            labels: only concepts with one of these labels (None for all).
            min_score: no synonym below this 0..1 score is returned.

        Returns:
            concept id -> (matched synonym text, score), every score >= ``min_score``.
        """
        a = len(query)
        pos_all: dict[str, int] = {}  # trigram -> how many positions of the query it covers
        pos_word: dict[str, int] = {}  # the same for trigrams inside words (unchanged by word order)
        for g in trigrams(query):
            if "\x00" in g:  # a NUL would end the MATCH string; leaving it out only loosens the ceiling
                continue
            pos_all[g] = pos_all.get(g, 0) + 1
            if " " not in g:
                pos_word[g] = pos_word.get(g, 0) + 1
        # trigrams no synonym holds in the index cost nothing to take: every synonym lacks them
        chosen = [g for g in pos_all if not self._df.get(g)]
        order = sorted((g for g in pos_all if self._df.get(g)), key=lambda g: (self._df[g], g))

        n_rows = len(self._lengths)
        scratch = self._take_scratch()
        # held_all: query positions covered by the chosen trigrams held; held_word: the same inside words;
        # evidence: idf of the chosen trigrams held
        held_all, held_word, evidence, seen, scored = scratch
        touched: list[np.ndarray] = []
        try:
            return self._search(query, a, limit, labels, min_score, pos_all, pos_word, chosen, order, n_rows,
                                held_all, held_word, evidence, seen, scored, touched)
        finally:
            self._give_back_scratch(scratch, touched)

    def _take_scratch(self) -> tuple[np.ndarray, ...]:
        """Five all-zero arrays with one entry per synonym (14 bytes per synonym: ~6 MB on the default
        graph), kept from an earlier search rather than allocated and zeroed for each."""
        with self._lock:
            if self._scratch:
                return self._scratch.pop()
        n_rows = len(self._lengths)
        return (np.zeros(n_rows, dtype=np.int32), np.zeros(n_rows, dtype=np.int32), np.zeros(n_rows, dtype=np.float32),
                np.zeros(n_rows, dtype=bool), np.zeros(n_rows, dtype=bool))

    def _give_back_scratch(self, scratch: tuple[np.ndarray, ...], touched: list[np.ndarray]) -> None:
        """Zero the entries a search wrote (all in ``touched``: the rows it saw) and keep the arrays."""
        if touched:
            rows = np.concatenate(touched)
            for arr in scratch:
                arr[rows] = 0
        with self._lock:
            if len(self._scratch) < 4:
                self._scratch.append(scratch)

    def _search(self, query, a, limit, labels, min_score, pos_all, pos_word, chosen, order, n_rows,
                held_all, held_word, evidence, seen, scored, touched) -> dict[str, tuple[str, float]]:

        def read(gram: str, from_index: bool) -> None:
            postings = self._postings(gram) if from_index else _EMPTY
            extra = self._respelled.get(gram)
            if extra is not None:
                postings = np.concatenate([postings, extra])
            if len(postings):
                new = postings[~seen[postings]]
                seen[new] = True
                touched.append(new)
                held_all[postings] += pos_all[gram]
                evidence[postings] += math.log(n_rows / len(postings))
                if gram in pos_word:
                    held_word[postings] += pos_word[gram]

        for g in chosen:
            read(g, from_index=False)

        # length columns: beyond the length band of min_score nothing can match
        floor = max(min_score, 0.01)
        band = min(self._max_len, int(a * (2 - floor) / floor) + 1)
        b = np.arange(band + 2)[None, :]
        cols_ok = b <= band  # column band + 1 stays zero: every longer synonym

        best: dict[str, tuple[str, float]] = {}
        label_of: dict[str, str] = {}
        state = {"theta": min_score, "top": 0.0}  # theta: what a synonym must score to enter the result

        def score(chunk: np.ndarray) -> None:
            scored[chunk] = True
            found = self._score(query, chunk.tolist(), state["theta"])
            if found and labels is not None:
                missing = [c for c in found if c not in label_of]
                if missing:
                    label_of.update(self._conn.execute(
                        f"SELECT id, label FROM concepts WHERE id IN ({','.join('?' * len(missing))})", missing))
                found = {c: v for c, v in found.items() if label_of.get(c) in labels}
            for cid, hit in found.items():
                if cid not in best or _better(hit, best[cid]):
                    best[cid] = hit
            if found:
                scores = sorted((s for _, s in best.values()), reverse=True)
                state["top"] = scores[0]
                if len(scores) >= limit:
                    state["theta"] = max(state["theta"], scores[limit - 1])

        cost, next_gram = 0, 0
        for budget, cap in STAGES:
            while next_gram < len(order) and (cost < budget or next_gram == 0):
                g = order[next_gram]
                next_gram += 1
                chosen.append(g)
                cost += self._df[g]
                read(g, from_index=True)
            # ceiling by (query positions covered by held trigrams, length), in order and word-sorted
            total_all = sum(pos_all[g] for g in chosen)
            total_word = sum(pos_word.get(g, 0) for g in chosen)
            by_all = ratio_ceiling(a, b, total_all - np.arange(total_all + 1)[:, None]) * cols_ok
            by_word = TOKEN_SORT_WEIGHT * ratio_ceiling(a, b, total_word - np.arange(total_word + 1)[:, None]) * cols_ok
            unseen = float(max(by_all[0].max(), by_word[0].max()))  # a synonym holding none of them
            rows = np.concatenate(touched) if touched else _EMPTY
            rows = rows[~scored[rows]]
            lengths = self._lengths[rows]
            cols = np.minimum(lengths, band + 1)
            ub = np.maximum(by_all[held_all[rows], cols], by_word[held_word[rows], cols])
            keep = ub >= state["theta"]
            rows, ub, lengths = rows[keep], ub[keep], lengths[keep]
            n_scored = 0
            if len(rows) > LEAD_ROWS and state["top"] <= max(unseen, float(ub.max())):
                # first the likeliest hits: most rare-trigram evidence, closest length (as bm25 would rank
                # them), so that a best hit far down the ceiling order is found early
                likely = evidence[rows] * 2 * np.minimum(a, lengths) / (a + lengths.astype(np.float32))
                lead = np.argpartition(-likely, LEAD_ROWS)[:LEAD_ROWS]
                score(rows[lead])
                n_scored += LEAD_ROWS
                rest = np.ones(len(rows), dtype=bool)
                rest[lead] = False
                rows, ub = rows[rest], ub[rest]
            order_ub = np.argsort(-ub, kind="stable")
            rows, ub = rows[order_ub], ub[order_ub]
            k, extra_left = 0, None
            while k < len(rows) and ub[k] >= state["theta"] and n_scored < cap:
                if extra_left is None and state["top"] > max(unseen, ub[k]):
                    extra_left = EXTRA_ROWS  # the best hit is proven; a few more for the lower ones
                if extra_left is not None and extra_left <= 0:
                    break
                chunk = rows[k : k + CHUNK]
                k += len(chunk)
                n_scored += len(chunk)
                if extra_left is not None:
                    extra_left -= len(chunk)
                score(chunk)
            remaining = max(unseen, float(ub[k]) if k < len(rows) else 0.0)
            if remaining < state["theta"] or state["top"] > remaining:
                break
            if next_gram >= len(order) and k >= len(rows):
                break
        return best

    def _postings(self, gram: str) -> np.ndarray:
        """The rowids of the synonyms whose index text holds ``gram`` (cached, :data:`POSTINGS_CACHE`)."""
        with self._lock:
            postings = self._postings_cache.get(gram)
            if postings is not None:
                self._postings_cache.move_to_end(gram)
                return postings
        postings = self._read_postings(gram)
        if len(postings) <= POSTINGS_CACHE // 8:
            postings = postings.astype(np.int32)  # rowids fit: a graph has far fewer than 2**31 synonyms
            with self._lock:
                if gram not in self._postings_cache:
                    self._postings_cache[gram] = postings
                    self._postings_cached += len(postings)
                    while self._postings_cached > POSTINGS_CACHE:
                        _, old = self._postings_cache.popitem(last=False)
                        self._postings_cached -= len(old)
        return postings

    def _read_postings(self, gram: str) -> np.ndarray:
        try:
            row = self._conn.execute(_POSTINGS, (_phrase(gram),)).fetchone()
        except sqlite3.OperationalError as exc:  # malformed FTS query: report, do not guess
            raise KnowledgeGraphError(f"Text search failed for trigram {gram!r}: {exc}") from exc
        if not row or not row[0]:
            return _EMPTY
        postings = np.fromstring(row[0], dtype=np.int64, sep=",")
        return postings[self._indexed[postings]] if self._respelled_rows else postings

    def _score(self, query: str, rowids: list[int], theta: float) -> dict[str, tuple[str, float]]:
        """Best synonym per concept among ``rowids`` scoring at least ``theta``."""
        marks = ",".join("?" * len(rowids))
        fetched = self._conn.execute(
            f"SELECT rowid, concept_id, text FROM synonyms WHERE rowid IN ({marks})", rowids).fetchall()
        respelled = self._respelled_rows
        choices = [simple_norm(t) if r in respelled else t.lower() for r, _, t in fetched]
        scores: dict[int, float] = {}
        for _, s, j in process.extract(query, choices, scorer=fuzz.ratio, score_cutoff=min(theta * 100, 100.0),
                                       limit=None):
            scores[j] = s
        if theta <= TOKEN_SORT_WEIGHT:
            cutoff = theta / TOKEN_SORT_WEIGHT * 100
            for _, s, j in process.extract(query, choices, scorer=fuzz.token_sort_ratio, score_cutoff=cutoff,
                                           limit=None):
                if TOKEN_SORT_WEIGHT * s > scores.get(j, 0.0):
                    scores[j] = TOKEN_SORT_WEIGHT * s
        out: dict[str, tuple[str, float]] = {}
        for j, s in scores.items():
            score = s / 100.0
            if score < theta:
                continue
            _, cid, syn = fetched[j]
            if cid not in out or _better((syn, score), out[cid]):
                out[cid] = (syn, score)
        return out


def _better(hit: tuple[str, float], other: tuple[str, float]) -> bool:
    """Higher score first; between equal scores the shorter synonym, then the first in order."""
    return (-hit[1], len(hit[0]), hit[0]) < (-other[1], len(other[0]), other[0])
