"""The relation stacker: prior tables (leaving a training document's own counts out), pair features, the JSON
model, and a relation model folder that carries one."""

from __future__ import annotations

import json
import math
import shutil

import pytest
from medlens.errors import ModelError
from medlens.relations.encoding import DocumentInputs, Entity, Mention
from medlens.relations.stacker import (
    BOOSTER_ONLY,
    STACK_FEATURES,
    STACKER_FILE,
    Stacker,
    pair_words,
    prior_tables,
    stack_features,
)

from tests.relations.conftest import PUBTATOR

TEXT = "Cisplatin-induced nephrotoxicity. Magnesium was given; no deafness."
#        0        9         19           32


def _doc() -> DocumentInputs:
    men = [Mention(0, 9, "chemical", ("D002945",)), Mention(18, 32, "disease", ("D007674",)),
           Mention(34, 43, "chemical", ("D008274",)), Mention(58, 66, "disease", ("D003638",))]
    ents = [Entity("D002945", "chemical", (0,)), Entity("D007674", "disease", (1,)),
            Entity("D008274", "chemical", (2,)), Entity("D003638", "disease", (3,))]
    pairs = [(0, 1), (0, 3), (2, 1), (2, 3)]
    feats = [[1.0, 0.0, math.log(2), math.log(2), 1.0, 1.0], [0.0, math.log(2), math.log(2), math.log(2), 1.0, 0.0],
             [0.0, math.log(2), math.log(2), math.log(2), 0.0, 1.0], [1.0, 0.0, math.log(2), math.log(2), 0.0, 0.0]]
    return DocumentInputs([[0]], [(0, 1)] * 4, men, ents, pairs, feats, [(0, 1), (0, 3), (2, 1), (2, 3)],
                          [(0, 33), (34, 67)])


def _f(row, name):
    return row[STACK_FEATURES.index(name)]


def _thirty_documents(enc, labels_of):
    """Training inputs of 30 copies of ``TEXT`` (document ``d`` labelled ``labels_of(d)``): rows, word bags, labels
    and (document, head, tail) keys, as the stacker's fits take them."""
    rows, bags, labels, keys = [], [], [], []
    for d in range(30):
        rows += stack_features(TEXT, enc, [0.5] * 4)
        bags += pair_words(TEXT, enc)
        labels += labels_of(d)
        keys += [(d, h, t) for h, t in enc.pairs]
    return rows, bags, labels, keys


def test_prior_tables_count_documents_and_leave_own_counts_out():
    docs = [([("D1", "D9"), ("D2", "D9")], [("D1", "D9")]),
            ([("MESH:D1", "MESH:D9")], [("MESH:D1", "MESH:D9")]),  # graph ids count as the bare ids
            ([("D1", "D8")], [])]
    prior = prior_tables(docs)
    assert prior["docs"] == 3
    assert prior["pair"] == {"D1|D9": [2, 2]}  # pairs never a relation are left out
    assert prior["head"]["D1"] == [2, 3] and prior["head"]["D2"] == [0, 1]
    assert prior["tail"]["D9"] == [2, 2] and prior["tail"]["D8"] == [0, 1]
    enc = DocumentInputs([[0]], [(0, 1), (0, 1)],
                         [Mention(0, 2, "chemical", ("D1",)), Mention(3, 5, "disease", ("D9",))],
                         [Entity("D1", "chemical", (0,)), Entity("D9", "disease", (1,))], [(0, 1)],
                         [[1.0, 0.0, 0.7, 0.7, 1.0, 1.0]], [(0, 1)], [(0, 5)])
    seen = stack_features("D1 D9", enc, [0.5], prior=prior)[0]
    own = stack_features("D1 D9", enc, [0.5], prior=prior, own_relations={("D1", "D9")})[0]
    assert _f(seen, "prior_pair") == pytest.approx(math.log1p(2))
    assert _f(own, "prior_pair") == pytest.approx(math.log1p(1))  # this document's own relation is not counted
    assert _f(own, "prior_pair_rate") == pytest.approx(1 / 2)
    assert _f(own, "prior_head_rate") < _f(seen, "prior_head_rate")
    # the same, with the document's own table given (counted from other candidates, e.g. gold mentions)
    table = prior_tables([([("D1", "D9")], [("D1", "D9")])], prune=False)
    assert stack_features("D1 D9", enc, [0.5], prior=prior, exclude=table)[0] == own


