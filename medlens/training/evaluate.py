"""Evaluation: entity-level scores (NER) and document-classification reports.

*Strict* follows seqeval's (CoNLL) conventions: entities are read from BIO
tags with :func:`~medlens.tagging.alignment.bio_to_spans` and a prediction
counts only if its type, first and last word equal a gold entity's.

*Overlap* (lenient) matching: a predicted entity is correct if it shares at
least one word with a gold entity of the same type; a gold entity is found if
some predicted entity of its type shares a word with it. Precision counts
correct predictions, recall counts found gold entities, so one long prediction
covering two gold entities counts once for precision and twice for recall.

:func:`evaluate_model` runs a model (PyTorch checkpoint folder or ONNX file)
over a corpus and scores it; :func:`model_task` tells a NER model from a
document classifier by its ``labels.json``.

Documents: :func:`score_classification` gives per-class precision / recall /
F1, macro and micro averages, accuracy and a confusion matrix, which
:func:`plot_confusion` draws as a PNG (matplotlib); :func:`evaluate_classifier`
runs a classifier (checkpoint or ONNX folder) over a CSV/JSONL file and scores it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from medlens.tagging.alignment import bio_to_spans

TOKEN_TASK = "token-classification"
TEXT_TASK = "text-classification"
TASKS = (TOKEN_TASK, TEXT_TASK)


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
                   types: Collection[str] | None = None, packed: bool | None = None) -> EntityScores:
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
        packed: see :func:`load_predictor` (used when ``predictor`` is None).

    Returns:
        Strict and overlap scores per type.
    """
    from medlens.training.data import read_corpus

    sentences = read_corpus(corpus, label_map)
    if predictor is None:
        predictor = load_predictor(model, batch_size=batch_size, packed=packed)
    pred = predictor([list(s.words) for s in sentences])
    if types is None:
        types = {t[2:] for s in sentences for t in s.tags if t != "O"}
    return score_entities([list(s.tags) for s in sentences], pred, types)


def _onnx_file(path: Path) -> Path | None:
    """The ONNX model ``path`` names (an ``.onnx`` file, or a folder without ``config.json`` holding one), else None."""
    if path.is_file() and path.suffix == ".onnx":
        return path
    if path.is_dir() and not (path / "config.json").exists():
        for name in ("model.int8.onnx", "model.onnx"):
            if (path / name).exists():
                return path / name
    return None


def model_task(model: str | Path) -> str:
    """The task of a model: ``token-classification`` (NER) or ``text-classification`` (documents).

    Read from the ``task`` key of ``labels.json`` in the checkpoint or ONNX folder (for an
    ``.onnx`` file, its folder); NER models written before the key existed have none and are
    token classifiers.

    Raises:
        ModelError: no readable ``labels.json`` (E300), or an unknown task (E306).
    """
    from medlens.errors import Errors, ModelError

    p = Path(model)
    meta_path = (p.parent if p.is_file() else p) / "labels.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(Errors.E300.format(path=meta_path, details=f"a model folder needs labels.json ({exc})")) from exc
    task = meta.get("task", TOKEN_TASK) if isinstance(meta, dict) else None
    if task not in TASKS:
        raise ModelError(Errors.E306.format(path=p, value=task, opts=", ".join(TASKS)))
    return task


def load_predictor(model: str | Path, batch_size: int = 32,
                   packed: bool | None = None) -> Callable[[list[list[str]]], list[list[str]]]:
    """A word-level tagger for a checkpoint folder (PyTorch) or an ONNX model (file or folder).

    ``packed``: read the word lists as consecutive sentences of documents, windows of whole
    sentences (see ``medlens train ner --pack-sentences``); None: as the model was trained
    (``packed_sentences`` in its ``labels.json``).
    """
    from medlens.tagging.files import read_meta

    path = Path(model)
    onnx_file = _onnx_file(path)
    if packed is None:
        packed = bool(read_meta(onnx_file.parent if onnx_file else path).get("packed_sentences", False))
    if onnx_file is not None:
        from medlens.components.transformer_ner import OnnxTagger

        tagger = OnnxTagger.from_path(onnx_file)
        return lambda words: tagger.tag_words(words, batch_size=batch_size, packed=packed)
    from medlens.training.ner import TorchTagger

    torch_tagger = TorchTagger.from_path(path)
    return lambda words: torch_tagger.tag_words(words, batch_size=batch_size, packed=packed)


