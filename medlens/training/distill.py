"""Distil a trained NER model (the teacher) into a smaller student with fewer encoder layers.

The student is the teacher itself with only its first ``student_layers``
transformer layers kept (embeddings, those layers and the classifier head copied
from the teacher), then trained on

* the gold labels of the labeled training files (cross-entropy, weight ``alpha``), and
* the teacher's temperature-softened tag distributions (KL divergence, weight
  ``1 - alpha``, times ``T**2`` as in Hinton et al. 2015) on every word's first
  subword of the labeled *and* of unlabeled text (clinical notes, abstracts),
  which the teacher tags for free.

Unlabeled text is read from ``.txt`` (documents separated by blank lines),
``.jsonl`` (``{"text": ...}``) or ``.csv`` files (a text column) and folders of
them; each line is split into words as the NER trainer's span reader does
(:func:`medlens.training.data.split_words`) and into sentences
(:func:`medlens.tagging.alignment.sentence_starts`); each sentence becomes
windows exactly as a labeled sentence does (:func:`medlens.training.ner.build_examples`).
Duplicate sentences are dropped, and so is every document that contains a dev
sentence (of 9 words or more), then ``unlabeled_limit`` sentences are drawn at
random (seeded).

The teacher is a model folder:

* a PyTorch checkpoint (``OUTPUT/best`` of ``medlens train ner``: ``config.json``
  and weights): its logits are computed with PyTorch;
* an exported folder with ``model.int8.onnx`` only, as shipped in
  ``medlens/assets/ner`` (no training checkpoint of it is kept): the soft labels
  are the ONNX model's own logits (ONNX Runtime; ``model.onnx`` if the folder also
  has the fp32 export) and the student's weights are the int8 weights dequantized
  (:func:`medlens.training.onnx_optimize.recover_checkpoint`).

The teacher's logits are computed once before training (one pass over every
window) and cached in ``OUTPUT/soft_labels.npz`` (float16, first subwords only),
so the training steps only run the student, and a resumed run reuses them.
The training loop, checkpoints, dev scoring and the saved model folder are those
of :mod:`medlens.training.ner`; ``labels.json`` records ``distilled`` (teacher,
layers, alpha, temperature, text).

Needs the ``train`` extra (torch, transformers); imports them only when called.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from medlens.errors import Errors, InputError, MedlensError, ModelError
from medlens.io.readers import iter_jsonl
from medlens.tagging.alignment import IGNORE_INDEX, encode_words, make_windows, sentence_starts, window_inputs
from medlens.tagging.files import load_tokenizer, read_meta, special_ids
from medlens.training.data import split_words
from medlens.training.ner import TorchTagger, TrainResult, _require_torch, _save_model, build_examples, length_sorted_batches
from medlens.training.loop import LoopSettings, fit, start_run

SOFT_LABELS_FILE = "soft_labels.npz"
TEXT_SUFFIXES = (".txt", ".jsonl", ".ndjson", ".csv")
CSV_TEXT_COLUMNS = ("text", "transcription", "medical_abstract", "abstract", "note")
"""Columns read from a CSV file of unlabeled text, the first one present (MTSamples: ``transcription``)."""
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclass
class DistillConfig:
    """Settings of :func:`distill_ner` (recorded in the output folder's ``train_config.json``).

    Args:
        teacher: the teacher's model folder (a ``train ner`` checkpoint, or an exported / shipped
            folder with ``model.int8.onnx``).
        train: labeled training files as ``(path, label_map)`` (as :class:`~medlens.training.ner.NerTrainConfig`).
        unlabeled: files or folders of unlabeled text.
        output: folder of the student (``output/best``), the soft labels and the resumable state.
        student_layers: encoder layers the student keeps (the teacher's first ones); fewer than the teacher's.
        unlabeled_limit: at most this many unlabeled sentences (drawn at random, seeded); None = all.
        alpha: weight of the gold cross-entropy; ``1 - alpha`` weighs the KL term.
        temperature: softens the teacher's and the student's distributions in the KL term.
        dev: named dev sets ``{name: (path, label_map)}`` scored after every epoch.
        base_model: for a teacher that is only an int8 ONNX model, the folder whose ``config.json``
            gives the encoder's shape (default: all-MiniLM-L6-v2).
        freeze_embeddings: keep the word-embedding matrix fixed (as the shipped teacher was trained).
        Other fields: as in :class:`~medlens.training.ner.NerTrainConfig`.
    """

    teacher: str
    train: list[tuple[str, dict[str, str | None] | None]]
    unlabeled: list[str]
    output: str = "ner-student"
    student_layers: int = 3
    unlabeled_limit: int | None = None
    alpha: float = 0.5
    temperature: float = 2.0
    dev: dict[str, tuple[str, dict[str, str | None] | None]] = field(default_factory=dict)
    base_model: str | None = None
    epochs: int = 4
    batch_size: int = 16
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup: float = 0.06
    seed: int = 13
    patience: int = 2
    checkpoint_every: int = 500
    threads: int | None = None
    max_steps: int | None = None
    freeze_embeddings: bool = True


# --- unlabeled text -------------------------------------------------------------------------------------------


def _text_files(paths: Sequence[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in TEXT_SUFFIXES)
        elif p.is_file():
            files.append(p)
        else:
            raise InputError(Errors.E883.format(details=f"{p}: no such file or folder"))
    return files


def _documents(path: Path, column: str | None = None) -> Iterable[str]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            csv.field_size_limit(1 << 30)
            with path.open(encoding="utf-8", newline="") as fh:
                reader = csv.DictReader(fh)
                cols = reader.fieldnames or []
                wanted = [column] if column else list(CSV_TEXT_COLUMNS)
                col = next((c for c in wanted if c in cols), None)
                if col is None:
                    raise InputError(Errors.E886.format(path=path, details=f"looked for {', '.join(wanted)}",
                                                        opts=", ".join(cols) or "none"))
                for row in reader:
                    yield row.get(col) or ""
        elif suffix in (".jsonl", ".ndjson"):
            # the project's one JSONL reader: a line that is not an object with a non-empty "text" raises
            # naming the line (E323); a text it refuses (control characters) is skipped, as batch jobs do
            yield from (doc.text for doc in iter_jsonl(path) if doc.text)
        else:
            yield from path.read_text(encoding="utf-8").split("\n\n")
    except UnicodeDecodeError as exc:
        raise InputError(Errors.E202.format(path=path, offset=exc.start)) from exc


def text_sentences(text: str) -> list[list[str]]:
    """The sentences of ``text`` as word lists: each line alone, cut after ``.``/``?``/``!`` before a capital or digit."""
    out = []
    for line in text.splitlines():
        words = [w for w, _, _ in split_words(line)]
        if not words:
            continue
        bounds = [0, *sentence_starts(words), len(words)]
        out += [words[s:e] for s, e in zip(bounds, bounds[1:]) if any(ch.isalnum() for w in words[s:e] for ch in w)]
    return out


def _squash(text: str) -> str:
    """Lowercase letters and digits only: the same sentence tokenized two ways compares equal."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


EXCLUDE_MIN_WORDS = 9
"""Held-out sentences at least this long exclude the unlabeled documents that contain them."""


def read_unlabeled(paths: Sequence[str | Path], limit: int | None = None, seed: int = 13,
                   column: str | None = None, exclude: Sequence[Sequence[str]] = (),
                   stats: dict | None = None) -> list[list[str]]:
    """Distinct sentences (word lists) of the unlabeled text in ``paths``; ``limit`` of them drawn at random (seeded).

    Args:
        exclude: held-out sentences (word lists, e.g. the dev sets'); a document that contains one of
            at least :data:`EXCLUDE_MIN_WORDS` words (compared on lowercase letters and digits) is left out.
        stats: filled with ``documents`` read and ``excluded_documents``.

    Raises:
        InputError: a path does not exist, a CSV file has no text column, or there is no text at all (E883).
    """
    if not paths:
        raise InputError(Errors.E883.format(details="no --unlabeled file or folder was given"))
    files = _text_files(paths)
    if not files:
        raise InputError(Errors.E883.format(details=f"no {', '.join(TEXT_SUFFIXES)} files in {', '.join(map(str, paths))}"))
    held_out = sorted({_squash("".join(w)) for w in exclude if len(w) >= EXCLUDE_MIN_WORDS})
    seen: set[tuple[str, ...]] = set()
    sentences: list[list[str]] = []
    n_docs = n_excluded = 0
    for f in files:
        for doc in _documents(f, column):
            if not doc.strip():
                continue
            n_docs += 1
            if held_out:
                squashed = _squash(doc)
                if any(h in squashed for h in held_out):
                    n_excluded += 1
                    continue
            for words in text_sentences(doc):
                key = tuple(words)
                if key not in seen:
                    seen.add(key)
                    sentences.append(words)
    if stats is not None:
        stats.update(documents=n_docs, excluded_documents=n_excluded)
    if not sentences:
        raise InputError(Errors.E883.format(details=f"the files hold no words ({', '.join(map(str, files[:5]))})"))
    if limit is not None and limit < len(sentences):
        rng = random.Random(seed)
        sentences = rng.sample(sentences, limit)
    return sentences


def unlabeled_examples(sentences: Sequence[Sequence[str]], tokenizer, *, max_length: int,
                       stride: int) -> list[tuple[list[int], list[int]]]:
    """``(input_ids, labels)`` windows of unlabeled sentences: labels all ``-100`` (no gold), as training windows are cut."""
    cls_id, sep_id, _ = special_ids(tokenizer)
    max_pieces = max_length - 2
    out = []
    for words in sentences:
        enc = encode_words(tokenizer, words)
        for win in make_windows([len(p) for p in enc.pieces], max_pieces, stride):
            ids, _, first = window_inputs(enc.pieces, win, max_pieces, cls_id, sep_id)
            out.append((ids, first))
    # first subword positions are where the teacher's distributions are matched
    return [(ids, [p for p in first if p >= 0]) for ids, first in out]


# --- the teacher ----------------------------------------------------------------------------------------------


@dataclass
class Teacher:
    """The teacher's model folder, its labels, shape and how its logits are computed."""

    folder: Path
    meta: dict
    layers: int
    kind: str  # "torch" or "onnx"
    checkpoint: Path  # a PyTorch checkpoint folder with the teacher's weights (the recovered one for "onnx")
    onnx_file: Path | None = None


def load_teacher(folder: str | Path, work: Path, base_model: str | Path | None = None) -> Teacher:
    """Check the teacher's folder and find (or rebuild into ``work/teacher``) a PyTorch checkpoint of it.

    Raises:
        ModelError: the folder does not exist (E880), or it is not a BERT token classifier medlens trained (E881).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelError(Errors.E880.format(path=folder))
    try:
        meta = read_meta(folder)
    except MedlensError as exc:
        raise ModelError(Errors.E881.format(path=folder, details=str(exc))) from exc
    if meta.get("task", "token-classification") != "token-classification":
        raise ModelError(Errors.E881.format(path=folder, details=f"its task is {meta.get('task')!r}, not token-classification"))
    if not (folder / "tokenizer.json").is_file():
        raise ModelError(Errors.E881.format(path=folder, details="it has no tokenizer.json"))
    has_torch = (folder / "config.json").is_file() and any((folder / w).is_file() for w in WEIGHT_FILES)
    if has_torch:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        if config.get("model_type") != "bert" or "num_hidden_layers" not in config:
            raise ModelError(Errors.E881.format(path=folder, details=f"a {config.get('model_type')!r} model; the student "
                                                                       "is cut from a BERT encoder's layers"))
        if config.get("num_labels", len(config.get("id2label", {}))) != len(meta["labels"]):
            raise ModelError(Errors.E881.format(path=folder, details="config.json and labels.json disagree on the labels"))
        return Teacher(folder, meta, int(config["num_hidden_layers"]), "torch", folder)
    onnx_file = next((folder / f for f in ("model.onnx", "model.int8.onnx") if (folder / f).is_file()), None)
    if onnx_file is None or not (folder / "model.int8.onnx").is_file():
        raise ModelError(Errors.E881.format(path=folder, details="it holds neither a PyTorch checkpoint (config.json + "
                                                                   "model.safetensors) nor model.int8.onnx"))
    from medlens.training.onnx_optimize import recover_checkpoint

    ckpt = work / "teacher"
    if not (ckpt / "config.json").is_file():
        try:
            recover_checkpoint(folder, ckpt, base_model=base_model)
        except MedlensError as exc:
            raise ModelError(Errors.E881.format(path=folder, details=str(exc))) from exc
    config = json.loads((ckpt / "config.json").read_text(encoding="utf-8"))
    return Teacher(folder, meta, int(config["num_hidden_layers"]), "onnx", ckpt, onnx_file)


def _teacher_logits_fn(teacher: Teacher, threads: int | None):
    """``(ids, mask) numpy -> logits numpy`` of the teacher."""
    if teacher.kind == "onnx":
        from medlens.tagging.files import onnx_session

        sess = onnx_session(teacher.onnx_file, threads)

        def run(ids, mask):
            return sess.run(None, {"input_ids": ids, "attention_mask": mask})[0]

        return run
    return TorchTagger.from_path(teacher.checkpoint).logits


def soft_labels(examples: Sequence[tuple[list[int], list[int]]], logits_fn, pad_id: int, batch_size: int = 64,
                on_progress: Callable[[int, int], None] | None = None):
    """The teacher's logits at each example's positions: one float16 ``[positions, labels]`` array per example."""
    import numpy as np

    from medlens.tagging.alignment import pad_batch

    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))
    out: list = [None] * len(examples)
    for b in range(0, len(order), batch_size):
        idx = order[b:b + batch_size]
        ids, mask = pad_batch([examples[i][0] for i in idx], pad_id)
        logits = logits_fn(ids, mask)
        for r, i in enumerate(idx):
            out[i] = np.asarray(logits[r, examples[i][1]], dtype=np.float16)
        if on_progress:
            on_progress(min(b + batch_size, len(order)), len(order))
    return out


def _fingerprint(config: DistillConfig, n_examples: int, teacher: Teacher) -> str:
    key = json.dumps([config.teacher, teacher.kind, str(teacher.onnx_file), config.train, sorted(config.unlabeled),
                      config.unlabeled_limit, config.seed, n_examples], default=str)
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def _cached_soft_labels(path: Path, fingerprint: str, compute):
    import numpy as np

    if path.is_file():
        with np.load(path) as z:
            if str(z["fingerprint"]) == fingerprint:
                flat, offsets = z["logits"], z["offsets"]
                return [flat[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]
    arrays = compute()
    offsets = np.cumsum([0] + [len(a) for a in arrays])
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, logits=np.concatenate(arrays) if arrays else np.zeros((0, 0), np.float16), offsets=offsets,
             fingerprint=np.array(fingerprint))
    tmp.replace(path)
    return arrays


# --- the student ----------------------------------------------------------------------------------------------


def make_student(teacher_checkpoint: str | Path, layers: int):
    """The teacher's token classifier with only its first ``layers`` encoder layers (weights copied)."""
    _, transformers = _require_torch()
    import torch

    model = transformers.AutoModelForTokenClassification.from_pretrained(str(teacher_checkpoint), local_files_only=True)
    encoder = model.base_model.encoder
    encoder.layer = torch.nn.ModuleList(list(encoder.layer)[:layers])
    model.config.num_hidden_layers = layers
    return model


def distill_loss(logits, gold, teacher_logits, teacher_mask, alpha: float, temperature: float):
    """``alpha`` x cross-entropy on gold labels + ``(1 - alpha)`` x ``T**2`` x KL(teacher_T || student_T).

    Args:
        logits: student logits ``[batch, length, labels]``.
        gold: gold label ids ``[batch, length]``, ``-100`` where there is none (unlabeled text, later subwords).
        teacher_logits: ``[batch, length, labels]``, read where ``teacher_mask`` is true.
        teacher_mask: ``[batch, length]`` booleans: the positions matched to the teacher.

    Returns:
        ``(loss, ce, kl)`` tensors (``ce`` is 0 for a batch without gold labels).
    """
    import torch
    import torch.nn.functional as F

    zero = logits.new_zeros(())
    has_gold = bool((gold != IGNORE_INDEX).any())
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), gold.reshape(-1), ignore_index=IGNORE_INDEX) if has_gold else zero
    if bool(teacher_mask.any()):
        s = F.log_softmax(logits[teacher_mask] / temperature, dim=-1)
        t = F.log_softmax(teacher_logits[teacher_mask].float() / temperature, dim=-1)
        kl = (t.exp() * (t - s)).sum(-1).mean() * temperature ** 2
    else:
        kl = zero
    return alpha * ce + (1.0 - alpha) * kl, ce, kl


