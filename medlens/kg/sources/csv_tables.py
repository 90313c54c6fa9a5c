"""User-supplied knowledge as CSV tables (UTF-8, header row, comma-separated).

* ``concepts.csv``: ``id,name,label[,definition]``
* ``synonyms.csv``: ``concept_id,text[,kind]`` (kind defaults to ``exact``)
* ``relations.csv``: ``subject,predicate,object[,attrs]`` (attrs: a JSON object)

Every row is checked; the first bad one raises :class:`SourceError` naming the
file and line.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from medlens.errors import Errors, SourceError
from medlens.kg.sources.base import SourceData
from medlens.kg.store import LABELS, SYNONYM_KINDS, Concept, Relation, SourceInfo, Synonym


def _rows(path: Path, required: tuple[str, ...], optional: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line_number, row)`` with stripped values; checks the header first."""
    try:
        fh = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise SourceError(Errors.E104.format(source="CSV table", path=path, details=exc)) from exc
    with fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise SourceError(Errors.E105.format(path=path, line=1, details="the file is empty; expected a header row")) from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise SourceError(Errors.E104.format(source="CSV table", path=path, details=exc)) from exc
        missing = [c for c in required if c not in header]
        if missing:
            raise SourceError(Errors.E105.format(
                path=path, line=1,
                details=f"missing required column(s) {', '.join(missing)}; the header must have {', '.join(required)}"
                        f" and may have {', '.join(optional)}, got {', '.join(header)}"))
        unknown = [c for c in header if c not in required + optional]
        if unknown:
            raise SourceError(Errors.E105.format(
                path=path, line=1, details=f"unknown column(s) {', '.join(unknown)}; accepted: {', '.join(required + optional)}"))
        try:
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise SourceError(Errors.E105.format(
                        path=path, line=line, details=f"expected {len(header)} fields ({', '.join(header)}), got {len(row)}"))
                yield line, {h: v.strip() for h, v in zip(header, row)}
        except (csv.Error, UnicodeDecodeError) as exc:
            raise SourceError(Errors.E105.format(path=path, line=reader.line_num, details=exc)) from exc


def _need(path: Path, line: int, row: dict[str, str], column: str) -> str:
    value = row.get(column, "")
    if not value:
        raise SourceError(Errors.E105.format(path=path, line=line, details=f"empty {column!r}"))
    return value


def read_csv_tables(
    concepts_csv: str | Path,
    synonyms_csv: str | Path | None = None,
    relations_csv: str | Path | None = None,
    source: str = "custom",
    title: str = "Custom concepts (CSV)",
    license: str = "user-supplied",
    version: str = "unversioned",
) -> SourceData:
    """Read user-supplied concept, synonym and relation tables.

    Args:
        concepts_csv: ``id,name,label[,definition]``; label must be one of ``store.LABELS``.
        synonyms_csv: ``concept_id,text[,kind]``; ``None`` for no extra synonyms.
            Kind must be one of ``store.SYNONYM_KINDS`` (empty means ``exact``).
        relations_csv: ``subject,predicate,object[,attrs]``; ``None`` for no relations.
        source: source name recorded on everything read.
        title: human-readable title of the source.
        license: the data's license.
        version: the data's version.

    Returns:
        The concepts (each name also a ``preferred`` synonym), synonyms and relations.

    Raises:
        SourceError: E104 when a file cannot be read; E105 naming the file and
            line for a missing column, an empty id, an unknown label or kind, a
            duplicate concept id or bad attrs JSON.
    """
    cpath = Path(concepts_csv)
    concepts: list[Concept] = []
    synonyms: list[Synonym] = []
    relations: list[Relation] = []
    seen: dict[str, int] = {}
    for line, row in _rows(cpath, ("id", "name", "label"), ("definition",)):
        cid = _need(cpath, line, row, "id")
        name = _need(cpath, line, row, "name")
        label = row["label"].upper()
        if label not in LABELS:
            raise SourceError(Errors.E105.format(
                path=cpath, line=line, details=Errors.E007.format(value=row["label"], opts=", ".join(LABELS))))
        if cid in seen:
            raise SourceError(Errors.E105.format(path=cpath, line=line, details=f"duplicate id {cid!r} (first on line {seen[cid]})"))
        seen[cid] = line
        concepts.append(Concept(cid, name, source, label, row.get("definition") or None))
        synonyms.append(Synonym(cid, name, "preferred", source))

    if synonyms_csv is not None:
        spath = Path(synonyms_csv)
        for line, row in _rows(spath, ("concept_id", "text"), ("kind",)):
            cid = _need(spath, line, row, "concept_id")
            text = _need(spath, line, row, "text")
            kind = (row.get("kind") or "exact").lower()
            if kind not in SYNONYM_KINDS:
                raise SourceError(Errors.E105.format(
                    path=spath, line=line, details=f"unknown synonym kind {row['kind']!r}; accepted: {', '.join(SYNONYM_KINDS)}"))
            if cid not in seen:
                raise SourceError(Errors.E105.format(
                    path=spath, line=line, details=f"concept_id {cid!r} is not in {cpath.name}"))
            synonyms.append(Synonym(cid, text, kind, source))

    if relations_csv is not None:
        rpath = Path(relations_csv)
        for line, row in _rows(rpath, ("subject", "predicate", "object"), ("attrs",)):
            subject = _need(rpath, line, row, "subject")
            predicate = _need(rpath, line, row, "predicate")
            obj = _need(rpath, line, row, "object")
            attrs = {}
            if row.get("attrs"):
                try:
                    attrs = json.loads(row["attrs"])
                except json.JSONDecodeError as exc:
                    raise SourceError(Errors.E105.format(path=rpath, line=line, details=f"attrs is not valid JSON ({exc})")) from exc
                if not isinstance(attrs, dict):
                    raise SourceError(Errors.E105.format(
                        path=rpath, line=line, details=f"attrs must be a JSON object, got {type(attrs).__name__}"))
            relations.append(Relation(subject, predicate, obj, source, attrs))

    info = SourceInfo(source, version, title, license, str(cpath))
    return SourceData(info, concepts, synonyms, relations)