def test_stack_features_read_triggers_patterns_ranks_and_trees():
    enc = _doc()
    trees = {"D007674": ["C12.777"], "D003638": ["C09.218"]}
    rows = stack_features(TEXT, enc, [0.9, 0.2, 0.3, 0.1], trees=trees)
    assert len(rows) == 4 and all(len(r) == len(STACK_FEATURES) for r in rows)
    first, last = rows[0], rows[3]
    assert _f(first, "logit") == pytest.approx(math.log(0.9 / 0.1))
    assert _f(first, "induced_pattern") == 1.0 and _f(first, "trig_induce") == 1.0
    assert _f(last, "induced_pattern") == 0.0 and _f(last, "trig_induce") == 0.0
    assert _f(first, "best_of_head") == 1.0 and _f(rows[1], "best_of_head") == 0.0
    assert _f(rows[2], "best_of_tail") == 0.0 and _f(rows[3], "best_of_tail") == 0.0
    assert _f(rows[1], "score_ratio") == pytest.approx(0.2 / 0.9)
    assert _f(first, "tail_is_ancestor") == 0.0
    # a tree that puts deafness above nephrotoxicity: the broader disease is marked
    rows = stack_features(TEXT, enc, [0.9, 0.2, 0.3, 0.1], trees={"D003638": ["C09"], "D007674": ["C09.1"]})
    assert _f(rows[1], "tail_is_ancestor") == 1.0 and _f(rows[0], "tail_is_ancestor") == 0.0
    # no prior: the prior features are 0
    assert all(_f(r, n) == 0.0 for r in rows for n in STACK_FEATURES if n.startswith("prior"))


def _stacker(threshold=0.5, weight_logit=1.0) -> Stacker:
    n = len(STACK_FEATURES)
    weights = [0.0] * n
    weights[STACK_FEATURES.index("logit")] = weight_logit
    return Stacker({"features": list(STACK_FEATURES), "mean": [0.0] * n, "scale": [1.0] * n, "weights": weights,
                    "bias": 0.0, "threshold": threshold, "prior": None})


def test_stacker_with_the_logit_alone_gives_back_the_probabilities(tmp_path):
    enc = _doc()
    probs = [0.9, 0.2, 0.3, 0.1]
    got = _stacker().rescore(TEXT, enc, probs)
    assert got == pytest.approx(probs)
    path = tmp_path / "s.json"
    _stacker(0.4, 2.0).save(path)
    again = Stacker.from_path(path)
    assert again.threshold == 0.4
    assert again.rescore(TEXT, enc, probs)[0] == pytest.approx(1 / (1 + (0.1 / 0.9) ** 2))


def test_stacker_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="bad.json is not a medlens relation stacker"):
        Stacker.from_path(bad)
    bad.write_text(json.dumps({"features": ["logit", "nope"], "mean": [0, 0], "scale": [1, 1], "weights": [1, 1],
                               "bias": 0, "threshold": 0.5}), encoding="utf-8")
    with pytest.raises(ModelError, match="not a medlens relation stacker: its features \\['nope'\\]"):
        Stacker.from_path(bad)
    bad.write_text(json.dumps({"features": ["logit", "same_sentence"], "mean": [0], "scale": [1, 1],
                               "weights": [1, 1], "bias": 0, "threshold": 0.5}), encoding="utf-8")
    with pytest.raises(ModelError, match="'mean' has 1 values for 2 features"):
        Stacker.from_path(bad)
    bad.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ModelError, match="not a JSON object"):
        Stacker.from_path(bad)
    bad.write_text(json.dumps({"features": list(STACK_FEATURES)}), encoding="utf-8")
    with pytest.raises(ModelError, match="relation stacker: no .mean."):
        Stacker.from_path(bad)


def test_fit_stacker_learns_the_label_from_the_features():
    pytest.importorskip("sklearn")
    from medlens.relations.stacker import fit_stacker

    enc = _doc()
    rows, labels = [], []
    for k in range(20):
        probs = [0.6, 0.4, 0.5, 0.45] if k % 2 else [0.55, 0.5, 0.4, 0.6]
        rows += stack_features(TEXT, enc, probs)
        labels += [1, 0, 0, 0]  # only the "X-induced Y" pair is a relation, whatever the network says
    st = fit_stacker(rows, labels, c=10.0, threshold=0.5)
    got = st.rescore(TEXT, enc, [0.5, 0.5, 0.5, 0.5])
    assert got[0] > 0.5 > max(got[1:])


