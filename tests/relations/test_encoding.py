"""Document encoding for the relation model: markers, windows, entities, pairs, features, the hypernym filter."""

from __future__ import annotations

import pytest
from medlens.relations.encoding import (
    FEATURES,
    Mention,
    collate,
    encode_document,
    hypernym_filter,
    split_sentences,
)
from medlens.relations.pubtator import read_pubtator
from medlens.training.relations import document_mentions

from tests.relations.conftest import PUBTATOR


@pytest.fixture(scope="module")
def tokenizer(tiny_base_dir):
    from medlens.tagging.files import load_tokenizer

    return load_tokenizer(tiny_base_dir)


def _encode(tokenizer, doc, **kw):
    from medlens.tagging.files import special_ids

    cls_id, sep_id, _ = special_ids(tokenizer)
    return encode_document(tokenizer, doc.text, document_mentions(doc), marker_id=tokenizer.token_to_id("*"),
                           cls_id=cls_id, sep_id=sep_id, title_end=len(doc.title), **kw)


def test_every_mention_is_read_from_its_opening_marker(tokenizer):
    doc = read_pubtator(PUBTATOR)[0]
    enc = _encode(tokenizer, doc)
    marker = tokenizer.token_to_id("*")
    assert len(enc.windows) == 1
    assert len(enc.mentions) == 7
    for (w, pos), m in zip(enc.mention_positions, enc.mentions):
        assert enc.windows[w][pos] == marker
        # the subwords after the marker spell the mention
        first_piece = tokenizer.id_to_token(enc.windows[w][pos + 1])
        assert doc.text[m.start:m.end].lower().startswith(first_piece)
    assert enc.windows[0].count(marker) == 2 * len(enc.mentions)


def test_entities_pairs_and_features(tokenizer):
    doc = read_pubtator(PUBTATOR)[1]
    enc = _encode(tokenizer, doc)
    ids = {(e.kind, e.id): len(e.mentions) for e in enc.entities}
    # the composite mention is a mention of both its concepts; "rash" (-1) takes no part
    assert ids == {("chemical", "D013629"): 2, ("disease", "D016889"): 2, ("disease", "D001943"): 1,
                   ("disease", "D010051"): 1}
    pairs = {(enc.entities[h].id, enc.entities[t].id): f for (h, t), f in zip(enc.pairs, enc.features)}
    assert set(pairs) == {("D013629", "D016889"), ("D013629", "D001943"), ("D013629", "D010051")}
    same, dist, nh, nt, h_title, t_title = pairs[("D013629", "D016889")]
    assert len(FEATURES) == 6
    assert same == 1.0 and dist == 0.0 and h_title == 1.0 and t_title == 1.0
    assert pairs[("D013629", "D001943")][5] == 0.0  # breast cancer is not in the title


def test_long_document_windows_keep_every_mention(tokenizer):
    doc = read_pubtator(PUBTATOR)[0]
    enc = _encode(tokenizer, doc, max_length=16, stride=4)
    assert len(enc.windows) > 2
    assert all(len(w) <= 16 for w in enc.windows)
    marker = tokenizer.token_to_id("*")
    for w, pos in enc.mention_positions:
        assert enc.windows[w][pos] == marker
        assert 1 <= pos < len(enc.windows[w]) - 1


def test_collate_indexes_mentions_across_documents(tokenizer):
    import numpy as np

    docs = read_pubtator(PUBTATOR)
    encs = [_encode(tokenizer, d, max_length=16, stride=4) for d in docs]
    batch = collate(encs, pad_id=0)
    width = batch["input_ids"].shape[1]
    flat = batch["input_ids"].reshape(-1)
    assert (flat[batch["mention_index"]] == tokenizer.token_to_id("*")).all()
    assert batch["entity_mentions"].shape == (sum(len(e.entities) for e in encs), sum(len(e.mentions) for e in encs))
    assert np.allclose(batch["entity_mentions"].sum(0), [len(m.ids) for e in encs for m in e.mentions])
    assert len(batch["pair_head"]) == sum(len(e.pairs) for e in encs) == batch["pair_features"].shape[0]
    assert batch["attention_mask"].sum() == sum(len(w) for e in encs for w in e.windows)
    assert width == max(len(w) for e in encs for w in e.windows)


def test_split_sentences_skips_abbreviations_and_breaks_titles():
    text = "Drug toxicity in rats Effects were seen, e.g. in the liver. Doses of 5 mg. Fig. 2 shows it."
    spans = split_sentences(text, breaks=[21])
    assert [text[s:e] for s, e in spans] == ["Drug toxicity in rats", "Effects were seen, e.g. in the liver.",
                                            "Doses of 5 mg.", "Fig. 2 shows it."]


def test_hypernym_filter_drops_the_broader_disease():
    trees = {"MESH:D007674": ["C12.777.419"], "MESH:D051437": ["C12.777.419.780"], "MESH:D006973": ["C14.907.489"]}
    pairs = [("C", "MESH:D007674"), ("C", "MESH:D051437"), ("C", "MESH:D006973"), ("X", "MESH:D007674")]
    assert hypernym_filter(pairs, trees) == {("C", "MESH:D007674")}
    assert hypernym_filter(pairs, {}) == set()


def test_mentions_without_ids_are_left_out(tokenizer):
    from medlens.tagging.files import special_ids

    cls_id, sep_id, _ = special_ids(tokenizer)
    enc = encode_document(tokenizer, "cisplatin and rash", [Mention(0, 9, "chemical", ("C",)), Mention(14, 18, "disease", ())],
                          marker_id=tokenizer.token_to_id("*"), cls_id=cls_id, sep_id=sep_id)
    assert len(enc.mentions) == 1 and enc.pairs == []
