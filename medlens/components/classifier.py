"""Document classification with an int8 ONNX model (no torch at inference).

The model folder (shipped: ``medlens/assets/classifier/``; any folder written by
``medlens export`` works) holds ``model.int8.onnx`` (or ``model.onnx``),
``tokenizer.json`` and ``labels.json`` (``task: text-classification``,
``labels``, ``multi_label``, ``max_length``, ``truncation``). Each document is
encoded as ``[CLS] subwords [SEP]``, cut to ``max_length`` exactly as in
training (:func:`truncate_ids`: the head, or ``head-tail``), and scored in
length-sorted batches.

In a pipeline, the component reads a note as :func:`classification_text`
gives it: the bodies of its recognized sections, without headers and title
block (the model's 128 subwords go to content); a text without recognized
sections is read whole.

The component fills spaCy's standard ``doc.cats`` with a probability per
label: softmax over the labels for single-label models (they sum to 1),
independent sigmoids for multi-label ones. The labels it predicts (the most
probable one; for multi-label models every label at or above ``threshold``)
are kept in ``doc._.categories`` (a tuple), which
:class:`medlens.results.DocumentResult` reports as ``predicted``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch

from medlens.doc import extensions
from medlens.doc.text import doc_text
from medlens.errors import ConfigError, Errors, ModelError
from medlens.runtime import CLASSIFIER_DIR
from medlens.tagging.alignment import pad_batch
from medlens.tagging.files import MODEL_FILES

DEFAULT_MODEL_DIR = CLASSIFIER_DIR
META_FILE = "labels.json"
TASK = "text-classification"
TRUNCATIONS = ("head", "head-tail")


def truncate_ids(ids: Sequence[int], budget: int, truncation: str = "head") -> list[int]:
    """Cut subword ids to ``budget``: the head, or (``head-tail``) a quarter from the head and the rest from the tail.

    Raises:
        ConfigError: unknown ``truncation`` (the accepted values are named).
    """
    if truncation not in TRUNCATIONS:
        raise ConfigError(Errors.E210.format(value=truncation, opts=", ".join(TRUNCATIONS)))
    ids = list(ids)
    if len(ids) <= budget:
        return ids
    if truncation == "head":
        return ids[:budget]
    head = budget // 4
    return ids[:head] + ids[len(ids) - (budget - head):]


#: with ``head`` truncation a long text is first tokenized only up to the last space before this many
#: characters per kept subword (whole words, so the first subwords are the same); a text whose cut
#: gives too few subwords is tokenized whole
HEAD_CHARS_PER_PIECE = 8


def _head(text: str, budget: int) -> str | None:
    """``text`` cut at a space before ``HEAD_CHARS_PER_PIECE * budget`` characters, or None if it is not longer."""
    limit = HEAD_CHARS_PER_PIECE * budget
    if len(text) <= limit:
        return None
    cut = text.rfind(" ", 0, limit)
    return text[:cut] if cut > 0 else None


def encode_documents(texts: Sequence[str], tokenizer, max_length: int, truncation: str = "head") -> list[list[int]]:
    """``[CLS] subwords [SEP]`` ids per text, truncated to ``max_length`` (training and inference share this).

    With ``head`` truncation a long text is tokenized only as far as the kept subwords reach
    (cut between words, so the ids are those of the whole text's encoding)."""
    from medlens.tagging.files import special_ids

    cls_id, sep_id, _ = special_ids(tokenizer)
    budget = max_length - 2
    texts = list(texts)
    heads = [_head(t, budget) if truncation == "head" else None for t in texts]
    encs = tokenizer.encode_batch([h if h is not None else t for t, h in zip(texts, heads)], add_special_tokens=False)
    ids = [e.ids for e in encs]
    short = [i for i, (h, x) in enumerate(zip(heads, ids)) if h is not None and len(x) < budget + 1]
    if short:  # the cut held fewer subwords than kept (+1, so the last kept word is whole): the whole text
        for i, e in zip(short, tokenizer.encode_batch([texts[i] for i in short], add_special_tokens=False)):
            ids[i] = e.ids
    return [[cls_id] + truncate_ids(x, budget, truncation) + [sep_id] for x in ids]


def read_classifier_meta(folder: str | Path) -> dict:
    """``labels.json`` of a text-classification model folder, checked.

    Raises:
        ModelError: the file is missing or unreadable, or its task, labels, ``multi_label``,
            ``max_length`` or ``truncation`` are not those of a classifier.
    """
    p = Path(folder) / META_FILE
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(Errors.E305.format(path=folder, details=f"cannot read {META_FILE}: {exc}")) from exc
    if not isinstance(meta, dict) or meta.get("task") != TASK:
        task = meta.get("task") if isinstance(meta, dict) else None
        raise ModelError(Errors.E305.format(path=folder, details=f"{META_FILE} has task {task!r}, expected '{TASK}'"))
    labels = meta.get("labels")
    if not isinstance(labels, list) or not labels or not all(isinstance(l, str) for l in labels):
        raise ModelError(Errors.E305.format(path=folder, details=f"{META_FILE} needs 'labels', a non-empty list of strings"))
    if not isinstance(meta.get("multi_label"), bool):
        raise ModelError(Errors.E305.format(path=folder, details=f"{META_FILE} needs 'multi_label' (true or false)"))
    if not isinstance(meta.get("max_length"), int) or meta["max_length"] < 3:
        raise ModelError(Errors.E305.format(path=folder, details=f"{META_FILE} needs 'max_length', an integer >= 3"))
    if meta.setdefault("truncation", "head") not in TRUNCATIONS:
        raise ModelError(Errors.E305.format(path=folder, details=f"{META_FILE} has truncation {meta['truncation']!r}; "
                                                                 f"accepted: {', '.join(TRUNCATIONS)}"))
    return meta


def find_model(path: str | Path | None = None) -> tuple[Path, dict]:
    """The ONNX file and checked ``labels.json`` of a classifier folder (or ``.onnx`` file), without loading the model.

    Args:
        path: a model folder (``model.int8.onnx`` preferred over ``model.onnx``) or an ``.onnx``
            file in one; None: the shipped :data:`DEFAULT_MODEL_DIR`.

    Raises:
        ModelError: the folder, its model, ``tokenizer.json`` or ``labels.json`` is missing (E304),
            or ``labels.json`` is not a classifier's (E305).
    """
    from medlens.tagging.files import TOKENIZER_FILE, model_file_in

    p = Path(path) if path is not None else DEFAULT_MODEL_DIR
    if p.is_dir():
        model_file = model_file_in(p)
        if model_file is None:
            raise ModelError(Errors.E304.format(path=p, details=f"no {' or '.join(MODEL_FILES)} in the folder"))
    elif p.is_file():
        model_file = p
    else:
        raise ModelError(Errors.E304.format(path=p, details="no such folder"))
    for name in (TOKENIZER_FILE, META_FILE):
        if not (model_file.parent / name).is_file():
            raise ModelError(Errors.E304.format(path=model_file.parent, details=f"no {name} in the folder"))
    return model_file, read_classifier_meta(model_file.parent)


def softmax(logits):
    """Row-wise softmax of a 2-D NumPy array (numerically stable)."""
    import numpy as np

    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(logits):
    import numpy as np

    return 1.0 / (1.0 + np.exp(-logits))


class OnnxClassifier:
    """A sequence-classification ONNX model with its tokenizer and settings.

    Args:
        model_path: the ``.onnx`` file.
        tokenizer: a ``tokenizers.Tokenizer`` (truncation and padding off).
        labels: the label of each output, in order.
        multi_label: sigmoid per label (True) or softmax over labels (False).
        max_length: subwords per document including [CLS] and [SEP].
        truncation: ``head`` or ``head-tail`` (as in training).
        threads: batches run at once, each on one ONNX Runtime thread (None:
            :func:`~medlens.runtime.default_threads`, one per core), as
            :class:`~medlens.components.transformer_ner.OnnxTagger` runs them.
        max_tokens: most positions (documents x the longest one's subwords) per ONNX Runtime
            call (at least one document); None: only ``batch_size`` limits a batch. Four
            documents of 128 subwords per call read 1.4x the subwords per CPU-second of 32
            per call (benchmarks/README.md, "Speed round 2"). The int8 model scales its
            activations per call, so a document's probabilities move in the third decimal
            with the documents batched with it (``max_tokens=1``: each document alone).
    """

    def __init__(self, model_path: str | Path, tokenizer, labels: list[str], multi_label: bool, max_length: int,
                 truncation: str = "head", threads: int | None = None, max_tokens: int | None = 512) -> None:
        from medlens.tagging.files import onnx_session, special_ids
        from medlens.tagging.parallel import ConcurrentRuns

        truncate_ids([], 1, truncation)  # validate early
        # one intra-op thread per run; parallelism comes from running batches concurrently
        self.session = onnx_session(model_path, threads=1)
        self.runs = ConcurrentRuns(threads)
        self.max_tokens = max_tokens
        self.input_names = {i.name for i in self.session.get_inputs()}
        shape = self.session.get_outputs()[0].shape
        if len(shape) != 2:
            raise ModelError(Errors.E305.format(path=model_path, details=f"its output has shape {shape}, expected (batch, labels)"))
        if isinstance(shape[-1], int) and shape[-1] != len(labels):
            raise ModelError(Errors.E305.format(path=model_path, details=f"it has {shape[-1]} outputs but labels.json names {len(labels)} labels"))
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.multi_label = multi_label
        self.max_length = max_length
        self.truncation = truncation
        self.pad_id = special_ids(tokenizer)[2]

    @classmethod
    def from_path(cls, path: str | Path, threads: int | None = None, max_tokens: int | None = 512) -> OnnxClassifier:
        """Load from a model folder (``model.int8.onnx`` preferred) or an ``.onnx`` file inside one.

        Raises:
            ModelError: the folder or a file in it is missing (E304), or it is not a classifier (E305).
        """
        from medlens.tagging.files import load_tokenizer

        model_file, meta = find_model(path)
        folder = model_file.parent
        return cls(model_file, load_tokenizer(folder), meta["labels"], meta["multi_label"], meta["max_length"],
                   meta["truncation"], threads, max_tokens)

    def batches(self, lengths: Sequence[int], batch_size: int = 32) -> list[list[int]]:
        """Document indices cut into ONNX Runtime calls: sorted by length, at most ``batch_size``
        documents and (past one document) ``max_tokens`` positions each, padding included."""
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        groups: list[list[int]] = []
        for i in order:
            cur = groups[-1] if groups else None
            if cur is None or len(cur) >= batch_size or (self.max_tokens and (len(cur) + 1) * lengths[i] > self.max_tokens):
                groups.append(cur := [])
            cur.append(i)
        return groups

    def logits_encoded(self, encoded: Sequence[Sequence[int]], batch_size: int = 32):
        """Logits ``(documents, labels)`` of pre-encoded documents (length-sorted batches run
        concurrently, see :meth:`batches`; rows in input order)."""
        import numpy as np

        out = np.zeros((len(encoded), len(self.labels)), dtype=np.float32)
        groups = self.batches([len(e) for e in encoded], batch_size)

        def run(idx: list[int]):
            ids, mask = pad_batch([encoded[i] for i in idx], self.pad_id)
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            return self.session.run(None, feeds)[0]

        for idx, logits in zip(groups, self.runs.map(run, groups)):
            out[idx] = logits
        return out

    def probabilities(self, texts: Sequence[str], batch_size: int = 32):
        """Probabilities ``(documents, labels)``: softmax rows (single-label) or sigmoids (multi-label)."""
        if not texts:
            import numpy as np

            return np.zeros((0, len(self.labels)), dtype=np.float32)
        logits = self.logits_encoded(encode_documents(texts, self.tokenizer, self.max_length, self.truncation), batch_size)
        return sigmoid(logits) if self.multi_label else softmax(logits)

    def decide(self, probs, threshold: float = 0.5) -> list[tuple[str, ...]]:
        """Predicted labels per row of ``probs``, most probable first: the top label, or (multi-label) every one >= ``threshold``."""
        out = []
        for row in probs:
            ranked = sorted(range(len(self.labels)), key=lambda j: -float(row[j]))
            if self.multi_label:
                out.append(tuple(self.labels[j] for j in ranked if row[j] >= threshold))
            else:
                out.append((self.labels[ranked[0]],))
        return out

    def predict(self, texts: Sequence[str], batch_size: int = 32, threshold: float = 0.5) -> list[tuple[str, ...]]:
        """Predicted labels of each text (one for single-label models, zero or more for multi-label)."""
        return self.decide(self.probabilities(texts, batch_size), threshold)


@Language.factory(
    "medlens_classifier",
    assigns=["doc.cats"],
    default_config={"model_path": None, "batch_size": 32, "threshold": 0.5, "threads": None, "max_tokens": 512},
)
def make_classifier(nlp: Language, name: str, model_path: str | None, batch_size: int, threshold: float,
                    threads: int | None, max_tokens: int | None) -> DocumentClassifier:
    model = OnnxClassifier.from_path(model_path or DEFAULT_MODEL_DIR, threads=threads, max_tokens=max_tokens)
    return DocumentClassifier(nlp, name=name, model=model, batch_size=batch_size, threshold=threshold)


#: a text before the first recognized header up to this long is a title block
#: ("DISCHARGE SUMMARY / Patient: ... MRN: ... Attending: ..."), not content
PREAMBLE_CHARS = 300


def classification_text(doc: Doc) -> str:
    """The text the classifier reads for ``doc``.

    The model reads its first ``max_length`` subwords (128), and it learnt from
    abstracts, which are prose. A note spends them on its title block and its
    headers ("DISCHARGE SUMMARY Patient: [REDACTED] MRN: ... CHIEF COMPLAINT:"):
    the cardiac discharge summary of ``examples/`` read whole was
    general_pathological_conditions 0.44 / cardiovascular 0.39. When
    ``doc._.sections`` holds recognized sections, the text is their bodies in
    order, without the headers and without a short title block before the first
    header (up to :data:`PREAMBLE_CHARS`; a longer one is kept); otherwise the
    whole text.
    """
    sections = doc._.sections or []
    text = doc_text(doc)
    if not any(s.category != "unknown" for s in sections):
        return text
    parts = []
    for s in sections:
        if s.category == "unknown" and not s.title:
            if s.end_char - s.start_char > PREAMBLE_CHARS:
                parts.append(text[s.start_char:s.end_char].strip())
            continue
        body = text[s.body_start_char:s.end_char].strip()
        if body:
            parts.append(body)
    return "\n".join(parts) or text


class DocumentClassifier:
    """Fills ``doc.cats`` with a document classifier's probabilities.

    Args:
        nlp: the pipeline (unused beyond the contract).
        name: component name.
        model: the loaded model (passed in; see :class:`OnnxClassifier`).
        batch_size: documents per ONNX Runtime call.
        threshold: multi-label models predict every label whose probability is at least this
            (single-label models predict the most probable label; ``doc.cats`` always holds every label).
    """

    def __init__(self, nlp: Language | None, name: str = "medlens_classifier", *, model: OnnxClassifier,
                 batch_size: int = 32, threshold: float = 0.5) -> None:
        extensions.register()
        self.name = name
        self.model = model
        self.batch_size = batch_size
        self.threshold = threshold

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.model.labels)

    def predict(self, docs: Sequence[Doc]):
        """Probabilities ``(len(docs), labels)`` (pure: writes nothing); each doc is read
        as :func:`classification_text` gives it."""
        return self.model.probabilities([classification_text(d) for d in docs], batch_size=self.batch_size)

    def set_annotations(self, docs: Sequence[Doc], probs) -> None:
        """Write ``doc.cats`` (label -> probability) and the predicted labels."""
        for doc, row, predicted in zip(docs, probs, self.model.decide(probs, self.threshold)):
            doc.cats = {label: float(p) for label, p in zip(self.model.labels, row)}
            doc._.categories = tuple(predicted)

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations([doc], self.predict([doc]))
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 64) -> Iterable[Doc]:
        """Process docs in groups of ``batch_size`` (each group scored in ``self.batch_size`` batches)."""
        for batch in minibatch(docs, size=batch_size):
            self.set_annotations(batch, self.predict(batch))
            yield from batch
