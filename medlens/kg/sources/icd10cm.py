"""ICD-10-CM from the tabular-list XML shipped in the installed
``simple_icd_10_cm`` package (``simple_icd_10_cm/data/icd10c-tabular-*.xml``).

The XML is parsed directly (``xml.etree``), which takes well under a second;
the package's own API is not used.

Ids:
    * chapters: ``ICD10CM:chapter-4`` (the chapter number as in the XML), label OTHER;
    * blocks: ``ICD10CM:E08-E13`` (the section id as in the XML; a block of a
      single category, ``B20`` in the XML, becomes ``ICD10CM:B20-B20`` so that it
      does not clash with the category ``ICD10CM:B20``);
    * categories and codes: ``ICD10CM:E11``, ``ICD10CM:E11.9`` (dotted).

Codes built from a 7th-character extension (``S72.001A``) are not listed
separately: their parent code carries the meaning, and the extensions
(encounter, laterality...) are kept in that code's ``attrs["seventh_characters"]``.
"""

from __future__ import annotations

import importlib.metadata
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from medlens.errors import Errors, SourceError
from medlens.kg.sources.base import SourceData
from medlens.kg.sources.lexicon import Icd10cmRules, label_rules
from medlens.kg.store import Concept, Relation, SourceInfo, Synonym

SOURCE = "icd10cm"
TITLE = "ICD-10-CM (International Classification of Diseases, 10th Revision, Clinical Modification)"
LICENSE = "Public domain (CDC/NCHS); packaged by simple-icd-10-cm (MIT)"
_FILE_DATE = re.compile(r"icd10c-tabular-([A-Za-z]+)-(\d{1,2})-(\d{4})\.xml$")
_RANGE_SUFFIX = re.compile(r"\s*\(([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]+)?-[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]+)?)\)\s*$")
_BRACKETS = re.compile(r"\s*\[([^\]]+)\]")
_PARENS = re.compile(r"\s*\(([^)]*)\)")


def default_xml_path() -> Path:
    """The tabular XML of the installed ``simple_icd_10_cm`` package (the newest if several)."""
    dist = importlib.metadata.distribution("simple-icd-10-cm")
    data = Path(str(dist.locate_file("simple_icd_10_cm/data")))
    files = sorted(data.glob("icd10c-tabular-*.xml"))
    if not files:
        raise SourceError(Errors.E104.format(source=SOURCE, path=data, details="no icd10c-tabular-*.xml file in the package"))
    return files[-1]


def _version(path: Path, root: ET.Element) -> str:
    m = _FILE_DATE.search(path.name)
    year = (root.findtext("version") or "").strip()
    if m:
        month, day, file_year = m.groups()
        return f"{year or file_year} ({month} {day}, {file_year})"
    return year or "unknown"


def label_of(code: str, rules: Icd10cmRules) -> str:
    """The label of a code or block from its first 3 characters and the rules' ranges.

    Args:
        code: ``E11.9``, ``R07``, or a block's first code.
        rules: the ``icd10cm`` section of ``label_rules.json``.

    Returns:
        The label of the first range containing the category, else the default.
    """
    cat = code[:3]
    for r in rules.ranges:
        if r.first <= cat <= r.last:
            return r.label
    return rules.default_label


def strip_qualifiers(text: str, suffixes: list[str]) -> str:
    """``text`` without trailing qualifiers (``Chest pain, unspecified`` -> ``Chest pain``), repeatedly.

    Args:
        text: a description.
        suffixes: qualifiers to strip (matched case-insensitively at the end).

    Returns:
        The shortened text (the text itself when nothing matched or all of it would go).
    """
    changed = True
    while changed:
        changed = False
        low = text.lower()
        for s in suffixes:
            if low.endswith(s.lower()) and len(text) > len(s):
                text = text[: -len(s)].rstrip(" ,")
                changed = True
                break
    return text


def _variants(text: str, suffixes: list[str]) -> list[str]:
    """Forms of an inclusion term: bracketed alternatives apart, optional (parenthesized) words dropped or kept."""
    out: list[str] = []
    base = _BRACKETS.sub("", text).strip()
    for alt in _BRACKETS.findall(text):
        out.append(alt.strip())
    if "(" in base:
        out.append(" ".join(_PARENS.sub("", base).split()))
        out.append(" ".join(base.replace("(", "").replace(")", "").split()))
    else:
        out.append(base)
    return [v for v in (strip_qualifiers(v, suffixes) for v in out) if v]


