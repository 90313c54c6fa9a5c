"""The relation model at run time: int8 ONNX + ``tokenizers``, no torch.

A model folder (``medlens/assets/relations/`` or an export of ``medlens export``) holds
``model.int8.onnx`` (or ``model.onnx``), ``tokenizer.json`` and ``labels.json``
(``task: relations``: predicate, marker, window, features, decision threshold). The ONNX
graph is the whole trained network (:mod:`medlens.training.relations`): it takes the
arrays of :func:`medlens.relations.encoding.collate` and returns one logit per candidate pair.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from medlens.errors import Errors, ModelError
from medlens.relations.encoding import (
    FEATURES,
    DocumentInputs,
    Mention,
    collate,
    encode_document,
    hypernym_filter,
)
from medlens.relations.stacker import STACKER_FILE, Stacker
from medlens.tagging.files import (
    META_FILE,
    MODEL_FILES,
    load_tokenizer,
    model_file_in,
    onnx_session,
    special_ids,
)

RELATION_TASK = "relations"


@dataclass(frozen=True, slots=True)
class PairScore:
    """A candidate pair of a document and its probability.

    Attributes:
        head_id / tail_id: the concept ids.
        score: the model's probability (0..1).
        head_mention / tail_mention: indices (into the mentions given) of the two mentions written
            nearest each other, one of each concept.
    """

    head_id: str
    tail_id: str
    score: float
    head_mention: int
    tail_mention: int


def read_relation_meta(folder: str | Path) -> dict:
    """``labels.json`` of a relation model folder.

    Raises:
        ModelError: E308 when it is missing or not a relation model's.
    """
    p = Path(folder) / META_FILE
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(Errors.E308.format(path=folder, details=f"cannot read {META_FILE}: {exc}")) from exc
    if meta.get("task") != RELATION_TASK:
        raise ModelError(Errors.E308.format(path=folder, details=f"{META_FILE} has task {meta.get('task')!r}, not "
                                                                 f"{RELATION_TASK!r}"))
    if list(meta.get("features", [])) != list(FEATURES):
        raise ModelError(Errors.E308.format(path=folder, details=f"its features {meta.get('features')} are not this "
                                                                 f"medlens version's {list(FEATURES)}"))
    return meta


class RelationModel:
    """A relation model: encodes documents with their mentions and scores every candidate pair.

    Args:
        session: an ONNX Runtime session of the exported network.
        tokenizer: the model's ``tokenizers.Tokenizer``.
        meta: its ``labels.json``.
        max_pieces: most subwords (windows x width) per ONNX Runtime call; documents are batched up to it.
        stacker: a :class:`~medlens.relations.stacker.Stacker` re-scoring the pairs (None: the network's
            probabilities are the scores).
    """

    def __init__(self, session, tokenizer, meta: dict, max_pieces: int = 2048, stacker=None) -> None:
        self.session = session
        self.stacker = stacker
        self.tokenizer = tokenizer
        self.meta = meta
        self.max_pieces = max_pieces
        self.cls_id, self.sep_id, self.pad_id = special_ids(tokenizer)
        self.marker_id = tokenizer.token_to_id(meta["marker"])
        if self.marker_id is None:
            raise ModelError(Errors.E308.format(path="tokenizer.json", details=f"no token for the marker {meta['marker']!r}"))
        self.input_names = [i.name for i in session.get_inputs()]

    @classmethod
    def from_path(cls, path: str | Path, threads: int | None = None, max_pieces: int = 2048,
                  stacker: bool = True) -> RelationModel:
        """Load a model folder (``model.int8.onnx`` preferred; its ``stacker.json`` too unless ``stacker=False``).

        Raises:
            ModelError: E300 when the folder has no ONNX model, E308 when it is not a relation model,
                E1100 when its stacker cannot be read.
        """
        folder = Path(path)
        model_file = model_file_in(folder) if folder.is_dir() else None
        if model_file is None:
            raise ModelError(Errors.E300.format(path=folder, details=f"no {' or '.join(MODEL_FILES)} in the folder"))
        meta = read_relation_meta(folder)
        stack = None
        if stacker and (folder / STACKER_FILE).is_file():
            stack = Stacker.from_path(folder / STACKER_FILE)
        return cls(onnx_session(model_file, threads), load_tokenizer(folder), meta, max_pieces=max_pieces,
                   stacker=stack)

    @property
    def threshold(self) -> float:
        """The decision threshold: the stacker's when there is one, else the network's."""
        if self.stacker is not None:
            return self.stacker.threshold
        return self.network_threshold

    @property
    def network_threshold(self) -> float:
        return float(self.meta.get("threshold", 0.5))

    @property
    def predicate(self) -> str:
        return str(self.meta.get("predicate", "induces"))

    def encode(self, text: str, mentions: Sequence[Mention], sentences: Sequence[tuple[int, int]] | None = None,
               title_end: int | None = None) -> DocumentInputs:
        """One document's inputs (:func:`~medlens.relations.encoding.encode_document` with the model's settings)."""
        return encode_document(self.tokenizer, text, mentions, marker_id=self.marker_id, cls_id=self.cls_id,
                               sep_id=self.sep_id, max_length=self.meta["max_length"], stride=self.meta["stride"],
                               head_kind=self.meta.get("head_kind", "chemical"),
                               tail_kind=self.meta.get("tail_kind", "disease"), title_end=title_end, sentences=sentences)

    def logits(self, encoded: Sequence[DocumentInputs]):
        """Logits of every pair of these documents (in order), in one ONNX Runtime call."""
        feeds = collate(encoded, self.pad_id)
        return self.session.run(None, {name: feeds[name] for name in self.input_names})[0]

    def score(self, encoded: Sequence[DocumentInputs]) -> list[list[float]]:
        """The probability of every candidate pair of each document."""
        out: list[list[float]] = [[] for _ in encoded]
        todo = [i for i, e in enumerate(encoded) if e.pairs]
        batch: list[int] = []
        pieces = 0

        def flush() -> None:
            if not batch:
                return
            logits = self.logits([encoded[i] for i in batch]).tolist()
            k = 0
            for i in batch:
                n = len(encoded[i].pairs)
                out[i] = [1.0 / (1.0 + math.exp(-x)) for x in logits[k:k + n]]
                k += n
            batch.clear()

        for i in sorted(todo, key=lambda i: encoded[i].n_pieces):
            if batch and pieces + encoded[i].n_pieces > self.max_pieces:
                flush()
                pieces = 0
            batch.append(i)
            pieces += encoded[i].n_pieces
        flush()
        return out

    def final_scores(self, texts: Sequence[str], encoded: Sequence[DocumentInputs],
                     trees: dict[str, Sequence[str]] | None = None) -> list[list[float]]:
        """The score of every pair of each document: the stacker's re-score of the network's probability
        when the model has a stacker (without a network pass when the stacker reads the text alone), else
        the network's probability."""
        if self.stacker is None:
            return self.score(encoded)
        if not self.stacker.uses_network:  # the stacker reads the text alone: no network pass
            return [self.stacker.rescore(text, enc, None, trees) for text, enc in zip(texts, encoded)]
        probs = self.score(encoded)
        return [self.stacker.rescore(text, enc, p, trees) for text, enc, p in zip(texts, encoded, probs)]

    def predict(self, encoded: Sequence[DocumentInputs], threshold: float | None = None,
                trees: dict[str, Sequence[str]] | None = None,
                texts: Sequence[str] | None = None,
                feature_trees: dict[str, Sequence[str]] | None = None) -> list[list[PairScore]]:
        """The pairs of each document at or above ``threshold`` (default: the model's), best first.

        Args:
            encoded: documents from :meth:`encode`.
            threshold: decision threshold on the score.
            trees: MeSH tree numbers by disease id: drop a pair whose disease is an ancestor of another
                found disease of the same head (:func:`~medlens.relations.encoding.hypernym_filter`);
                the stacker reads them too.
            texts: the documents' texts; the stacker needs them (without them, or without a stacker, the
                network's probabilities and threshold decide).
            feature_trees: the tree numbers the stacker reads (default: ``trees``), so that it reads them
                also when the hypernym filter is off.
        """
        if self.stacker is not None and texts is not None:
            scores = self.final_scores(texts, encoded, feature_trees if feature_trees is not None else trees)
            default = self.threshold
        else:
            scores = self.score(encoded)
            default = self.network_threshold
        th = default if threshold is None else threshold
        result = []
        for enc, probs in zip(encoded, scores):
            found = [PairScore(enc.entities[h].id, enc.entities[t].id, p, *enc.closest[k])
                     for k, ((h, t), p) in enumerate(zip(enc.pairs, probs)) if p >= th]
            if trees:
                drop = hypernym_filter([(f.head_id, f.tail_id) for f in found], trees)
                found = [f for f in found if (f.head_id, f.tail_id) not in drop]
            result.append(sorted(found, key=lambda f: -f.score))
        return result