# --- document classification ---------------------------------------------------------------------


@dataclass(slots=True)
class ClassificationReport:
    """Per-class and averaged precision / recall / F1, accuracy and a confusion matrix.

    ``per_class[label]`` counts a label's true positives, predictions and gold occurrences;
    ``macro`` averages the per-class precision, recall and F1 (unweighted; F1 is the mean of the
    per-class F1s, as scikit-learn does); ``micro`` pools the counts. ``accuracy`` is the share of
    documents whose predicted label set equals the gold set (exact match; for single-label data the
    usual accuracy). ``confusion[i][j]`` counts (gold ``labels[i]``, predicted ``labels[j]``) pairs —
    for multi-label data every pair of a document's gold and predicted labels, with a last column
    ``(none)`` for gold labels of documents given no label at all.
    """

    labels: list[str]
    per_class: dict[str, PRF]
    micro: PRF
    macro_precision: float
    macro_recall: float
    macro_f1: float
    accuracy: float
    n_docs: int
    confusion: list[list[int]]
    multi_label: bool = False

    @property
    def macro(self) -> _Macro:
        return _Macro(self.macro_precision, self.macro_recall, self.macro_f1)

    def as_dict(self) -> dict:
        return {"labels": self.labels, "per_class": {k: v.as_dict() for k, v in self.per_class.items()},
                "macro": {"precision": round(self.macro_precision, 4), "recall": round(self.macro_recall, 4),
                          "f1": round(self.macro_f1, 4)},
                "micro": self.micro.as_dict(), "accuracy": round(self.accuracy, 4), "n_docs": self.n_docs,
                "multi_label": self.multi_label, "confusion": self.confusion}


@dataclass(frozen=True, slots=True)
class _Macro:
    precision: float
    recall: float
    f1: float


def score_classification(gold: Sequence[Sequence[str] | str], pred: Sequence[Sequence[str] | str],
                         labels: Sequence[str] | None = None, *, multi_label: bool = False) -> ClassificationReport:
    """Score predicted document labels against gold ones.

    Args:
        gold: each document's gold label (a string) or labels (a sequence).
        pred: each document's predicted label(s), aligned with ``gold``.
        labels: the classes to report, in order (default: every label seen, sorted).
        multi_label: add the ``(none)`` column to the confusion matrix for empty predictions.

    Returns:
        The report.

    Raises:
        ValueError: ``gold`` and ``pred`` differ in length.
    """
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold documents but {len(pred)} predictions")
    g_sets = [{g} if isinstance(g, str) else set(g) for g in gold]
    p_sets = [{p} if isinstance(p, str) else set(p) for p in pred]
    if labels is None:
        labels = sorted(set().union(*g_sets, *p_sets)) if g_sets else []
    labels = list(labels)
    index = {l: i for i, l in enumerate(labels)}
    per_class = {}
    for l in labels:
        tp = sum(1 for g, p in zip(g_sets, p_sets) if l in g and l in p)
        per_class[l] = PRF(tp, sum(1 for p in p_sets if l in p), tp, sum(1 for g in g_sets if l in g))
    tp = sum(v.tp_pred for v in per_class.values())
    micro = PRF(tp, sum(v.n_pred for v in per_class.values()), tp, sum(v.n_gold for v in per_class.values()))
    n = len(labels) or 1
    cols = len(labels) + (1 if multi_label else 0)
    confusion = [[0] * cols for _ in labels]
    for g, p in zip(g_sets, p_sets):
        for gl in g:
            if gl not in index:
                continue
            if not p and multi_label:
                confusion[index[gl]][-1] += 1
            for pl in p:
                if pl in index:
                    confusion[index[gl]][index[pl]] += 1
    return ClassificationReport(
        labels=labels, per_class=per_class, micro=micro,
        macro_precision=sum(v.precision for v in per_class.values()) / n,
        macro_recall=sum(v.recall for v in per_class.values()) / n,
        macro_f1=sum(v.f1 for v in per_class.values()) / n,
        accuracy=sum(1 for g, p in zip(g_sets, p_sets) if g == p) / len(g_sets) if g_sets else 0.0,
        n_docs=len(g_sets), confusion=confusion, multi_label=multi_label)


