"""Words, subwords, windows and BIO tags: the torch-free core shared by training and inference.

A sentence (or a whole document) is a sequence of *words*; the WordPiece
tokenizer splits each word into one or more *subwords*. The model predicts one
tag per word, read from the word's first subword (the others are labelled
``-100`` during training and ignored). Inputs longer than the model's maximum
length are cut into overlapping *windows* of whole words; every word is
predicted in the window where it sits furthest from an edge, so no word is
dropped and each prediction sees context on both sides where possible.

Nothing here imports torch: :mod:`medlens.components.transformer_ner` uses it
with ONNX Runtime, :mod:`medlens.training.ner` with PyTorch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

IGNORE_INDEX = -100


@dataclass(frozen=True, slots=True)
class Window:
    """A run of whole words ``[start, end)`` and the words it predicts, ``[keep_start, keep_end)``."""

    start: int
    end: int
    keep_start: int
    keep_end: int


@dataclass(frozen=True, slots=True)
class EncodedWords:
    """Subword ids grouped by word; ``offsets`` are each word's (start, end) characters when known."""

    pieces: list[list[int]]
    offsets: list[tuple[int, int]] | None = None


def encode_words(tokenizer, words: Sequence[str]) -> EncodedWords:
    """Split pre-tokenized ``words`` into subword ids with a ``tokenizers.Tokenizer``.

    A word the tokenizer maps to nothing (control characters, ...) gets an
    empty list: it is never predicted and decodes as ``O``.
    """
    enc = tokenizer.encode(list(words), is_pretokenized=True, add_special_tokens=False)
    pieces: list[list[int]] = [[] for _ in words]
    for tid, wid in zip(enc.ids, enc.word_ids):
        if wid is not None:
            pieces[wid].append(tid)
    return EncodedWords(pieces)


def encode_text(tokenizer, text: str) -> EncodedWords:
    """Split raw ``text`` into words (the tokenizer's pre-tokenizer: whitespace and punctuation) and subwords.

    Word offsets are character offsets into ``text``.
    """
    enc = tokenizer.encode(text, add_special_tokens=False)
    pieces: list[list[int]] = []
    offsets: list[tuple[int, int]] = []
    last = None
    for tid, wid, (s, e) in zip(enc.ids, enc.word_ids, enc.offsets):
        if wid is None:
            continue
        if wid != last:
            pieces.append([])
            offsets.append((s, e))
            last = wid
        pieces[-1].append(tid)
        offsets[-1] = (offsets[-1][0], e)
    return EncodedWords(pieces, offsets)


def make_windows(lengths: Sequence[int], max_pieces: int, stride: int) -> list[Window]:
    """Cut words with subword counts ``lengths`` into windows of at most ``max_pieces`` subwords.

    Consecutive windows overlap by about ``stride`` subwords (whole words).
    Each word is *kept* (predicted) by exactly one window: the one where it is
    furthest from an edge. A single word longer than ``max_pieces`` is
    truncated to its first subwords (its first subword is all that is
    predicted from anyway).

    Args:
        lengths: subword count of each word (0 for words with no subwords).
        max_pieces: subwords per window, not counting [CLS]/[SEP].
        stride: overlap between windows in subwords; must be < max_pieces // 2.

    Returns:
        Windows covering every word; one window if everything fits.
    """
    if max_pieces < 2:
        raise ValueError(f"max_pieces must be >= 2, got {max_pieces}")
    if not 0 <= stride < max_pieces // 2 + 1:
        raise ValueError(f"stride must be in [0, {max_pieces // 2}], got {stride}")
    n = len(lengths)
    if sum(min(x, max_pieces) for x in lengths) <= max_pieces:
        return [Window(0, n, 0, n)]
    spans: list[tuple[int, int]] = []
    start = 0
    while True:
        total = 0
        end = start
        while end < n and total + min(lengths[end], max_pieces) <= max_pieces:
            total += min(lengths[end], max_pieces)
            end += 1
        if end == start:  # cannot happen: a single word is truncated to max_pieces
            end = start + 1
        spans.append((start, end))
        if end >= n:
            break
        # step back about `stride` subwords, but always move forward
        back = 0
        nxt = end
        while nxt - 1 > start + 1 and back + lengths[nxt - 1] <= stride:
            back += lengths[nxt - 1]
            nxt -= 1
        start = max(nxt, start + 1)
    # assign each word to the window where it is furthest from an edge
    keep = [(s, e) for s, e in spans]
    for i in range(len(spans) - 1):
        s1, e1 = spans[i]
        s2, e2 = spans[i + 1]
        mid = (s2 + e1 + 1) // 2 if e1 > s2 else e1  # split the overlap in half
        keep[i] = (keep[i][0], mid)
        keep[i + 1] = (mid, keep[i + 1][1])
    return [Window(s, e, ks, ke) for (s, e), (ks, ke) in zip(spans, keep)]


