"""``KnowledgeGraph.search``: what it finds, what it filters, and that it agrees with a
scan of every synonym."""

import random
from pathlib import Path

import pytest

import medlens.kg.fuzzy as fuzzy
from medlens.kg.build import build_graph
from medlens.kg.fuzzy import synonym_score, trigrams
from medlens.kg.sources.base import SourceData
from medlens.kg.store import RANKED_BELOW, Concept, KnowledgeGraph, SourceInfo, Synonym
from medlens.normalize import simple_norm


def brute_force(kg: KnowledgeGraph, text: str, limit: int, labels=None, min_score: float = 0.5) -> list[tuple[str, float]]:
    """The exact answer: every synonym that shares a trigram with the query scored (``search``
    never sees the others: "aopa" and "arpa" score 0.75 but share none), best synonym per
    concept, ranked like ``search``."""
    query = simple_norm(text)
    grams = set(trigrams(query))
    best: dict[str, tuple[float, str]] = {}
    rows = kg.query("SELECT s.concept_id, s.text, c.label FROM synonyms s JOIN concepts c ON c.id = s.concept_id")
    for cid, syn, label in rows:
        norm = simple_norm(syn)
        if (labels and label not in labels) or (len(query) >= 3 and not grams.intersection(trigrams(norm))):
            continue
        score = synonym_score(query, norm)
        if score >= min_score and (cid not in best or (-score, len(syn)) < (-best[cid][0], len(best[cid][1]))):
            best[cid] = (score, syn)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], len(kv[1][1]), kv[0]))[:limit]
    return [(cid, round(score, 4)) for cid, (score, _) in ranked]


def found(hits) -> list[tuple[str, float]]:
    return [(h.concept.id, h.score) for h in hits]


def test_store_search_finds_misspellings_with_their_edit_distance_score(tiny_kg):
    hits = tiny_kg.search("pnuemonia", limit=3, min_score=0.85)
    assert hits[0].concept.id == "T:D005" and hits[0].matched == "Pneumonia" and hits[0].score == 0.8889
    assert tiny_kg.search("hypertensoin", min_score=0.85)[0].concept.id == "T:D003"
    assert tiny_kg.search("Parkinsons disease", min_score=0.85)[0].concept.id == "T:D011"


def test_store_search_word_order_variants_score_095(tiny_kg):
    top = tiny_kg.search("cancer breast", min_score=0.85)[0]
    assert (top.concept.id, top.matched, top.score) == ("T:D007", "Breast cancer", 0.95)
    top = tiny_kg.search("mellitus type 2 diabetes", min_score=0.85)[0]
    assert (top.concept.id, top.score) == ("T:D002", 0.95)
    # the linker's threshold keeps a reordering with an extra word out, an interactive search finds it
    assert tiny_kg.search("cancer of the breast", min_score=0.85) == []
    assert tiny_kg.search("cancer of the breast", min_score=0.5)[0].concept.id == "T:D007"


def test_store_search_label_filter(tiny_kg):
    assert tiny_kg.search("pnuemonia", labels=["DRUG"], min_score=0.85) == []
    assert found(tiny_kg.search("pnuemonia", labels=["DISEASE", "SYMPTOM"], min_score=0.85)) == [("T:D005", 0.8889)]
    hits = tiny_kg.search("chest", labels=["ANATOMY"], min_score=0.5)
    assert hits and all(h.concept.label == "ANATOMY" for h in hits)
    assert [h.concept.id for h in tiny_kg.search("chest", labels=["SYMPTOM"], min_score=0.5)] == ["T:S001"]


