"""A document, its concept mentions and its candidate pairs as model inputs (torch-free).

The relation model reads a whole document at once (document-level relations cross
sentences). Every mention is wrapped in entity markers (``* mention *``, as ATLOP,
Zhou et al. 2021); the marked text is cut into windows of at most ``max_length``
subwords (with [CLS]/[SEP]; overlapping by ``stride`` when a document is longer) and
each mention is read from the hidden state of its opening marker in the window where it
sits furthest from an edge. An *entity* is a concept (one id) of the document; its
embedding is the log-sum-exp of its mentions' marker states (done inside the model).
The candidate pairs are every (head kind, tail kind) pair of entities -- for the CDR
model every (chemical, disease) -- each with a few features of where they are written
(:data:`FEATURES`).

:func:`encode_document` builds one document's :class:`DocumentInputs`;
:func:`collate` stacks several into the arrays the model (PyTorch in training, ONNX
Runtime at run time) takes. The same code serves both, so they read documents the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

FEATURES = ("same_sentence", "sentence_distance", "head_mentions", "tail_mentions", "head_in_title", "tail_in_title")
"""Pair features, in the order of the model's ``pair_features`` input: a sentence holds a mention of
each (0/1); log(1 + fewest sentences between a mention of each); log(1 + mentions) of head and tail;
the head / tail is mentioned in the first sentence (the title of an abstract)."""

_ABBREV_END = re.compile(r"(?:\b(?:e\.g|i\.e|vs|al|Fig|Figs|Dr|Mr|Mrs|Ms|No|approx|ca|resp|cf|St)|\b[A-Z])\.$")
_SENT_END = re.compile(r"[.!?]+[\"')\]]*(?=\s+[\"'(\[]?[A-Z0-9])|\n\s*\n|\n(?=\s*[-*\u2022])")


def split_sentences(text: str, breaks: Iterable[int] = ()) -> list[tuple[int, int]]:
    """Sentence ``(start, end)`` character spans of ``text``: a sentence ends at ``.``/``!``/``?`` before
    a capital or digit (not after "e.g.", "al.", an initial, ...), at a blank line, and at every
    offset of ``breaks`` (e.g. the end of an abstract's title). Spans are stripped of whitespace."""
    cuts = set(b for b in breaks if 0 < b < len(text))
    for m in _SENT_END.finditer(text):
        if m.group(0)[0] in ".!?" and _ABBREV_END.search(text[max(0, m.start() - 8):m.start() + 1]):
            continue
        cuts.add(m.end())
    spans = []
    start = 0
    for cut in sorted(cuts) + [len(text)]:
        s, e = start, cut
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
        start = cut
    return spans


@dataclass(frozen=True, slots=True)
class Mention:
    """A mention of concepts: characters ``[start, end)``, its kind (``chemical``, ``disease``) and ids."""

    start: int
    end: int
    kind: str
    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Entity:
    """A concept of the document: its id, kind, and the indices of its mentions (into the document's mentions)."""

    id: str
    kind: str
    mentions: tuple[int, ...]


@dataclass
class DocumentInputs:
    """One document, ready for the model.

    Attributes:
        windows: subword ids of each window, with [CLS] and [SEP].
        mention_positions: ``(window, position)`` of each used mention's opening marker.
        mentions: the used mentions (those holding at least one subword), parallel to ``mention_positions``.
        entities: the document's concepts; ``Entity.mentions`` index ``mentions``.
        pairs: ``(head entity, tail entity)`` candidate pairs.
        features: one row of :data:`FEATURES` per pair.
        closest: per pair, the ``(head mention, tail mention)`` written nearest each other.
        sentences: the sentence spans the features used.
    """

    windows: list[list[int]]
    mention_positions: list[tuple[int, int]]
    mentions: list[Mention]
    entities: list[Entity]
    pairs: list[tuple[int, int]]
    features: list[list[float]]
    closest: list[tuple[int, int]]
    sentences: list[tuple[int, int]]

    @property
    def n_pieces(self) -> int:
        return sum(len(w) for w in self.windows)


def _window_starts(n: int, size: int, stride: int) -> list[int]:
    if n <= size:
        return [0]
    step = max(1, size - stride)
    starts = list(range(0, n - size, step))
    starts.append(n - size)
    return starts


def _sentence_of(sentences: Sequence[tuple[int, int]], pos: int) -> int:
    lo, hi = 0, len(sentences) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sentences[mid][0] <= pos:
            lo = mid
        else:
            hi = mid - 1
    return lo


def encode_document(tokenizer, text: str, mentions: Sequence[Mention], *, marker_id: int, cls_id: int, sep_id: int,
                    max_length: int = 512, stride: int = 128, head_kind: str = "chemical", tail_kind: str = "disease",
                    title_end: int | None = None, sentences: Sequence[tuple[int, int]] | None = None) -> DocumentInputs:
    """Model inputs of one document.

    Args:
        tokenizer: the model's ``tokenizers.Tokenizer``.
        text: the document.
        mentions: its mentions with concept ids (mentions without ids are left out).
        marker_id: the subword id written before and after each mention.
        cls_id / sep_id: the tokenizer's [CLS] and [SEP] ids.
        max_length: subwords per window including [CLS] and [SEP].
        stride: overlap of consecutive windows of a longer document.
        head_kind / tail_kind: the mention kinds of the pairs' heads and tails.
        title_end: end of the title (a sentence break; "in title" features count the first sentence).
        sentences: sentence spans (None: :func:`split_sentences`).

    Returns:
        The inputs; ``pairs`` is empty when the document lacks a head or a tail concept.
    """
    sentences = list(sentences) if sentences is not None else split_sentences(text, [title_end] if title_end else ())
    if not sentences:
        sentences = [(0, len(text))]
    enc = tokenizer.encode(text, add_special_tokens=False)
    ids, offsets = enc.ids, enc.offsets
    opens: dict[int, list[int]] = {}
    closes: dict[int, int] = {}
    used: list[Mention] = []
    for m in sorted((m for m in mentions if m.ids), key=lambda m: (m.start, -m.end)):
        first = next((i for i, (s, e) in enumerate(offsets) if e > m.start and e > s), None)
        if first is None or offsets[first][0] >= m.end:
            continue
        last = first
        while last + 1 < len(offsets) and offsets[last + 1][0] < m.end:
            last += 1
        opens.setdefault(first, []).append(len(used))
        closes[last] = closes.get(last, 0) + 1
        used.append(m)
    pieces: list[int] = []
    marker_at: list[int] = [0] * len(used)
    for i, tid in enumerate(ids):
        for k in opens.get(i, ()):
            marker_at[k] = len(pieces)
            pieces.append(marker_id)
        pieces.append(tid)
        pieces.extend([marker_id] * closes.get(i, 0))
    size = max_length - 2
    starts = _window_starts(len(pieces), size, stride)
    windows = [[cls_id, *pieces[s:s + size], sep_id] for s in starts]
    positions = []
    for p in marker_at:
        best = max(range(len(starts)), key=lambda w: (min(p - starts[w], starts[w] + size - 1 - p)
                                                      if starts[w] <= p < starts[w] + size else -1))
        positions.append((best, 1 + p - starts[best]))
    by_id: dict[tuple[str, str], list[int]] = {}
    for k, m in enumerate(used):
        for cid in dict.fromkeys(m.ids):
            by_id.setdefault((m.kind, cid), []).append(k)
    entities = [Entity(cid, kind, tuple(ks)) for (kind, cid), ks in by_id.items()]
    sent_of = [_sentence_of(sentences, m.start) for m in used]
    pairs, features, closest = [], [], []
    for h, head in enumerate(entities):
        if head.kind != head_kind:
            continue
        for t, tail in enumerate(entities):
            if tail.kind != tail_kind or tail.id == head.id:
                continue
            best = min((abs(sent_of[a] - sent_of[b]), abs(used[a].start - used[b].start), a, b)
                        for a in head.mentions for b in tail.mentions)
            dist = best[0]
            pairs.append((h, t))
            closest.append((best[2], best[3]))
            features.append([1.0 if dist == 0 else 0.0, math.log1p(dist), math.log1p(len(head.mentions)),
                             math.log1p(len(tail.mentions)), float(any(sent_of[a] == 0 for a in head.mentions)),
                             float(any(sent_of[b] == 0 for b in tail.mentions))])
    return DocumentInputs(windows, positions, used, entities, pairs, features, closest, sentences)


def collate(docs: Sequence[DocumentInputs], pad_id: int) -> dict:
    """The model's inputs for several documents at once (NumPy arrays, by input name).

    ``input_ids`` / ``attention_mask``: every window of every document, padded (``[W, L]``);
    ``mention_index``: each mention's marker as a flat index into ``W * L`` positions;
    ``entity_mentions``: ``[E, M]`` 0/1, which mentions each entity has; ``pair_head`` /
    ``pair_tail``: entity indices; ``pair_features``: ``[P, len(FEATURES)]``.
    """
    import numpy as np

    width = max(len(w) for d in docs for w in d.windows)
    n_win = sum(len(d.windows) for d in docs)
    n_men = sum(len(d.mentions) for d in docs)
    n_ent = sum(len(d.entities) for d in docs)
    ids = np.full((n_win, width), pad_id, dtype=np.int64)
    mask = np.zeros((n_win, width), dtype=np.int64)
    mention_index = np.zeros(max(1, n_men), dtype=np.int64)
    membership = np.zeros((max(1, n_ent), max(1, n_men)), dtype=np.float32)
    heads, tails, feats = [], [], []
    w0 = m0 = e0 = 0
    for d in docs:
        for k, win in enumerate(d.windows):
            ids[w0 + k, :len(win)] = win
            mask[w0 + k, :len(win)] = 1
        for k, (w, pos) in enumerate(d.mention_positions):
            mention_index[m0 + k] = (w0 + w) * width + pos
        for e, ent in enumerate(d.entities):
            for k in ent.mentions:
                membership[e0 + e, m0 + k] = 1.0
        heads += [e0 + h for h, _ in d.pairs]
        tails += [e0 + t for _, t in d.pairs]
        feats += d.features
        w0, m0, e0 = w0 + len(d.windows), m0 + len(d.mentions), e0 + len(d.entities)
    return {"input_ids": ids, "attention_mask": mask, "mention_index": mention_index, "entity_mentions": membership,
            "pair_head": np.asarray(heads, dtype=np.int64), "pair_tail": np.asarray(tails, dtype=np.int64),
            "pair_features": np.asarray(feats, dtype=np.float32).reshape(len(heads), len(FEATURES))}


def hypernym_filter(pairs: Sequence[tuple[str, str]], trees: dict[str, Sequence[str]]) -> set[tuple[str, str]]:
    """The pairs to drop because the same head has a pair with a more specific disease.

    A pair ``(c, d)`` is dropped when another pair ``(c, d2)`` of ``pairs`` has a disease ``d2``
    below ``d`` in the MeSH tree (a tree number of ``d2`` starts with one of ``d``'s followed by a
    dot): CDR annotates the most specific disease. ``trees`` maps a disease id to its MeSH tree
    numbers; ids it lacks are never dropped and never drop another.
    """
    by_head: dict[str, list[str]] = {}
    for c, d in pairs:
        by_head.setdefault(c, []).append(d)
    drop = set()
    for c, ds in by_head.items():
        for d in ds:
            mine = trees.get(d) or ()
            if not mine:
                continue
            for d2 in ds:
                if d2 == d:
                    continue
                if any(t2.startswith(t + ".") for t in mine for t2 in trees.get(d2) or ()):
                    drop.add((c, d))
                    break
    return drop
