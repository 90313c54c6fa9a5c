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
    """Subword ids grouped by word; ``offsets`` are each word's (start, end) characters when known;
    ``sentences``, when set, the words that start a sentence (windows are then cut between sentences)."""

    pieces: list[list[int]]
    offsets: list[tuple[int, int]] | None = None
    sentences: list[int] | None = None


def _group_words(ids: Sequence[int], word_ids: Sequence[int | None], n_words: int | None = None,
                 offsets: Sequence[tuple[int, int]] | None = None) -> EncodedWords:
    """Subword ids grouped by word: by the word index when ``n_words`` is given (pre-tokenized input), else by runs."""
    if n_words is not None:
        pieces: list[list[int]] = [[] for _ in range(n_words)]
        for tid, wid in zip(ids, word_ids):
            if wid is not None:
                pieces[wid].append(tid)
        return EncodedWords(pieces)
    pieces = []
    spans: list[tuple[int, int]] = []
    last = None
    for tid, wid, (s, e) in zip(ids, word_ids, offsets or ()):
        if wid is None:
            continue
        if wid != last:
            pieces.append([tid])
            spans.append((s, e))
            last = wid
        else:
            pieces[-1].append(tid)
            spans[-1] = (spans[-1][0], e)
    return EncodedWords(pieces, spans)


def encode_words(tokenizer, words: Sequence[str]) -> EncodedWords:
    """Split pre-tokenized ``words`` into subword ids with a ``tokenizers.Tokenizer``.

    A word the tokenizer maps to nothing (control characters, ...) gets an
    empty list: it is never predicted and decodes as ``O``.
    """
    enc = tokenizer.encode(list(words), is_pretokenized=True, add_special_tokens=False)
    return _group_words(enc.ids, enc.word_ids, n_words=len(words))


def encode_word_lists(tokenizer, word_lists: Sequence[Sequence[str]]) -> list[EncodedWords]:
    """:func:`encode_words` for many texts in one ``encode_batch`` call (tokenized in parallel, in Rust)."""
    if not word_lists:
        return []
    encs = tokenizer.encode_batch([list(w) for w in word_lists], is_pretokenized=True, add_special_tokens=False)
    return [_group_words(e.ids, e.word_ids, n_words=len(w)) for e, w in zip(encs, word_lists)]


def encode_text(tokenizer, text: str) -> EncodedWords:
    """Split raw ``text`` into words (the tokenizer's pre-tokenizer: whitespace and punctuation) and subwords.

    Word offsets are character offsets into ``text``.
    """
    enc = tokenizer.encode(text, add_special_tokens=False)
    return _group_words(enc.ids, enc.word_ids, offsets=enc.offsets)


def encode_texts(tokenizer, texts: Sequence[str]) -> list[EncodedWords]:
    """:func:`encode_text` for many texts in one ``encode_batch`` call (tokenized in parallel, in Rust)."""
    if not texts:
        return []
    encs = tokenizer.encode_batch(list(texts), add_special_tokens=False)
    return [_group_words(e.ids, e.word_ids, offsets=e.offsets) for e in encs]


