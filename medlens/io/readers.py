"""Reading documents from files, folders and stdin, one result per document.

A bad file (binary, not UTF-8, empty, too long) never stops a batch: it comes
out as an :class:`InputDocument` with ``error`` set, and the rest goes on.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from medlens.errors import Errors, InputError

DEFAULT_PATTERNS = ("*.txt", "*.text", "*.md", "*.note")


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
            are not UTF-8, or exceed ``max_chars`` characters.
    """
    if b"\x00" in data[:65536] or b"\x00" in data:
        raise InputError(Errors.E201.format(path=name))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(Errors.E202.format(path=name, offset=exc.start)) from exc
    if not text.strip():
        raise InputError(Errors.E200.format(path=name))
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
