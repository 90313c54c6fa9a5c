"""The semantic route of the mention normalizer (issue 11, part 2, round 2).

The index logic runs on the tiny ids graph with a bag-of-words encoder (cosine = word
overlap), so the expected neighbours are known; the shipped encoder is measured by
``benchmarks/normalization.py`` (see benchmarks/README.md).
"""

import re

import numpy as np
import pytest
import spacy

from medlens.components.linker import EntityLinker
from medlens.components.mention_ids import MentionNormalizer, find_abbreviations
from medlens.components.mention_semantic import SemanticIndex


class BagOfWords:
    """A deterministic stand-in encoder: unit-length word-count vectors over a hashed vocabulary."""

    fingerprint = "bow"
    dim = 2048

    def __init__(self) -> None:
        self.calls: list[int] = []

    def encode(self, texts, progress=False, desc=""):
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"[a-z0-9]+", t.lower()):
                out[i, sum(map(ord, w)) % self.dim] += 1
            n = np.linalg.norm(out[i])
            if n:
                out[i] /= n
        return out


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDLENS_CACHE", str(tmp_path))
    return tmp_path


def test_index_holds_disease_names_and_synonyms(ids_kg, cache):
    index = SemanticIndex(ids_kg, encoder=BagOfWords(), progress=False)
    texts, ids = index.texts()
    assert "ovarian cancer" in texts and "ovarian neoplasms" in texts
    assert "acetaminophen" not in texts  # a DRUG: not of the embedded labels
    assert ids[texts.index("breast cancer")] == ["MESH:D001943"]
    near = index.nearest("cancer of the ovarian surface", k=3)
    assert near[0].concept_id == "MESH:D010051" and near[0].matched == "ovarian cancer"
    assert near[0].score == pytest.approx(2 / np.sqrt(2 * 5), abs=1e-3)


def test_index_cache_embeds_only_new_texts(ids_kg, cache):
    first = BagOfWords()
    SemanticIndex(ids_kg, encoder=first, progress=False).nearest("breast cancer")
    assert first.calls[0] > 3  # every concept text, then the mention
    again = BagOfWords()
    SemanticIndex(ids_kg, encoder=again, progress=False).nearest("breast cancer")
    assert again.calls == [1]  # the concept texts come from the cache: only the mention is embedded
    assert list((cache / "semantic").glob("texts-v*-bow.npz"))


def test_normalizer_semantic_route(ids_kg, cache):
    linker = EntityLinker.from_kg(ids_kg, nlp=spacy.blank("en"))
    index = SemanticIndex(ids_kg, encoder=BagOfWords(), progress=False)
    norm = MentionNormalizer(linker, ids_kg, semantic=index, semantic_threshold=0.5)
    found = norm.normalize("mellitus diabetes of type 2 onset", "DISEASE")
    assert (found.ids, found.route) == (("MESH:D003924",), "semantic")
    assert norm.normalize("breast cancer", "DISEASE").route == "link"  # exact routes come first
    assert norm.normalize("zzzz qqqq", "DISEASE").ids == ()  # nothing near enough
    strict = MentionNormalizer(linker, ids_kg, semantic=index, semantic_threshold=0.99)
    assert strict.normalize("mellitus diabetes of type 2 onset", "DISEASE").route != "semantic"
    assert norm.normalize("mellitus diabetes of type 2 onset", "DRUG").route != "semantic"  # diseases only


def test_abbreviations_with_letters_out_of_order():
    found = find_abbreviations("Patients with myotonic dystrophy (DM) and Duchenne muscular dystrophy (DMD).")
    assert found == {"DM": "myotonic dystrophy", "DMD": "Duchenne muscular dystrophy"}
    # initials must be exactly the short form's letters
    assert find_abbreviations("with severe myotonic dystrophy (DX) today") == {}
    assert find_abbreviations("deficiency of complement (CD) was") == {"CD": "deficiency of complement"}


def test_abbreviation_inside_a_mention(ids_kg):
    norm = MentionNormalizer(EntityLinker.from_kg(ids_kg, nlp=spacy.blank("en")), ids_kg)
    abbreviations = find_abbreviations("women with breast cancer (BC) were")
    found = norm.normalize("hereditary BC", "DISEASE", abbreviations)
    assert (found.ids, found.route) == (("MESH:D001943",), "abbreviation")


def test_index_without_texts_is_empty(ids_kg, cache):
    encoder = BagOfWords()
    index = SemanticIndex(ids_kg, labels=("NO_SUCH_LABEL",), encoder=encoder, progress=False)
    assert index.nearest("breast cancer") == [] and encoder.calls == []  # nothing embedded, no crash
