"""Where a batch's documents come from, in a fixed order, cut into shards.

A :class:`Source` is a folder of text files, one text file, a JSON Lines file, a CSV file, a Parquet file
(or a folder of them) or a SQL query (SQLite by default; any SQLAlchemy URL when SQLAlchemy is installed).
Its documents always come in the same order (sorted file names; file order; the query ordered by its id
column), so shard ``k`` (documents ``k*size`` to ``(k+1)*size - 1``) is the same documents in every run:
that is what lets ``--resume`` skip finished shards.

A row that cannot be a document (no text, not JSON, ...) becomes an :class:`InputDocument` with ``error``
set, so the batch reports it and goes on; an input that cannot be read at all (no such file, an unknown
column, a Parquet file that is not Parquet) raises :class:`InputError` before anything runs.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from medlens.errors import Errors, InputError
from medlens.io.readers import DEFAULT_PATTERNS, InputDocument, check_text, discover, read_file

Kind = Literal["folder", "text", "jsonl", "csv", "parquet", "sql"]
KINDS: tuple[str, ...] = ("folder", "text", "jsonl", "csv", "parquet", "sql")


class SourceSpec(BaseModel):
    """What to read (JSON-serializable: it is recorded in the job's manifest).

    Attributes:
        path: a file, a folder, a SQLite file or a SQLAlchemy URL (``sql``).
        kind: see :data:`KINDS`; :func:`make_source` guesses it from the path.
        text_column: the text's column (CSV, Parquet, SQL) or key (JSONL).
        id_column: the id's column or key; a row without one gets ``<file>:<row>``.
        query: the SQL query (``sql`` only); its rows are read ordered by ``id_column``.
        patterns: file name patterns in a folder.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    kind: Kind
    text_column: str = "text"
    id_column: str = "id"
    query: str | None = None
    patterns: tuple[str, ...] = DEFAULT_PATTERNS


def guess_kind(path: str, query: str | None = None) -> str:
    """The kind of input ``path`` is (by its suffix; a folder holding Parquet files is ``parquet``)."""
    if query is not None or "://" in path:
        return "sql"
    p = Path(path)
    if p.is_dir():
        return "parquet" if any(p.glob("*.parquet")) and not any(
            f for pat in DEFAULT_PATTERNS for f in p.rglob(pat)) else "folder"
    suffix = p.suffix.lower()
    return {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet",
            ".sqlite": "sql", ".db": "sql", ".sqlite3": "sql"}.get(suffix, "text")


def make_source(path: str, kind: str | None = None, *, text_column: str = "text", id_column: str = "id",
                query: str | None = None, patterns: tuple[str, ...] = DEFAULT_PATTERNS) -> SourceSpec:
    """A checked :class:`SourceSpec`: the input exists, its columns are there, a SQL source has a query.

    Raises:
        InputError: no such input (E203), an unknown kind (E900), a missing column (E901), an unreadable
            file (E902) or a database input without ``query`` (E903).
    """
    kind = kind or guess_kind(path, query)
    if kind not in KINDS:
        raise InputError(Errors.E900.format(value=kind, opts=", ".join(KINDS)))
    if kind == "sql":
        if not query:
            raise InputError(Errors.E903.format(path=path))
        if "://" not in path and not Path(path).is_file():
            raise InputError(Errors.E203.format(path=path))
    elif not Path(path).exists():
        raise InputError(Errors.E203.format(path=path))
    if kind == "parquet":
        from medlens.engines.tables import _pa

        _pa()  # E905: Parquet input needs the ray extra's pyarrow
    spec = SourceSpec(path=str(path), kind=kind, text_column=text_column, id_column=id_column, query=query,
                      patterns=tuple(patterns))
    _check_columns(spec)
    return spec


# -- columns -----------------------------------------------------------------------------------------------
def _check_columns(spec: SourceSpec) -> None:
    if spec.kind == "csv":
        cols = _csv_header(Path(spec.path))
        _need(spec, cols, id_optional=True)
    elif spec.kind == "parquet":
        files = parquet_files(spec)
        if len(files) == 1:  # one file: unreadable is an error of the whole input; in a folder, of that file
            _need(spec, _parquet_schema(files[0]).names, id_optional=True)
    elif spec.kind == "sql":
        with _connect(spec) as conn:
            cols = conn.columns()
        _need(spec, cols, id_optional=False)


def _need(spec: SourceSpec, cols: list[str], id_optional: bool) -> None:
    for option, col in (("--text-column", spec.text_column), ("--id-column", spec.id_column)):
        if col not in cols and not (id_optional and option == "--id-column" and spec.id_column == "id"):
            raise InputError(Errors.E901.format(path=spec.path, option=option, column=col,
                                                opts=", ".join(cols) or "(none)"))


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(Errors.E902.format(path=path, kind="CSV", details=exc)) from exc


def parquet_files(spec: SourceSpec) -> list[Path]:
    p = Path(spec.path)
    return sorted(p.rglob("*.parquet")) if p.is_dir() else [p]


def _parquet_schema(path: Path):
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a file that is not Parquet
        raise InputError(Errors.E902.format(path=path, kind="Parquet", details=exc)) from exc


# -- counting and reading ------------------------------------------------------------------------------------
def count(spec: SourceSpec) -> int:
    """How many documents the source holds (cheap: file listing, line count, Parquet metadata, COUNT(*))."""
    if spec.kind == "folder":
        return len(discover(spec.path, spec.patterns))
    if spec.kind == "text":
        return 1
    if spec.kind == "jsonl":
        with open(spec.path, "rb") as fh:
            return sum(1 for line in fh if line.strip())
    if spec.kind == "csv":
        return sum(1 for _ in _csv_rows(Path(spec.path)))
    if spec.kind == "parquet":
        import pyarrow.parquet as pq

        n = 0
        for f in parquet_files(spec):
            try:
                n += pq.ParquetFile(f).metadata.num_rows
            except Exception:  # noqa: BLE001 - an unreadable file of a folder is one error row
                n += 1
        return n
    with _connect(spec) as conn:
        return conn.count()


def iter_documents(spec: SourceSpec, max_chars: int | None = None, skip: int = 0) -> Iterator[InputDocument]:
    """The source's documents in their fixed order, lazily read; the first ``skip`` are passed over
    (folders: without reading them)."""
    if spec.kind in ("folder", "text"):
        for doc_id, f in discover(spec.path, spec.patterns)[skip:]:
            yield read_file(doc_id, f, max_chars)
        return
    it = {"jsonl": _jsonl, "csv": _csv, "parquet": _parquet, "sql": _sql}[spec.kind](spec)
    for i, (doc_id, text, error) in enumerate(it):
        if i < skip:
            continue
        yield _document(doc_id, text, error, max_chars, spec.text_column)


def _document(doc_id: str, text, error: str | None, max_chars: int | None, column: str) -> InputDocument:
    if error is not None:
        return InputDocument(doc_id, None, error)
    if not isinstance(text, str) or not text.strip():
        return InputDocument(doc_id, None, Errors.E908.format(where=doc_id, column=column))
    try:
        check_text(text, doc_id)
    except InputError as exc:
        return InputDocument(doc_id, None, str(exc))
    if max_chars is not None and len(text) > max_chars:
        return InputDocument(doc_id, None, Errors.E205.format(path=doc_id, size=len(text), limit=max_chars))
    return InputDocument(doc_id, text)


def _ident(value, fallback: str) -> str:
    return fallback if value is None or value == "" else str(value)


def _jsonl(spec: SourceSpec):
    p = Path(spec.path)
    with p.open("rb") as fh:
        n = 0
        for line in fh:
            if not line.strip():
                continue
            n += 1
            where = f"{p.name}:{n}"
            try:
                obj = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                yield where, None, Errors.E904.format(where=where, details=f"not a JSON object ({exc})")
                continue
            if not isinstance(obj, dict):
                yield where, None, Errors.E904.format(where=where, details="not a JSON object")
                continue
            if spec.text_column not in obj:
                yield _ident(obj.get(spec.id_column), where), None, Errors.E904.format(
                    where=where, details=f"no '{spec.text_column}' key (--text-column); keys: {', '.join(obj)}")
                continue
            yield _ident(obj.get(spec.id_column), where), obj[spec.text_column], None


def _csv_rows(path: Path):
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open(encoding="utf-8-sig", newline="") as fh:
        yield from csv.DictReader(fh)


def _csv(spec: SourceSpec):
    p = Path(spec.path)
    for n, row in enumerate(_csv_rows(p), 1):
        yield _ident(row.get(spec.id_column), f"{p.name}:{n}"), row.get(spec.text_column), None


def _parquet(spec: SourceSpec):
    import pyarrow.parquet as pq

    for f in parquet_files(spec):
        try:
            pf = pq.ParquetFile(f)
            names = pf.schema_arrow.names
            if spec.text_column not in names:
                raise InputError(Errors.E901.format(path=f, option="--text-column", column=spec.text_column,
                                                    opts=", ".join(names)))
            cols = [spec.text_column] + ([spec.id_column] if spec.id_column in names else [])
            n = 0
            for batch in pf.iter_batches(batch_size=1024, columns=cols):
                texts = batch.column(spec.text_column).to_pylist()
                ids = batch.column(spec.id_column).to_pylist() if spec.id_column in names else [None] * len(texts)
                for doc_id, text in zip(ids, texts):
                    n += 1
                    yield _ident(doc_id, f"{f.name}:{n}"), text, None
        except InputError as exc:
            yield f.name, None, str(exc)
        except Exception as exc:  # noqa: BLE001 - an unreadable file of a folder: one error row, the job goes on
            yield f.name, None, Errors.E902.format(path=f, kind="Parquet", details=exc)


def _sql(spec: SourceSpec):
    with _connect(spec) as conn:
        for doc_id, text in conn.rows():
            yield _ident(doc_id, "?"), text, None


# -- SQL ------------------------------------------------------------------------------------------------------
class _Conn:
    """A query's rows ordered by the id column, through sqlite3 or SQLAlchemy."""

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        self.url = "://" in spec.path
        if self.url:
            try:
                import sqlalchemy
            except ImportError as exc:
                raise InputError(Errors.E906.format(path=spec.path)) from exc
            self._engine = sqlalchemy.create_engine(spec.path)
            self.conn = self._engine.connect()
        else:
            self.conn = sqlite3.connect(f"file:{spec.path}?mode=ro", uri=True)

    def _run(self, sql: str):
        try:
            if self.url:
                import sqlalchemy

                return self.conn.execution_options(stream_results=True).execute(sqlalchemy.text(sql))
            return self.conn.execute(sql)
        except Exception as exc:  # noqa: BLE001 - sqlite3 and every driver have their own error classes
            raise InputError(Errors.E907.format(query=self.spec.query, details=exc)) from exc

    def _inner(self) -> str:
        return self.spec.query.strip().rstrip(";")

    def columns(self) -> list[str]:
        cur = self._run(f"SELECT * FROM ({self._inner()}) AS medlens_q LIMIT 0")
        return [d[0] for d in cur.cursor.description] if self.url else [d[0] for d in cur.description]

    def count(self) -> int:
        return int(next(iter(self._run(f"SELECT COUNT(*) FROM ({self._inner()}) AS medlens_q")))[0])

    def rows(self):
        t, i = _quote(self.spec.text_column), _quote(self.spec.id_column)
        yield from self._run(f"SELECT {i}, {t} FROM ({self._inner()}) AS medlens_q ORDER BY {i}")

    def __enter__(self) -> _Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.close()
        if self.url:
            self._engine.dispose()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _connect(spec: SourceSpec) -> _Conn:
    return _Conn(spec)
