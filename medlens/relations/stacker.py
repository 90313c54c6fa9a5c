"""A cheap stacked re-scorer of the relation model's candidate pairs (torch-free, NumPy only).

The neural relation model (:mod:`medlens.relations.model`) gives each candidate pair
(chemical, disease) of a document a probability. The stacker re-scores every pair with a
logistic regression over that score and a few features the network does not see well
(:data:`STACK_FEATURES`):

* where and how often the two are written (the model's own pair features, the concepts'
  share of the document's mentions, how many chemicals / diseases the document names);
* trigger words in a sentence holding both ("induced", "caused", "associated", "after" ...)
  and the pattern "X-induced Y" / "Y induced by X";
* the neural score's rank among the document's pairs (the best disease of this chemical, the
  best chemical of this disease);
* the MeSH tree: the disease is an ancestor of another disease of the document (CDR annotates
  the most specific one);
* a **prior** from the training documents: how often the pair was annotated as a relation,
  and how often the chemical / the disease took part in one when written
  (:func:`prior_tables`; counts of the training corpus, stored in the stacker's JSON).

A stacker is a small JSON file (``stacker.json`` in the relation model's folder): the feature
names, their means and scales, the weights, the bias, the decision threshold and the prior
tables. :func:`fit_stacker` trains one (scikit-learn, only when training).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from medlens.errors import Errors, ModelError
from medlens.relations.encoding import DocumentInputs

STACKER_FILE = "stacker.json"
STACK_FEATURES = (
    "logit", "same_sentence", "sentence_distance", "head_mentions", "tail_mentions", "head_in_title",
    "tail_in_title", "head_share", "tail_share", "n_heads", "n_tails", "trig_induce", "trig_cause",
    "trig_assoc", "trig_time", "induced_pattern", "best_of_head", "best_of_tail", "score_ratio",
    "tail_is_ancestor", "prior_pair", "prior_pair_rate", "prior_head_rate", "prior_tail_rate", "prior_head_seen",
    "prior_tail_seen", "prior_head_class", "prior_tail_class", "prior_class", "both_in_title", "shared_sentences",
    "trig_treat", "head_is_top", "tail_is_top", "cue_between", "head_first", "tail_first", "both_in_last",
    "head_cooccurring", "tail_cooccurring", "tail_is_descendant", "head_sentences_shared", "tail_sentences_shared",
    "negation_shared", "title_head_top_tail", "head_title_only", "shared_sentence_share", "pair_char_distance",
    "tail_branch", "tail_tree_count", "tail_depth", "case_report", "head_order", "tail_order", "outcome_tail",
    "head_before_tail",
)
"""The stacker's features of a pair, in order (see :func:`stack_features`)."""

BOOSTER_ONLY = ("tail_branch", "tail_tree_count", "tail_depth", "case_report", "head_order", "tail_order",
                "outcome_tail", "head_before_tail")
"""Features (round 5 of issue 13) only the booster reads, not the logistic regression: the disease's MeSH
branch (a code the trees split, not a quantity), how many tree numbers it has and its depth; the abstract is a
case report; the order of the chemical's / the disease's first mention among the abstract's chemicals /
diseases; an outcome word ("developed", "occurred", "incidence", ...) in a sentence of the disease; the nearest
chemical mention comes before the nearest disease mention."""

_TRIGGERS = {
    "trig_induce": re.compile(r"induc|provok|precipitat|elicit", re.I),
    "trig_cause": re.compile(r"\bcaus|due to|secondary to|attribut|result(?:s|ed|ing)? (?:in|from)|produc|toxicit",
                             re.I),
    "trig_assoc": re.compile(r"associat|relat|link|\brisk|incidence|develop", re.I),
    "trig_time": re.compile(r"\bafter\b|\bfollowing\b|\bduring\b|\bwhile\b|\bwith\b", re.I),
    "trig_treat": re.compile(r"treat|therap|prevent|protect|revers|attenuat|antagon|inhibit|ameliorat|improv|"
                             r"efficac|benefi|manage", re.I),
}
_CUE_BETWEEN = re.compile(r"induc|caus|associat|after|following|toxicit|due to|secondary to|develop|result|produc|"
                          r"provok|evok", re.I)
_OUTCOME = re.compile(r"develop|occur|incidence|experienc|onset|appear|episode|case of|cases of|report", re.I)
_CASE_REPORT = re.compile(r"case report|a case|year-old|patient who|we report|we describe", re.I)
_NEGATION = re.compile(r"\bno\b|\bnot\b|\bwithout\b|\bneither\b|\bnor\b|absence|failed to", re.I)
_INDUCED_AFTER = re.compile(r"^[\s\-]*(?:-|\s)(?:induced|associated|related|evoked|provoked)\b", re.I)
_INDUCED_BY = re.compile(r"(?:induced|caused|provoked|evoked)\s+by\s*$", re.I)


