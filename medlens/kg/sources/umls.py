"""UMLS Metathesaurus release files (``MRCONSO.RRF``, ``MRREL.RRF``, ``MRSTY.RRF``).

Users bring their own licensed UMLS release; medlens ships none. Files are
pipe-delimited with a trailing pipe, with the columns of the UMLS Reference
Manual (section 3.3):

* MRCONSO (18): CUI LAT TS LUI STT SUI ISPREF AUI SAUI SCUI SDUI SAB TTY CODE STR SRL SUPPRESS CVF
* MRREL (16): CUI1 AUI1 STYPE1 REL CUI2 AUI2 STYPE2 RELA RUI SRUI SAB SL RG DIR SUPPRESS CVF
* MRSTY (6): CUI TUI STN STY ATUI CVF
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from medlens.errors import Errors, SourceError
from medlens.kg.sources.base import SourceData
from medlens.kg.sources.lexicon import label_rules
from medlens.kg.store import Concept, Relation, SourceInfo, Synonym

_CONSO_COLS, _REL_COLS, _STY_COLS = 18, 16, 6
_SUPPRESSED = {"O", "E", "Y"}


def _read(path: Path, columns: int) -> Iterator[tuple[int, list[str]]]:
    try:
        fh = path.open(encoding="utf-8")
    except OSError as exc:
        raise SourceError(Errors.E104.format(source="UMLS", path=path, details=exc)) from exc
    with fh:
        for line_no, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            cells = line.split("|")
            if cells and cells[-1] == "":
                cells.pop()
            if len(cells) != columns:
                raise SourceError(Errors.E105.format(
                    path=path, line=line_no, details=f"expected {columns} '|'-separated fields, got {len(cells)}"))
            yield line_no, cells


def _version(directory: Path) -> str:
    release = directory / "release.dat"
    if release.is_file():
        for line in release.read_text(encoding="utf-8").splitlines():
            if line.startswith("umls.release.name="):
                return line.split("=", 1)[1].strip()
    name = directory.resolve().name
    return name if name and name != "META" else directory.resolve().parent.name or "unknown"


def read_umls_rrf(
    directory: str | Path,
    languages: Iterable[str] = ("ENG",),
    sabs: Iterable[str] | None = None,
    source: str = "umls",
    version: str | None = None,
) -> SourceData:
    """Read a UMLS release (the ``META`` folder with the RRF files).

    Args:
        directory: the folder holding ``MRCONSO.RRF``, ``MRSTY.RRF`` and
            (optionally) ``MRREL.RRF``.
        languages: LAT values of the names to keep.
        sabs: source vocabularies (SAB) whose names and relations are kept;
            ``None`` keeps all.
        source: source name recorded on everything read.
        version: the release; ``None`` reads ``release.dat`` or uses the folder name.

    Returns:
        Concepts ``UMLS:C0011849`` with the preferred name (the row with TS=P,
        STT=PF, ISPREF=Y; else the first kept row), every other distinct name as
        an ``exact`` synonym, labels from the semantic types (``umls`` section of
        ``label_rules.json``), and relations: PAR -> ``is_a`` CUI1 -> CUI2,
        CHD -> ``is_a`` CUI2 -> CUI1, RB -> ``broader``, RN -> ``narrower``,
        RO/RQ/SY -> the RELA or ``related``. Suppressible rows (SUPPRESS O, E, Y)
        are skipped, and so are relations between unknown or identical CUIs.

    Raises:
        SourceError: E104 when a required file is missing; E105 for a row with
            the wrong number of fields.
    """
    d = Path(directory)
    langs = set(languages)
    keep_sab = set(sabs) if sabs is not None else None
    rules = label_rules().umls
    priority = {label: i for i, label in enumerate(rules.label_priority)}

    names: dict[str, list[str]] = {}
    preferred: dict[str, str] = {}
    for _, c in _read(d / "MRCONSO.RRF", _CONSO_COLS):
        cui, lat, ts, stt, ispref, sab, text, suppress = c[0], c[1], c[2], c[4], c[6], c[11], c[14], c[16]
        if lat not in langs or suppress in _SUPPRESSED or (keep_sab is not None and sab not in keep_sab):
            continue
        names.setdefault(cui, []).append(text)
        if ts == "P" and stt == "PF" and ispref == "Y" and cui not in preferred:
            preferred[cui] = text

    labels: dict[str, str] = {}
    tuis: dict[str, list[str]] = {}
    for _, c in _read(d / "MRSTY.RRF", _STY_COLS):
        cui, tui = c[0], c[1]
        tuis.setdefault(cui, []).append(tui)
        label = rules.tui_labels.get(tui, rules.default_label)
        if cui not in labels or priority[label] < priority[labels[cui]]:
            labels[cui] = label

    concepts: list[Concept] = []
    synonyms: list[Synonym] = []
    for cui, texts in names.items():
        cid = f"UMLS:{cui}"
        name = preferred.get(cui, texts[0])
        concepts.append(Concept(cid, name, source, labels.get(cui, rules.default_label), None, {"tuis": tuis.get(cui, [])}))
        synonyms.append(Synonym(cid, name, "preferred", source))
        seen = {name.casefold()}
        for t in texts:
            if t.casefold() not in seen:
                seen.add(t.casefold())
                synonyms.append(Synonym(cid, t, "exact", source))

    relations: list[Relation] = []
    rel_path = d / "MRREL.RRF"
    if rel_path.is_file():
        seen: set[tuple[str, str, str]] = set()
        for _, c in _read(rel_path, _REL_COLS):
            cui1, rel, cui2, rela, sab, suppress = c[0], c[3], c[4], c[7], c[10], c[14]
            if suppress in _SUPPRESSED or (keep_sab is not None and sab not in keep_sab):
                continue
            if cui1 == cui2 or cui1 not in names or cui2 not in names:
                continue
            if rel == "PAR":
                edge = (cui1, "is_a", cui2)
            elif rel == "CHD":
                edge = (cui2, "is_a", cui1)
            elif rel == "RB":
                edge = (cui1, "broader", cui2)
            elif rel == "RN":
                edge = (cui1, "narrower", cui2)
            elif rel in ("RO", "RQ", "SY"):
                edge = (cui1, rela or "related", cui2)
            else:
                continue
            if edge not in seen:
                seen.add(edge)
                relations.append(Relation(f"UMLS:{edge[0]}", edge[1], f"UMLS:{edge[2]}", source, {"sab": sab}))

    info = SourceInfo(source, version or _version(d), "Unified Medical Language System (UMLS) Metathesaurus",
                      "UMLS Metathesaurus License (user's own license)", str(d))
    return SourceData(info, concepts, synonyms, relations)
