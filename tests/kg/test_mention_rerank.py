"""The candidate reranker of the mention normalizer (issue 11, part 2, round 3).

Candidates and features come from the tiny ids graph with a bag-of-words encoder (cosine =
word overlap, see test_mention_semantic.py), so their values are known; the decisions come
from tiny hand-written models, so which candidate wins is known too. The shipped model is
measured by ``benchmarks/normalization.py`` (benchmarks/README.md).
"""

import json
import math

import pytest
import spacy

from medlens.components.linker import EntityLinker
from medlens.components.mention_ids import MentionNormalizer
from medlens.components.mention_rerank import DEFAULT_MODEL, FEATURES, CandidateGenerator, LinearReranker
from medlens.components.mention_semantic import SemanticIndex
from medlens.errors import ModelError

from tests.kg.test_mention_semantic import BagOfWords


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDLENS_CACHE", str(tmp_path))
    return tmp_path


def write_model(path, weights: dict[str, float], labels=("DISEASE",)):
    names = list(weights)
    path.write_text(json.dumps({"features": names, "mean": [0.0] * len(names), "scale": [1.0] * len(names),
                                "coef": [weights[n] for n in names], "intercept": 0.0, "labels": list(labels)}))
    return path


def normalizer(kg, reranker=None):
    index = SemanticIndex(kg, encoder=BagOfWords(), progress=False)
    return MentionNormalizer(EntityLinker.from_kg(kg, nlp=spacy.blank("en")), kg, semantic=index,
                             semantic_threshold=0.3, reranker=reranker)


def test_candidates_carry_each_routes_evidence(ids_kg, cache):
    norm = normalizer(ids_kg)
    base = norm.normalize("breast cancer", "DISEASE")
    cands = {c.concept_id: dict(zip(FEATURES, c.features)) for c in
             CandidateGenerator(norm).candidates("breast cancer", "DISEASE", {}, base)}
    assert set(cands) == {"MESH:D001943", "MESH:D010051", "MESH:D003924"}  # the link and the nearest texts
    top = cands["MESH:D001943"]
    assert top["base"] == 1.0 and top["base_link"] == 1.0 and top["link_top"] == 1.0 and top["link_rr"] == 1.0
    assert top["cos"] == pytest.approx(1.0, abs=1e-4) and top["cos_gap"] == pytest.approx(0.0, abs=1e-4)
    assert top["fuzz"] == 1.0 and top["descriptor"] == 1.0 and top["omim"] == 0.0
    other = cands["MESH:D010051"]  # "ovarian cancer": one shared word
    assert other["base"] == 0.0 and other["link_rr"] == 0.0
    assert other["cos"] == pytest.approx(0.5, abs=1e-3) and other["cos_gap"] == pytest.approx(-0.5, abs=1e-3)
    assert 0.0 < other["fuzz"] < 1.0


def test_abbreviation_long_form_is_a_route(ids_kg, cache):
    norm = normalizer(ids_kg)
    base = norm.normalize("OC", "DISEASE", {"OC": "ovarian cancer"})
    cands = {c.concept_id: dict(zip(FEATURES, c.features)) for c in
             CandidateGenerator(norm).candidates("OC", "DISEASE", {"OC": "ovarian cancer"}, base)}
    assert cands["MESH:D010051"]["abbr_link"] == 1.0
    assert cands["MESH:D010051"]["cos_abbr"] == pytest.approx(1.0, abs=1e-4)


def test_the_model_decides(ids_kg, cache, tmp_path):
    keep = normalizer(ids_kg, reranker=write_model(tmp_path / "keep.json", {"base": 5.0, "cos": 1.0}))
    found = keep.normalize("breast cancer", "DISEASE")
    assert (found.ids, found.route) == (("MESH:D001943",), "link")  # the routes' choice, its route kept
    # a model that distrusts the routes' choice takes the nearest other concept
    contrary = normalizer(ids_kg, reranker=write_model(tmp_path / "contrary.json", {"base": -5.0, "cos": 1.0}))
    found = contrary.normalize("breast cancer", "DISEASE")
    assert found.ids in {("MESH:D010051",), ("MESH:D003924",)} and found.route == "reranked"
    # labels the model was not trained for keep the routes
    assert contrary.normalize("APAP", "DRUG").ids == ("MESH:D000082",)
    # composite results are kept whole
    assert len(contrary.normalize("breast and ovarian cancer", "DISEASE").ids) == 2


def test_bad_model_files(tmp_path):
    with pytest.raises(ModelError, match="mention reranker .* is missing or unreadable"):
        LinearReranker(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ModelError, match="mention reranker .* is missing or unreadable"):
        LinearReranker(tmp_path / "bad.json")
    with pytest.raises(ModelError, match="mention reranker.*no_such_feature"):
        LinearReranker(write_model(tmp_path / "unknown.json", {"no_such_feature": 1.0}))


@pytest.mark.skipif(not DEFAULT_MODEL.is_file(), reason="no shipped reranker")
def test_shipped_model_reads_and_keeps_exact_links(ids_kg, cache):
    model = LinearReranker()
    assert set(model.meta["features"]) <= set(FEATURES) and "DISEASE" in model.labels
    norm = normalizer(ids_kg, reranker=True)
    assert norm.normalize("breast cancer", "DISEASE").ids == ("MESH:D001943",)
    assert norm.normalize("ovarian cancer", "DISEASE").ids == ("MESH:D010051",)


@pytest.fixture(scope="module")
def memory_kg(tmp_path_factory):
    """The ids graph plus training mentions of source ``mentions``: "breast carcinoma" and "mammary
    cancer" annotated as Breast Neoplasms."""
    from medlens.kg.build import build_graph
    from medlens.kg.sources.csv_tables import read_csv_tables
    from medlens.kg.sources.mesh_ids import MentionPair, read_mentions
    from medlens.kg.store import KnowledgeGraph
    from tests.kg.conftest import KG_FIXTURES as f

    mesh = read_csv_tables(f / "ids_mesh_concepts.csv", f / "ids_mesh_synonyms.csv", f / "ids_mesh_relations.csv",
                           source="mesh")
    pairs = [MentionPair("breast carcinoma", "Disease", "MESH:D001943", 3),
             MentionPair("mammary cancer", "Disease", "MESH:D001943", 1)]
    path = tmp_path_factory.mktemp("memory") / "kg.sqlite"
    build_graph(path, sources=(), extra=[mesh, read_mentions(pairs, {c.id for c in mesh.concepts})],
                abbreviations=False)
    with KnowledgeGraph.open(path) as kg:
        yield kg


def test_training_mentions_are_a_memory(memory_kg, cache):
    norm = normalizer(memory_kg)
    text = "carcinoma of the ovary"  # one word of a training mention of breast cancer, one of ovarian cancer's name
    base = norm.normalize(text, "DISEASE")
    cands = {c.concept_id: dict(zip(FEATURES, c.features)) for c in
             CandidateGenerator(norm).candidates(text, "DISEASE", {}, base)}
    breast = cands["MESH:D001943"]
    assert breast["memory_rr"] == 1.0 and breast["cos_memory"] == pytest.approx(1 / (2 * 4) ** 0.5, abs=1e-3)
    assert breast["prior"] == pytest.approx(math.log(3)) and breast["prior_any"] == 1.0  # two mentions
    assert cands["MESH:D010051"]["cos_memory"] == 0.0 and cands["MESH:D010051"]["prior"] == 0.0