def bare_id(cid: str) -> str:
    """``MESH:D001`` -> ``D001`` (the prior tables are keyed by bare MeSH ids, as PubTator writes them)."""
    return cid[5:] if cid.startswith("MESH:") else cid


def _parents(cid: str, trees: dict[str, Sequence[str]] | None) -> set[str]:
    """The MeSH tree numbers one level above ``cid``'s (``C10.228.140`` -> ``C10.228``)."""
    if not trees:
        return set()
    numbers = trees.get(cid) or trees.get(bare_id(cid)) or trees.get("MESH:" + cid) or ()
    return {t.rsplit(".", 1)[0] for t in numbers if "." in t}


def tree_code(numbers: Sequence[str]) -> tuple[float, float, float]:
    """(branch, count, depth) of a concept's MeSH tree numbers: the branch of the first as a number
    (letter position x 100 + its number: ``C10.228`` -> 310, ``F03`` -> 603), how many tree numbers, the
    fewest dots; ``(-1, -1, -1)`` without any."""
    if not numbers:
        return -1.0, -1.0, -1.0
    top = numbers[0].split(".")[0]
    number = int(top[1:]) if top[1:].isdigit() else 0
    return float((ord(top[0].upper()) - 64) * 100 + number), float(len(numbers)), float(min(x.count(".")
                                                                                            for x in numbers))


def prior_tables(docs: Iterable[tuple[Iterable[tuple[str, str]], Iterable[tuple[str, str]]]],
                 trees: dict[str, Sequence[str]] | None = None, prune: bool = True) -> dict:
    """Counts of documents over training documents, each given as (candidate pairs, gold relation pairs).

    Returns ``{"docs": n, "pair": {"c|d": [relation docs, candidate docs]}, "head": {c: [relation docs,
    docs]}, "tail": {d: [...]}, "head_class": {"c|T": relation docs}, "tail_class": {"T|d": ...},
    "class": {"T|U": ...}}``, ``T``/``U`` the tree numbers one level above the chemical's / disease's
    (``trees``): a relation of the chemical with a sibling disease, of a sibling chemical with the
    disease, of the two classes. ``prune``: leave out the pairs that were never a relation (their
    count is 0; a single document's table, to subtract, keeps them).
    """
    out: dict = {"docs": 0, "pair": {}, "head": {}, "tail": {}, "head_class": {}, "tail_class": {}, "class": {}}
    for cands, gold in docs:
        out["docs"] += 1
        cands = {(bare_id(c), bare_id(d)) for c, d in cands}
        gold = {(bare_id(c), bare_id(d)) for c, d in gold}
        for c, d in cands | gold:
            out["pair"].setdefault(f"{c}|{d}", [0, 0])[1] += 1
        for c, d in gold:
            out["pair"][f"{c}|{d}"][0] += 1
        for side, k in (("head", 0), ("tail", 1)):
            for x in {p[k] for p in cands | gold}:
                out[side].setdefault(x, [0, 0])[1] += 1
            for x in {p[k] for p in gold}:
                out[side][x][0] += 1
        keys: dict[str, set[str]] = {"head_class": set(), "tail_class": set(), "class": set()}
        for c, d in gold:
            cp, dp = _parents(c, trees), _parents(d, trees)
            keys["head_class"] |= {f"{c}|{u}" for u in dp}
            keys["tail_class"] |= {f"{t}|{d}" for t in cp}
            keys["class"] |= {f"{t}|{u}" for t in cp for u in dp}
        for name, ks in keys.items():
            for key in ks:
                out[name][key] = out[name].get(key, 0) + 1
    if prune:
        out["pair"] = {k: v for k, v in out["pair"].items() if v[0] > 0}
    return out


def _count(table: dict, exclude: dict | None, name: str, key: str):
    got = table[name].get(key)
    if got is None:
        return [0, 0] if name in ("pair", "head", "tail") else 0
    if exclude is None or key not in exclude[name]:
        return got
    own = exclude[name][key]
    if isinstance(got, list):
        return [max(0, got[0] - own[0]), max(0, got[1] - own[1])]
    return max(0, got - own)


PRIOR_FEATURES = ("prior_pair", "prior_pair_rate", "prior_head_rate", "prior_tail_rate", "prior_head_seen",
                  "prior_tail_seen", "prior_head_class", "prior_tail_class", "prior_class")


