"""Abbreviations a document defines, made consistent with the entities the model found.

A sentence-level model sees "AO2" without the sentence, three lines earlier,
that wrote "atelosteogenesis type 2 (AO2)"; it misses most later mentions of
the short form (on NCBI-disease devel, a third of the model's missed diseases
were such abbreviations). The rule here, applied per document: where an entity
of type X is directly followed by a short form in parentheses that fits it
(Schwartz & Hearst 2003: :func:`medlens.normalize.short_form_fits`), every other
mention of that short form in the document is an X too, unless it already lies
inside an entity. A short form defined with two different types is left alone.

Words and BIO tags in, BIO tags out: the same code serves the pipeline (a whole
document) and evaluation on sentence corpora without document ids (definitions
read from the preceding sentences).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from medlens.normalize import short_form_fits
from medlens.tagging.alignment import bio_to_spans

MAX_SHORT_WORDS = 3
"""Longest short form in words (tokenizers split "AO-2" into "AO", "-", "2")."""


def _short_form(words: Sequence[str], start: int) -> tuple[str, ...] | None:
    """The short form inside parentheses opening at ``words[start]``: 1-3 words, 2-10 characters,
    a capital letter among them ("HD", "AO2", "5-HT"); else None."""
    if start >= len(words) or words[start] != "(":
        return None
    for close in range(start + 2, min(start + MAX_SHORT_WORDS + 2, len(words))):
        if words[close] == "(":
            return None
        if words[close] == ")":
            short = tuple(words[start + 1 : close])
            text = "".join(short)
            ok = 2 <= len(text) <= 10 and any(c.isupper() for c in text)
            return short if ok else None
    return None


def _names_whole(short: tuple[str, ...], long: Sequence[str]) -> bool:
    """The short form abbreviates the whole entity: it fits (Schwartz & Hearst) and its first
    letter or digit starts the entity's first word ("aspartoacylase (ASPA)" yes, the entity
    "deficiency of aspartoacylase" no: ASPA names the enzyme, not the disease)."""
    text = "".join(short)
    first = next((c for c in text if c.isalnum()), "")
    return bool(first) and long[0][:1].lower() == first.lower() and short_form_fits(text, " ".join(long))


def find_definitions(words: Sequence[str], tags: Sequence[str]) -> dict[tuple[str, ...], str | None]:
    """Short forms defined right after an entity: ``{("AO2",): "DISEASE"}``; None marks a short form
    defined with two different types (ambiguous, not propagated)."""
    found: dict[tuple[str, ...], str | None] = {}
    for label, start, end in bio_to_spans(tags):
        short = _short_form(words, end)
        if short is None or not _names_whole(short, words[start:end]):
            continue
        found[short] = label if found.get(short, label) == label else None
    return found


def merge_definitions(parts: Iterable[Mapping[tuple[str, ...], str | None]]) -> dict[tuple[str, ...], str | None]:
    """Definitions of several sentences of one document (a short form defined twice with two types: None)."""
    merged: dict[tuple[str, ...], str | None] = {}
    for part in parts:
        for short, label in part.items():
            merged[short] = label if merged.get(short, label) == label else None
    return merged


def apply_definitions(words: Sequence[str], tags: Sequence[str],
                      definitions: Mapping[tuple[str, ...], str | None]) -> list[str]:
    """Tag every mention of a defined short form that lies outside any entity with its type."""
    out = list(tags)
    wanted = {short: label for short, label in definitions.items() if label}
    if not wanted:
        return out
    firsts = {short[0] for short in wanted}
    for i, word in enumerate(words):
        if word not in firsts:
            continue
        for short, label in wanted.items():
            k = len(short)
            if tuple(words[i : i + k]) == short and all(t == "O" for t in out[i : i + k]) \
                    and (i + k >= len(out) or not out[i + k].startswith("I-")):
                out[i : i + k] = ["B-" + label] + ["I-" + label] * (k - 1)
    return out


def propagate_abbreviations(words: Sequence[str], tags: Sequence[str]) -> list[str]:
    """:func:`apply_definitions` with the definitions of the same text (a whole document)."""
    return apply_definitions(words, tags, find_definitions(words, tags))


__all__ = ["apply_definitions", "find_definitions", "merge_definitions", "propagate_abbreviations"]
