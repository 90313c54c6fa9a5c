"""A document's text, joined once per ``Doc``.

spaCy does not store ``Doc.text``: each read makes a ``Token`` for every token
and joins their texts (0.44 us per token on AMD EPYC: 30 ms of CPU for one read of
each of 120 MTSamples notes), and the default pipeline's components read it about
17 times per note. :func:`doc_text`
joins it once and keeps it while the ``Doc`` lives. A ``Doc``'s text cannot change
(retokenizing merges and splits tokens without changing their characters), so the
kept string is always ``doc.text``.
"""

from __future__ import annotations

import weakref

from spacy.tokens import Doc

_TEXTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def doc_text(doc: Doc) -> str:
    """``doc.text``, joined on the first call for ``doc`` and kept until ``doc`` is freed."""
    text = _TEXTS.get(doc)
    if text is None:
        text = _TEXTS[doc] = doc.text
    return text