def _prior(prior: dict | None, c: str, d: str, exclude: dict | None, trees) -> list[float]:
    """Prior features of (c, d) (:data:`PRIOR_FEATURES`); ``exclude``: the document's own table
    (:func:`prior_tables` with ``prune=False``) to subtract when the document was counted in ``prior``."""
    if not prior:
        return [0.0] * len(PRIOR_FEATURES)
    c, d = bare_id(c), bare_id(d)
    pos, cand = _count(prior, exclude, "pair", f"{c}|{d}")
    if pos <= 0:  # a pair never a relation (in the other documents) is not in the table
        pos = cand = 0
    hp, hn = _count(prior, exclude, "head", c)
    tp, tn = _count(prior, exclude, "tail", d)
    cp, dp = _parents(c, trees), _parents(d, trees)
    hc = max((_count(prior, exclude, "head_class", f"{c}|{u}") for u in dp), default=0)
    tc = max((_count(prior, exclude, "tail_class", f"{t}|{d}") for t in cp), default=0)
    cc = max((_count(prior, exclude, "class", f"{t}|{u}") for t in cp for u in dp), default=0)
    return [math.log1p(pos), pos / (cand + 1.0), (hp + 0.1) / (hn + 1.0), (tp + 0.1) / (tn + 1.0),
            math.log1p(hn), math.log1p(tn), math.log1p(hc), math.log1p(tc), math.log1p(cc)]