def format_classification(name: str, report: ClassificationReport) -> str:
    """A plain-text table: precision, recall, F1 and support per class, then macro, micro and accuracy."""
    width = max([len(l) for l in report.labels] + [9])
    lines = [name, f"  {'':{width}}  {'P':>6} {'R':>6} {'F1':>6} {'gold':>6}"]
    for l, v in report.per_class.items():
        lines.append(f"  {l:{width}}  {100 * v.precision:6.2f} {100 * v.recall:6.2f} {100 * v.f1:6.2f} {v.n_gold:6d}")
    lines.append(f"  {'macro':{width}}  {100 * report.macro_precision:6.2f} {100 * report.macro_recall:6.2f} {100 * report.macro_f1:6.2f}")
    m = report.micro
    lines.append(f"  {'micro':{width}}  {100 * m.precision:6.2f} {100 * m.recall:6.2f} {100 * m.f1:6.2f} {m.n_gold:6d}")
    lines.append(f"  {'accuracy':{width}}  {100 * report.accuracy:6.2f}  ({report.n_docs} documents)")
    return "\n".join(lines)


def load_classifier(model: str | Path):
    """A document classifier for a checkpoint folder (PyTorch) or an ONNX model (file or folder).

    Both kinds have ``labels``, ``multi_label`` and ``predict(texts, batch_size)``.
    """
    path = Path(model)
    onnx_file = _onnx_file(path)
    if onnx_file is not None:
        from medlens.components.classifier import OnnxClassifier

        return OnnxClassifier.from_path(onnx_file)
    from medlens.training.classify import TorchClassifier

    return TorchClassifier.from_path(path)


def evaluate_classifier(model: str | Path, path: str | Path, *, text_column: str = "text", label_column: str = "label",
                        label_sep: str = "|", batch_size: int = 32, classifier=None) -> ClassificationReport:
    """Run a document classifier over a CSV/TSV or JSONL file and score it.

    Args:
        model: a training checkpoint folder (PyTorch, needs the ``train`` extra) or a folder/file
            holding ``model.int8.onnx`` / ``model.onnx`` (ONNX Runtime only).
        path: the labelled file, read as ``medlens train classify`` reads it.
        text_column: CSV header of the text column.
        label_column: CSV header of the label column.
        label_sep: separator of several labels in a CSV cell (multi-label models).
        batch_size: documents per forward pass.
        classifier: an already loaded classifier (see :func:`load_classifier`); ``model`` is then unused.

    Returns:
        The report over the model's labels, followed by any gold label the model does not
        know (scored with recall 0). Multi-label models are read and scored as multi-label.

    Raises:
        InputError: the file is malformed, or (single-label model) a document has several labels.
    """
    from medlens.training.classify import check_single_label, read_documents

    clf = classifier if classifier is not None else load_classifier(model)
    docs = read_documents(path, text_column, label_column, multi_label=clf.multi_label, label_sep=label_sep)
    if not clf.multi_label:
        check_single_label(docs)
    pred = clf.predict([d.text for d in docs], batch_size=batch_size)
    labels = list(clf.labels) + sorted({l for d in docs for l in d.labels} - set(clf.labels))
    return score_classification([d.labels for d in docs], pred, labels, multi_label=clf.multi_label)


def plot_confusion(report: ClassificationReport, path: str | Path, title: str = "Confusion matrix") -> Path:
    """Write the confusion matrix as a PNG (rows: gold, columns: predicted; counts in the cells).

    Needs matplotlib (in the ``train`` extra); uses the non-interactive Agg backend.

    Raises:
        ModelError: matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        from medlens.errors import Errors, ModelError

        raise ModelError(Errors.E302.format(details=str(exc))) from exc
    rows = report.labels
    cols = rows + (["(none)"] if report.multi_label else [])
    size = max(4.0, 0.6 * len(cols) + 2.5)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    mat = report.confusion
    im = ax.imshow(mat if mat else [[0]], cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(len(cols)), labels=cols, rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), labels=rows)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    peak = max((max(r) for r in mat if r), default=0)
    for i, r in enumerate(mat):
        for j, v in enumerate(r):
            ax.text(j, i, str(v), ha="center", va="center", color="white" if peak and v > peak / 2 else "black")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
