"""Word -> subword label alignment, windows over long texts, BIO decoding."""

from __future__ import annotations

import pytest

from medlens.tagging.alignment import (
    IGNORE_INDEX,
    BioDecoder,
    bio_to_spans,
    encode_text,
    encode_texts,
    encode_word_lists,
    encode_words,
    make_windows,
    predict_word_labels,
    sentence_starts,
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


def _position_logits(ids, mask):
    """Logits that depend only on each subword's id: label = id % 3 (so batching cannot change them)."""
    import numpy as np

    out = np.zeros(ids.shape + (3,), dtype=np.float32)
    np.put_along_axis(out, (ids % 3)[..., None], 1.0, axis=-1)
    return out


LABELS = ["O", "B-CHEMICAL", "I-CHEMICAL", "B-DISEASE", "I-DISEASE"]


def _logits(rows: list[list[float]]):
    import numpy as np

    return np.log(np.asarray(rows))  # probabilities in, log-scores out


def test_bio_decoder_repairs_invalid_sequences() -> None:
    decode = BioDecoder(LABELS)
    # argmax reads O I-DISEASE I-DISEASE: the decoder opens the entity with B- instead
    rows = [[0.40, 0.05, 0.05, 0.30, 0.20],
            [0.10, 0.05, 0.05, 0.30, 0.50],
            [0.30, 0.05, 0.05, 0.10, 0.50]]
    assert [LABELS[i] for i in _logits(rows).argmax(1)] == ["O", "I-DISEASE", "I-DISEASE"]
    assert [LABELS[i] for i in decode(_logits(rows))] == ["B-DISEASE", "I-DISEASE", "I-DISEASE"]
    # B-CHEMICAL I-DISEASE is invalid: the best valid path continues the chemical
    rows = [[0.05, 0.80, 0.05, 0.05, 0.05],
            [0.05, 0.05, 0.40, 0.05, 0.45]]
    assert [LABELS[i] for i in decode(_logits(rows))] == ["B-CHEMICAL", "I-CHEMICAL"]
    assert decode([]) == []


@pytest.mark.parametrize("seed", range(20))
def test_bio_decoder_is_exact_viterbi(seed: int) -> None:
    """Brute force over every tag sequence of a short run: the decoder finds the best valid one."""
    import itertools

    import numpy as np

    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(4, len(LABELS))) * 2
    logp = scores - np.logaddexp.reduce(scores, axis=1, keepdims=True)

    def valid(seq) -> bool:
        prev = "O"
        for tag in seq:
            if tag.startswith("I-") and prev[2:] != tag[2:]:
                return False
            prev = tag
        return True

    best = max((seq for seq in itertools.product(range(len(LABELS)), repeat=4) if valid([LABELS[i] for i in seq])),
               key=lambda seq: sum(logp[w, t] for w, t in enumerate(seq)))
    assert BioDecoder(LABELS)(scores) == list(best)
    if valid([LABELS[i] for i in scores.argmax(1)]):  # when argmax is already valid, nothing changes
        assert BioDecoder(LABELS)(scores) == scores.argmax(1).tolist()


def test_batch_encoding_matches_one_by_one(tiny_tokenizer) -> None:
    texts = ["Patients with breast cancer.", "", "no evidence of xyzzy-induced renal failure"]
    assert encode_texts(tiny_tokenizer, texts) == [encode_text(tiny_tokenizer, t) for t in texts]
    words = [["tamoxifen", "xyzzy", "."], [], ["renal", "failure"]]
    assert encode_word_lists(tiny_tokenizer, words) == [encode_words(tiny_tokenizer, w) for w in words]


