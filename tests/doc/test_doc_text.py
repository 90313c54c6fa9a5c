"""medlens.doc.text.doc_text: a Doc's text joined once and kept while the Doc lives."""

import gc

import spacy

from medlens.doc import text as text_module
from medlens.doc.text import doc_text


def _doc(words="Aspirin 81 mg daily.\nNo chest pain."):
    return spacy.blank("en").make_doc(words)


def test_doc_text_equals_spacy_text_and_is_joined_once():
    doc = _doc()
    first = doc_text(doc)
    assert first == doc.text
    assert doc_text(doc) is first  # the kept string, not a new join


def test_doc_text_unchanged_by_retokenizing():
    doc = _doc()
    before = doc_text(doc)
    with doc.retokenize() as retok:
        retok.merge(doc[0:3])  # "Aspirin 81 mg" -> one token
    assert len(doc) < len(_doc())
    assert doc.text == before == doc_text(doc)


def test_doc_text_of_each_doc_apart_and_freed_with_the_doc():
    a, b = _doc("left knee pain"), _doc("right knee pain")
    assert (doc_text(a), doc_text(b)) == ("left knee pain", "right knee pain")
    kept = len(text_module._TEXTS)
    del a
    gc.collect()
    assert len(text_module._TEXTS) == kept - 1


def test_doc_text_of_an_empty_doc():
    assert doc_text(_doc("")) == ""