def window_inputs(pieces: Sequence[Sequence[int]], window: Window, max_pieces: int, cls_id: int, sep_id: int,
                  word_labels: Sequence[int] | None = None) -> tuple[list[int], list[int], list[int]]:
    """Model inputs for one window.

    Returns:
        ``(input_ids, labels, first_piece)``: ``labels`` holds each word's label
        id on its first subword and ``-100`` elsewhere (all ``-100`` without
        ``word_labels``); ``first_piece[j]`` is the position of word
        ``window.start + j``'s first subword, or -1 if it has none.
    """
    ids = [cls_id]
    labels = [IGNORE_INDEX]
    first: list[int] = []
    for w in range(window.start, window.end):
        p = list(pieces[w][:max_pieces])
        if not p:
            first.append(-1)
            continue
        first.append(len(ids))
        ids.extend(p)
        if word_labels is not None:
            labels.append(word_labels[w])
            labels.extend([IGNORE_INDEX] * (len(p) - 1))
        else:
            labels.extend([IGNORE_INDEX] * len(p))
    ids.append(sep_id)
    labels.append(IGNORE_INDEX)
    return ids, labels, first


def bio_to_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Entities ``(type, start, end)`` (end exclusive) from BIO tags, by seqeval's default conventions.

    An ``I-X`` that does not continue an ``X`` entity starts a new one;
    ``E-``/``S-`` tags (IOBES) are read too.
    """
    spans: list[tuple[str, int, int]] = []
    cur_type: str | None = None
    cur_start = 0
    prev_tag = "O"
    for i, tag in enumerate(list(tags) + ["O"]):
        t = tag[0] if tag and tag != "O" else "O"
        typ = tag[2:] if len(tag) > 2 and tag[1] in "-_" else ""
        if t not in "BIESO":
            t, typ = "O", ""
        # end of the current chunk?
        if cur_type is not None:
            ends = (t in "BSO") or typ != cur_type or prev_tag in "ES"
            if ends:
                spans.append((cur_type, cur_start, i))
                cur_type = None
        if t != "O" and cur_type is None:
            cur_type, cur_start = typ, i
        prev_tag = t
    return spans


def spans_to_bio(n: int, spans: Sequence[tuple[str, int, int]]) -> list[str]:
    """BIO tags for ``n`` words from entities ``(type, start, end)``."""
    tags = ["O"] * n
    for typ, s, e in spans:
        for i in range(s, e):
            tags[i] = ("B-" if i == s else "I-") + typ
    return tags


def predict_word_labels(encoded: Sequence[EncodedWords], logits_fn, *, max_length: int, stride: int,
                        cls_id: int, sep_id: int, pad_id: int, batch_size: int = 32, outside: int = 0) -> list[list[int]]:
    """Label id per word for each encoded text, windowing long ones.

    Args:
        encoded: texts as subwords grouped by word.
        logits_fn: ``(input_ids, attention_mask) -> logits``, numpy int64 arrays
            of shape (batch, length) in, (batch, length, n_labels) out.
        max_length: the model's input length including [CLS] and [SEP].
        stride: overlap of consecutive windows, in subwords.
        cls_id / sep_id / pad_id: special token ids of the tokenizer.
        batch_size: windows per call of ``logits_fn``; windows are sorted by
            length so each batch pads little.
        outside: the label id given to words with no subword (``O``).

    Returns:
        One list of label ids per text, one id per word.
    """
    import numpy as np

    max_pieces = max_length - 2
    jobs: list[tuple[int, Window, list[int], list[int]]] = []
    results: list[list[int]] = []
    for t, enc in enumerate(encoded):
        results.append([outside] * len(enc.pieces))
        if not enc.pieces:
            continue
        for win in make_windows([len(p) for p in enc.pieces], max_pieces, stride):
            ids, _, first = window_inputs(enc.pieces, win, max_pieces, cls_id, sep_id)
            jobs.append((t, win, ids, first))
    order = sorted(range(len(jobs)), key=lambda j: len(jobs[j][2]))
    for b in range(0, len(order), batch_size):
        batch = [jobs[j] for j in order[b:b + batch_size]]
        width = max(len(job[2]) for job in batch)
        input_ids = np.full((len(batch), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for r, job in enumerate(batch):
            input_ids[r, :len(job[2])] = job[2]
            mask[r, :len(job[2])] = 1
        pred = np.asarray(logits_fn(input_ids, mask)).argmax(-1)
        for r, (t, win, _, first) in enumerate(batch):
            out = results[t]
            for j, pos in enumerate(first):
                w = win.start + j
                if win.keep_start <= w < win.keep_end and pos >= 0:
                    out[w] = int(pred[r, pos])
    return results
