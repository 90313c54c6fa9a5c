"""Question-context pairs as a cross-encoder reads them (training and inference share this; torch-free).

A pair is encoded ``[CLS] question [SEP] context [SEP]``: the question keeps at most
``question_max`` subwords, the context gets the rest of ``max_length``, cut (when it is
longer) to a quarter from its head and the rest from its tail — in an abstract the
results, which decide the answer, come last. :func:`split_sentences` cuts a context into
sentences with character offsets (the unit of evidence).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from medlens.components.classifier import truncate_ids

QUESTION_MAX = 64
LABELS = ("maybe", "no", "yes")
_SENT_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z0-9(\[\"'])")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` of ``text`` (stripped of surrounding whitespace; none for blank text).

    A sentence ends at ``.``, ``!`` or ``?`` followed by whitespace and an upper-case letter,
    a digit or an opening bracket or quote; line breaks between paragraphs also end one.
    Abbreviations like ``vs.`` or ``e.g.`` followed by a lower-case word do not split.
    """
    spans: list[tuple[int, int]] = []
    for para in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*", text):
        start = para.start()
        cuts = [m.start() for m in _SENT_END.finditer(para.group())] + [len(para.group())]
        prev = 0
        for c in cuts:
            piece = para.group()[prev:c]
            lead = len(piece) - len(piece.lstrip())
            s, e = start + prev + lead, start + prev + len(piece.rstrip())
            if e > s:
                spans.append((s, e))
            prev = c
    return spans


def encode_pairs(questions: Sequence[str], contexts: Sequence[str], tokenizer, max_length: int,
                 question_max: int = QUESTION_MAX) -> list[list[int]]:
    """``[CLS] question [SEP] context [SEP]`` ids per pair, at most ``max_length`` long (see the module doc)."""
    from medlens.tagging.files import special_ids

    cls_id, sep_id, _ = special_ids(tokenizer)
    qs = tokenizer.encode_batch(list(questions), add_special_tokens=False)
    cs = tokenizer.encode_batch(list(contexts), add_special_tokens=False)
    out = []
    for q, c in zip(qs, cs):
        q_ids = q.ids[:question_max]
        budget = max(1, max_length - 3 - len(q_ids))
        out.append([cls_id, *q_ids, sep_id, *truncate_ids(c.ids, budget, "head-tail"), sep_id])
    return out