def test_relation_model_folder_with_a_stacker(tiny_relation_onnx, tmp_path):
    from medlens.relations.model import RelationModel
    from medlens.relations.pubtator import read_pubtator
    from medlens.training.relations import encode_pubtator

    folder = tmp_path / "model"
    shutil.copytree(tiny_relation_onnx, folder)
    plain = RelationModel.from_path(folder, threads=1)
    assert plain.stacker is None
    docs = read_pubtator(PUBTATOR)
    enc = encode_pubtator(docs, plain.tokenizer, plain.meta)
    texts = [d.text for d in docs]
    net = plain.score(enc)
    _stacker(threshold=0.7, weight_logit=-1.0).save(folder / STACKER_FILE)  # a stacker that reverses the order
    model = RelationModel.from_path(folder, threads=1)
    assert model.threshold == 0.7 and model.network_threshold == plain.network_threshold
    final = model.final_scores(texts, enc)
    assert final[0] == pytest.approx([1 - p for p in net[0]], abs=1e-6)
    found = model.predict(enc, threshold=0.0, texts=texts)
    assert [p.score for p in found[0]] == pytest.approx(sorted((1 - p for p in net[0]), reverse=True), abs=1e-4)
    # without the texts the network decides, as before
    network_only = [p.score for p in plain.predict(enc, threshold=0.0)[0]]
    assert [p.score for p in model.predict(enc, threshold=0.0)[0]] == network_only
    assert RelationModel.from_path(folder, threads=1, stacker=False).stacker is None
    # a stacker reading the text alone: the network is not run
    Stacker({"features": ["same_sentence"], "mean": [0.5], "scale": [0.5], "weights": [1.0], "bias": 0.0,
             "threshold": 0.5}).save(folder / STACKER_FILE)
    text_only = RelationModel.from_path(folder, threads=1)
    text_only.session = None  # any network call would fail
    scores = text_only.final_scores(texts, enc)
    same = [f[0] for f in enc[0].features]
    assert scores[0] == pytest.approx([1 / (1 + math.exp(-(2 * x - 1))) for x in same])


def test_pair_words_read_the_sentence_of_the_nearest_mentions():
    words = pair_words(TEXT, _doc(), context=0)
    assert {"b:cd:induced", "len:0", "post:magnesium"} - words[0] == {"post:magnesium"}  # the sentence ends first
    assert "b:cd:induced" in words[0] and "len:0" in words[0]
    assert words[1] == set()  # cisplatin and deafness: different sentences
    assert {"b:cd:was", "b:cd:given", "b:cd:no", "bb:cd:was_given", "len:1"} <= words[3]
    # with context: the word before / after each of the two mentions (within its sentence), for every pair
    words = pair_words(TEXT, _doc(), context=1)
    assert words[1] == {"hpost:induced", "tpre:no"}
    assert {"hpost:induced", "tpre:induced", "b:cd:induced"} <= words[0]


def test_a_text_only_stacker_with_word_weights_needs_no_network(tmp_path):
    n = len(STACK_FEATURES)
    st = Stacker({"features": ["same_sentence"], "mean": [0.5], "scale": [0.5], "weights": [0.0],
                  "words": {"b:cd:induced": 3.0}, "bias": -1.0, "threshold": 0.5})
    assert not st.uses_network and n > 1
    got = st.rescore(TEXT, _doc())
    assert got[0] == pytest.approx(1 / (1 + math.exp(-2.0)))
    assert got[1] == pytest.approx(1 / (1 + math.exp(1.0)))
    with pytest.raises(ModelError, match="reads the network's scores"):
        _stacker().rescore(TEXT, _doc())


def test_fit_stacker_learns_word_weights():
    pytest.importorskip("sklearn")
    from medlens.relations.stacker import fit_stacker

    enc = _doc()
    rows, bags, labels = [], [], []
    for _ in range(10):
        rows += stack_features(TEXT, enc, [0.5] * 4)
        bags += pair_words(TEXT, enc)
        labels += [1, 0, 0, 0]
    st = fit_stacker(rows, labels, features=["same_sentence", "sentence_distance"], words=bags, min_count=3, c=10.0)
    assert not st.uses_network
    assert st.words["b:cd:induced"] > 0 > st.words["b:cd:given"]
    got = st.rescore(TEXT, enc)
    assert got[0] > 0.5 > max(got[1:])