def read_icd10cm(xml_path: str | Path | None = None) -> SourceData:
    """Read the ICD-10-CM tabular list.

    Args:
        xml_path: a tabular-list XML file; ``None`` uses the one shipped in
            ``simple_icd_10_cm``.

    Returns:
        Source ``icd10cm``: chapters, blocks and codes (see the module doc for ids
        and labels); synonyms: the description (``preferred``), the description
        without trailing qualifiers such as ``, unspecified``, `` NOS`` or
        ``without complications`` (``exact``), and the inclusion terms and
        includes notes of codes (``inclusion``); ``is_a`` relations code -> parent
        code -> block -> chapter.

    Raises:
        SourceError: E104 when the file cannot be read or parsed.
    """
    path = Path(xml_path) if xml_path else default_xml_path()
    rules = label_rules().icd10cm
    suffixes = rules.strip_suffixes
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise SourceError(Errors.E104.format(source=SOURCE, path=path, details=exc)) from exc

    concepts: list[Concept] = []
    synonyms: list[Synonym] = []
    relations: list[Relation] = []

    def add_names(cid: str, name: str, extra: list[tuple[str, str]]) -> None:
        seen = {name.casefold()}
        synonyms.append(Synonym(cid, name, "preferred", SOURCE))
        short = strip_qualifiers(name, suffixes)
        for text, kind in [(short, "exact"), *extra]:
            if text and text.casefold() not in seen:
                seen.add(text.casefold())
                synonyms.append(Synonym(cid, text, kind, SOURCE))

    def walk_diag(diag: ET.Element, parent: str, inherited_7th: dict[str, str] | None) -> None:
        code = (diag.findtext("name") or "").strip()
        desc = " ".join((diag.findtext("desc") or "").split())
        if not code or not desc:
            raise SourceError(Errors.E104.format(source=SOURCE, path=path, details=f"a <diag> under {parent} has no name or desc"))
        cid = f"ICD10CM:{code}"
        seventh = inherited_7th
        defs = diag.find("sevenChrDef")
        if defs is not None:
            seventh = {ext.get("char", ""): " ".join((ext.text or "").split()) for ext in defs.findall("extension")}
        attrs = {"seventh_characters": seventh} if seventh and defs is not None else {}
        concepts.append(Concept(cid, desc, SOURCE, label_of(code, rules), None, attrs))
        extra: list[tuple[str, str]] = []
        for tag in ("inclusionTerm", "includes"):
            for el in diag.findall(tag):
                for note in el.findall("note"):
                    text = " ".join((note.text or "").split())
                    extra.extend((v, "inclusion") for v in _variants(text, suffixes))
        add_names(cid, desc, extra)
        relations.append(Relation(cid, "is_a", parent, SOURCE))
        for child in diag.findall("diag"):
            walk_diag(child, cid, seventh)

    for chapter in root.iter("chapter"):
        number = (chapter.findtext("name") or "").strip()
        cdesc = " ".join((chapter.findtext("desc") or "").split())
        chap_id = f"ICD10CM:chapter-{number}"
        concepts.append(Concept(chap_id, cdesc, SOURCE, rules.chapter_label))
        add_names(chap_id, cdesc, [(_RANGE_SUFFIX.sub("", cdesc), "exact")])
        for section in chapter.findall("section"):
            block = section.get("id", "").strip()
            sdesc = " ".join((section.findtext("desc") or "").split())
            if not block:
                raise SourceError(Errors.E104.format(source=SOURCE, path=path, details=f"a <section> in chapter {number} has no id"))
            if "-" not in block:  # a one-category block ("B20") must not clash with the category itself
                block = f"{block}-{block}"
            block_id = f"ICD10CM:{block}"
            concepts.append(Concept(block_id, sdesc, SOURCE, label_of(block, rules)))
            add_names(block_id, sdesc, [(_RANGE_SUFFIX.sub("", sdesc), "exact")])
            relations.append(Relation(block_id, "is_a", chap_id, SOURCE))
            for diag in section.findall("diag"):
                walk_diag(diag, block_id, None)

    if not concepts:
        raise SourceError(Errors.E104.format(source=SOURCE, path=path, details="no <chapter> elements found"))
    try:
        pkg = f"simple-icd-10-cm {importlib.metadata.version('simple-icd-10-cm')} ({path.name})"
    except importlib.metadata.PackageNotFoundError:
        pkg = str(path)
    info = SourceInfo(SOURCE, _version(path, root), TITLE, LICENSE, pkg if xml_path is None else str(path))
    return SourceData(info, concepts, synonyms, relations)