@pytest.mark.parametrize("min_score", [0.95, 0.9, 0.85, 0.7, 0.5, 0.3])
def test_store_search_never_returns_a_hit_below_min_score(tiny_kg, min_score):
    for text in ("pnuemonia", "diabetis melitus", "heart atack", "cough", "breast", "chest pian", "asprin"):
        hits = tiny_kg.search(text, limit=50, min_score=min_score)
        assert all(h.score >= min_score for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert tiny_kg.search("pnuemonia", min_score=0.9) == []  # it scores 0.8889


def test_store_search_short_queries(tiny_kg):
    assert found(tiny_kg.search("CBC", min_score=0.85)) == [("T:L001", 1.0)]
    assert found(tiny_kg.search("mi", min_score=0.85)) == [("T:D004", 1.0)]  # under 3 characters: equal only
    assert tiny_kg.search("m", min_score=0.5) == []
    assert tiny_kg.search("  ", min_score=0.5) == []
    assert found(tiny_kg.search("Mass", min_score=0.85)) == [("T:F002", 1.0)]
    assert tiny_kg.search("fever", limit=0) == []


@pytest.mark.parametrize("text", ['"pneumonia"', 'heart" OR "attack', "pneumonia*", "NEAR(fever cough)", "fever AND",
                                  "col:umn", "(cough)", "^cough", "it's", '"""', "-- ;", "naïve ‘quotes’", "\t\nfever\x00"])
def test_store_search_quotes_and_odd_characters_are_text(tiny_kg, text):
    for min_score in (0.85, 0.5):
        hits = tiny_kg.search(text, min_score=min_score)
        assert found(hits) == brute_force(tiny_kg, text, 10, min_score=min_score)


def test_store_search_quoted_word_still_finds_the_concept(tiny_kg):
    assert tiny_kg.search('"pneumonia"', min_score=0.85)[0].concept.id == "T:D005"


TINY_QUERIES = ["pnuemonia", "diabetis melitus", "diabetes mellitus typ 2", "heart atack", "hart failure",
                "congestive heart failur", "shortnes of breath", "breath of shortness", "chest pian", "vomitting",
                "seizurs", "aspirn", "acetylsalicylic acd", "insulin glargin", "lisinoprill", "complete blood cont",
                "appendectomy", "appendicectomy", "myocardial infarct", "infarction myocardial", "pleural effusoin",
                "effusion pleural", "chronic obstructive pulmonary diseas", "cerebrovascular acident", "nausia",
                "type two diabetes", "type II diabetes mellitus", "high blood presure", "fevr", "cardiovascular"]


@pytest.mark.parametrize("min_score", [0.85, 0.7])
def test_store_search_agrees_with_a_scan_of_every_synonym(tiny_kg, min_score):
    for text in TINY_QUERIES:
        for labels in (None, ["DISEASE", "FINDING", "SYMPTOM"], ["DRUG"]):
            assert found(tiny_kg.search(text, limit=5, labels=labels, min_score=min_score)) == \
                brute_force(tiny_kg, text, 5, labels, min_score), (text, labels)


# -- a larger synthetic graph, with accents and odd spaces --------------------------------------------------
SYLLABLES = ["car", "di", "o", "my", "pa", "thy", "neu", "ro", "gas", "tro", "en", "ter", "itis", "osis", "al",
             "hep", "at", "ic", "pul", "mon", "ar", "y", "re", "nal", "derm", "lym", "pho", "ma", "sar", "co"]


def _synthetic_source(n: int = 900, seed: int = 5) -> tuple[SourceData, list[str]]:
    rng = random.Random(seed)
    words = sorted({"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(160)})
    info = SourceInfo("synth", "1", "synthetic graph", "CC0", "test")
    concepts, synonyms, names = [], [], []
    for i in range(n):
        name = " ".join(rng.choice(words) for _ in range(rng.randint(1, 4)))
        cid = f"S:{i:04d}"
        concepts.append(Concept(cid, name, "synth", rng.choice(["DISEASE", "SYMPTOM", "DRUG", "FINDING"])))
        synonyms.append(Synonym(cid, name, "preferred", "synth"))
        if rng.random() < 0.3:
            synonyms.append(Synonym(cid, " ".join(reversed(name.split())), "exact", "synth"))
        names.append(name)
    extra = [("S:A001", "Sjögren syndrome"), ("S:A002", "Ménière's disease"), ("S:A003", "heart  failure  acute"),
             ("S:A004", "Covax-19™"), ("S:A005", "Behçet disease")]
    for cid, text in extra:
        concepts.append(Concept(cid, text, "synth", "DISEASE"))
        synonyms.append(Synonym(cid, text, "preferred", "synth"))
    return SourceData(info, concepts, synonyms), names


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> tuple[KnowledgeGraph, list[str]]:
    path = tmp_path_factory.mktemp("synth") / "synth.sqlite"
    data, names = _synthetic_source()
    build_graph(path, sources=(), extra=[data], abbreviations=False)
    with KnowledgeGraph.open(path) as kg:
        yield kg, names


def _queries(names: list[str], n: int = 100, seed: int = 9) -> list[str]:
    rng = random.Random(seed)
    out = []
    for name in rng.sample(names, n):
        text = name
        for _ in range(rng.randint(0, 2)):
            i = rng.randrange(len(text))
            text = text[:i] + rng.choice("aeioulnrst") + text[i + 1:]
        words = text.split()
        if len(words) > 1 and rng.random() < 0.3:
            rng.shuffle(words)
        out.append(" ".join(words))
    return out


def test_store_search_top_hit_and_scores_agree_with_a_scan_on_a_larger_graph(synth):
    kg, names = synth
    for text in _queries(names):
        for min_score, labels in ((0.85, None), (0.85, ["DISEASE", "FINDING", "SYMPTOM"]), (0.5, None)):
            hits = found(kg.search(text, limit=5, labels=labels, min_score=min_score))
            exact = brute_force(kg, text, 10**6, labels, min_score)
            assert bool(hits) == bool(exact), text
            if exact:
                assert hits[0] == exact[0], (text, min_score, labels)
                best = dict(exact)  # below the first, a hit may miss its concept's best synonym, never exceed it
                assert all(score <= best[cid] for cid, score in hits)


def test_store_search_when_budgets_run_out_hits_stay_true(synth, monkeypatch):
    kg, names = synth
    monkeypatch.setattr(fuzzy, "STAGES", ((1, 1), (1, 1)))  # one trigram, one synonym scored per stage
    monkeypatch.setattr(fuzzy, "EXTRA_ROWS", 0)
    queries = _queries(names, 80, seed=3)
    agree = with_hit = 0
    for text in queries:
        hits = kg.search(text, limit=5, min_score=0.85)
        exact = dict(brute_force(kg, text, 50, min_score=0.85))
        for h in hits:  # fewer hits, perhaps not each concept's best synonym, but every score true
            assert h.score >= 0.85 and h.score == round(synonym_score(simple_norm(text), simple_norm(h.matched)), 4)
            assert h.matched in {s.text for s in kg.synonyms(h.concept.id)} and h.score <= exact[h.concept.id]
        best = brute_force(kg, text, 1, min_score=0.85)
        with_hit += bool(best)
        agree += bool(best) and found(hits)[:1] == best
    assert 0.5 * with_hit <= agree < with_hit


def test_store_search_matches_accents_and_odd_spaces_like_the_normalized_text(synth):
    kg, _ = synth
    assert found(kg.search("sjogren syndrome", min_score=0.85)) == [("S:A001", 1.0)]
    assert found(kg.search("sjögren syndrom", min_score=0.85)) == brute_force(kg, "sjögren syndrom", 10, min_score=0.85)
    assert kg.search("menieres disease", min_score=0.85)[0].concept.id == "S:A002"
    assert kg.search("behcet disease", min_score=0.85)[0].concept.id == "S:A005"
    top = kg.search("acute heart failure", min_score=0.85)[0]
    assert (top.concept.id, top.score) == ("S:A003", 0.95)  # scored on "heart failure acute"
    assert kg.search("covax-19tm", min_score=0.85)[0].concept.id == "S:A004"


def test_store_search_works_on_a_graph_opened_read_only_without_new_tables(tiny_kg_path: Path):
    with KnowledgeGraph.open(tiny_kg_path) as kg:
        tables = {r[0] for r in kg.query("SELECT name FROM sqlite_master")}
        assert kg.search("pnuemonia", min_score=0.85)[0].concept.id == "T:D005"
        assert {r[0] for r in kg.query("SELECT name FROM sqlite_master")} == tables


def test_store_search_low_min_score_finds_what_shares_a_trigram(tiny_kg):
    assert RANKED_BELOW > 0.5
    hits = tiny_kg.search("heart", limit=10, min_score=0.3)
    assert found(hits) == brute_force(tiny_kg, "heart", 10, min_score=0.3)
    assert "T:A001" not in {h.concept.id for h in hits}  # "chest" scores 0.6 but shares no trigram with "heart"


def _fresh_index(kg: KnowledgeGraph) -> fuzzy.FuzzyIndex:
    return fuzzy.FuzzyIndex.load(kg._conn)


def test_store_search_cached_postings_and_reused_arrays_give_the_same_hits(synth, monkeypatch):
    kg, names = synth
    queries = _queries(names, 60, seed=21)
    args = [(q, 5, labels, ms) for q in queries for ms, labels in ((0.85, None), (0.5, {"DISEASE", "SYMPTOM"}))]
    monkeypatch.setattr(fuzzy, "POSTINGS_CACHE", 0)  # nothing kept: every search reads the index
    uncached = _fresh_index(kg)
    expected = [uncached.search(*a) for a in args]
    assert uncached._postings_cached == 0
    monkeypatch.setattr(fuzzy, "POSTINGS_CACHE", 10**7)
    cached = _fresh_index(kg)
    first = [cached.search(*a) for a in args]
    reads = []
    monkeypatch.setattr(cached, "_read_postings", lambda g: reads.append(g) or fuzzy.FuzzyIndex._read_postings(cached, g))
    again = [cached.search(*a) for a in args]  # every trigram is cached now
    assert first == expected and again == expected and reads == []
    # the reused per-synonym arrays are all zero between searches
    assert cached._scratch and all(not arr.any() for scratch in cached._scratch for arr in scratch)


def test_store_search_postings_cache_stays_within_its_budget(synth, monkeypatch):
    kg, names = synth
    monkeypatch.setattr(fuzzy, "POSTINGS_CACHE", 400)
    index = _fresh_index(kg)
    for q in _queries(names, 40, seed=4):
        index.search(q, 5, None, 0.85)
        held = sum(len(p) for p in index._postings_cache.values())
        assert held == index._postings_cached <= 400
        assert all(len(p) <= 400 // 8 for p in index._postings_cache.values())
    assert index._postings_cache  # short lists are kept


def test_store_search_arrays_are_zeroed_after_a_failed_search(synth, monkeypatch):
    kg, names = synth
    index = _fresh_index(kg)
    query = simple_norm(names[0])
    expected = index.search(query, 5, None, 0.85)
    calls = []

    def fail_on_second(gram):
        calls.append(gram)
        if len(calls) == 2:
            raise fuzzy.KnowledgeGraphError("disk gone")
        return fuzzy.FuzzyIndex._read_postings(index, gram)

    index._postings_cache.clear()
    index._postings_cached = 0
    monkeypatch.setattr(index, "_read_postings", fail_on_second)
    with pytest.raises(fuzzy.KnowledgeGraphError):
        index.search(query + " x" * 8, 5, None, 0.5)  # enough trigrams to read a second one
    monkeypatch.undo()
    assert all(not arr.any() for scratch in index._scratch for arr in scratch)
    assert index.search(query, 5, None, 0.85) == expected