def make_windows(lengths: Sequence[int], max_pieces: int, stride: int, breaks: Sequence[int] | None = None,
                 pack: bool = True) -> list[Window]:
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
        breaks: word indices where a sentence starts (sorted). With them, whole
            sentences are packed into windows that do not overlap, so every word
            is predicted with its whole sentence around it and no subword is
            computed twice; only a sentence longer than a window is cut into
            overlapping windows (inside the sentence).
        pack: with ``breaks``, put as many whole sentences in a window as fit (True),
            or each sentence in a window of its own (False: how a model trained on
            single sentences reads best).

    Returns:
        Windows covering every word; one window if everything fits.
    """
    if max_pieces < 2:
        raise ValueError(f"max_pieces must be >= 2, got {max_pieces}")
    if not 0 <= stride < max_pieces // 2 + 1:
        raise ValueError(f"stride must be in [0, {max_pieces // 2}], got {stride}")
    n = len(lengths)
    if (pack or not breaks) and sum(min(x, max_pieces) for x in lengths) <= max_pieces:
        return [Window(0, n, 0, n)]
    if breaks:
        return _pack_sentences(lengths, max_pieces, stride, breaks, pack=pack)
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


def _pack_sentences(lengths: Sequence[int], max_pieces: int, stride: int, breaks: Sequence[int],
                    pack: bool = True) -> list[Window]:
    """Windows of whole sentences, several to a window if ``pack`` (see :func:`make_windows`)."""
    n = len(lengths)
    bounds = [0, *(b for b in breaks if 0 < b < n), n]
    windows: list[Window] = []
    start, total = 0, 0  # the window being filled: words [start, s)
    for s, e in zip(bounds, bounds[1:]):
        if s == e:
            continue
        size = sum(min(x, max_pieces) for x in lengths[s:e])
        if total and (total + size > max_pieces or not pack):
            windows.append(Window(start, s, start, s))
            start, total = s, 0
        if size > max_pieces:  # one sentence longer than a window: overlapping windows inside it
            windows += [Window(w.start + s, w.end + s, w.keep_start + s, w.keep_end + s)
                        for w in make_windows(lengths[s:e], max_pieces, stride)]
            start, total = e, 0
            continue
        total += size
    if start < n:
        windows.append(Window(start, n, start, n))
    return windows


def join_sentences(encoded: Sequence[EncodedWords]) -> EncodedWords:
    """Consecutive sentences as one text whose windows hold whole sentences (see :func:`make_windows`):
    a sentence is then read with its neighbours around it, as the pipeline reads a document."""
    pieces: list[list[int]] = []
    starts: list[int] = []
    for enc in encoded:
        if pieces:
            starts.append(len(pieces))
        pieces.extend(enc.pieces)
    return EncodedWords(pieces, None, starts)


def split_sentences(values: Sequence, encoded: Sequence[EncodedWords]) -> list[list]:
    """Per-word ``values`` of a :func:`join_sentences` text, cut back into its sentences."""
    out, at = [], 0
    for enc in encoded:
        out.append(list(values[at : at + len(enc.pieces)]))
        at += len(enc.pieces)
    return out


def sentence_starts(words: Sequence[str]) -> list[int]:
    """Indices of the words that start a sentence: those after ``.``, ``?`` or ``!`` that begin
    with a capital letter or a digit ("e.g. the" does not end a sentence)."""
    return [i for i in range(1, len(words))
            if words[i - 1] in (".", "?", "!") and (words[i][:1].isupper() or words[i][:1].isdigit())]


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


def pad_batch(rows: Sequence[Sequence[int]], pad_id: int):
    """Pad rows of piece ids to one ``[len(rows), longest]`` int64 array with ``pad_id``.

    Returns:
        ``(input_ids, attention_mask)``: the mask is 1 over each row's own pieces, 0 over the padding.
    """
    import numpy as np

    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros_like(ids)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = r
        mask[i, :len(r)] = 1
    return ids, mask


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


class BioDecoder:
    """Best valid BIO tag sequence for a run of words (Viterbi under hard BIO constraints).

    Plain argmax reads each word alone and can produce ``O I-X`` or ``B-X I-Y``,
    which seqeval then reads as a new entity starting mid-mention. The decoder
    instead picks the sequence with the highest total log-probability among those
    where every ``I-X`` follows ``B-X`` or ``I-X``: the model's own scores, no
    learned transitions, so it needs no training and costs ~10 µs a sentence.

    Args:
        labels: the model's labels in output order (``O``, ``B-X``, ``I-X`` ...).
    """

    def __init__(self, labels: Sequence[str]) -> None:
        import numpy as np

        n = len(labels)
        inside = [lab[2:] if lab.startswith("I-") else None for lab in labels]
        typ = [lab[2:] if lab[:2] in ("B-", "I-") else None for lab in labels]
        # allowed[i, j]: tag j may follow tag i; start[j]: tag j may open a sequence
        self.allowed = np.ones((n, n), dtype=bool)
        for j, t in enumerate(inside):
            if t is not None:
                self.allowed[:, j] = [typ[i] == t for i in range(n)]
        self.start = np.array([t is None for t in inside])
        self._penalty = np.where(self.allowed, 0.0, -np.inf)

    def __call__(self, scores) -> list[int]:
        """Tag ids for ``scores`` (words x labels logits)."""
        import numpy as np

        scores = np.asarray(scores, dtype=np.float64)
        if len(scores) == 0:
            return []
        logp = scores - np.logaddexp.reduce(scores, axis=1, keepdims=True)
        best = np.where(self.start, logp[0], -np.inf)
        back = np.zeros(logp.shape, dtype=np.int64)
        for w in range(1, len(logp)):
            cand = best[:, None] + self._penalty  # previous tag x next tag
            back[w] = cand.argmax(0)
            best = cand[back[w], np.arange(cand.shape[1])] + logp[w]
        path = [int(best.argmax())]
        for w in range(len(logp) - 1, 0, -1):
            path.append(int(back[w, path[-1]]))
        return path[::-1]

    def decode_rows(self, rows: Sequence) -> list[list[int]]:
        """:meth:`__call__` for many rows of word scores at once (each ``words x labels``, any lengths):
        the same paths, ties included, with one numpy step per word position instead of per word."""
        import numpy as np

        rows = [np.asarray(r, dtype=np.float64) for r in rows]
        lengths = np.array([len(r) for r in rows])
        out: list[list[int]] = [[] for _ in rows]
        live = [i for i, n in enumerate(lengths) if n]
        if not live:
            return out
        n_lab = self._penalty.shape[0]
        width = int(lengths.max())
        logp = np.zeros((len(live), width, n_lab))
        for k, i in enumerate(live):
            r = rows[i]
            logp[k, :len(r)] = r - np.logaddexp.reduce(r, axis=1, keepdims=True)
        lens = lengths[live]
        best = np.where(self.start, logp[:, 0], -np.inf)
        back = np.zeros((len(live), width, n_lab), dtype=np.int64)
        cols = np.arange(n_lab)
        for w in range(1, width):
            on = lens > w
            cand = best[on][:, :, None] + self._penalty  # row x previous tag x next tag
            arg = cand.argmax(1)
            back[on, w] = arg
            best[on] = np.take_along_axis(cand, arg[:, None, :], 1)[:, 0, :] + logp[on, w]
        last = best.argmax(1)
        for k, i in enumerate(live):
            path = [int(last[k])]
            b = back[k]
            for w in range(int(lens[k]) - 1, 0, -1):
                path.append(int(b[w, path[-1]]))
            out[i] = path[::-1]
        return out


def predict_word_labels(encoded: Sequence[EncodedWords], logits_fn, *, max_length: int, stride: int,
                        cls_id: int, sep_id: int, pad_id: int, batch_size: int = 32, outside: int = 0,
                        mapper=map, min_batches: int = 1, max_tokens: int | None = None,
                        decoder: BioDecoder | None = None, pack_sentences: bool = True,
                        word_scores: list[list[float]] | None = None) -> list[list[int]]:
    """Label id per word for each encoded text, windowing long ones.

    The windows of all texts are sorted by length and cut into batches, so
    each batch pads little whichever text its windows come from.

    Args:
        encoded: texts as subwords grouped by word.
        logits_fn: ``(input_ids, attention_mask) -> logits``, numpy int64 arrays
            of shape (batch, length) in, (batch, length, n_labels) out.
        max_length: the model's input length including [CLS] and [SEP].
        stride: overlap of consecutive windows, in subwords.
        cls_id / sep_id / pad_id: special token ids of the tokenizer.
        batch_size: most windows per call of ``logits_fn``.
        max_tokens: most positions (windows x the longest one's length) per call;
            None: no limit. Small batches keep the activations in the CPU caches
            (ONNX Runtime int8 on 2 EPYC cores: batches of 16 sentences ran ~15%
            faster per sentence than batches of 32, ~45% faster than 64).
        outside: the label id given to words with no subword (``O``).
        mapper: ``mapper(fn, batches)`` calls ``logits_fn`` on each ``(input_ids,
            attention_mask)`` batch and yields the logits in order; the builtin
            ``map`` runs them one after another, an executor's ``map`` concurrently.
        min_batches: cut the windows into at least this many batches (when there
            are that many windows), so that a concurrent ``mapper`` has work for each worker.
        decoder: reads each window's word scores into tags (:class:`BioDecoder`);
            None: the argmax of each word alone.
        pack_sentences: texts with sentence starts (``EncodedWords.sentences``) put as many
            whole sentences in a window as fit (True) or one sentence per window (False).

        word_scores: a list to fill (optional): for each text, the model's probability
            (softmax) of the label chosen for each word (1.0 for words no window read).

    Returns:
        One list of label ids per text, one id per word.
    """
    import numpy as np

    max_pieces = max_length - 2
    jobs: list[tuple[int, list[int], list[int], list[int]]] = []  # text, input ids, kept words, their first subword
    results: list[list[int]] = []
    if word_scores is not None:
        word_scores[:] = [[1.0] * len(enc.pieces) for enc in encoded]
    for t, enc in enumerate(encoded):
        results.append([outside] * len(enc.pieces))
        if not enc.pieces:
            continue
        lengths = [len(p) for p in enc.pieces]
        if sum(lengths) <= max_pieces and (pack_sentences or not enc.sentences):  # the common case: one window
            ids = [cls_id]
            words, first = [], []
            for w, p in enumerate(enc.pieces):
                if p:
                    words.append(w)
                    first.append(len(ids))
                    ids.extend(p)
            ids.append(sep_id)
            jobs.append((t, ids, words, first))
            continue
        for win in make_windows(lengths, max_pieces, stride, enc.sentences, pack=pack_sentences):
            ids, _, first_all = window_inputs(enc.pieces, win, max_pieces, cls_id, sep_id)
            words, first = [], []
            for j, pos in enumerate(first_all):
                w = win.start + j
                if win.keep_start <= w < win.keep_end and pos >= 0:
                    words.append(w)
                    first.append(pos)
            jobs.append((t, ids, words, first))
    if not jobs:
        return results
    order = sorted(range(len(jobs)), key=lambda j: len(jobs[j][1]))
    # at least min_batches batches (when there are that many windows), none wider than batch_size
    # windows or, past one window, longer than max_tokens positions in all (padding included)
    size = min(batch_size, -(-len(order) // min(max(1, min_batches), len(order))))
    groups: list[list] = [[]]
    for j in order:
        cur = groups[-1]
        if cur and (len(cur) >= size or (max_tokens and (len(cur) + 1) * len(jobs[j][1]) > max_tokens)):
            groups.append(cur := [])
        cur.append(jobs[j])

    def inputs(batch):
        return pad_batch([job[1] for job in batch], pad_id)

    for batch, logits in zip(groups, mapper(lambda x: logits_fn(*x), (inputs(b) for b in groups))):
        logits = np.asarray(logits)
        pred = logits.argmax(-1) if decoder is None else None
        paths = decoder.decode_rows([logits[r, job[3]] for r, job in enumerate(batch)]) if decoder is not None else None
        for r, (t, _, words, first) in enumerate(batch):
            out = results[t]
            row = pred[r, first].tolist() if decoder is None else paths[r]
            for w, label in zip(words, row):
                out[w] = label
            if word_scores is not None and words:
                z = logits[r, first].astype(np.float64)
                z = np.exp(z - z.max(-1, keepdims=True))
                p = z[np.arange(len(row)), row] / z.sum(-1)
                ws = word_scores[t]
                for w, v in zip(words, p.tolist()):
                    ws[w] = v
    return results
