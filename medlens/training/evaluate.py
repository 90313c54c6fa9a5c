"""Entity-level evaluation: strict and overlap precision / recall / F1 per type.

*Strict* follows seqeval's (CoNLL) conventions: entities are read from BIO
tags with :func:`~medlens.training.alignment.bio_to_spans` and a prediction
counts only if its type, first and last word equal a gold entity's.

*Overlap* (lenient) matching: a predicted entity is correct if it shares at
least one word with a gold entity of the same type; a gold entity is found if
some predicted entity of its type shares a word with it. Precision counts
correct predictions, recall counts found gold entities, so one long prediction
covering two gold entities counts once for precision and twice for recall.

:func:`evaluate_model` runs a model (PyTorch checkpoint folder or ONNX file)
over a corpus and scores it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from medlens.training.alignment import bio_to_spans


@dataclass(frozen=True, slots=True)
class PRF:
    """Counts and scores for one entity type (or all types: ``micro``)."""

    tp_pred: int
    n_pred: int
    tp_gold: int
    n_gold: int

    @property
    def precision(self) -> float:
        return self.tp_pred / self.n_pred if self.n_pred else 0.0

    @property
    def recall(self) -> float:
        return self.tp_gold / self.n_gold if self.n_gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4), "f1": round(self.f1, 4),
                "n_gold": self.n_gold, "n_pred": self.n_pred}


@dataclass(slots=True)
class EntityScores:
    """Strict and overlap scores per type, plus ``micro`` over all types."""

    strict: dict[str, PRF] = field(default_factory=dict)
    overlap: dict[str, PRF] = field(default_factory=dict)

    def as_dict(self) -> dict[str, dict[str, dict[str, float | int]]]:
        return {"strict": {k: v.as_dict() for k, v in self.strict.items()},
                "overlap": {k: v.as_dict() for k, v in self.overlap.items()}}


def score_entities(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]],
                   types: Collection[str] | None = None) -> EntityScores:
    """Score predicted BIO tag sequences against gold ones (same lengths, sentence by sentence).

    Args:
        gold: gold tags per sentence.
        pred: predicted tags per sentence.
        types: score only these entity types, ignoring gold and predicted entities of
            others (e.g. ``{"DISEASE"}`` for a corpus that annotates diseases only);
            None scores every type.
    """
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    s_tp = defaultdict(int)
    o_tp_pred = defaultdict(int)
    o_tp_gold = defaultdict(int)
    n_pred = defaultdict(int)
    n_gold = defaultdict(int)
    for g_tags, p_tags in zip(gold, pred):
        if len(g_tags) != len(p_tags):
            raise ValueError(f"sentence of {len(g_tags)} gold tags but {len(p_tags)} predicted")
        g = bio_to_spans(g_tags)
        p = bio_to_spans(p_tags)
        if types is not None:
            g = [e for e in g if e[0] in types]
            p = [e for e in p if e[0] in types]
        gset = set(g)
        for e in g:
            n_gold[e[0]] += 1
        for e in p:
            n_pred[e[0]] += 1
            if e in gset:
                s_tp[e[0]] += 1
            if any(x[0] == e[0] and x[1] < e[2] and e[1] < x[2] for x in g):
                o_tp_pred[e[0]] += 1
        for e in g:
            if any(x[0] == e[0] and x[1] < e[2] and e[1] < x[2] for x in p):
                o_tp_gold[e[0]] += 1
    types = sorted(set(n_gold) | set(n_pred))
    scores = EntityScores()
    for t in types:
        scores.strict[t] = PRF(s_tp[t], n_pred[t], s_tp[t], n_gold[t])
        scores.overlap[t] = PRF(o_tp_pred[t], n_pred[t], o_tp_gold[t], n_gold[t])
    scores.strict["micro"] = PRF(sum(s_tp.values()), sum(n_pred.values()), sum(s_tp.values()), sum(n_gold.values()))
    scores.overlap["micro"] = PRF(sum(o_tp_pred.values()), sum(n_pred.values()), sum(o_tp_gold.values()),
                                  sum(n_gold.values()))
    return scores


def format_scores(name: str, scores: EntityScores) -> str:
    """A plain-text table of strict and overlap P/R/F1 per type."""
    lines = [f"{name}", f"  {'type':<10} {'strict P':>8} {'R':>6} {'F1':>6}   {'overlap P':>9} {'R':>6} {'F1':>6} {'gold':>6}"]
    for t in scores.strict:
        s, o = scores.strict[t], scores.overlap[t]
        lines.append(f"  {t:<10} {100 * s.precision:8.2f} {100 * s.recall:6.2f} {100 * s.f1:6.2f}   "
                     f"{100 * o.precision:9.2f} {100 * o.recall:6.2f} {100 * o.f1:6.2f} {s.n_gold:6d}")
    return "\n".join(lines)


def evaluate_model(model: str | Path, corpus: str | Path, label_map: dict[str, str | None] | None = None,
                   *, batch_size: int = 32, predictor: Callable | None = None,
                   types: Collection[str] | None = None) -> EntityScores:
    """Run a model over a BIO/JSONL corpus and score it.

    Args:
        model: a training checkpoint folder (PyTorch, needs the ``train`` extra)
            or a folder/file holding ``model.onnx`` / ``model.int8.onnx``
            (ONNX Runtime only).
        corpus: a TSV/CoNLL or span JSONL file.
        label_map: rename the corpus's types to the model's (``{"Disease": "DISEASE"}``).
            Gold types the model does not know are scored too (recall 0).
        batch_size: windows per forward pass.
        predictor: an already loaded ``predict_words(list_of_word_lists) -> list_of_tag_lists``.
        types: score only these types (default: every type the corpus annotates, so a
            disease-only corpus does not count the model's chemicals as false positives).

    Returns:
        Strict and overlap scores per type.
    """
    from medlens.training.data import read_corpus

    sentences = read_corpus(corpus, label_map)
    if predictor is None:
        predictor = load_predictor(model, batch_size=batch_size)
    pred = predictor([list(s.words) for s in sentences])
    if types is None:
        types = {t[2:] for s in sentences for t in s.tags if t != "O"}
    return score_entities([list(s.tags) for s in sentences], pred, types)


def load_predictor(model: str | Path, batch_size: int = 32) -> Callable[[list[list[str]]], list[list[str]]]:
    """A word-level tagger for a checkpoint folder (PyTorch) or an ONNX model (file or folder)."""
    path = Path(model)
    onnx_file = None
    if path.is_file() and path.suffix == ".onnx":
        onnx_file = path
    elif path.is_dir() and not (path / "config.json").exists():
        for name in ("model.int8.onnx", "model.onnx"):
            if (path / name).exists():
                onnx_file = path / name
                break
    if onnx_file is not None:
        from medlens.components.transformer_ner import OnnxTagger

        tagger = OnnxTagger.from_path(onnx_file)
        return lambda words: tagger.tag_words(words, batch_size=batch_size)
    from medlens.training.ner import TorchTagger

    torch_tagger = TorchTagger.from_path(path)
    return lambda words: torch_tagger.tag_words(words, batch_size=batch_size)