def test_train_stacker_on_a_tiny_pubtator_file(tiny_relation_onnx, tmp_path):
    pytest.importorskip("sklearn")
    from medlens.relations.model import RelationModel
    from medlens.relations.pubtator import read_pubtator
    from medlens.relations.stacker import NETWORK_FEATURES
    from medlens.training.relation_stacker import train_stacker

    docs = read_pubtator(PUBTATOR)
    model = RelationModel.from_path(tiny_relation_onnx, threads=1, stacker=False)
    features = [f for f in STACK_FEATURES if f not in NETWORK_FEATURES]
    st, report = train_stacker(docs, docs[:1], model, None, features=features, c=1.0, min_count=1, folds=3)
    assert report["train_documents"] == 3 and report["pairs"] == 6 + 3 + 1
    assert report["out_of_fold"]["gold"] == 3 and report["held_out"]["gold"] == 2
    assert st.prior["docs"] == 3 and st.prior["pair"]["D002945|D051437"] == [1, 1]
    assert st.words and not st.uses_network and 0 < st.threshold < 1
    out = tmp_path / "stacker.json"
    st.save(out)
    again = Stacker.from_path(out)
    assert again.threshold == st.threshold and again.words == st.words


def test_new_pair_features_read_cues_negation_and_the_more_specific_disease():
    enc = _doc()
    rows = stack_features(TEXT, enc, [0.5] * 4, trees={"D003638": ["C09.1"], "D007674": ["C09"]})
    first, last = rows[0], rows[3]
    assert _f(first, "cue_between") == 1.0  # "-induced" between cisplatin and nephrotoxicity
    assert _f(last, "cue_between") == 0.0  # "was given; no" between magnesium and deafness
    assert _f(last, "negation_shared") == 1.0 and _f(first, "negation_shared") == 0.0
    assert _f(rows[1], "tail_is_descendant") == 1.0  # deafness is below nephrotoxicity in this tree
    assert _f(first, "tail_is_descendant") == 0.0 and _f(first, "tail_is_ancestor") == 1.0
    assert _f(first, "head_first") == 0.0 and _f(rows[2], "head_first") == 0.5  # first sentence of two / second
    assert _f(first, "head_title_only") == 1.0 and _f(rows[2], "head_title_only") == 0.0
    assert _f(first, "head_sentences_shared") == 1.0 and _f(rows[1], "head_sentences_shared") == 0.0
    assert _f(first, "both_in_last") == 1.0  # two sentences: both are among the last two
    assert _f(first, "head_cooccurring") == pytest.approx(math.log(2))


def test_round5_features_read_the_disease_branch_order_case_reports_and_outcomes():
    from medlens.relations.stacker import tree_code

    assert tree_code(["C12.777", "C13.351.968"]) == (312.0, 2.0, 1.0)
    assert tree_code(["F03.600"]) == (603.0, 1.0, 1.0)
    assert tree_code([]) == (-1.0, -1.0, -1.0)
    enc = _doc()
    rows = stack_features(TEXT, enc, [0.5] * 4, trees={"D007674": ["C12.777"]})
    assert _f(rows[0], "tail_branch") == 312.0 and _f(rows[0], "tail_depth") == 1.0
    assert _f(rows[1], "tail_branch") == -1.0 and _f(rows[1], "tail_tree_count") == -1.0  # deafness: no tree here
    assert [_f(r, "head_order") for r in rows] == [0.0, 0.0, 0.5, 0.5]  # cisplatin is written before magnesium
    assert [_f(r, "tail_order") for r in rows] == [0.0, 0.5, 0.0, 0.5]
    assert [_f(r, "head_before_tail") for r in rows] == [1.0, 1.0, 0.0, 1.0]  # magnesium after nephrotoxicity
    assert all(_f(r, "case_report") == 0.0 and _f(r, "outcome_tail") == 0.0 for r in rows)
    text = TEXT.replace("given; no", "onset; no")  # same length: an outcome word in deafness's sentence
    rows = stack_features(text, enc, [0.5] * 4)
    assert [_f(r, "outcome_tail") for r in rows] == [0.0, 1.0, 0.0, 1.0]
    case = "We report a case: " + TEXT  # a case report
    shifted = DocumentInputs(enc.windows, enc.mention_positions,
                             [Mention(m.start + 18, m.end + 18, m.kind, m.ids) for m in enc.mentions], enc.entities,
                             enc.pairs, enc.features, enc.closest, [(18, 51), (52, 85)])
    assert all(_f(r, "case_report") == 1.0 for r in stack_features(case, shifted, [0.5] * 4))