def stack_features(text: str, enc: DocumentInputs, probs: Sequence[float], *, prior: dict | None = None,
                   trees: dict[str, Sequence[str]] | None = None, own_relations: set[tuple[str, str]] | None = None,
                   exclude: dict | None = None) -> list[list[float]]:
    """One row of :data:`STACK_FEATURES` per candidate pair of ``enc`` (in ``enc.pairs`` order).

    Args:
        text: the document text the mentions' offsets point into.
        enc: the document's inputs (:func:`~medlens.relations.encoding.encode_document`).
        probs: the neural model's probability of each pair.
        prior: the prior tables (:func:`prior_tables`); None: those features are 0.
        trees: MeSH tree numbers by disease id (graph or bare ids); None: ``tail_is_ancestor`` is 0.
        own_relations: when the document itself was counted in ``prior`` (a training document), its gold
            pairs, so that its own counts are left out.
        exclude: the document's own table to leave out, when it was counted from other candidates than
            ``enc``'s (default: :func:`prior_tables` of ``enc``'s pairs and ``own_relations``).
    """
    ents, men = enc.entities, enc.mentions
    n_men = max(1, len(men))
    heads = sorted({h for h, _ in enc.pairs})
    tails = sorted({t for _, t in enc.pairs})
    best_head: dict[int, float] = {}
    best_tail: dict[int, float] = {}
    for (h, t), p in zip(enc.pairs, probs):
        best_head[h] = max(best_head.get(h, 0.0), p)
        best_tail[t] = max(best_tail.get(t, 0.0), p)
    top = max(probs) if len(probs) else 1.0
    top_head = max((len(ents[h].mentions) for h in heads), default=0)
    top_tail = max((len(ents[t].mentions) for t in tails), default=0)
    sent_of = [_sent(enc.sentences, m.start) for m in men]
    tail_trees = {t: list((trees or {}).get(ents[t].id) or (trees or {}).get(bare_id(ents[t].id)) or ()) for t in tails}
    n_sent = max(1, len(enc.sentences))
    head_sents = {h: {sent_of[a] for a in ents[h].mentions} for h in heads}
    tail_sents = {t: {sent_of[b] for b in ents[t].mentions} for t in tails}
    head_cooc = {h: sum(1 for t in tails if head_sents[h] & tail_sents[t]) for h in heads}
    tail_cooc = {t: sum(1 for h in heads if head_sents[h] & tail_sents[t]) for t in tails}
    first = {x: min(men[a].start for a in ents[x].mentions) for x in (*heads, *tails)}
    head_order = {h: r / len(heads) for r, h in enumerate(sorted(heads, key=lambda h: (first[h], h)))}
    tail_order = {t: r / len(tails) for r, t in enumerate(sorted(tails, key=lambda t: (first[t], t)))}
    case_report = float(bool(_CASE_REPORT.search(text)))
    outcome = [bool(_OUTCOME.search(text[s0:s1])) for s0, s1 in enc.sentences]
    if exclude is None and own_relations is not None and prior:
        exclude = prior_tables([([(ents[h].id, ents[t].id) for h, t in enc.pairs], own_relations)], trees, prune=False)
    rows = []
    for k, ((h, t), p) in enumerate(zip(enc.pairs, probs)):
        head, tail = ents[h], ents[t]
        p = min(max(p, 1e-6), 1 - 1e-6)
        shared = {sent_of[a] for a in head.mentions} & {sent_of[b] for b in tail.mentions}
        trig = dict.fromkeys(_TRIGGERS, 0.0)
        for s in shared:
            s0, s1 = enc.sentences[s]
            sentence = text[s0:s1]
            for name, rx in _TRIGGERS.items():
                if rx.search(sentence):
                    trig[name] = 1.0
        pattern = 0.0
        for a in head.mentions:
            after = text[men[a].end:men[a].end + 12]
            if _INDUCED_AFTER.match(after) and any(0 <= men[b].start - men[a].end <= 40 for b in tail.mentions):
                pattern = 1.0
        for b in tail.mentions:
            before_end = [a for a in head.mentions if 0 <= men[a].start - men[b].end <= 30]
            if any(_INDUCED_BY.search(text[men[b].end:men[a].start]) for a in before_end):
                pattern = 1.0
        ancestor = 0.0
        mine = tail_trees.get(t) or ()
        if mine:
            for t2 in tails:
                if t2 != t and any(x.startswith(y + ".") for y in mine for x in tail_trees.get(t2) or ()):
                    ancestor = 1.0
                    break
        descendant = 0.0
        if mine:
            for t2 in tails:
                if t2 != t and any(x.startswith(y + ".") for x in mine for y in tail_trees.get(t2) or ()):
                    descendant = 1.0
                    break
        a, b = enc.closest[k]
        cue = 0.0
        if sent_of[a] == sent_of[b]:
            cue = float(bool(_CUE_BETWEEN.search(text[min(men[a].end, men[b].end):max(men[a].start, men[b].start)])))
        negation = float(any(_NEGATION.search(text[enc.sentences[s][0]:enc.sentences[s][1]]) for s in shared))
        hs, ts = head_sents[h], tail_sents[t]
        f = enc.features[k]
        rows.append([
            math.log(p / (1 - p)), *f,
            len(head.mentions) / n_men, len(tail.mentions) / n_men, math.log1p(len(heads)), math.log1p(len(tails)),
            trig["trig_induce"], trig["trig_cause"], trig["trig_assoc"], trig["trig_time"], pattern,
            float(p >= best_head[h] - 1e-9), float(p >= best_tail[t] - 1e-9), p / top if top > 0 else 0.0, ancestor,
            *_prior(prior, head.id, tail.id, exclude, trees), f[4] * f[5], math.log1p(len(shared)),
            trig["trig_treat"], float(len(head.mentions) >= top_head), float(len(tail.mentions) >= top_tail),
            cue, min(hs) / n_sent, min(ts) / n_sent, float(bool(shared & {n_sent - 1, n_sent - 2})),
            math.log1p(head_cooc[h]), math.log1p(tail_cooc[t]), descendant, len(shared) / len(hs),
            len(shared) / len(ts), negation, float(0 in hs and len(tail.mentions) >= top_tail), float(hs == {0}),
            len(shared) / n_sent, math.log1p(abs(men[a].start - men[b].start) / 50),
            *tree_code(mine), case_report, head_order[h], tail_order[t], float(any(outcome[s] for s in ts)),
            float(men[a].start < men[b].start),
        ])
    return rows


def _sent(sentences: Sequence[tuple[int, int]], pos: int) -> int:
    k = 0
    for i, (s, _e) in enumerate(sentences):
        if s <= pos:
            k = i
        else:
            break
    return k


NETWORK_FEATURES = frozenset({"logit", "best_of_head", "best_of_tail", "score_ratio"})
"""The features read from the network's probabilities: a stacker without them needs no network pass."""

_WORD = re.compile(r"[a-z]+|\d+")