def test_batches_respect_limits_and_concurrent_mapper_keeps_order(tiny_tokenizer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = [" ".join(["patients with cancer"] * n) for n in (1, 9, 2, 30, 5, 1, 3)]
    encoded = encode_texts(tiny_tokenizer, texts)
    expected = predict_word_labels(encoded, _position_logits, max_length=16, stride=4, cls_id=2, sep_id=3, pad_id=0,
                                   batch_size=1)
    shapes = []

    def logits_fn(ids, mask):
        shapes.append(ids.shape)
        return _position_logits(ids, mask)

    with ThreadPoolExecutor(2) as pool:
        got = predict_word_labels(encoded, logits_fn, max_length=16, stride=4, cls_id=2, sep_id=3, pad_id=0,
                                  batch_size=8, mapper=pool.map, min_batches=2, max_tokens=40)
    assert got == expected
    assert all(n <= 8 and (n == 1 or n * width <= 40) for n, width in shapes)
    assert len(shapes) >= 2
    # windows of different texts share batches: fewer calls than texts with windows
    few = []
    predict_word_labels(encoded, lambda i, m: few.append(i.shape) or _position_logits(i, m), max_length=16, stride=4,
                        cls_id=2, sep_id=3, pad_id=0, batch_size=64)
    assert len(few) == 1


def test_sentence_starts_skip_abbreviations() -> None:
    words = "Fever was noted . The e . g . patient had 2 episodes . 3 more ? yes .".split()
    assert sentence_starts(words) == [4, 14]


@pytest.mark.parametrize("lengths, breaks", [
    ([1] * 40, list(range(5, 40, 5))),  # sentences of 5 subwords
    ([2, 1, 3] * 10, [3, 9, 12, 27]),  # uneven sentences, one of 15 subwords (wider than a window)
    ([1] * 30, [29]),  # a long first sentence
])
@pytest.mark.parametrize("pack", [True, False])
def test_sentence_windows_hold_whole_sentences(lengths: list[int], breaks: list[int], pack: bool) -> None:
    max_pieces = 12
    wins = make_windows(lengths, max_pieces, 3, breaks, pack=pack)
    kept = [w for win in wins for w in range(win.keep_start, win.keep_end)]
    assert kept == list(range(len(lengths)))
    bounds = [0, *breaks, len(lengths)]
    for win in wins:
        assert sum(lengths[win.start:win.end]) <= max_pieces
        inside = [(s, e) for s, e in zip(bounds, bounds[1:]) if s < win.end and win.start < e]
        if win.start not in bounds or win.end not in bounds:  # only a sentence too long for a window is cut
            assert len(inside) == 1 and sum(lengths[inside[0][0]:inside[0][1]]) > max_pieces
        else:
            assert (win.start, win.end) == (win.keep_start, win.keep_end)  # no overlap between sentence windows
            if not pack:  # one sentence per window
                assert len(inside) == 1 and inside[0] == (win.start, win.end)


def test_one_sentence_per_window_even_when_the_text_fits_one(tiny_tokenizer) -> None:
    words = ["breast", "cancer", ".", "No", "fever", ".", "Tamoxifen", "."]
    enc = encode_word_lists(tiny_tokenizer, [words])[0]
    enc = type(enc)(enc.pieces, enc.offsets, sentence_starts(words))
    seen = []

    def logits_fn(ids, mask):
        import numpy as np

        seen.extend(int(m.sum()) for m in mask)
        return np.zeros((*ids.shape, 3))

    kw = dict(max_length=64, stride=4, cls_id=2, sep_id=3, pad_id=0)
    predict_word_labels([enc], logits_fn, pack_sentences=True, **kw)
    assert len(seen) == 1  # packed: the whole text in one window
    seen.clear()
    out = predict_word_labels([enc], logits_fn, pack_sentences=False, **kw)
    assert len(seen) == 3 and len(out[0]) == len(words)  # one window per sentence, every word predicted


def test_long_text_cut_between_sentences(tiny_tokenizer) -> None:
    import dataclasses

    text = " ".join(f"Patients{i} with cancer ." for i in range(40))
    enc = encode_text(tiny_tokenizer, text)
    enc = dataclasses.replace(enc, sentences=sentence_starts([text[s:e] for s, e in enc.offsets]))
    widths = []

    def logits_fn(ids, mask):
        widths.extend(int(m.sum()) for m in mask)
        return _position_logits(ids, mask)

    labels = predict_word_labels([enc], logits_fn, max_length=16, stride=4, cls_id=2, sep_id=3, pad_id=0)
    assert len(labels[0]) == len(enc.pieces)
    assert sum(widths) - 2 * len(widths) == sum(len(p) for p in enc.pieces)  # no subword computed twice


def test_word_scores_are_the_probability_of_the_chosen_label(tiny_tokenizer) -> None:
    import math

    import numpy as np

    enc = encode_text(tiny_tokenizer, "patients with cancer")

    def logits_fn(ids, mask):
        out = np.zeros(ids.shape + (3,), dtype=np.float32)
        out[..., 1] = math.log(3.0)  # label 1 has weight 3 against 1 and 1: probability 0.6
        return out

    scores: list[list[float]] = []
    labels = predict_word_labels([enc], logits_fn, max_length=16, stride=4, cls_id=2, sep_id=3, pad_id=0,
                                 word_scores=scores)
    assert set(labels[0]) == {1}
    assert len(scores[0]) == len(enc.pieces) and all(abs(s - 0.6) < 1e-6 for s in scores[0])


def test_bio_decoder_rows_at_once_match_one_at_a_time() -> None:
    import numpy as np

    from medlens.tagging.alignment import BioDecoder

    dec = BioDecoder(["O", "B-CHEMICAL", "I-CHEMICAL", "B-DISEASE", "I-DISEASE"])
    rng = np.random.default_rng(3)
    rows = [(rng.normal(size=(n, 5)) * 3).astype(np.float32) for n in (0, 1, 2, 9, 30, 5, 0, 17)]
    rows.append(np.zeros((6, 5), dtype=np.float32))  # every tag tied: the same first-max choice
    rows.append(np.round(rng.normal(size=(12, 5))).astype(np.float32))  # many ties
    assert dec.decode_rows(rows) == [dec(r) for r in rows]
    assert dec.decode_rows([]) == [] and dec.decode_rows([rows[0]]) == [[]]