def test_rank_inputs_mark_the_best_pair_of_each_head_and_tail():
    from medlens.relations.stacker import rank_inputs

    got = rank_inputs([2.0, -1.0, 0.5, 1.0], [(0, 1), (0, 3), (2, 1), (2, 3)])
    assert got[0] == [2.0, 1.0, 1.0, 0.0]
    assert got[1] == [-1.0, 0.0, 0.0, -3.0]
    assert got[2] == [0.5, 0.0, 0.0, -1.5]
    assert got[3] == [1.0, 1.0, 1.0, -1.0]


def test_booster_export_reproduces_scikit_learn_and_survives_json(tmp_path):
    np = pytest.importorskip("numpy")
    pytest.importorskip("sklearn")
    from sklearn.ensemble import HistGradientBoostingClassifier

    from medlens.relations.stacker import BOOSTER_INPUTS, Booster

    rng = np.random.default_rng(0)
    names = ["same_sentence", "head_share", "tail_first"]
    x = rng.random((300, len(names) + len(BOOSTER_INPUTS)))
    x[:, 0] = rng.integers(0, 2, 300)
    y = ((x[:, 0] + x[:, 3] + 0.3 * rng.random(300)) > 1.0).astype(int)
    model = HistGradientBoostingClassifier(max_iter=20, max_leaf_nodes=7, random_state=0).fit(x, y)
    data = json.loads(json.dumps(Booster.export(model, names)))
    booster = Booster(data)
    rows = [[0.0] * len(STACK_FEATURES) for _ in range(50)]
    for r, v in zip(rows, x[:50]):
        for k, name in enumerate(names):
            r[STACK_FEATURES.index(name)] = float(v[k])
    got = [1 / (1 + math.exp(-booster.raw(r, v[len(names):].tolist()))) for r, v in zip(rows, x[:50])]
    assert got == pytest.approx(model.predict_proba(x[:50])[:, 1].tolist(), abs=1e-5)
    with pytest.raises(ModelError, match="booster's features \\['nope'\\]"):
        Booster({"features": ["nope"], "trees": []}, "b.json")
    with pytest.raises(ModelError, match="booster tree 0: node lists differ"):
        Booster({"features": names, "trees": [{"feature": [-1], "threshold": [0.0, 1.0], "missing_left": [0],
                                                 "left": [0], "right": [0], "value": [0.1]}]}, "b.json")
    with pytest.raises(ModelError, match="booster tree 0 lacks 'value'"):
        Booster({"features": names, "trees": [{"feature": [-1], "threshold": [0.0], "missing_left": [0],
                                                 "left": [0], "right": [0]}]}, "b.json")


def test_fit_boosted_stacker_ranks_pairs_and_round_trips(tmp_path):
    pytest.importorskip("sklearn")
    from medlens.relations.stacker import fit_boosted_stacker

    enc = _doc()
    rows, bags, labels, keys = _thirty_documents(enc, lambda d: [1, 0, 0, 0])
    st = fit_boosted_stacker(rows, labels, keys, features=["same_sentence", "cue_between"], words=bags, min_count=3,
                             c=1.0, iterations=20, leaves=4, inner_folds=3, threshold=0.5)
    assert st.booster is not None and not st.uses_network
    got = st.rescore(TEXT, enc)
    assert got[0] > 0.5 > max(got[1:])
    path = tmp_path / "boosted.json"
    st.save(path)
    again = Stacker.from_path(path)
    assert again.booster is not None and again.rescore(TEXT, enc) == pytest.approx(got)
    with pytest.raises(ValueError, match="with their pairs"):
        again.probabilities(stack_features(TEXT, enc, [0.5] * 4))


def test_train_stacker_with_a_booster_on_a_tiny_pubtator_file(tiny_relation_onnx, tmp_path):
    pytest.importorskip("sklearn")
    from medlens.relations.model import RelationModel
    from medlens.relations.pubtator import read_pubtator
    from medlens.relations.stacker import NETWORK_FEATURES
    from medlens.training.relation_stacker import train_stacker

    docs = read_pubtator(PUBTATOR)
    model = RelationModel.from_path(tiny_relation_onnx, threads=1, stacker=False)
    features = [f for f in STACK_FEATURES if f not in NETWORK_FEATURES]
    booster = {"leaves": 3, "iterations": 5, "learning_rate": 0.1, "l2": 1.0}
    st, report = train_stacker(docs, [], model, None, features=features, c=1.0, min_count=1, folds=3, booster=booster)
    assert report["train_documents"] == 3 and report["out_of_fold"]["gold"] == 3 and "held_out" not in report
    assert st.booster is not None and len(st.booster.trees) == 5 and not st.uses_network
    # the round-5 features are the booster's alone: the logistic regression does not read them
    assert not set(st.features) & set(BOOSTER_ONLY) and set(BOOSTER_ONLY) <= set(st.data["booster"]["features"])
    out = tmp_path / "stacker.json"
    st.save(out)
    again = Stacker.from_path(out)
    enc = model.encode(docs[0].text, [], title_end=len(docs[0].title))
    assert again.rescore(docs[0].text, enc) == []
    from medlens.training.relations import document_mentions

    enc = model.encode(docs[0].text, document_mentions(docs[0]), title_end=len(docs[0].title))
    assert again.rescore(docs[0].text, enc) == pytest.approx(st.rescore(docs[0].text, enc))