def pair_words(text: str, enc: DocumentInputs, max_between: int = 25, context: int = 1) -> list[set[str]]:
    """Word features of each pair (in ``enc.pairs`` order), when its two nearest mentions share a sentence:
    the words (and word pairs) between them, marked with their order (``cd``: chemical first), the three
    words before the first and after the second, and the distance in words (``len:k``, k = words // 2,
    at most 5); and for every pair the ``context`` words before and after its nearest chemical mention
    (``hpre:``/``hpost:``) and disease mention (``tpre:``/``tpost:``) within their sentences."""
    out = []
    for k in range(len(enc.pairs)):
        a, b = enc.closest[k]
        ma, mb = enc.mentions[a], enc.mentions[b]
        words: set[str] = set()
        sa, sb = _sent(enc.sentences, ma.start), _sent(enc.sentences, mb.start)
        if sa == sb:
            first, second = (ma, mb) if ma.start < mb.start else (mb, ma)
            order = "cd" if first is ma else "dc"
            between = _WORD.findall(text[first.end:second.start].lower())
            if len(between) <= max_between:
                words |= {f"b:{order}:{w}" for w in between}
                words |= {f"bb:{order}:{w1}_{w2}" for w1, w2 in zip(between, between[1:])}
                words.add(f"len:{min(len(between), 10) // 2}")
            s0, s1 = enc.sentences[sa]
            words |= {f"pre:{w}" for w in _WORD.findall(text[s0:first.start].lower())[-3:]}
            words |= {f"post:{w}" for w in _WORD.findall(text[second.end:s1].lower())[:3]}
        for tag, m in (("h", ma), ("t", mb)):  # the words around each of the two mentions, in any case
            s0, s1 = enc.sentences[_sent(enc.sentences, m.start)]
            if context <= 0:
                break
            words |= {f"{tag}pre:{w}" for w in _WORD.findall(text[max(s0, m.start - 40):m.start].lower())[-context:]}
            words |= {f"{tag}post:{w}" for w in _WORD.findall(text[m.end:min(s1, m.end + 40)].lower())[:context]}
        out.append(words)
    return out


BOOSTER_INPUTS = ("lr_logit", "lr_best_of_head", "lr_best_of_tail", "lr_gap")
"""The inputs a booster reads after its :data:`STACK_FEATURES`: the stacker's logistic-regression logit of the
pair, whether it is the best of its chemical's / its disease's pairs in the document, and its distance to the
document's best logit (:func:`rank_inputs`)."""


def rank_inputs(logits: Sequence[float], pairs: Sequence[tuple[int, int]]) -> list[list[float]]:
    """:data:`BOOSTER_INPUTS` of one document's pairs (``pairs``: ``(head, tail)``, parallel to ``logits``)."""
    best_head: dict[int, float] = {}
    best_tail: dict[int, float] = {}
    for (h, t), z in zip(pairs, logits):
        best_head[h] = max(best_head.get(h, -math.inf), z)
        best_tail[t] = max(best_tail.get(t, -math.inf), z)
    top = max(logits, default=0.0)
    return [[z, float(z >= best_head[h] - 1e-9), float(z >= best_tail[t] - 1e-9), z - top]
            for (h, t), z in zip(pairs, logits)]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))


class Booster:
    """Gradient-boosted trees (exported from scikit-learn's ``HistGradientBoostingClassifier``) over a
    stacker's feature rows and :data:`BOOSTER_INPUTS`, evaluated in plain Python.

    JSON: ``{"features": [names of STACK_FEATURES], "baseline": b, "trees": [{"feature": [...], "threshold":
    [...], "missing_left": [...], "left": [...], "right": [...], "value": [...]}]}``, one list entry per node
    (``feature`` -1 at a leaf); a row goes left when its value is at most the node's threshold (a NaN goes
    ``missing_left``); the raw score is the baseline plus the leaf value of every tree.
    """

    def __init__(self, data: dict, path: str = "stacker") -> None:
        names = list(data.get("features", []))
        unknown = [n for n in names if n not in STACK_FEATURES]
        if unknown or not isinstance(data.get("trees"), list):
            raise ModelError(Errors.E1100.format(path=path, details=f"its booster's features {unknown} are not this "
                                                                    f"medlens version's" if unknown else
                                                                    "its booster has no 'trees' list"))
        self.features = names
        self.index = [STACK_FEATURES.index(x) for x in names]
        self.baseline = float(data.get("baseline", 0.0))
        self.trees = []
        for k, tree in enumerate(data["trees"]):
            try:
                cols = tuple(list(tree[key]) for key in ("feature", "threshold", "missing_left", "left", "right",
                                                           "value"))
            except (KeyError, TypeError) as exc:
                raise ModelError(Errors.E1100.format(path=path, details=f"booster tree {k} lacks {exc}")) from exc
            if len({len(c) for c in cols}) != 1:
                raise ModelError(Errors.E1100.format(path=path, details=f"booster tree {k}: node lists differ in "
                                                                        "length"))
            self.trees.append(cols)

    def raw(self, row: Sequence[float], extra: Sequence[float]) -> float:
        """The raw score (log-odds) of one row of :data:`STACK_FEATURES` and its :data:`BOOSTER_INPUTS`."""
        x = [row[i] for i in self.index] + list(extra)
        z = self.baseline
        for feature, threshold, missing_left, left, right, value in self.trees:
            node = 0
            while feature[node] >= 0:
                v = x[feature[node]]
                go_left = missing_left[node] if v != v else v <= threshold[node]
                node = left[node] if go_left else right[node]
            z += value[node]
        return z

    @staticmethod
    def export(model, features: Sequence[str]) -> dict:
        """The JSON of a fitted binary ``HistGradientBoostingClassifier`` whose columns are ``features`` then
        :data:`BOOSTER_INPUTS`."""
        trees = []
        for (predictor,) in model._predictors:
            nodes = predictor.nodes
            leaf = nodes["is_leaf"].astype(bool)
            trees.append({"feature": [-1 if lf else int(f) for f, lf in zip(nodes["feature_idx"], leaf)],
                          "threshold": [0.0 if lf else float(x) for x, lf in zip(nodes["num_threshold"], leaf)],
                          "missing_left": [int(x) for x in nodes["missing_go_to_left"]],
                          "left": [int(x) for x in nodes["left"]], "right": [int(x) for x in nodes["right"]],
                          "value": [float(f"{v:.7g}") if lf else 0.0 for v, lf in zip(nodes["value"], leaf)]})
        return {"features": list(features), "baseline": float(model._baseline_prediction.ravel()[0]), "trees": trees}


