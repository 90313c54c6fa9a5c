"""Research questions over an abstract (PubMedQA style): question + context -> yes / no / maybe, with evidence.

::

    from medlens.qa.research import answer_research

    ans = answer_research("Does tamoxifen reduce recurrence in breast cancer?", abstract_text)
    ans.label, ans.probabilities        # 'yes', {'yes': 0.71, 'no': 0.21, 'maybe': 0.08}
    for ev in ans.evidence:             # the sentences that moved the decision most
        abstract_text[ev.start:ev.end]  # == ev.text

Two kinds of model answer. The default, shipped in ``medlens/assets/qa/cues.json``, is a **baseline**:
counts of result cues in the context (negation, no-effect phrases, significance, p-values, hedging) into a
logistic regression (:mod:`medlens.qa.cues`, model name ``cues-logreg-v1``; 57.0 % accuracy, macro-F1
36.8 in 5-fold CV on the 500 PubMedQA questions, barely above the majority class, 55.2 %: see
``medlens/assets/qa/MODEL_CARD.md``). It reads the context, not the question. ``model_dir`` may instead
point to a cross-encoder (``[CLS] question [SEP] context [SEP]``, see :mod:`medlens.qa.pairs`) trained by
``medlens train qa`` and exported to int8 ONNX by ``medlens export`` (a folder with ``labels.json``
saying ``input: question-context``), or to another cue-model folder (a ``cues.json``). The kind is
decided by the files present: ``cues.json`` -> cue model, else the cross-encoder files. Cross-encoders run
on ONNX Runtime with the ``tokenizers`` library (no torch); every model is loaded once per process and folder.

Evidence of a cross-encoder is found by leaving one sentence out: the context is split into sentences
(:func:`medlens.qa.pairs.split_sentences`), the pair is scored again without each sentence, and a
sentence counts as evidence when removing it lowers the probability of the answer. Evidence of the cue
model: the sentences carrying cues, scored by how much the answer's probability drops when the sentence's
cue matches are taken out of the counts. Either way the (at most :data:`MAX_EVIDENCE`) sentences with the
largest drops are returned, strongest first, with ``weight`` = their drop relative to the largest one
(1.0 for the strongest).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from medlens.errors import Errors, InputError, ModelError
from medlens.qa.cues import MODEL_FILE as CUE_MODEL_FILE
from medlens.qa.cues import CueModel, read_cue_model
from medlens.qa.models import Evidence, ResearchAnswer
from medlens.qa.pairs import LABELS, QUESTION_MAX, encode_pairs, split_sentences
from medlens.runtime import ASSETS

QA_DIR = ASSETS / "qa"
MAX_QUESTION_CHARS = 1_000
MAX_CONTEXT_CHARS = 20_000
MAX_EVIDENCE = 3
PAIR_INPUT = "question-context"


@dataclass
class ResearchModel:
    """A loaded research-question cross-encoder (ONNX session, tokenizer and ``labels.json`` settings)."""

    folder: Path
    session: object
    tokenizer: object
    labels: list[str]
    max_length: int
    question_max: int
    maybe_margin: float
    temperature: float
    name: str
    pad_id: int

    def probabilities(self, questions: Sequence[str], contexts: Sequence[str], batch_size: int = 16):
        """Probabilities ``[n, len(LABELS)]`` (columns in :data:`medlens.qa.pairs.LABELS` order) of each pair."""
        import numpy as np

        from medlens.components.classifier import softmax
        from medlens.tagging.alignment import pad_batch

        enc = encode_pairs(questions, contexts, self.tokenizer, self.max_length, self.question_max)
        logits = np.zeros((len(enc), len(self.labels)), dtype=np.float32)
        order = sorted(range(len(enc)), key=lambda i: len(enc[i]))
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            ids, mask = pad_batch([enc[i] for i in idx], self.pad_id)
            logits[idx] = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        probs = softmax(logits / self.temperature)
        return probs[:, [self.labels.index(l) for l in LABELS]]


def _read_meta(folder: Path) -> dict:
    try:
        meta = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(Errors.E346.format(path=folder, details=f"cannot read labels.json: {exc}")) from exc
    if not isinstance(meta, dict) or meta.get("input") != PAIR_INPUT:
        raise ModelError(Errors.E346.format(path=folder, details=f"labels.json has no 'input': '{PAIR_INPUT}' "
                                                                 "(a document classifier is not a question-answering model)"))
    if sorted(meta.get("labels") or []) != sorted(LABELS):
        raise ModelError(Errors.E346.format(path=folder, details=f"labels {meta.get('labels')!r}, expected {list(LABELS)}"))
    if not isinstance(meta.get("max_length"), int) or meta["max_length"] < 8:
        raise ModelError(Errors.E346.format(path=folder, details="labels.json needs 'max_length', an integer >= 8"))
    return meta


_CACHE: dict[str, ResearchModel | CueModel] = {}
_LOCK = threading.Lock()


def load_research_model(model_dir: str | Path | None = None, threads: int | None = None) -> ResearchModel | CueModel:
    """The model in ``model_dir`` (default: the shipped ``medlens/assets/qa``, the cue model), loaded once per
    folder: a :class:`~medlens.qa.cues.CueModel` when the folder has a ``cues.json``, else a cross-encoder.

    Raises:
        ModelError: the folder, its model or tokenizer is missing (E345), or it is not a
            research-question model (E346).
    """
    from medlens.tagging.files import TOKENIZER_FILE, load_tokenizer, model_file_in, onnx_session, special_ids

    folder = Path(model_dir) if model_dir is not None else QA_DIR
    key = str(folder.resolve())
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        if not folder.is_dir():
            raise ModelError(Errors.E345.format(path=folder, details="no such folder"))
        if (folder / CUE_MODEL_FILE).is_file():
            cue_model = read_cue_model(folder / CUE_MODEL_FILE)
            _CACHE[key] = cue_model
            return cue_model
        model_file = model_file_in(folder)
        if model_file is None:
            raise ModelError(Errors.E345.format(path=folder, details=f"no {CUE_MODEL_FILE}, model.int8.onnx or model.onnx in the folder"))
        if not (folder / TOKENIZER_FILE).is_file():
            raise ModelError(Errors.E345.format(path=folder, details=f"no {TOKENIZER_FILE} in the folder"))
        meta = _read_meta(folder)
        tokenizer = load_tokenizer(folder)
        model = ResearchModel(folder=folder, session=onnx_session(model_file, threads), tokenizer=tokenizer,
                              labels=list(meta["labels"]), max_length=meta["max_length"],
                              question_max=int(meta.get("question_max", QUESTION_MAX)),
                              maybe_margin=float(meta.get("maybe_margin", 0.0)),
                              temperature=float(meta.get("temperature", 1.0)) or 1.0,
                              name=str(meta.get("name", f"medlens-qa ({folder.name})")), pad_id=special_ids(tokenizer)[2])
        _CACHE[key] = model
        return model


def _check_text(value, what: str, limit: int, empty_code: str) -> str:
    if not isinstance(value, str):
        raise InputError(Errors.E344.format(what=f"The {what}", expected="a string", type=type(value).__name__))
    if not value.strip():
        raise InputError(getattr(Errors, empty_code))
    if len(value) > limit:
        raise InputError(Errors.E343.format(what=what, size=f"{len(value):,}", limit=f"{limit:,}"))
    return value


def _passages(context) -> list[str]:
    if isinstance(context, str):
        passages = [context]
    elif isinstance(context, (list, tuple)):
        if not all(isinstance(p, str) for p in context):
            bad = next(p for p in context if not isinstance(p, str))
            raise InputError(Errors.E344.format(what="Each context passage", expected="a string", type=type(bad).__name__))
        passages = list(context)
    else:
        raise InputError(Errors.E344.format(what="The context", expected="a string or a list of strings",
                                            type=type(context).__name__))
    if not any(p.strip() for p in passages):
        raise InputError(Errors.E342)
    size = sum(len(p) for p in passages)
    if size > MAX_CONTEXT_CHARS:
        raise InputError(Errors.E343.format(what="context", size=f"{size:,}", limit=f"{MAX_CONTEXT_CHARS:,}"))
    return passages


def decide(probs: dict[str, float], maybe_margin: float = 0.0) -> str:
    """The answer: the most probable label, or ``maybe`` when yes and no are within ``maybe_margin``."""
    best = max(LABELS, key=lambda l: probs[l])
    if best != "maybe" and maybe_margin > 0 and abs(probs["yes"] - probs["no"]) < maybe_margin:
        return "maybe"
    return best


def answer_research(question: str, context: str | list[str], *, model_dir=None) -> ResearchAnswer:
    """Answer a research question over a context with yes / no / maybe and the sentences that support it.

    Args:
        question: the question (at most :data:`MAX_QUESTION_CHARS` characters).
        context: the abstract (a string), or its passages (a list of strings, e.g. PubMedQA's
            ``CONTEXTS``; they are read joined by spaces). At most :data:`MAX_CONTEXT_CHARS` characters.
        model_dir: a model folder (``model.int8.onnx``, ``tokenizer.json``, ``labels.json``) instead of
            the shipped one.

    Returns:
        The label, the probability of each label (summing to 1) and the evidence sentences. Evidence
        offsets ``start``/``end`` slice the context string; for a list of passages they slice the
        passage whose index is the evidence's ``doc_id`` (``"0"``, ``"1"``, ...).

    Raises:
        InputError: the question or context is empty (E340, E342), too long (E343) or not text (E344).
        ModelError: no model at ``model_dir`` (E345) or not a research-question model (E346).
    """
    question = _check_text(question, "question", MAX_QUESTION_CHARS, "E340").strip()
    passages = _passages(context)
    model = load_research_model(model_dir)
    # the sentences, each with the passage it is in
    sentences: list[tuple[int, int, int]] = [(p, s, e) for p, text in enumerate(passages) for s, e in split_sentences(text)]
    full = " ".join(p.strip() for p in passages if p.strip())
    if isinstance(model, CueModel):
        return _answer_with_cues(model, question, context, passages, sentences, full)
    variants = [full]
    for k in range(len(sentences)):
        variants.append(" ".join(passages[p][s:e] for j, (p, s, e) in enumerate(sentences) if j != k) or ".")
    probs = model.probabilities([question] * len(variants), variants)
    answer = {l: float(probs[0, i]) for i, l in enumerate(LABELS)}
    label = decide(answer, model.maybe_margin)
    col = LABELS.index(label)
    drops = [(float(probs[0, col] - probs[k + 1, col]), k) for k in range(len(sentences)) if len(sentences) > 1]
    drops = sorted((d for d in drops if d[0] > 0), reverse=True)[:MAX_EVIDENCE]
    evidence = []
    for drop, k in drops:
        p, s, e = sentences[k]
        evidence.append(Evidence(kind="sentence", text=passages[p][s:e], start=s, end=e,
                                 doc_id=str(p) if not isinstance(context, str) else None,
                                 weight=round(drop / drops[0][0], 4), provenance="leave-one-sentence-out"))
    if len(sentences) == 1 and sentences:  # one sentence: it is all the evidence there is
        p, s, e = sentences[0]
        evidence.append(Evidence(kind="sentence", text=passages[p][s:e], start=s, end=e,
                                 doc_id=str(p) if not isinstance(context, str) else None, weight=1.0,
                                 provenance="the whole context"))
    return ResearchAnswer(question=question, label=label, probabilities={l: round(v, 6) for l, v in answer.items()},
                          evidence=evidence, model=model.name)


def _answer_with_cues(model: CueModel, question: str, context, passages: list[str],
                      sentences: list[tuple[int, int, int]], full: str) -> ResearchAnswer:
    """The cue model's answer; evidence = the sentences whose cues pushed the answer most (see the module doc)."""
    answer = model.probabilities(full if not isinstance(context, str) else context)
    label = decide(answer, model.maybe_margin)
    texts = [passages[p][s:e] for p, s, e in sentences]
    tail = set(range(max(0, len(sentences) - model.tail), len(sentences)))
    drops = model.sentence_drops(full if not isinstance(context, str) else context, texts, tail, label)
    best = sorted(((d, k) for k, (d, _) in enumerate(drops) if d > 0), reverse=True)[:MAX_EVIDENCE]
    evidence = []
    for drop, k in best:
        p, s, e = sentences[k]
        evidence.append(Evidence(kind="sentence", text=texts[k], start=s, end=e,
                                 doc_id=str(p) if not isinstance(context, str) else None,
                                 weight=round(drop / best[0][0], 4), provenance="cues: " + ", ".join(drops[k][1])))
    return ResearchAnswer(question=question, label=label, probabilities={l: round(v, 6) for l, v in answer.items()},
                          evidence=evidence, model=model.name)


__all__ = ["QA_DIR", "ResearchModel", "answer_research", "load_research_model"]
