"""Reading documents from files, folders and stdin, one result per document.

A bad file (binary, not UTF-8, empty, too long) never stops a batch: it comes
out as an :class:`InputDocument` with ``error`` set, and the rest goes on.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from medlens.errors import Errors, InputError

DEFAULT_PATTERNS = ("*.txt", "*.text", "*.md", "*.note")

# Not text: C0 controls other than tab, LF, VT, FF and CR; DEL; unpaired UTF-16 surrogates (only a JSON
# escape or a surrogateescape decode can make one); the noncharacters U+FFFE and U+FFFF.
_INVALID_CHAR = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def find_invalid_character(text: str) -> tuple[int, str] | None:
    """The first character that is not text, if any.

    Args:
        text: the document.

    Returns:
        ``(offset, description)`` of the first NUL or other control character (tab, line feed,
        carriage return, vertical tab and form feed are text), unpaired surrogate or noncharacter,
        e.g. ``(5, "U+0000 (NUL)")``; None when every character is text.
    """
    m = _INVALID_CHAR.search(text)
    if m is None:
        return None
    cp = ord(m.group())
    name = {0: "NUL", 0x7F: "DEL"}.get(cp) or ("an unpaired surrogate" if 0xD800 <= cp <= 0xDFFF else
                                              unicodedata.name(m.group(), "a control character"))
    return m.start(), f"U+{cp:04X} ({name})"


def check_text(text: str, name: str) -> None:
    """Raise :class:`InputError` (E214, with line and column) if ``text`` holds a character that is not text.

    Args:
        text: the document.
        name: how to name the document in the message (a path, ``stdin``, a document id).

    Raises:
        InputError: see :func:`find_invalid_character` for what is refused.
    """
    found = find_invalid_character(text)
    if found is None:
        return
    offset, char = found
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    raise InputError(Errors.E214.format(path=name, position=offset + 1, line=line, column=column, char=char))


@dataclass(frozen=True, slots=True)
class InputDocument:
    """A document to analyze, or the reason it cannot be.

    Attributes:
        id: stable id: the path relative to the input folder (or the file name, or ``stdin``).
        text: the decoded text, or None when ``error`` is set.
        error: an :class:`InputError` message, or None.
    """

    id: str
    text: str | None
    error: str | None = None


def decode(data: bytes, name: str, max_chars: int | None = None) -> str:
    """Decode bytes as UTF-8 text, with a clear error for binary, bad encoding and empty input.

    Raises:
        InputError: the bytes are empty (or only whitespace), contain NUL bytes,
            are not UTF-8, hold other control characters (see :func:`check_text`),
            or exceed ``max_chars`` characters.
    """
    if b"\x00" in data[:65536] or b"\x00" in data:
        raise InputError(Errors.E201.format(path=name))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(Errors.E202.format(path=name, offset=exc.start)) from exc
    if not text.strip():
        raise InputError(Errors.E200.format(path=name))
    check_text(text, name)
    if max_chars is not None and len(text) > max_chars:
        raise InputError(Errors.E205.format(path=name, size=len(text), limit=max_chars))
    return text


def discover(path: str | Path, patterns: tuple[str, ...] = DEFAULT_PATTERNS) -> list[tuple[str, Path]]:
    """``(id, file)`` pairs for a file or, recursively, a folder, in sorted order.

    Raises:
        InputError: the path does not exist, or a folder holds no matching files.
    """
    p = Path(path)
    if p.is_file():
        return [(p.name, p)]
    if not p.is_dir():
        raise InputError(Errors.E203.format(path=p))
    files = sorted({f for pat in patterns for f in p.rglob(pat) if f.is_file()})
    if not files:
        raise InputError(Errors.E206.format(path=p, patterns=", ".join(patterns)))
    return [(f.relative_to(p).as_posix(), f) for f in files]


def read_file(doc_id: str, file: Path, max_chars: int | None = None) -> InputDocument:
    """Read one file into an :class:`InputDocument` (errors captured, not raised)."""
    try:
        return InputDocument(doc_id, decode(file.read_bytes(), str(file), max_chars))
    except InputError as exc:
        return InputDocument(doc_id, None, str(exc))
    except OSError as exc:
        return InputDocument(doc_id, None, f"{file}: cannot be read ({exc.strerror or exc})")


def read_stdin(max_chars: int | None = None) -> InputDocument:
    """The whole of standard input as one document with id ``stdin``."""
    data = sys.stdin.buffer.read()
    try:
        return InputDocument("stdin", decode(data, "stdin", max_chars))
    except InputError as exc:
        return InputDocument("stdin", None, str(exc))


def iter_inputs(path: str | Path, patterns: tuple[str, ...] = DEFAULT_PATTERNS,
                max_chars: int | None = None) -> Iterator[InputDocument]:
    """Documents from ``path`` (a file, a folder, or ``-`` for stdin), lazily read."""
    if str(path) == "-":
        yield read_stdin(max_chars)
        return
    for doc_id, file in discover(path, patterns):
        yield read_file(doc_id, file, max_chars)


def iter_jsonl(path: str | Path, max_chars: int | None = None, id_field: str = "id",
               text_field: str = "text") -> Iterator[InputDocument]:
    """Documents of a JSON Lines file, one object a line with an id and a text (``{"id": "d1", "text": "..."}``).

    A line that is not a JSON object with a non-empty text string raises, naming the line; a text that is
    not text (control characters) or too long becomes a document with ``error`` set. A missing id is the
    file name and line number (``corpus.jsonl:12``). Blank lines are skipped.

    Raises:
        InputError: the file does not exist, or a line is not a JSON object with a text (E323).
    """
    import json

    p = Path(path)
    if not p.is_file():
        raise InputError(Errors.E203.format(path=p))
    with p.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(Errors.E323.format(path=p, line=n, details=f"not JSON ({exc.msg} at column {exc.colno})")) from exc
            if not isinstance(obj, dict):
                raise InputError(Errors.E323.format(path=p, line=n, details="expected a JSON object with "
                                                    f"'{id_field}' and '{text_field}'"))
            text = obj.get(text_field)
            if not isinstance(text, str) or not text.strip():
                raise InputError(Errors.E323.format(path=p, line=n, details=f"'{text_field}' must be a non-empty string"))
            doc_id = obj.get(id_field)
            doc_id = str(doc_id) if doc_id not in (None, "") else f"{p.name}:{n}"
            try:
                check_text(text, f"{p}, line {n}")
                if max_chars is not None and len(text) > max_chars:
                    raise InputError(Errors.E205.format(path=f"{p}, line {n}", size=len(text), limit=max_chars))
                yield InputDocument(doc_id, text)
            except InputError as exc:
                yield InputDocument(doc_id, None, str(exc))
