"""The training loop shared by NER, document classification and MLM pretraining.

:func:`fit` owns what every fine-tuning run here does the same way: AdamW
(no decay on biases and norms) with linear warm-up and decay over every
epoch's steps, gradient clipping, a smoothed loss for the progress bar,
evaluation after every epoch, the best epoch saved, early stopping, and the
full resumable state (model, optimizer, scheduler, epoch, batch, step, best
score, history, random states) written to ``output/train_state.pt`` every
``checkpoint_every`` steps and at every epoch end. The task supplies the
batches, the loss of a batch, the evaluation and how to save the best model.

Needs the ``train`` extra (torch); imports it only when called.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

STATE_FILE = "train_state.pt"


@dataclass
class LoopSettings:
    """Optimisation and bookkeeping settings of :func:`fit` (the task configs carry the same names).

    Args:
        epochs: maximum epochs.
        lr: peak AdamW learning rate.
        weight_decay: AdamW weight decay (not applied to biases and norm weights).
        warmup: fraction of the steps spent warming up linearly.
        patience: stop after this many epochs without a better score (0 = never stop early).
        checkpoint_every: save the resumable state every this many steps (0 = only at epoch ends).
        max_steps: stop after this many steps in total, saving the state as an interruption would.
        group_lr: peak learning rates of the parameters whose name starts with a prefix
            (``{"classifier.": 5e-4}``); the others get ``lr``. Same warm-up and decay.
    """

    epochs: int
    lr: float
    weight_decay: float = 0.01
    warmup: float = 0.06
    patience: int = 0
    checkpoint_every: int = 500
    max_steps: int | None = None
    group_lr: dict[str, float] | None = None

    @classmethod
    def of(cls, config, **overrides) -> "LoopSettings":
        """The settings a task config carries under the same names (``epochs``, ``lr``, ``weight_decay``,
        ``warmup``, ``patience``, ``checkpoint_every``, ``max_steps``; a config without one of the optional
        ones keeps this class's default), with ``overrides`` replacing any of them."""
        names = ("epochs", "lr", "weight_decay", "warmup", "patience", "checkpoint_every", "max_steps")
        values = {n: getattr(config, n) for n in names if hasattr(config, n)}
        values.update(overrides)
        return cls(**values)


@dataclass
class LoopResult:
    """Best score and epoch (1-based, -1 if none finished), the per-epoch history and the steps taken."""

    best_score: float
    best_epoch: int
    history: list[dict]
    steps: int


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's random generators."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def start_run(config) -> Path:
    """What every training run does first: create ``config.output``, give torch ``config.threads`` threads (when
    set) and seed every random generator with ``config.seed``.

    Args:
        config: a task config with ``output``, ``threads`` and ``seed``.

    Returns:
        The output folder.
    """
    import torch

    out = Path(config.output)
    out.mkdir(parents=True, exist_ok=True)
    if config.threads:
        torch.set_num_threads(config.threads)
    seed_everything(config.seed)
    return out


def fit(model, settings: LoopSettings, output: Path, *, total: int,
        batches: Callable[[int], list[list[int]]],
        batch_loss: Callable[[list[int], int], object],
        evaluate: Callable[[dict], float],
        save_best: Callable[[dict], None],
        resume: bool = False, t0: float | None = None,
        on_step: Callable[[dict], None] | None = None,
        on_epoch: Callable[[dict], None] | None = None,
        on_start: Callable[[int], None] | None = None) -> LoopResult:
    """Train ``model`` with AdamW, evaluating, checkpointing and stopping early.

    Args:
        model: a torch module in training mode.
        settings: the optimisation settings.
        output: folder of ``train_state.pt`` and ``history.json``.
        total: steps the learning-rate schedule spans (steps per epoch x epochs).
        batches: ``epoch -> batches of example indices`` (must be deterministic, for resuming).
        batch_loss: ``(batch, key) -> loss tensor``; ``key`` is unique per (epoch, batch) for
            deterministic per-batch randomness (e.g. masking).
        evaluate: fills the epoch record (``{"epoch", "step", "train_loss", "seconds"}``) with
            dev scores and returns the score to maximise.
        save_best: called with the record of every epoch that beats the best score so far.
        resume: continue from ``output/train_state.pt`` if it exists.
        t0: start time of the run (for ``seconds`` in the records).
        on_step: called after every step with ``{"step", "total", "epoch", "loss", "batch_loss", "lr"}``.
        on_epoch: called after every epoch with its record.
        on_start: called once with the step the run starts at (0, or where it resumes).

    Returns:
        The best score and epoch, the history and the number of steps taken in total.
    """
    import torch

    t0 = time.perf_counter() if t0 is None else t0
    no_decay = ("bias", "LayerNorm.weight", "layernorm", "norm.weight")
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    group_lr = settings.group_lr or {}

    def peak_lr(name: str) -> float:
        return next((lr for prefix, lr in group_lr.items() if name.startswith(prefix)), settings.lr)

    groups = []
    for lr in dict.fromkeys([settings.lr, *group_lr.values()]):
        mine = [(n, p) for n, p in named if peak_lr(n) == lr]
        groups += [
            {"params": [p for n, p in mine if not any(k in n for k in no_decay)], "weight_decay": settings.weight_decay,
             "lr": lr},
            {"params": [p for n, p in mine if any(k in n for k in no_decay)], "weight_decay": 0.0, "lr": lr},
        ]
    groups = [g for g in groups if g["params"]]
    optimizer = torch.optim.AdamW(groups, lr=settings.lr)
    warm = max(1, int(settings.warmup * total))

    def schedule(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (total - step) / max(1, total - warm))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    start_epoch, start_batch, step = 0, 0, 0
    best_score, best_epoch, bad_epochs = -float("inf"), -1, 0
    history: list[dict] = []
    state_path = output / STATE_FILE
    if resume and state_path.exists():
        state = torch.load(state_path, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch, start_batch, step = state["epoch"], state["batch"], state["step"]
        best_score, best_epoch, bad_epochs = state["best_score"], state["best_epoch"], state["bad_epochs"]
        history = state["history"]
        torch.set_rng_state(state["torch_rng"])
        random.setstate(state["py_rng"])

    def save_state(epoch: int, batch: int) -> None:
        tmp = state_path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "epoch": epoch, "batch": batch, "step": step, "best_score": best_score, "best_epoch": best_epoch,
                    "bad_epochs": bad_epochs, "history": history, "torch_rng": torch.get_rng_state(),
                    "py_rng": random.getstate()}, tmp)
        os.replace(tmp, state_path)

    if on_start:
        on_start(step)
    for epoch in range(start_epoch, settings.epochs):
        epoch_batches = batches(epoch)
        model.train()
        running = None
        for b in range(start_batch if epoch == start_epoch else 0, len(epoch_batches)):
            if settings.max_steps is not None and step >= settings.max_steps:
                save_state(epoch, b)  # as if interrupted here: resume=True continues with batch b
                return LoopResult(best_score, best_epoch, history, step)
            loss = batch_loss(epoch_batches[b], epoch * 1_000_003 + b)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
            if on_step:
                on_step({"step": step, "total": total, "epoch": epoch + 1, "loss": running, "batch_loss": loss.item(),
                         "lr": scheduler.get_last_lr()[0]})
            if settings.checkpoint_every and step % settings.checkpoint_every == 0:
                save_state(epoch, b + 1)
        record: dict = {"epoch": epoch + 1, "step": step, "train_loss": running,
                        "seconds": round(time.perf_counter() - t0, 1)}
        score = evaluate(record)
        model.train()
        record["score"] = score
        history.append(record)
        if score > best_score:
            best_score, best_epoch, bad_epochs = score, epoch + 1, 0
            save_best(record)
        else:
            bad_epochs += 1
        if on_epoch:
            on_epoch(record)
        save_state(epoch + 1, 0)
        (output / "history.json").write_text(json.dumps(history, indent=2), encoding="utf-8")
        if settings.patience and bad_epochs >= settings.patience:
            break
    return LoopResult(best_score, best_epoch, history, step)