class Stacker:
    """A trained stacker: a logistic regression over standardized features of :data:`STACK_FEATURES`
    (``features``: the ones it uses, in order) and word features (``words``: weight of each;
    ``word_context``: the ``context`` of :func:`pair_words`, 0 when absent), a decision threshold and the
    prior tables.

    A stacker without any of :data:`NETWORK_FEATURES` (``uses_network`` false) re-scores the pairs
    from the text alone: :class:`~medlens.relations.model.RelationModel` then skips the network.

    With a ``booster`` (:class:`Booster`, since round 4) the logistic regression's logit is one input of
    gradient-boosted trees, with its rank among the document's pairs (:func:`rank_inputs`) and the
    booster's own features; the trees' probability and the stacker's threshold decide. ``booster`` may be a list
    (``boosters``, a bag since round 6: each fit on the regression's out-of-fold logits of another fold draw): the
    mean of their probabilities decides.
    """

    def __init__(self, data: dict) -> None:
        names = list(data.get("features", []))
        unknown = [n for n in names if n not in STACK_FEATURES]
        if not names or unknown:
            raise ModelError(Errors.E1100.format(path=data.get("path", "stacker"),
                                                 details=f"its features {unknown or names} are not this medlens "
                                                         f"version's ({', '.join(STACK_FEATURES)})"))
        n = len(names)
        for key in ("mean", "scale", "weights"):
            if len(data[key]) != n:
                raise ModelError(Errors.E1100.format(path=data.get("path", "stacker"),
                                                     details=f"{key!r} has {len(data[key])} values for {n} features"))
        self.data = data
        self.features = names
        self.index = [STACK_FEATURES.index(x) for x in names]
        self.mean = list(data["mean"])
        self.scale = list(data["scale"])
        self.weights = list(data["weights"])
        self.words: dict[str, float] = dict(data.get("words") or {})
        self.bias = float(data["bias"])
        self.threshold = float(data["threshold"])
        self.prior = data.get("prior")
        found = data.get("booster") or []
        if not isinstance(found, (dict, list)) or any(not isinstance(b, dict) for b in
                                                      (found if isinstance(found, list) else [found])):
            raise ModelError(Errors.E1100.format(path=data.get("path", "stacker"),
                                                 details="'booster' is neither an object nor a list of objects"))
        self.boosters = [Booster(b, data.get("path", "stacker"))
                         for b in (found if isinstance(found, list) else [found])]
        self.booster = self.boosters[0] if self.boosters else None
        self.uses_network = any(x in NETWORK_FEATURES for x in names) or any(
            x in NETWORK_FEATURES for b in self.boosters for x in b.features)

    @classmethod
    def from_path(cls, path: str | Path) -> Stacker:
        """Read a stacker JSON (a file, or a model folder holding ``stacker.json``).

        Raises:
            ModelError: E1100 when it cannot be read or does not fit this version.
        """
        p = Path(path)
        if p.is_dir():
            p = p / STACKER_FILE
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(Errors.E1100.format(path=p, details=str(exc))) from exc
        if not isinstance(data, dict):
            raise ModelError(Errors.E1100.format(path=p, details="not a JSON object"))
        for key in ("features", "mean", "scale", "weights", "bias", "threshold"):
            if key not in data:
                raise ModelError(Errors.E1100.format(path=p, details=f"no {key!r}"))
        data["path"] = str(p)
        return cls(data)

    def save(self, path: str | Path) -> None:
        data = {k: v for k, v in self.data.items() if k != "path"}
        Path(path).write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")

    def logits(self, rows: Sequence[Sequence[float]], words: Sequence[Iterable[str]] | None = None) -> list[float]:
        """The logistic regression's logit of each row of :data:`STACK_FEATURES` (with its word features, if any),
        clipped to [-50, 50]."""
        out = []
        for k, row in enumerate(rows):
            z = self.bias + sum(w * (row[i] - m) / s for w, i, m, s in zip(self.weights, self.index, self.mean,
                                                                            self.scale))
            if words is not None and self.words:
                z += sum(self.words.get(x, 0.0) for x in words[k])
            out.append(max(-50.0, min(50.0, z)))
        return out

    def probabilities(self, rows: Sequence[Sequence[float]], words: Sequence[Iterable[str]] | None = None,
                      pairs: Sequence[tuple[int, int]] | None = None) -> list[float]:
        """The probability of each row of :data:`STACK_FEATURES` (with its word features, if any). With a
        booster the rows are one document's pairs and ``pairs`` their ``(head, tail)`` (the ranks need them)."""
        z = self.logits(rows, words)
        if not self.boosters:
            return [_sigmoid(x) for x in z]
        if pairs is None or len(pairs) != len(rows):
            raise ValueError("a boosted stacker scores one document's rows with their pairs")
        extras = rank_inputs(z, pairs)
        # several boosters (a bag, round 6): the mean of their probabilities
        return [sum(_sigmoid(b.raw(row, extra)) for b in self.boosters) / len(self.boosters)
                for row, extra in zip(rows, extras)]

    def rescore(self, text: str, enc: DocumentInputs, probs: Sequence[float] | None = None,
                trees: dict[str, Sequence[str]] | None = None) -> list[float]:
        """The stacker's probability of every pair of one document (``probs``: the network's; not needed
        when the stacker does not use it)."""
        if not enc.pairs:
            return []
        if probs is None:
            if self.uses_network:
                raise ModelError(Errors.E1100.format(path=self.data.get("path", "stacker"),
                                                     details="it reads the network's scores; none were given"))
            probs = [0.5] * len(enc.pairs)
        rows = stack_features(text, enc, probs, prior=self.prior, trees=trees)
        words = pair_words(text, enc, context=int(self.data.get("word_context", 0))) if self.words else None
        return self.probabilities(rows, words, enc.pairs)