def _check(config: DistillConfig) -> None:
    if not 0.0 <= config.alpha <= 1.0:
        raise InputError(Errors.E885.format(name="--distill-alpha", expected="between 0 and 1", value=config.alpha))
    if not config.temperature > 0:
        raise InputError(Errors.E885.format(name="--temperature", expected="above 0", value=config.temperature))
    if config.unlabeled_limit is not None and config.unlabeled_limit < 1:
        raise InputError(Errors.E885.format(name="--unlabeled-limit", expected="at least 1", value=config.unlabeled_limit))


def distill_ner(config: DistillConfig, *, resume: bool = False,
                on_step: Callable[[dict], None] | None = None,
                on_epoch: Callable[[dict], None] | None = None,
                on_start: Callable[[dict], None] | None = None,
                on_teacher: Callable[[int, int], None] | None = None) -> TrainResult:
    """Train a student with the teacher's first ``student_layers`` layers; see :class:`DistillConfig`.

    Args:
        config: the settings.
        resume: continue from ``output/train_state.pt`` (and reuse the cached soft labels).
        on_step / on_epoch / on_start: as in :func:`medlens.training.ner.train_ner` (``on_start``'s
            record also has ``unlabeled`` sentences and ``teacher_layers``).
        on_teacher: called with ``(windows done, windows)`` while the teacher computes its soft labels.

    Returns:
        The best student folder (``output/best``) and the training history.

    Raises:
        ModelError: the teacher folder is missing or cannot be a teacher (E880, E881).
        InputError: ``student_layers`` is not below the teacher's (E882), there is no unlabeled text
            (E883), the training data has labels the teacher lacks (E884), a setting is out of range
            (E885), or a file is malformed.
    """
    torch, _ = _require_torch()
    from medlens.training.data import read_corpus
    from medlens.training.evaluate import score_entities

    _check(config)
    t0 = time.perf_counter()
    teacher_dir = Path(config.teacher)
    if not teacher_dir.is_dir():
        raise ModelError(Errors.E880.format(path=teacher_dir))
    out = start_run(config)
    teacher = load_teacher(teacher_dir, out, config.base_model)
    if not 1 <= config.student_layers < teacher.layers:
        raise InputError(Errors.E882.format(max=teacher.layers - 1, layers=teacher.layers, value=config.student_layers))
    labels: list[str] = list(teacher.meta["labels"])
    label2id = {lab: i for i, lab in enumerate(labels)}
    max_length, stride = int(teacher.meta["max_length"]), int(teacher.meta["stride"])

    train_files = [read_corpus(path, lmap) for path, lmap in config.train]
    gold_tags = {t for sents in train_files for s in sents for t in s.tags}
    missing = sorted(gold_tags - set(labels))
    if missing:
        raise InputError(Errors.E884.format(missing=", ".join(missing), opts=", ".join(labels)))
    dev_sets = {name: read_corpus(path, lmap) for name, (path, lmap) in config.dev.items()}
    # no dev sentence may reach the student as unlabeled text (PHEE's case reports quote BC5CDR abstracts)
    text_stats: dict = {}
    unlabeled = read_unlabeled(config.unlabeled, config.unlabeled_limit, config.seed,
                               exclude=[s.words for sents in dev_sets.values() for s in sents], stats=text_stats)

    tokenizer = load_tokenizer(teacher.folder)
    _, _, pad_id = special_ids(tokenizer)
    gold_examples = [ex for sents in train_files
                     for ex in build_examples(sents, tokenizer, label2id, max_length=max_length, stride=stride)]
    # (input_ids, gold labels, teacher positions): gold windows are matched to the teacher where they have labels
    examples: list[tuple[list[int], list[int], list[int]]] = [
        (ids, labs, [i for i, lab in enumerate(labs) if lab != IGNORE_INDEX]) for ids, labs in gold_examples]
    examples += [(ids, [IGNORE_INDEX] * len(ids), pos)
                 for ids, pos in unlabeled_examples(unlabeled, tokenizer, max_length=max_length, stride=stride)]
    n_gold = len(gold_examples)

    fingerprint = _fingerprint(config, len(examples), teacher)

    def compute():
        return soft_labels([(ids, pos) for ids, _, pos in examples], _teacher_logits_fn(teacher, config.threads), pad_id,
                           on_progress=on_teacher)

    teacher_logits = _cached_soft_labels(out / SOFT_LABELS_FILE, fingerprint, compute)

    lengths = [len(x) for x, _, _ in examples]
    steps_per_epoch = math.ceil(len(examples) / config.batch_size)
    total = steps_per_epoch * config.epochs
    model = make_student(teacher.checkpoint, config.student_layers)
    if config.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    meta = {**{k: v for k, v in teacher.meta.items() if k not in ("dev", "epoch", "distilled")},
            "labels": labels, "max_length": max_length, "stride": stride, "task": "token-classification",
            "scheme": teacher.meta.get("scheme", "BIO, first subword"), "packed_sentences": False,
            "distilled": {"teacher": str(teacher.folder), "teacher_kind": teacher.kind, "teacher_layers": teacher.layers,
                          "layers": config.student_layers, "alpha": config.alpha, "temperature": config.temperature,
                          "labeled_windows": n_gold, "unlabeled_sentences": len(unlabeled), **{f"unlabeled_{k}": v for k, v in text_stats.items()},
                          "unlabeled_windows": len(examples) - n_gold}}
    (out / "train_config.json").write_text(json.dumps(asdict(config), indent=2), encoding="utf-8")
    tagger = TorchTagger(model, tokenizer, labels, max_length, stride)
    n_labels = len(labels)

    def batch_loss(batch: list[int], _key: int):
        width = max(lengths[i] for i in batch)
        ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        gold = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
        soft = torch.zeros((len(batch), width, n_labels), dtype=torch.float32)
        tmask = torch.zeros((len(batch), width), dtype=torch.bool)
        for r, i in enumerate(batch):
            x, y, pos = examples[i]
            ids[r, :len(x)] = torch.tensor(x)
            mask[r, :len(x)] = 1
            gold[r, :len(y)] = torch.tensor(y)
            if pos:
                p = torch.tensor(pos)
                soft[r, p] = torch.from_numpy(teacher_logits[i].astype("float32"))
                tmask[r, p] = True
        logits = model(input_ids=ids, attention_mask=mask).logits
        return distill_loss(logits, gold, soft, tmask, config.alpha, config.temperature)[0]

    def evaluate(record: dict) -> float:
        if not dev_sets:
            return -(record["train_loss"] or 0.0)
        f1s = []
        for name, sents in dev_sets.items():
            pred = tagger.tag_words([list(s.words) for s in sents], batch_size=64)
            sc = score_entities([list(s.tags) for s in sents], pred, {t[2:] for s in sents for t in s.tags if t != "O"})
            record[name] = sc.as_dict()
            f1s.append(sc.strict["micro"].f1)
        return sum(f1s) / len(f1s)

    def save_best(record: dict) -> None:
        _save_model(model, tokenizer, {**meta, "epoch": record["epoch"], "dev": {k: record[k] for k in dev_sets}},
                    out / "best")

    def started(start_step: int) -> None:
        if on_start:
            on_start({"total": total, "examples": len(examples), "sentences": sum(map(len, train_files)),
                      "labeled_windows": n_gold, "unlabeled": len(unlabeled), "labels": labels, **text_stats,
                      "teacher_layers": teacher.layers, "teacher_kind": teacher.kind, "start_step": start_step})

    settings = LoopSettings.of(config)
    res = fit(model, settings, out, total=total,
              batches=lambda epoch: length_sorted_batches(lengths, config.batch_size, config.seed * 1000 + epoch),
              batch_loss=batch_loss, evaluate=evaluate, save_best=save_best, resume=resume, t0=t0,
              on_step=on_step, on_epoch=on_epoch, on_start=started)
    return TrainResult(str(out / "best"), res.best_score, res.best_epoch, res.history, time.perf_counter() - t0, res.steps)

