"""Word -> subword label alignment, windows over long texts, BIO decoding."""

from __future__ import annotations

import pytest

from medlens.tagging.alignment import (
    IGNORE_INDEX,
    bio_to_spans,
    encode_text,
    encode_words,
    make_windows,
    predict_word_labels,
    window_inputs,
)


def test_first_subword_labelled_rest_ignored(tiny_tokenizer) -> None:
    words = ["tamoxifen", "xyzzy", "."]
    enc = encode_words(tiny_tokenizer, words)
    assert len(enc.pieces[0]) == 1 and len(enc.pieces[1]) == 5  # x ##y ##z ##z ##y
    win = make_windows([len(p) for p in enc.pieces], 14, 4)[0]
    ids, labels, first = window_inputs(enc.pieces, win, 14, 2, 3, [1, 3, 0])
    assert ids[0] == 2 and ids[-1] == 3
    assert labels == [IGNORE_INDEX, 1, 3, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, 0, IGNORE_INDEX]
    assert first == [1, 2, 7]


@pytest.mark.parametrize("lengths, max_pieces, stride", [
    ([1] * 100, 10, 3),
    ([1, 3, 2, 5, 1, 1, 4, 2, 2, 1] * 9, 12, 4),
    ([20, 1, 1], 8, 2),  # one word longer than a window
    ([0, 1, 0, 2] * 10, 6, 0),
])
def test_windows_keep_every_word_exactly_once(lengths: list[int], max_pieces: int, stride: int) -> None:
    wins = make_windows(lengths, max_pieces, stride)
    kept = [w for win in wins for w in range(win.keep_start, win.keep_end)]
    assert kept == list(range(len(lengths)))
    for win in wins:
        assert win.start <= win.keep_start <= win.keep_end <= win.end
        assert sum(min(x, max_pieces) for x in lengths[win.start:win.end]) <= max_pieces
    if stride and len(wins) > 1 and max(lengths) < max_pieces // 2:
        assert any(a.end > b.start for a, b in zip(wins, wins[1:]))  # windows overlap


def test_long_text_windowed_without_losing_a_word(tiny_tokenizer) -> None:
    text = " ".join(f"patients{i % 7} with cancer" for i in range(60))
    enc = encode_text(tiny_tokenizer, text)
    seen = []

    def logits_fn(ids, mask):
        import numpy as np

        assert ids.shape[1] <= 16
        seen.append(ids.shape[0])
        out = np.zeros(ids.shape + (3,), dtype=np.float32)
        out[..., 1] = 1.0  # every subword says label 1
        return out

    labels = predict_word_labels([enc], logits_fn, max_length=16, stride=4, cls_id=2, sep_id=3, pad_id=0, batch_size=4)
    assert len(labels[0]) == len(enc.pieces) == 180
    assert set(labels[0]) == {1}
    assert sum(seen) > 1
    # word offsets point into the original text
    s, e = enc.offsets[2]
    assert text[s:e] == "cancer"


def test_bio_to_spans_seqeval_conventions() -> None:
    tags = ["B-D", "I-D", "O", "I-C", "I-C", "B-C", "I-D", "O", "B-D"]
    assert bio_to_spans(tags) == [("D", 0, 2), ("C", 3, 5), ("C", 5, 6), ("D", 6, 7), ("D", 8, 9)]
    seqeval = pytest.importorskip("seqeval.metrics.sequence_labeling")
    expected = [(t, s, e + 1) for t, s, e in seqeval.get_entities(tags)]
    assert sorted(bio_to_spans(tags)) == sorted(expected)