def fit_stacker(rows: Sequence[Sequence[float]], labels: Sequence[int], *, features: Sequence[str] = STACK_FEATURES,
                words: Sequence[Iterable[str]] | None = None, min_count: int = 3, c: float = 1.0,
                threshold: float = 0.5, prior: dict | None = None, notes: dict | None = None) -> Stacker:
    """A logistic-regression stacker (scikit-learn) on feature rows (of :data:`STACK_FEATURES`), the
    ``features`` it uses, optional word features of each row (those seen in at least ``min_count`` rows)
    and 0/1 labels."""
    import numpy as np
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    index = [STACK_FEATURES.index(x) for x in features]
    x = np.asarray(rows, dtype=np.float64)[:, index]
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    vocab: list[str] = []
    if words is not None:
        from collections import Counter

        counts = Counter(w for ws in words for w in set(ws))
        vocab = sorted(w for w, n in counts.items() if n >= min_count)
        col = {w: i for i, w in enumerate(vocab)}
        r, cidx = zip(*[(i, col[w]) for i, ws in enumerate(words) for w in set(ws) if w in col]) or ((), ())
        bag = sparse.csr_matrix((np.ones(len(r)), (r, cidx)), shape=(len(rows), len(vocab)))
        z = sparse.hstack([sparse.csr_matrix(z), bag]).tocsr()
    lr = LogisticRegression(C=c, max_iter=5000).fit(z, np.asarray(labels))
    coef = lr.coef_[0]
    n = len(index)
    return Stacker({"features": list(features), "mean": mean.tolist(), "scale": scale.tolist(),
                    "weights": coef[:n].tolist(),
                    "words": {w: round(float(v), 5) for w, v in zip(vocab, coef[n:]) if abs(v) > 1e-5},
                    "bias": float(lr.intercept_[0]), "threshold": threshold, "C": c, "min_count": min_count,
                    "prior": prior, **(notes or {})})


