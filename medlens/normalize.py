"""Text normalization shared by the knowledge graph build, the dictionary
recognizer and the linker, so that a synonym and a mention of it always reduce
to the same key.

A *key* is a sequence of *pieces*: each token is case-folded, stripped of
accents, split on inner punctuation (``type-2`` -> ``type 2``, ``b.i.d`` ->
``b i d``) and lightly singularized (``seizures`` -> ``seizure``,
``arteries`` -> ``artery``). Pure punctuation tokens and the possessive
``'s`` are dropped, so ``Alzheimer's disease`` and ``alzheimer disease`` share
the key ``alzheimer disease``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache

_SPLIT = re.compile(r"[^\w%+]+", re.UNICODE)
_POSSESSIVE = {"'s", "’s", "'", "’"}
_NO_SINGULAR_ENDINGS = ("ss", "us", "is", "ys", "as", "os", "'s")


@lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """Lower-case and strip accents (``Sjögren`` -> ``sjogren``)."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@lru_cache(maxsize=200_000)
def singular(piece: str) -> str:
    """A light, deterministic singular form used only inside keys."""
    if len(piece) < 5 or not piece.isalpha():
        return piece
    if piece.endswith("ies"):
        return piece[:-3] + "y"
    if piece.endswith("s") and not piece.endswith(_NO_SINGULAR_ENDINGS):
        return piece[:-1]
    return piece


@lru_cache(maxsize=400_000)
def token_pieces(token_text: str) -> tuple[str, ...]:
    """The key pieces of one token (empty for punctuation and possessives)."""
    if token_text in _POSSESSIVE:
        return ()
    return tuple(singular(p) for p in _SPLIT.split(fold(token_text)) if p and p != "_")


def key_of_tokens(tokens: Iterable[str]) -> str:
    """The matching key of a token sequence (pieces joined by single spaces)."""
    return " ".join(p for t in tokens for p in token_pieces(t))


def iter_pieces(tokens: Iterable[str]) -> Iterator[tuple[int, str, bool, bool]]:
    """Yield ``(token_index, piece, first_of_token, last_of_token)``."""
    for i, t in enumerate(tokens):
        pieces = token_pieces(t)
        n = len(pieces)
        for j, p in enumerate(pieces):
            yield i, p, j == 0, j == n - 1


_WS = re.compile(r"\s+")


def simple_norm(text: str) -> str:
    """Whitespace-collapsed, case-folded, accent-free text (for display lookups)."""
    return _WS.sub(" ", fold(text)).strip()


def bag_key(key: str) -> str:
    """Word-order-free form of a key (``cancer breast`` == ``breast cancer``)."""
    return " ".join(sorted(key.split()))


def short_form_fits(short: str, long: str) -> bool:
    """Schwartz & Hearst (2003): every letter and digit of the short form appears in the
    long form in order, the first one at the start of a word."""
    sf, lf = short.lower(), long.lower()
    i, j = len(sf) - 1, len(lf) - 1
    while i >= 0:
        c = sf[i]
        if not c.isalnum():
            i -= 1
            continue
        while j >= 0 and (lf[j] != c or (i == 0 and j > 0 and lf[j - 1].isalnum())):
            j -= 1
        if j < 0:
            return False
        i -= 1
        j -= 1
    return True
