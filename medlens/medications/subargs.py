"""Drug-conditioned sub-argument tagger: the dosage, route, frequency and duration of one drug.

PHEE annotates a Dosage, Route, Freq or Duration only for the treatment of an
annotated event, so the same words are a sub-argument in one sentence and not in
the next (benchmarks/README.md, "Medications round 3"). This tagger reads a
sentence with one drug mention marked (``[unused0]`` before it, ``[unused1]``
after it, inserted as token ids, never as text) and tags only that drug's
sub-arguments (BIO over every subword, so a span may end inside a word as PHEE's
do). One pass per drug; the spans of all passes are joined and tidied with
:func:`medlens.medications.ade.tidy_spans`.

    >>> tagger = SubArgumentTagger.from_path("medlens/assets/ade_subargs")      # doctest: +SKIP
    >>> tagger.predict("She took 40 mg of prednisone orally daily.", [(18, 28)])  # doctest: +SKIP
    {('DOSAGE', 9, 14), ('ROUTE', 29, 35), ('FREQ', 36, 41)}
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from medlens.errors import Errors, InputError, ModelError

SUB_LABELS = ("DOSAGE", "ROUTE", "FREQ", "DURATION")
#: Output classes of the tagger: O, then B-/I- of each sub-argument type.
LABELS = ("O", *(f"{p}-{t}" for t in SUB_LABELS for p in ("B", "I")))
MARK_OPEN, MARK_CLOSE = "[unused0]", "[unused1]"

Span = tuple[str, int, int]


def mark_drug(tokenizer, text: str, drug: tuple[int, int], max_length: int = 160,
              spans: Iterable[Span] | None = None) -> tuple[list[int], list[tuple[int, int] | None], list[int] | None]:
    """Token ids of ``text`` with the drug marked, the character offsets of each position, and labels.

    Args:
        tokenizer: a ``tokenizers.Tokenizer`` whose vocabulary has ``[unused0]``, ``[unused1]``, ``[CLS]``, ``[SEP]``.
        text: the sentence.
        drug: (start, end) of the drug mention in ``text``.
        max_length: most positions; a longer sentence keeps a window around the drug.
        spans: the drug's gold sub-arguments (label, start, end) to make training labels from, or None.

    Returns:
        (ids, offsets, labels): offsets are None for [CLS], [SEP] and the markers; labels (class index,
        -100 where no label is learned) only when ``spans`` is given.

    Raises:
        InputError: the drug span is not inside the text, or the tokenizer lacks the marker tokens.
    """
    start, end = drug
    if not (0 <= start < end <= len(text)):
        raise InputError(Errors.E1180.format(start=start, end=end, length=len(text)))
    special = [tokenizer.token_to_id(t) for t in (MARK_OPEN, MARK_CLOSE, "[CLS]", "[SEP]")]
    if any(i is None for i in special):
        raise InputError(Errors.E1181.format(tokens=f"{MARK_OPEN}, {MARK_CLOSE}, [CLS], [SEP]"))
    m0, m1, cls, sep = special
    enc = tokenizer.encode(text, add_special_tokens=False)
    ids: list[int] = [cls]
    offs: list[tuple[int, int] | None] = [None]
    opened = closed = False
    for tid, (a, b) in zip(enc.ids, enc.offsets):
        if not opened and a >= start:
            ids.append(m0), offs.append(None)
            opened = True
        if opened and not closed and a >= end:
            ids.append(m1), offs.append(None)
            closed = True
        ids.append(tid), offs.append((a, b))
    if not opened:
        ids.append(m0), offs.append(None)
    if not closed:
        ids.append(m1), offs.append(None)
    ids.append(sep), offs.append(None)
    labels = None
    if spans is not None:
        index = {lab: i for i, lab in enumerate(LABELS)}
        labels = [-100 if o is None else 0 for o in offs]
        for lab, s, e in spans:
            inside = [i for i, o in enumerate(offs) if o is not None and o[0] < e and o[1] > s]
            for k, i in enumerate(inside):
                labels[i] = index[("B-" if k == 0 else "I-") + lab]
    if len(ids) > max_length:
        m = ids.index(m0)
        lo = max(1, min(m - max_length // 2, len(ids) - max_length + 1))
        keep = [0, *range(lo, min(lo + max_length - 2, len(ids) - 1)), len(ids) - 1]
        ids, offs = [ids[i] for i in keep], [offs[i] for i in keep]
        if labels is not None:
            labels = [labels[i] for i in keep]
    return ids, offs, labels


def decode_tags(offsets: Sequence[tuple[int, int] | None], tags: Sequence[int]) -> list[Span]:
    """Spans from per-position class indices: a B- or a change of type starts a span, an O or a marker ends it."""
    spans: list[list] = []
    cur: list | None = None
    for o, t in zip(offsets, tags):
        lab = LABELS[t]
        if o is None or lab == "O":
            cur = None
            continue
        kind = lab[2:]
        if lab.startswith("B-") or cur is None or cur[0] != kind:
            cur = [kind, o[0], o[1]]
            spans.append(cur)
        else:
            cur[2] = o[1]
    return [(k, a, b) for k, a, b in spans]


def snap_to_words(text: str, spans: Iterable[Span]) -> list[Span]:
    """Spans widened to whole words: a span that starts or ends inside a run of letters and digits takes the
    whole run ("dinit" -> "dinitrate", "i.v" stays, "mg/kg" stays)."""
    out = []
    for lab, s, e in spans:
        while 0 < s < len(text) and text[s - 1].isalnum() and text[s].isalnum():
            s -= 1
        while 0 < e < len(text) and text[e - 1].isalnum() and text[e].isalnum():
            e += 1
        out.append((lab, s, e))
    return out


def training_examples(sentences) -> list[tuple[str, tuple[int, int], list[Span]]]:
    """(text, drug span, the sub-arguments of the events whose treatment names that drug) per drug mention.

    Args:
        sentences: :class:`medlens.medications.phee.PheeSentence` objects.
    """
    from medlens.medications.phee import flatten_spans

    out = []
    for s in sentences:
        per: dict[tuple[int, int], set[Span]] = {}
        for ev in s.events:
            subs = [a for a in ev.arguments if a[0] in SUB_LABELS]
            for lab, a, b in ev.arguments:
                if lab == "DRUG":
                    per.setdefault((a, b), set()).update(subs)
        out += [(s.text, d, flatten_spans(list(subs))) for d, subs in sorted(per.items())]
    return out


class SubArgumentTagger:
    """The int8 ONNX sub-argument tagger (:func:`mark_drug` input, :data:`LABELS` output).

    Args:
        model_path: the ``.onnx`` file.
        tokenizer: its ``tokenizers.Tokenizer``.
        max_length: most positions per pass.
        batch_size: passes per ONNX Runtime call.
        whole_words: widen each span to whole words (:func:`snap_to_words`).
    """

    def __init__(self, model_path: str | Path, tokenizer, max_length: int = 160, batch_size: int = 32,
                 whole_words: bool = True) -> None:
        from medlens.tagging.files import onnx_session

        self.session = onnx_session(model_path, threads=1)
        self.input_names = {i.name for i in self.session.get_inputs()}
        n_out = self.session.get_outputs()[0].shape[-1]
        if isinstance(n_out, int) and n_out != len(LABELS):
            raise ModelError(Errors.E301.format(path=model_path, details=f"it has {n_out} outputs, a sub-argument tagger has {len(LABELS)}"))
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size
        self.whole_words = whole_words

    @classmethod
    def from_path(cls, folder: str | Path, **options) -> SubArgumentTagger:
        """Load from a folder with ``model.int8.onnx`` (or ``model.onnx``), ``tokenizer.json`` and ``labels.json``."""
        from medlens.tagging.files import load_tokenizer, model_file_in, read_meta

        folder = Path(folder)
        model_file = model_file_in(folder) if folder.is_dir() else None
        if model_file is None:
            raise ModelError(Errors.E300.format(path=folder, details="no model.int8.onnx or model.onnx in the folder"))
        meta = read_meta(folder)
        if tuple(meta.get("labels", ())) != LABELS:
            raise ModelError(Errors.E301.format(path=folder, details=f"labels.json names {meta.get('labels')}, not {list(LABELS)}"))
        options.setdefault("max_length", int(meta.get("max_length", 160)))
        return cls(model_file, load_tokenizer(folder), **options)

    def tag(self, items: Sequence[tuple[str, tuple[int, int]]]) -> list[list[Span]]:
        """The spans of each (text, drug) pass (widened to whole words with ``whole_words``)."""
        import numpy as np

        encoded = [mark_drug(self.tokenizer, t, d, self.max_length)[:2] for t, d in items]
        out: list[list[Span]] = [[] for _ in items]
        order = sorted(range(len(items)), key=lambda i: len(encoded[i][0]))
        for k in range(0, len(order), self.batch_size):
            chunk = order[k:k + self.batch_size]
            n = max(len(encoded[i][0]) for i in chunk)
            ids = np.zeros((len(chunk), n), dtype=np.int64)
            mask = np.zeros((len(chunk), n), dtype=np.int64)
            for r, i in enumerate(chunk):
                ids[r, :len(encoded[i][0])] = encoded[i][0]
                mask[r, :len(encoded[i][0])] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            logits = self.session.run(None, feeds)[0]
            for r, i in enumerate(chunk):
                length = len(encoded[i][0])
                spans = decode_tags(encoded[i][1], logits[r, :length].argmax(-1).tolist())
                out[i] = snap_to_words(items[i][0], spans) if self.whole_words else spans
        return out

    def predict(self, text: str, drugs: Iterable[tuple[int, int]]) -> set[Span]:
        """The sub-arguments of the drugs of ``text`` (one pass per drug, joined and tidied)."""
        return self.predict_many([(text, list(drugs))])[0]

    def predict_many(self, jobs: Sequence[tuple[str, Sequence[tuple[int, int]]]]) -> list[set[Span]]:
        """:meth:`predict` for many (text, drugs) pairs, the passes batched together."""
        from medlens.medications.ade import tidy_spans

        items = [(k, text, d) for k, (text, drugs) in enumerate(jobs) for d in sorted(set(drugs))]
        tagged = self.tag([(t, d) for _, t, d in items])
        found: list[set[Span]] = [set() for _ in jobs]
        for (k, _, _), spans in zip(items, tagged):
            found[k].update(spans)
        return [set(tidy_spans(text, sorted(f, key=lambda x: (x[1], x[2], x[0]))))
                for (text, _), f in zip(jobs, found)]
