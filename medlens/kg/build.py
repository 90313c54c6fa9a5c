"""Building the default knowledge graph (and graphs with the user's own sources).

``build_graph()`` reads each source (ICD-10-CM, HPO with its OMIM/Orphanet
disease annotations, MeSH diseases, drugs, the curated clinical lexicon, the
DDXPlus common-disease knowledge shipped in ``resources/en/common``),
writes them into a new SQLite file, resolves clinical abbreviations, builds the
synonym match index, and moves the file into place atomically. Sources the
user brings (CSV tables, OBO files, a UMLS RRF folder) are added with the same
call.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from medlens.errors import Errors, KnowledgeGraphError
from medlens.kg.sources.base import SourceData
from medlens.kg.store import GraphWriter, Relation, default_graph_path

DEFAULT_SOURCES = ("icd10cm", "hpo", "mesh", "drugs", "medlens", "ddxplus")
"""Sources of the default graph; all install from PyPI with medlens."""


def _read_default(name: str) -> list[SourceData]:
    if name == "icd10cm":
        from medlens.kg.sources.icd10cm import read_icd10cm

        return [read_icd10cm()]
    if name == "hpo":
        from medlens.kg.sources.hpo import read_hpo

        return list(read_hpo())
    if name == "mesh":
        from medlens.kg.sources.mesh import read_mesh_sources

        return read_mesh_sources()
    if name == "drugs":
        from medlens.kg.sources.drugs import read_drugs
        from medlens.kg.sources.mesh_ids import read_descriptors_table

        return [read_drugs(descriptors=read_descriptors_table())]
    if name == "medlens":
        from medlens.kg.sources.lexicon import read_clinical_lexicon

        return [read_clinical_lexicon()]
    if name == "ddxplus":
        from medlens.kg.sources.ddxplus import read_ddxplus

        return [read_ddxplus()]
    raise KnowledgeGraphError(Errors.E103.format(name=name, opts=", ".join(DEFAULT_SOURCES)))


@dataclass
class BuildReport:
    """What a build did: the file, counts per source and timings (seconds)."""

    path: Path
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    index: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    size_bytes: int = 0


Step = Callable[[str], None]


def build_graph(
    path: str | Path | None = None,
    sources: Sequence[str] = DEFAULT_SOURCES,
    extra: Iterable[SourceData | Callable[[], SourceData | list[SourceData]]] = (),
    abbreviations: bool = True,
    on_step: Step | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> BuildReport:
    """Build a knowledge graph file.

    Args:
        path: output file; None writes the default location (see
            :func:`medlens.kg.store.default_graph_path`). The old file stays in use
            until the new one is complete.
        sources: names of shipped sources to include (default: all of
            :data:`DEFAULT_SOURCES`; pass ``()`` for only ``extra``).
        extra: more sources: ``SourceData`` records or callables returning them
            (e.g. ``lambda: read_obo("my.obo", source="mine", ...)``).
        abbreviations: resolve and index the shipped clinical abbreviations.
        on_step: called with a description as each step starts (for progress display).
        on_progress: called with ``(done, total)`` while synonyms are indexed.

    Returns:
        A :class:`BuildReport`.
    """
    import spacy

    from medlens.kg.index import build_index

    target = Path(path).expanduser() if path else default_graph_path()
    report = BuildReport(path=target)
    step = on_step or (lambda _msg: None)
    with GraphWriter(target) as writer:
        pending: list[tuple[str, Callable[[], list[SourceData]]]] = [
            (name, lambda name=name: _read_default(name)) for name in sources
        ]
        for i, item in enumerate(extra):
            if isinstance(item, SourceData):
                pending.append((item.info.name, lambda item=item: [item]))
            else:
                pending.append((f"extra source {i + 1}", lambda item=item: _as_list(item())))
        for label, read in pending:
            step(f"reading {label}")
            t0 = time.perf_counter()
            for data in read():
                _write(writer, data)
                report.counts[data.info.name] = {
                    "concepts": len(data.concepts), "synonyms": len(data.synonyms), "relations": len(data.relations)}
            report.seconds[label] = round(time.perf_counter() - t0, 2)

        step("linking drugs to MeSH chemical ids")
        drug_xrefs = add_mesh_chemicals(writer) + link_drugs_to_mesh(writer)

        abbrevs = []
        if abbreviations:
            from medlens.kg.sources.lexicon import read_abbreviations

            abbrevs = read_abbreviations()
        step("indexing synonyms")
        t0 = time.perf_counter()
        tokenizer = spacy.blank("en").tokenizer
        total = writer.connection.execute("SELECT COUNT(*) FROM synonyms").fetchone()[0]
        done = 0

        def progress(n: int) -> None:
            nonlocal done
            done += n
            if on_progress:
                on_progress(done, total)

        report.index = build_index(
            writer.connection,
            lambda texts: tokenize_many(tokenizer, texts),
            abbreviations=abbrevs,
            progress=progress,
        )
        report.index["drug_mesh_xrefs"] = drug_xrefs
        report.seconds["index"] = round(time.perf_counter() - t0, 2)
        writer.set_meta("built_at", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        from medlens import __version__

        writer.set_meta("medlens_version", __version__)
        step("writing full-text index and compacting")
        t0 = time.perf_counter()
    report.seconds["finish"] = round(time.perf_counter() - t0, 2)
    report.size_bytes = target.stat().st_size
    return report


_PLAIN = re.compile(r"[A-Za-z]+(?: [A-Za-z]+)*")


def tokenize_many(tokenizer, texts: Iterable[str]) -> Iterator[list[str]]:
    """Token texts of many short strings, as ``tokenizer`` would split them.

    Plain strings (letters and single spaces, no tokenizer special case such as
    "cannot") split on spaces exactly as spaCy would; only the rest go through
    the tokenizer. This halves the indexing time of the default graph.
    """
    special = set(tokenizer.rules or {})
    for text in texts:
        if _PLAIN.fullmatch(text):
            words = text.split(" ")
            if not any(w in special for w in words):
                yield words
                continue
        yield [t.text for t in tokenizer(text)]


def _as_list(value: SourceData | list[SourceData]) -> list[SourceData]:
    return value if isinstance(value, list) else [value]


def add_mesh_chemicals(writer: GraphWriter, descriptors_path: str | Path | None = None) -> int:
    """Add MeSH chemicals (source ``mesh_descriptors``) to a graph being built: see
    :func:`medlens.kg.sources.mesh_ids.descriptor_concepts`. Needs the ``mesh`` source;
    uses the drug names of the ``drugs`` source when present.

    Returns:
        How many drug -> MeSH ``xref`` relations were added.
    """
    from medlens.kg.sources.mesh_ids import DESCRIPTORS_INFO, descriptor_concepts, read_descriptors_table
    from medlens.normalize import simple_norm

    if "mesh" not in writer.sources:
        return 0
    drug_names: dict[str, set[str]] = {}
    for text, cid in writer.connection.execute("SELECT text, concept_id FROM synonyms WHERE source='drugs'"):
        drug_names.setdefault(simple_norm(text), set()).add(cid)
    descriptors = read_descriptors_table(descriptors_path)
    existing = {cid for cid in descriptors if writer.has_concept(cid)}
    named_from_mentions = {r[0] for r in writer.connection.execute(
        "SELECT id FROM concepts WHERE source='mesh' AND label='DRUG'")}
    concepts, synonyms, relations = descriptor_concepts(descriptors, existing, drug_names, named_from_mentions & existing)
    writer.connection.executemany("UPDATE concepts SET name=? WHERE id=?",
                                  [(descriptors[c], c) for c in sorted(named_from_mentions & existing)])
    writer.add_source(DESCRIPTORS_INFO)
    writer.add_concepts(concepts)
    writer.add_synonyms(synonyms)
    return writer.add_relations(relations)


def link_drugs_to_mesh(writer: GraphWriter) -> int:
    """Add ``xref`` relations from drugs (DrugBank ids) to MeSH chemical concepts.

    A MeSH chemical concept known from training-corpus mentions (source ``mentions``)
    and a drug concept are linked when a mention of the MeSH id equals (case-folded) a
    name of exactly one drug concept; the relation's ``attrs["via"]`` is that name.
    ``kg.map_to("DB00316", "mesh")`` then walks from a drug to its MeSH id.

    Returns:
        How many relations were added (0 when either source is absent).
    """
    from medlens.normalize import simple_norm

    conn = writer.connection
    chemicals = {r[0] for r in conn.execute("SELECT id FROM concepts WHERE label='DRUG' AND source='mesh'")}
    mentions: dict[str, set[str]] = {}
    for cid, text in conn.execute("SELECT concept_id, text FROM synonyms WHERE source='mentions'"):
        if cid in chemicals and len(text) >= 4:
            mentions.setdefault(simple_norm(text), set()).add(cid)
    drugs_of: dict[tuple[str, str], set[str]] = {}
    for drug, text in conn.execute("SELECT concept_id, text FROM synonyms WHERE source='drugs'"):
        for mesh_id in mentions.get(simple_norm(text), ()):
            drugs_of.setdefault((mesh_id, simple_norm(text)), set()).add(drug)
    pairs: dict[tuple[str, str], str] = {}
    for (mesh_id, text), drugs in drugs_of.items():
        if len(drugs) == 1:
            pairs.setdefault((next(iter(drugs)), mesh_id), text)
    if not pairs:
        return 0
    if "mentions" not in writer.sources:
        return 0
    return writer.add_relations(Relation(d, "xref", m, "mentions", {"via": t}) for (d, m), t in sorted(pairs.items()))


def _write(writer: GraphWriter, data: SourceData) -> None:
    writer.add_source(data.info)
    # concepts of a vocabulary this build does not include (OMIM ids from MEDIC without HPO) are left out
    writer.add_concepts(c for c in data.concepts if c.source in writer.sources)
    writer.add_synonyms(data.synonyms)
    writer.add_relations(data.relations)
