"""Corpus readers for token classification.

Two formats are read into the same :class:`Sentence` records:

* **CoNLL / BIO TSV** (``.tsv``, ``.conll``, ``.bio``, ``.txt``): one
  ``token<TAB>tag`` per line, a blank line between sentences (the format of
  NCBI-disease and BC5CDR). Extra columns between the token and the tag are
  ignored; the tag is the last column.
* **Span JSONL** (``.jsonl``): one ``{"text": ..., "spans": [{"start", "end",
  "label"}]}`` per line, character offsets, end exclusive. Texts are split
  into words the way the model's tokenizer would (runs of letters/digits, and
  each other non-space character alone); a word that overlaps a span is
  inside it.

Labels can be renamed on reading (``{"Disease": "DISEASE"}``); a label mapped
to ``None`` or ``"O"`` is dropped. Every malformed line raises
:class:`~medlens.errors.InputError` naming the file, the line and the problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from medlens.errors import Errors, InputError
from medlens.tagging.alignment import bio_to_spans, spans_to_bio

_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)
TSV_SUFFIXES = (".tsv", ".conll", ".bio", ".iob", ".txt")
JSONL_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True, slots=True)
class Sentence:
    """Words with one BIO tag each; ``source`` says where it came from (``file:line``)."""

    words: tuple[str, ...]
    tags: tuple[str, ...]
    source: str = ""

    def entities(self) -> list[tuple[str, int, int]]:
        """Entities ``(type, start_word, end_word)``."""
        return bio_to_spans(self.tags)


def _bad(path: Path, line: int, details: str) -> InputError:
    return InputError(Errors.E105.format(path=path, line=line, details=details))


def _map_tag(tag: str, mapping: Mapping[str, str | None] | None) -> str:
    if tag == "O" or mapping is None:
        return tag
    prefix, typ = tag[:2], tag[2:]
    if typ not in mapping:
        return tag
    new = mapping[typ]
    return "O" if new in (None, "O", "") else prefix + new


def _retag(tags: list[str], mapping: Mapping[str, str | None] | None) -> tuple[str, ...]:
    """Rename entity types; dropped types become O, and BIO stays well formed."""
    if mapping is None:
        return tuple(tags)
    spans = [(typ, s, e) for typ, s, e in bio_to_spans(tags)]
    out = []
    for typ, s, e in spans:
        new = mapping.get(typ, typ)
        if new in (None, "O", ""):
            continue
        out.append((new, s, e))
    return tuple(spans_to_bio(len(tags), out))


def read_conll(path: str | Path, label_map: Mapping[str, str | None] | None = None) -> list[Sentence]:
    """Read a BIO TSV file (``token<TAB>tag``, blank line between sentences).

    Raises:
        InputError: the file is missing or empty, a line has no tab, an empty
            token or tag, or a tag that is not ``O`` / ``B-X`` / ``I-X``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(Errors.E203.format(path=path))
    sentences: list[Sentence] = []
    words: list[str] = []
    tags: list[str] = []
    first_line = 0
    with path.open(encoding="utf-8") as fh:
        try:
            for lineno, raw in enumerate(fh, 1):
                line = raw.rstrip("\r\n")
                if not line.strip():
                    if words:
                        sentences.append(Sentence(tuple(words), _retag(tags, label_map), f"{path}:{first_line}"))
                        words, tags = [], []
                    continue
                if line.startswith("-DOCSTART-"):
                    continue
                cols = line.split("\t")
                if len(cols) < 2:
                    raise _bad(path, lineno, f"expected 'token<TAB>tag', found no tab in {line[:60]!r}")
                token, tag = cols[0], cols[-1].strip()
                if not token.strip():
                    raise _bad(path, lineno, "the token (first column) is empty")
                if not (tag == "O" or (len(tag) > 2 and tag[0] in "BIES" and tag[1] == "-")):
                    raise _bad(path, lineno, f"tag {tag!r} is not BIO: expected 'O', 'B-<type>' or 'I-<type>'")
                if not words:
                    first_line = lineno
                words.append(token)
                tags.append(tag)
        except UnicodeDecodeError as exc:
            raise InputError(Errors.E202.format(path=path, offset=exc.start)) from exc
    if words:
        sentences.append(Sentence(tuple(words), _retag(tags, label_map), f"{path}:{first_line}"))
    if not sentences:
        raise InputError(Errors.E200.format(path=path))
    return sentences


