"""The score ceiling the fuzzy search stops on must never be below a real score."""

import random

import numpy as np
from rapidfuzz import fuzz

from medlens.kg.fuzzy import ratio_ceiling, synonym_score, trigrams


def _missing_positions(query: str, other: str, inside_words: bool = False) -> int:
    """Positions of ``query`` whose trigram ``other`` lacks (only trigrams without a space if ``inside_words``)."""
    held = set(trigrams(other))
    return sum(1 for g in trigrams(query) if g not in held and not (inside_words and " " in g))


def _mutate(text: str, rng: random.Random, alphabet: str) -> str:
    for _ in range(rng.randint(0, 6)):
        i = rng.randrange(len(text) + 1)
        op = rng.choice("sdi")
        if op == "s" and i < len(text):
            text = text[:i] + rng.choice(alphabet) + text[i + 1:]
        elif op == "d" and i < len(text) and len(text) > 1:
            text = text[:i] + text[i + 1:]
        else:
            text = text[:i] + rng.choice(alphabet) + text[i:]
    return text


def test_fuzzy_ceiling_bounds_ratio_from_missing_trigrams():
    rng = random.Random(7)
    alphabet = "abcde "  # few letters: many shared and repeated trigrams, the hard case
    for _ in range(4000):
        q = "".join(rng.choice(alphabet) for _ in range(rng.randint(3, 24)))
        s = _mutate(q, rng, alphabet) or "a"
        ceiling = float(ratio_ceiling(len(q), np.array(len(s)), np.array(_missing_positions(q, s))))
        assert fuzz.ratio(q, s) / 100 <= ceiling + 1e-9, (q, s)


def test_fuzzy_ceiling_bounds_word_order_score_from_missing_inner_trigrams():
    rng = random.Random(11)
    words = ["cancer", "breast", "of", "the", "lung", "cell", "small", "type", "2", "diabetes"]
    for _ in range(2000):
        q = " ".join(rng.sample(words, rng.randint(1, 5)))
        s = " ".join(_mutate(w, rng, "abcelnrst") or "x" for w in rng.sample(q.split(), len(q.split())))
        s = " ".join(s.split())
        sorted_q = " ".join(sorted(q.split()))
        # the same count of missing inner-word trigrams, whichever word order the query is in
        d = _missing_positions(sorted_q, s, inside_words=True)
        assert d == _missing_positions(q, s, inside_words=True)
        ceiling = 0.95 * float(ratio_ceiling(len(q), np.array(len(s)), np.array(d)))
        assert 0.95 * fuzz.token_sort_ratio(q, s) / 100 <= ceiling + 1e-9, (q, s)


def test_fuzzy_ceiling_is_one_for_the_query_itself_and_falls_with_missing_trigrams():
    assert float(ratio_ceiling(10, np.array(10), np.array(0))) == 1.0
    values = [float(ratio_ceiling(20, np.array(20), np.array(d))) for d in range(0, 19, 3)]
    assert values == sorted(values, reverse=True) and values[-1] < 0.85


def test_fuzzy_synonym_score_takes_the_better_of_order_and_word_order():
    assert synonym_score("breast cancer", "breast cancer") == 1.0
    assert synonym_score("cancer breast", "breast cancer") == 0.95
    assert 0.85 < synonym_score("pnuemonia", "pneumonia") < 0.9