def test_a_bag_of_boosters_averages_their_probabilities_and_round_trips(tmp_path):
    pytest.importorskip("sklearn")
    from medlens.relations.stacker import fit_boosted_stacker, rank_inputs

    enc = _doc()
    rows, bags, labels, keys = _thirty_documents(enc, lambda d: [1, 0, 0, 1] if d % 3 == 0 else [1, 0, 0, 0])
    kw = dict(features=["same_sentence", "cue_between"], words=bags, min_count=3, c=1.0, iterations=20, leaves=4,
              inner_folds=3, threshold=0.5)
    st = fit_boosted_stacker(rows, labels, keys, bag=3, **kw)
    assert len(st.boosters) == 3 and isinstance(st.data["booster"], list) and st.data["booster_settings"]["bag"] == 3
    # each booster is the one a single-booster fit on its own fold draw gives (seeds 13, 14, 15)
    singles = [fit_boosted_stacker(rows, labels, keys, seed=13 + k, **kw) for k in range(3)]
    assert [b["trees"] for b in st.data["booster"]] == [s.data["booster"]["trees"] for s in singles]
    got = st.rescore(TEXT, enc)
    each = [s.rescore(TEXT, enc) for s in singles]
    assert got == pytest.approx([sum(x) / 3 for x in zip(*each)])
    # by hand: the mean of the boosters' sigmoids over the same rank inputs
    feats = stack_features(TEXT, enc, [0.5] * 4)
    z = st.logits(feats, pair_words(TEXT, enc))
    extra = rank_inputs(z, enc.pairs)
    hand = [sum(1 / (1 + math.exp(-b.raw(r, e))) for b in st.boosters) / 3 for r, e in zip(feats, extra)]
    assert got == pytest.approx(hand)
    path = tmp_path / "bag.json"
    st.save(path)
    again = Stacker.from_path(path)
    assert len(again.boosters) == 3 and again.rescore(TEXT, enc) == pytest.approx(got)
    with pytest.raises(ValueError, match="bag must be at least 1"):
        fit_boosted_stacker(rows, labels, keys, bag=0, **kw)


def test_a_stacker_whose_booster_is_no_object_is_refused(tmp_path):
    data = {"features": ["same_sentence"], "mean": [0.0], "scale": [1.0], "weights": [1.0], "bias": 0.0,
            "threshold": 0.5, "booster": [1, 2]}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ModelError, match="'booster' is neither an object nor a list"):
        Stacker.from_path(path)


def test_max_features_draws_each_boosters_split_inputs_with_its_seed():
    pytest.importorskip("sklearn")
    from medlens.relations.stacker import fit_boosted_stacker

    enc = _doc()
    rows, bags, labels, keys = _thirty_documents(enc, lambda d: [1, 0, 0, 1] if d % 3 == 0 else [1, 0, 0, 0])
    kw = dict(features=["same_sentence", "cue_between"], booster_features=["same_sentence", "cue_between",
                                                                           "head_first", "tail_first"],
              words=bags, min_count=3, c=1.0, iterations=20, leaves=4, inner_folds=3)
    st = fit_boosted_stacker(rows, labels, keys, bag=2, max_features=0.5, **kw)
    assert st.data["booster_settings"]["max_features"] == 0.5
    again = fit_boosted_stacker(rows, labels, keys, bag=2, max_features=0.5, **kw)
    assert again.data["booster"] == st.data["booster"]  # the same seeds: the same trees
    one = fit_boosted_stacker(rows, labels, keys, seed=14, max_features=0.5, **kw)
    assert st.data["booster"][1]["trees"] == one.data["booster"]["trees"]  # the second booster is seed 14's
    with pytest.raises(ValueError):
        fit_boosted_stacker(rows, labels, keys, max_features=0.0, **kw)