def split_words(text: str) -> list[tuple[str, int, int]]:
    """Words of ``text`` with character offsets: runs of letters/digits, and each other non-space character."""
    return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def read_span_jsonl(path: str | Path, label_map: Mapping[str, str | None] | None = None) -> list[Sentence]:
    """Read ``{"text": ..., "spans": [{"start", "end", "label"}]}`` lines.

    Raises:
        InputError: a line is not JSON, lacks ``text``, or has a span with bad
            offsets (not integers, outside the text, start >= end) or no label,
            or spans that overlap.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(Errors.E203.format(path=path))
    sentences: list[Sentence] = []
    with path.open(encoding="utf-8") as fh:
        try:
            for lineno, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise _bad(path, lineno, f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
                if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                    raise _bad(path, lineno, "expected an object with a string field 'text'")
                text = obj["text"]
                spans = obj.get("spans", [])
                if not isinstance(spans, list):
                    raise _bad(path, lineno, "'spans' must be a list of {start, end, label}")
                checked: list[tuple[str, int, int]] = []
                for k, sp in enumerate(spans):
                    if not isinstance(sp, dict):
                        raise _bad(path, lineno, f"span {k} is not an object")
                    s, e, label = sp.get("start"), sp.get("end"), sp.get("label")
                    if not isinstance(s, int) or not isinstance(e, int) or isinstance(s, bool) or isinstance(e, bool):
                        raise _bad(path, lineno, f"span {k}: 'start' and 'end' must be integers, got {s!r}, {e!r}")
                    if not 0 <= s < e <= len(text):
                        raise _bad(path, lineno, f"span {k}: offsets {s}-{e} are outside the text (length {len(text)}) or start >= end")
                    if not isinstance(label, str) or not label:
                        raise _bad(path, lineno, f"span {k}: 'label' must be a non-empty string")
                    if label_map is not None and label in label_map:
                        label = label_map[label]
                        if label in (None, "O", ""):
                            continue
                    checked.append((label, s, e))
                checked.sort(key=lambda x: x[1])
                for a, b in zip(checked, checked[1:]):
                    if b[1] < a[2]:
                        raise _bad(path, lineno, f"spans {a[1]}-{a[2]} and {b[1]}-{b[2]} overlap")
                words = split_words(text)
                word_spans = []
                for label, s, e in checked:
                    idx = [i for i, (_, ws, we) in enumerate(words) if ws < e and we > s]
                    if not idx:
                        raise _bad(path, lineno, f"span {s}-{e} ({text[s:e]!r}) covers no word")
                    word_spans.append((label, idx[0], idx[-1] + 1))
                if words:
                    sentences.append(Sentence(tuple(w for w, _, _ in words), tuple(spans_to_bio(len(words), word_spans)),
                                              f"{path}:{lineno}"))
        except UnicodeDecodeError as exc:
            raise InputError(Errors.E202.format(path=path, offset=exc.start)) from exc
    if not sentences:
        raise InputError(Errors.E200.format(path=path))
    return sentences


def read_corpus(path: str | Path, label_map: Mapping[str, str | None] | None = None) -> list[Sentence]:
    """Read a training file, choosing the reader by its suffix (TSV/CoNLL or span JSONL)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return read_span_jsonl(p, label_map)
    if suffix in TSV_SUFFIXES:
        return read_conll(p, label_map)
    raise InputError(Errors.E207.format(path=p, suffix=suffix, opts=", ".join(TSV_SUFFIXES + JSONL_SUFFIXES)))


def parse_label_map(spec: str | None) -> dict[str, str | None] | None:
    """``"Disease=DISEASE,Chemical=CHEMICAL,Other="`` -> mapping (empty right side drops the type)."""
    if not spec:
        return None
    out: dict[str, str | None] = {}
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise InputError(Errors.E208.format(value=part))
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip() or None
    return out


def parse_corpus_arg(arg: str) -> tuple[Path, dict[str, str | None] | None]:
    """``"path/train.tsv:Disease=DISEASE,Chemical=CHEMICAL"`` -> (path, label map); the map is optional."""
    path, sep, spec = arg.partition(":")
    if sep and "=" not in spec:  # a colon in the path itself
        return Path(arg), None
    return Path(path), parse_label_map(spec) if sep else None


def labels_of(corpora: Iterable[list[Sentence]]) -> list[str]:
    """Sorted entity types found across corpora."""
    types: set[str] = set()
    for corpus in corpora:
        for sent in corpus:
            types.update(t[2:] for t in sent.tags if t != "O")
    return sorted(types)
