"""PubTator files: abstracts with their chemical/disease mentions (MeSH ids) and document-level relations.

The format (BioCreative V CDR, NCBI-disease)::

    227508|t|Naloxone reverses the antihypertensive effect of clonidine.
    227508|a|In unanesthetized, spontaneously hypertensive rats ...
    227508<TAB>0<TAB>8<TAB>Naloxone<TAB>Chemical<TAB>D009270
    227508<TAB>93<TAB>105<TAB>hypertensive<TAB>Disease<TAB>D006973
    2234245<TAB>0<TAB>28<TAB>Ocular and auditory toxicity<TAB>Disease<TAB>D014786|D006311<TAB>Ocular toxicity|auditory toxicity
    227508<TAB>CID<TAB>D008750<TAB>D007022

a title line and an abstract line, then one line per mention (character offsets into
``title + " " + abstract``; a composite mention names several ids joined by ``|`` or ``+``,
and may add their texts in a seventh column; id ``-1`` = no concept), then one line per
relation, and a blank line between documents. Every malformed line raises
:class:`~medlens.errors.InputError` E307 naming the file, the line and what is wrong.

Torch-free.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from medlens.errors import Errors, InputError

_HEADER = re.compile(r"^([^|\t]+)\|([ta])\|(.*)$")
_ID_SPLIT = re.compile(r"[|+]")


@dataclass(frozen=True, slots=True)
class PubTatorMention:
    """One annotated mention: characters ``[start, end)`` of the document text, its type and concept ids
    (empty when the corpus gives ``-1``; several for a composite mention)."""

    start: int
    end: int
    text: str
    type: str
    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PubTatorRelation:
    """A document-level relation ``type`` (``CID``) between two concept ids (chemical, disease)."""

    type: str
    head: str
    tail: str


@dataclass
class PubTatorDocument:
    """One abstract: ``text`` is ``title + " " + abstract`` (what the mention offsets count in)."""

    pmid: str
    title: str
    abstract: str
    mentions: list[PubTatorMention] = field(default_factory=list)
    relations: list[PubTatorRelation] = field(default_factory=list)

    @property
    def text(self) -> str:
        return f"{self.title} {self.abstract}" if self.abstract else self.title


def _fail(path: str, line: int, details: str) -> InputError:
    return InputError(Errors.E307.format(path=path, line=line, details=details))


def split_ids(raw: str) -> tuple[str, ...]:
    """Concept ids of a mention's id column: ``D014786|D006311`` -> two ids; ``-1`` (no concept) -> none."""
    return tuple(i.strip() for i in _ID_SPLIT.split(raw) if i.strip() and i.strip() != "-1")


def parse_pubtator(lines: Iterable[str], source: str = "<text>", *, check_text: bool = True) -> Iterator[PubTatorDocument]:
    """Documents of PubTator ``lines``, in file order.

    Args:
        lines: the file's lines (with or without line ends).
        source: the file name used in error messages.
        check_text: a mention's text must equal the document text at its offsets.

    Yields:
        One :class:`PubTatorDocument` per title/abstract block.

    Raises:
        InputError: E307 for a malformed line (which line, what is wrong): a mention or relation
            before any title, a PMID that differs from its title's, offsets that are not numbers or
            fall outside the text, a mention whose text is not the text at its offsets, a line with
            the wrong number of columns, an abstract without a title, or a title twice.
    """
    doc: PubTatorDocument | None = None
    for n, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            if doc is not None:
                yield doc
                doc = None
            continue
        head = _HEADER.match(line)
        if head and "\t" not in line.split("|", 2)[0]:
            pmid, kind, body = head.group(1).strip(), head.group(2), head.group(3)
            if kind == "t":
                if doc is not None:
                    yield doc  # no blank line between documents: tolerated
                doc = PubTatorDocument(pmid, body, "")
            else:
                if doc is None or doc.pmid != pmid:
                    raise _fail(source, n, f"abstract line of PMID {pmid} without its title line ({pmid}|t|...) before it")
                if doc.abstract:
                    raise _fail(source, n, f"a second abstract line for PMID {pmid}")
                doc.abstract = body
            continue
        cols = line.split("\t")
        if doc is None:
            raise _fail(source, n, f"{'relation' if len(cols) == 4 else 'annotation'} line before any title line "
                                   f"(expected 'PMID|t|title'): {line[:60]!r}")
        if cols[0].strip() != doc.pmid:
            raise _fail(source, n, f"PMID {cols[0]!r} differs from the document's PMID {doc.pmid!r} (missing blank line?)")
        if len(cols) == 4:
            if not cols[2].strip() or not cols[3].strip():
                raise _fail(source, n, "a relation line needs PMID<TAB>TYPE<TAB>ID1<TAB>ID2 with both ids")
            doc.relations.append(PubTatorRelation(cols[1].strip(), cols[2].strip(), cols[3].strip()))
            continue
        if len(cols) not in (6, 7):
            raise _fail(source, n, f"{len(cols)} tab-separated columns; a mention line has 6 (or 7: "
                                   "PMID, start, end, text, type, ids[, texts]) and a relation line 4")
        try:
            start, end = int(cols[1]), int(cols[2])
        except ValueError:
            raise _fail(source, n, f"the offsets {cols[1]!r}, {cols[2]!r} are not whole numbers") from None
        text = doc.text
        if not 0 <= start < end <= len(text):
            raise _fail(source, n, f"offsets {start}-{end} are outside the document text (0-{len(text)}) or empty")
        if check_text and text[start:end] != cols[3]:
            raise _fail(source, n, f"the mention text {cols[3]!r} is not the document text at {start}-{end} "
                                   f"({text[start:end]!r})")
        if not cols[4].strip():
            raise _fail(source, n, "the mention has no type (5th column)")
        doc.mentions.append(PubTatorMention(start, end, cols[3], cols[4].strip(), split_ids(cols[5])))
    if doc is not None:
        yield doc


def read_pubtator(path: str | Path, *, check_text: bool = True) -> list[PubTatorDocument]:
    """All documents of a PubTator file (see :func:`parse_pubtator`).

    Raises:
        InputError: E203 when the file does not exist; E307 for a malformed line.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(Errors.E203.format(path=p))
    with p.open(encoding="utf-8") as fh:
        return list(parse_pubtator(fh, str(p), check_text=check_text))
