"""A generic reader for ontologies in OBO 1.2 format (HPO, MONDO, DOID, ...).

Only ``[Term]`` stanzas are read; ``[Typedef]`` and other stanzas are skipped.
Obsolete terms are left out. The reader is a single pass over the lines (no
regular expression per line except for synonyms and definitions), so a 10 MB
file such as ``hp.obo`` reads in well under a second.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from medlens.errors import Errors, SourceError
from medlens.kg.sources.base import SourceData
from medlens.kg.store import LABELS, Concept, Relation, SourceInfo, Synonym

_SCOPES = {"EXACT": "exact", "RELATED": "related", "NARROW": "narrow", "BROAD": "broad"}
# synonym types (the optional word after the scope) that decide the kind themselves
_TYPE_KINDS = {"abbreviation": "abbreviation", "layperson": "lay"}
_SKIPPED_TYPES = {"obsolete_synonym"}
_SYNONYM = re.compile(r'^"((?:[^"\\]|\\.)*)"\s+(EXACT|RELATED|NARROW|BROAD)(?:\s+([^\s\[]+))?\s*(?:\[.*)?$')
_QUOTED = re.compile(r'^"((?:[^"\\]|\\.)*)"')
_DATED_VERSION = re.compile(r"releases/(\d{4}-\d{2}-\d{2})")

DEFAULT_XREF_PREFIXES: dict[str, str] = {
    "MSH": "MESH",
    "MeSH": "MESH",
    "SNOMEDCT_US": "SNOMEDCT",
    "SCTID": "SNOMEDCT",
    "ORPHANET": "ORPHA",
    "Orphanet": "ORPHA",
    "ICD-10": "ICD10",
    "ICD10CM": "ICD10CM",
    "ICD10": "ICD10",
    "OMIM": "OMIM",
    "MIM": "OMIM",
}
"""Prefixes of cross-references rewritten to the spelling medlens uses (``MSH:D003920`` -> ``MESH:D003920``)."""


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return text.replace('\\"', '"').replace("\\n", " ").replace("\\t", " ").replace("\\\\", "\\")


def _strip_comment(value: str) -> str:
    """Drop a trailing ``! comment`` and ``{modifiers}`` from a reference value."""
    cut = value.find(" !")
    if cut >= 0:
        value = value[:cut]
    cut = value.find(" {")
    if cut >= 0:
        value = value[:cut]
    return value.strip()


def _remap(curie: str, prefixes: Mapping[str, str]) -> str:
    prefix, sep, local = curie.partition(":")
    if not sep:
        return curie
    new = prefixes.get(prefix)
    return f"{new}:{local}" if new else curie


def read_obo(
    path: str | Path,
    source: str,
    title: str,
    license: str,
    version: str | None = None,
    default_label: str = "FINDING",
    id_prefix_map: Mapping[str, str] | None = None,
) -> SourceData:
    """Read the ``[Term]`` stanzas of an OBO 1.2 file.

    Each term becomes a concept (id as in the file, e.g. ``HP:0002315``) with its
    name as a ``preferred`` synonym; ``synonym`` lines become synonyms whose kind
    follows the scope (EXACT -> exact, RELATED -> related, NARROW -> narrow,
    BROAD -> broad), except that the synonym types ``abbreviation`` and
    ``layperson`` give the kinds ``abbreviation`` and ``lay`` (for EXACT
    synonyms) and ``obsolete_synonym`` ones are dropped. ``is_a`` lines become
    ``is_a`` relations, ``xref`` lines ``xref`` relations whose object prefix is
    normalized with :data:`DEFAULT_XREF_PREFIXES` (``MSH:`` -> ``MESH:``).
    ``alt_id`` values are kept in ``attrs["alt_ids"]``. Terms marked
    ``is_obsolete: true`` are skipped, and so are ``is_a`` edges to them.

    Args:
        path: the ``.obo`` file.
        source: source name recorded on every concept, synonym and relation (``"hpo"``).
        title: human-readable title of the source.
        license: the source's license.
        version: version to record; ``None`` takes the header's ``data-version``
            (``hp/releases/2025-01-16`` is shortened to ``2025-01-16``), or
            ``"unknown"`` when the header has none.
        default_label: label given to every concept (one of ``store.LABELS``);
            callers such as :func:`medlens.kg.sources.hpo.read_hpo` relabel afterwards.
        id_prefix_map: prefix rewrites applied to term ids, ``is_a`` targets and
            xref objects (for xrefs, on top of :data:`DEFAULT_XREF_PREFIXES`);
            ``None`` keeps the ids as written.

    Returns:
        The source's concepts, synonyms and relations.

    Raises:
        SourceError: E104 when the file cannot be read or is not OBO; E105 for a
            malformed line (a tag line without ``:``, a synonym or definition
            without quoted text, a stanza without ``id``).
    """
    p = Path(path)
    if default_label not in LABELS:
        raise SourceError(Errors.E007.format(value=default_label, opts=", ".join(LABELS)))
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(Errors.E104.format(source=source, path=p, details=exc)) from exc

    id_map = dict(id_prefix_map or {})
    xref_map = {**DEFAULT_XREF_PREFIXES, **id_map}
    header: dict[str, str] = {}
    concepts: list[Concept] = []
    synonyms: list[Synonym] = []
    relations: list[Relation] = []
    obsolete: set[str] = set()

    in_header = True
    in_term = False
    term: dict[str, Any] = {}

    def finish(line_no: int) -> None:
        if not term:
            return
        tid = term.get("id")
        if not tid:
            raise SourceError(Errors.E105.format(path=p, line=term["_line"], details="[Term] stanza without an 'id' line"))
        if term.get("obsolete"):
            obsolete.add(tid)
            return
        name = term.get("name") or tid
        attrs = {"alt_ids": term["alt_ids"]} if term.get("alt_ids") else {}
        concepts.append(Concept(tid, name, source, default_label, term.get("def"), attrs))
        seen = {name.casefold()}
        synonyms.append(Synonym(tid, name, "preferred", source))
        for syn_text, kind in term.get("syns", ()):
            key = syn_text.casefold()
            if key not in seen:
                seen.add(key)
                synonyms.append(Synonym(tid, syn_text, kind, source))
        for parent in term.get("is_a", ()):
            relations.append(Relation(tid, "is_a", parent, source))
        for xref in term.get("xrefs", ()):
            relations.append(Relation(tid, "xref", xref, source))

    lines = text.splitlines()
    for line_no, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("!"):
            continue
        if line[0] == "[":
            in_header = False
            if in_term:
                finish(line_no)
            term = {}
            in_term = line == "[Term]"
            if in_term:
                term["_line"] = line_no
            continue
        tag, sep, value = line.partition(":")
        if not sep or not tag or " " in tag:
            raise SourceError(Errors.E105.format(path=p, line=line_no, details=f"expected 'tag: value', got {line[:80]!r}"))
        value = value.strip()
        if in_header:
            header.setdefault(tag, value)
            continue
        if not in_term:
            continue
        if tag == "id":
            term["id"] = _remap(value, id_map) if id_map else value
        elif tag == "name":
            term["name"] = _unescape(value)
        elif tag == "is_a":
            target = _strip_comment(value)
            term.setdefault("is_a", []).append(_remap(target, id_map) if id_map else target)
        elif tag == "synonym":
            m = _SYNONYM.match(value)
            if not m:
                raise SourceError(Errors.E105.format(
                    path=p, line=line_no,
                    details=f"synonym must be '\"text\" EXACT|RELATED|NARROW|BROAD [type] [xrefs]', got {value[:80]!r}"))
            syn_type = m.group(3)
            if syn_type in _SKIPPED_TYPES:
                continue
            kind = _SCOPES[m.group(2)]
            if syn_type in _TYPE_KINDS and (kind == "exact" or syn_type == "abbreviation"):
                kind = _TYPE_KINDS[syn_type]
            term.setdefault("syns", []).append((_unescape(m.group(1)), kind))
        elif tag == "def":
            m = _QUOTED.match(value)
            if not m:
                raise SourceError(Errors.E105.format(path=p, line=line_no, details=f"def must start with quoted text, got {value[:80]!r}"))
            term["def"] = _unescape(m.group(1))
        elif tag == "xref":
            target = _strip_comment(value).split(" ", 1)[0]
            if ":" in target:
                term.setdefault("xrefs", []).append(_remap(target, xref_map))
        elif tag == "alt_id":
            term.setdefault("alt_ids", []).append(value)
        elif tag == "is_obsolete":
            term["obsolete"] = value.lower() == "true"
    if in_term:
        finish(len(lines))

    if not concepts and "format-version" not in header:
        raise SourceError(Errors.E104.format(source=source, path=p, details="no [Term] stanzas and no OBO header found"))
    if obsolete:
        relations = [r for r in relations if not (r.predicate == "is_a" and r.object in obsolete)]

    if version is None:
        raw_version = header.get("data-version", "unknown")
        m = _DATED_VERSION.search(raw_version)
        version = m.group(1) if m else raw_version
    info = SourceInfo(source, version, title, license, f"{p.name}")
    return SourceData(info, concepts, synonyms, relations)
