"""Semantic matching of clauses to symptom concepts: clause cutting, negation, thresholds, groups, cache.

The matcher logic runs on the tiny graph with a bag-of-words encoder (cosine = word overlap), so
the expected matches are known; the shipped all-MiniLM-L6-v2 encoder is tested on the full graph
(marked slow) at the end.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from medlens.reasoning.lay import LayLexicon
from medlens.reasoning.models import Finding
from medlens.reasoning.semantic import SemanticMatcher, clauses, negation_cue


class BagOfWords:
    """A deterministic stand-in encoder: unit-length word-count vectors over a hashed vocabulary."""

    fingerprint = "bow"
    dim = 4096

    def encode(self, texts, progress=False, desc=""):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"[a-z]+", t.lower()):
                if w not in {"my", "i", "the", "a", "of", "is", "have", "has", "no", "not", "don't"}:
                    out[i, sum(map(ord, w)) % self.dim] += 1
            n = np.linalg.norm(out[i])
            if n:
                out[i] /= n
        return out


LEX = LayLexicon(version="t", entries=[{"lay": "cannot catch breath", "term": "shortness of breath", "id": "T:S002"},
                                      {"lay": "burning hot", "term": "fever", "id": "T:S003"},
                                      {"lay": "shaking chills", "term": "chills", "id": "T:S007"}])


@pytest.fixture()
def matcher(tiny_kg, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDLENS_CACHE", str(tmp_path))
    return SemanticMatcher(tiny_kg, BagOfWords(), LEX, graph_threshold=0.7, table_threshold=0.7, sources=("tiny",),
                           progress=False)


def test_clauses_cut_on_sentences_commas_and_conjunctions():
    text = "um I've been so hot, I cannot catch breath and my chest hurts. No cough though"
    got = clauses(text)
    assert [c.text for c in got] == ["I've been so hot", "I cannot catch breath", "my chest hurts", "No cough"]
    assert all(text[c.start:c.end] == c.text for c in got)
    assert clauses("... , and") == []


def test_negation_cues():
    assert negation_cue("no fever") and negation_cue("I'm not short of breath") and negation_cue("I don't have a rash")
    assert negation_cue("I can't stop sneezing") is None and negation_cue("I have a cough") is None


def test_matches_by_meaning_with_evidence(matcher):
    out = matcher.match("Lately I cannot catch my breath, and there is chest pain too")
    by_id = {f.id: f for f in out}
    assert set(by_id) == {"T:S002", "T:S001"}
    f = by_id["T:S002"]
    assert f.origin == "semantic" and f.status == "present" and f.text == "Lately I cannot catch my breath"
    assert f.matched == "cannot catch breath" and f.score >= 0.7 and f.name == "Shortness of breath"


def test_threshold_and_known_concepts(matcher):
    assert matcher.match("the weather was nice yesterday") == []
    known = Finding(id="T:S001", name="Chest pain", concepts=["T:S001"], start=0, end=10)
    assert matcher.match("chest pain", [known]) == []


def test_clause_negation_by_the_cue_and_its_scope(matcher):
    out = {f.id: f.status for f in matcher.match("No fever, vomiting")}
    assert out == {"T:S003": "absent", "T:S006": "present"}
    assert {f.id: f.status for f in matcher.match("I denied cough")} == {"T:S004": "absent"}
    # the cue's scope is what follows it: the chills come before "without"
    assert {f.id: f.status for f in matcher.match("shaking chills without cough")} == {"T:S007": "present"}


def test_no_concepts_no_matches(tiny_kg, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDLENS_CACHE", str(tmp_path))
    empty = SemanticMatcher(tiny_kg, BagOfWords(), LayLexicon(version="t", entries=[]), progress=False)
    assert empty.concepts.texts == [] and empty.match("chest pain and fever") == []


def test_table_symptoms_are_their_own_group(matcher):
    phrases = {"pain behind the eyes": ("SYMPTOM:pain_behind_the_eyes", "pain behind the eyes")}
    out = matcher.match("pain behind my eyes", phrases=phrases)
    assert [(f.id, f.matched) for f in out] == [("SYMPTOM:pain_behind_the_eyes", "pain behind the eyes")]
    assert out[0].hpo == []


def test_concept_embeddings_cached_on_disk(matcher, tiny_kg, tmp_path):
    first = matcher.concepts
    assert "cannot catch breath" in first.texts and "definition" not in set(first.kinds) - {"definition"}
    files = list((tmp_path / "semantic").glob("concepts-*.npz"))
    assert len(files) == 1
    again = SemanticMatcher(tiny_kg, BagOfWords(), LEX, sources=("tiny",), progress=False).concepts
    assert again.texts == first.texts and again.ids == first.ids
    np.testing.assert_allclose(again.vectors, first.vectors, atol=1e-3)


@pytest.mark.slow
def test_shipped_encoder_on_the_full_graph(tmp_path, monkeypatch):
    """Wordings the lexicon does not know reach the right symptom through the real encoder."""
    from medlens.pipeline import shared_graph
    from medlens.kg.store import default_graph_path

    if not default_graph_path().is_file():
        pytest.skip("no full knowledge graph (medlens kg build)")
    monkeypatch.setenv("MEDLENS_CACHE", str(tmp_path))
    m = SemanticMatcher(shared_graph(None), progress=False)
    got = {f.name: f.status for f in m.match("I pee like every hour, my eyeballs ache from behind, no fever at all")}
    assert any(s == "present" and ("urin" in n.lower() or n == "Polyuria") for n, s in got.items()), got
    assert any(s == "absent" and "fever" in n.lower() for n, s in got.items()), got
    assert not any(s == "present" and "fever" in n.lower() for n, s in got.items()), got
    assert any(w in n.lower() for n in got for w in ("eye", "ocular", "orbit")), got


def test_extractor_and_table_engine_use_the_matcher(nlp, tiny_kg, tmp_path, monkeypatch):
    """Wiring: FindingExtractor adds semantic findings after the pipeline; the table scorer counts them."""
    from medlens.reasoning import DiagnosisEngine, DiseaseSymptomTable
    from medlens.reasoning.findings import FindingExtractor

    monkeypatch.setenv("MEDLENS_CACHE", str(tmp_path))
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "dataset.csv").write_text(
        "Flu,high_fever,cough\nFlu,high_fever,cough\nCystitis,burning_micturition,bladder_discomfort\n", encoding="utf-8")
    table = DiseaseSymptomTable.from_dir(tmp_path / "t")
    engine = DiagnosisEngine(tiny_kg, nlp=nlp, table=table, semantic=False)
    matcher = SemanticMatcher(tiny_kg, BagOfWords(), LEX, graph_threshold=0.75, table_threshold=0.75,
                              sources=("tiny",), progress=False)
    engine._extractor = FindingExtractor(nlp, tiny_kg, semantic=matcher)
    text = "my bladder has this discomfort and burning"
    found = engine.findings(text=text)
    sem = [f for f in found if f.origin == "semantic"]
    assert [(f.id, f.matched) for f in sem] == [("SYMPTOM:bladder_discomfort", "bladder discomfort")]
    assert text[sem[0].start:sem[0].end] == sem[0].text == "my bladder has this discomfort"
    result = engine.diagnose(found, questions=0)
    assert result.diagnoses[0].name == "Cystitis"
    assert any(e.term == "SYMPTOM:bladder_discomfort" for e in result.diagnoses[0].supporting)
    assert not [f for f in engine.extractor.from_text(text, engine._table_phrases(), semantic=False)
                if f.origin == "semantic"]


def test_a_clause_naming_only_a_body_part_is_not_a_symptom(matcher):
    """"a rash on my arms and chest": the clause "chest" says where the rash is, not that the chest hurts."""
    assert matcher.only_anatomy("chest") and matcher.only_anatomy("my chest") and matcher.only_anatomy("on the chest")
    assert not matcher.only_anatomy("chest pain") and not matcher.only_anatomy("my chest hurts")
    assert "T:S001" not in {f.id for f in matcher.match("a red rash on my arms and chest")}
    assert "T:S001" in {f.id for f in matcher.match("a red rash and chest pain")}
