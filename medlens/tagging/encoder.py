"""Sentence embeddings with the shipped int8 ONNX encoder (torch-free).

The encoder folder (default ``medlens/assets/encoder``, all-MiniLM-L6-v2; see its
``MODEL_CARD.md``) holds ``model.int8.onnx`` (mean pooling and L2 normalization
inside the graph), ``tokenizer.json`` and ``encoder.json``. It is written by
:mod:`medlens.training.export_encoder`::

    from medlens.tagging.encoder import default_encoder

    enc = default_encoder()
    vecs = enc.encode(["it burns when I pee", "dysuria"])   # float32 [2, 384], unit length
    float(vecs[0] @ vecs[1])                                 # cosine similarity

Texts are sorted by length and run in padded batches, so a batch wastes little
on padding; the rows come back in input order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from medlens.errors import Errors, ModelError
from medlens.runtime import ENCODER_DIR
from medlens.tagging.alignment import pad_batch
from medlens.tagging.files import load_tokenizer, model_file_in, onnx_session, special_ids

META_FILE = "encoder.json"


class SentenceEncoder:
    """A mean-pooled, L2-normalized sentence encoder on ONNX Runtime.

    Args:
        folder: the encoder folder (``model.int8.onnx`` or ``model.onnx``, ``tokenizer.json``, ``encoder.json``).
        threads: ONNX Runtime intra-op threads (None: :func:`medlens.runtime.default_threads`).
        batch_size: texts per model call.

    Raises:
        ModelError: a file is missing or unreadable.
    """

    def __init__(self, folder: str | Path, threads: int | None = None, batch_size: int = 64) -> None:
        self.folder = Path(folder)
        model = model_file_in(self.folder)
        if model is None:
            raise ModelError(Errors.E300.format(path=self.folder, details="no model.int8.onnx or model.onnx in the folder"))
        try:
            self.meta = json.loads((self.folder / META_FILE).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(Errors.E300.format(path=self.folder / META_FILE, details=exc)) from exc
        self.model_path = model
        self.max_length = int(self.meta.get("max_length", 128))
        self.dim = int(self.meta.get("dim", 0)) or None
        self.batch_size = batch_size
        self.tokenizer = load_tokenizer(self.folder)
        self.cls_id, self.sep_id, self.pad_id = special_ids(self.tokenizer)
        self.session = onnx_session(model, threads)

    @property
    def fingerprint(self) -> str:
        """A short hash of the model file (size and first/last MB), for cache keys."""
        h = hashlib.sha256()
        size = self.model_path.stat().st_size
        h.update(str(size).encode())
        with self.model_path.open("rb") as fh:
            h.update(fh.read(1 << 20))
            fh.seek(max(0, size - (1 << 20)))
            h.update(fh.read(1 << 20))
        return h.hexdigest()[:16]

    def _ids(self, texts: Sequence[str]) -> list[list[int]]:
        body = self.max_length - 2
        return [[self.cls_id, *e.ids[:body], self.sep_id]
                for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def encode(self, texts: Sequence[str], progress: bool = False, desc: str = "embedding") -> np.ndarray:
        """Unit-length embeddings of ``texts`` (float32, ``[len(texts), dim]``).

        Args:
            texts: the texts.
            progress: show a progress bar (rich, on stderr) while encoding.
            desc: the progress bar's label.
        """
        if not texts:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        rows = self._ids(texts)
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
        out: np.ndarray | None = None
        bar = task = None
        if progress:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                           console=Console(stderr=True), transient=True)
            bar.start()
            task = bar.add_task(desc, total=len(order))
        for s in range(0, len(order), self.batch_size):
            idx = order[s:s + self.batch_size]
            ids, mask = pad_batch([rows[i] for i in idx], self.pad_id)
            vec = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            if out is None:
                out = np.zeros((len(rows), vec.shape[1]), dtype=np.float32)
            out[idx] = vec
            if bar is not None:
                bar.advance(task, len(idx))
        if bar is not None:
            bar.stop()
        return out


@lru_cache(maxsize=2)
def default_encoder(folder: str | None = None) -> SentenceEncoder:
    """The shipped encoder (or the one in ``folder``), loaded once per process."""
    return SentenceEncoder(folder or ENCODER_DIR)


__all__ = ["SentenceEncoder", "default_encoder"]