def fit_boosted_stacker(rows: Sequence[Sequence[float]], labels: Sequence[int], keys: Sequence[tuple[int, int, int]],
                        *, features: Sequence[str], words: Sequence[Iterable[str]] | None = None,
                        booster_features: Sequence[str] | None = None, min_count: int = 3, c: float = 0.2,
                        threshold: float = 0.5, prior: dict | None = None, notes: dict | None = None,
                        inner_folds: int = 5, seed: int = 13, leaves: int = 15, iterations: int = 300,
                        learning_rate: float = 0.05, l2: float = 1.0, bag: int = 1,
                        max_features: float = 1.0) -> Stacker:
    """A stacker with a booster (scikit-learn, only when training): the logistic regression of
    :func:`fit_stacker` on all rows, and gradient-boosted trees over ``booster_features`` (default
    ``features``) and :data:`BOOSTER_INPUTS`, whose logit input is the regression's **out-of-fold** logit
    (``inner_folds`` folds by document, so the trees learn how far to trust it on unseen documents).

    ``keys``: each row's ``(document, head, tail)`` (document numbers group the folds and the ranks).
    ``bag``: how many boosters, each on the out-of-fold logits of its own fold draw (seeds ``seed``, ``seed`` + 1,
    ...); the stacker averages their probabilities. ``max_features``: the share of the booster's inputs each split
    of a tree may choose from (drawn with the booster's seed; 1.0: all).
    """
    import numpy as np

    if bag < 1:
        raise ValueError(f"bag must be at least 1, got {bag}")
    booster_features = list(booster_features or features)
    y = np.asarray(labels)
    exported = [_fit_booster(rows, y, keys, features=features, words=words, booster_features=booster_features,
                             min_count=min_count, c=c, inner_folds=inner_folds, seed=seed + k, leaves=leaves,
                             iterations=iterations, learning_rate=learning_rate, l2=l2, max_features=max_features)
                for k in range(bag)]
    stacker = fit_stacker(rows, labels, features=features, words=words, min_count=min_count, c=c,
                          threshold=threshold, prior=prior, notes=notes)
    stacker.data["booster"] = exported[0] if bag == 1 else exported
    stacker.data["booster_settings"] = {"leaves": leaves, "iterations": iterations, "learning_rate": learning_rate,
                                        "l2": l2, "inner_folds": inner_folds, "seed": seed, "bag": bag,
                                        "max_features": max_features}
    stacker.boosters = [Booster(b) for b in exported]
    stacker.booster = stacker.boosters[0]
    return stacker


def _fit_booster(rows, y, keys, *, features, words, booster_features, min_count, c, inner_folds, seed, leaves,
                 iterations, learning_rate, l2, max_features=1.0) -> dict:
    """One booster of :func:`fit_boosted_stacker` (its JSON), on the regression's out-of-fold logits of the
    fold draw ``seed``."""
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier

    doc = np.asarray([k[0] for k in keys])
    ids = np.unique(doc)
    fold = dict(zip(ids[np.random.default_rng(seed).permutation(len(ids))], np.arange(len(ids)) % inner_folds))
    row_fold = np.asarray([fold[d] for d in doc])
    logit = np.zeros(len(y))
    for f in range(inner_folds):
        tr, te = np.flatnonzero(row_fold != f), np.flatnonzero(row_fold == f)
        if not len(te):
            continue
        if len(set(y[tr].tolist())) < 2:  # a fold too small to hold both labels: the base rate
            rate = (y[tr].sum() + 0.5) / (len(tr) + 1.0)
            logit[te] = math.log(rate / (1 - rate))
            continue
        st = fit_stacker([rows[i] for i in tr], y[tr].tolist(), features=features, min_count=min_count, c=c,
                         words=[words[i] for i in tr] if words is not None else None)
        logit[te] = st.logits([rows[i] for i in te], [words[i] for i in te] if words is not None else None)
    extra = np.zeros((len(y), len(BOOSTER_INPUTS)))
    by_doc: dict[int, list[int]] = {}
    for i, d in enumerate(doc):
        by_doc.setdefault(int(d), []).append(i)
    for members in by_doc.values():
        extra[members] = rank_inputs(logit[members].tolist(), [tuple(keys[i][1:]) for i in members])
    bidx = [STACK_FEATURES.index(x) for x in booster_features]
    x = np.hstack([np.asarray(rows, dtype=np.float64)[:, bidx], extra])
    trees = HistGradientBoostingClassifier(max_leaf_nodes=leaves, max_iter=iterations, learning_rate=learning_rate,
                                           l2_regularization=l2, max_features=max_features, early_stopping=False,
                                           random_state=seed).fit(x, y)
    return Booster.export(trees, booster_features)
