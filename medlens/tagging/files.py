"""Files of a model folder: the ONNX model, ``tokenizer.json`` and ``labels.json`` (torch-free)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future
from pathlib import Path

from medlens.runtime import default_threads
from medlens.errors import Errors, ModelError

META_FILE = "labels.json"
TOKENIZER_FILE = "tokenizer.json"
MODEL_FILES = ("model.int8.onnx", "model.onnx")
"""ONNX files of a model folder, in order of preference."""


def model_file_in(folder: Path) -> Path | None:
    """The preferred ONNX file of a model folder (:data:`MODEL_FILES`), or None if it has none."""
    return next((folder / f for f in MODEL_FILES if (folder / f).is_file()), None)


_PREFETCHED: dict[tuple[str, int], Future] = {}
_PREFETCH_LOCK = threading.Lock()


def _session_key(model_path: str | Path, threads: int | None) -> tuple[str, int]:
    return str(Path(model_path).resolve()), threads or default_threads()


def prefetch_onnx_session(model_path: str | Path, threads: int | None = None) -> None:
    """Start creating the session :func:`onnx_session` will return for these arguments, in a thread.

    ONNX Runtime releases the GIL while it reads and optimizes a model (0.2-0.4 s each for the
    shipped ones), so sessions made this way load while Python imports spaCy and builds the
    other components. The next ``onnx_session(model_path, threads)`` call takes the session (or
    raises its error); :func:`discard_prefetched` drops any that no one took.
    """
    key = _session_key(model_path, threads)
    with _PREFETCH_LOCK:
        if key in _PREFETCHED:
            return
        future: Future = Future()
        _PREFETCHED[key] = future

    def run() -> None:
        try:
            future.set_result(_create_session(model_path, threads))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller of onnx_session
            future.set_exception(exc)

    threading.Thread(target=run, name="medlens-onnx-load", daemon=True).start()


def discard_prefetched() -> None:
    """Forget prefetched sessions that no component took (waiting for those still loading)."""
    with _PREFETCH_LOCK:
        pending = list(_PREFETCHED.values())
        _PREFETCHED.clear()
    for future in pending:
        future.exception()


def onnx_session(model_path: str | Path, threads: int | None = None):
    """An ONNX Runtime CPU session with every graph optimization but :data:`DISABLED_OPTIMIZERS`,
    running operators one after another.

    Takes the session :func:`prefetch_onnx_session` started for the same file and threads, if any.

    Args:
        threads: intra-op threads (None: :func:`medlens.runtime.default_threads`).

    Raises:
        ModelError: ONNX Runtime cannot load the file.
    """
    with _PREFETCH_LOCK:
        future = _PREFETCHED.pop(_session_key(model_path, threads), None)
    if future is not None:
        return future.result()
    return _create_session(model_path, threads)


#: ONNX Runtime graph optimizations left out of every session. ``SkipLayerNormFusion`` fuses each
#: residual ``Add`` + ``LayerNormalization`` into a ``SkipLayerNormalization`` kernel that, in
#: ONNX Runtime 1.31 on CPU, takes ~7x the time of the two ops it replaces (480 x 384 floats:
#: 0.96 ms against 0.14 ms); without it the shipped BERT models run 10-12% faster per token, with
#: logits within 0.012 of the fused graph's (benchmarks/README.md, "Speed round 2").
DISABLED_OPTIMIZERS = ("SkipLayerNormFusion",)


def _create_session(model_path: str | Path, threads: int | None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = threads or default_threads()
    try:
        return ort.InferenceSession(str(model_path), sess_options=opts, providers=["CPUExecutionProvider"],
                                    disabled_optimizers=list(DISABLED_OPTIMIZERS))
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelError(Errors.E300.format(path=model_path, details=str(exc))) from exc


def load_tokenizer(path: str | Path):
    """A ``tokenizers.Tokenizer`` from ``tokenizer.json`` (a file or a folder holding it), without truncation or padding."""
    from tokenizers import Tokenizer

    p = Path(path)
    if p.is_dir():
        p = p / TOKENIZER_FILE
    if not p.is_file():
        raise ModelError(Errors.E300.format(path=p, details="no tokenizer.json"))
    tok = Tokenizer.from_file(str(p))
    tok.no_truncation()
    tok.no_padding()
    return tok


def special_ids(tokenizer) -> tuple[int, int, int]:
    """(cls, sep, pad) ids of a WordPiece tokenizer."""
    ids = [tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]")]
    if any(i is None for i in ids):
        raise ModelError(Errors.E301.format(path="tokenizer", details="it has no [CLS]/[SEP]/[PAD] tokens"))
    return ids[0], ids[1], ids[2]


def read_meta(folder: str | Path) -> dict:
    """``labels.json`` of a model folder."""
    p = Path(folder) / META_FILE
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(Errors.E301.format(path=folder, details=f"cannot read {META_FILE}: {exc}")) from exc
    if not isinstance(meta.get("labels"), list) or meta["labels"][:1] != ["O"]:
        raise ModelError(Errors.E301.format(path=folder, details=f"{META_FILE} needs 'labels' starting with 'O'"))
    return meta
