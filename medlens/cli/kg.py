"""``medlens kg``: build and query the knowledge graph."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from medlens.cli.console import err
from medlens.cli.console import fail as _fail
from medlens.errors import MedlensError

kg_app = typer.Typer(help="Build and query the embedded medical knowledge graph.", no_args_is_help=True)
out = Console()

KgOption = Annotated[Optional[Path], typer.Option("--kg", help="Graph file (default: $MEDLENS_KG, or ~/.local/share/medlens/kg.sqlite).")]



def _open(kg: Path | None):
    from medlens.kg.store import KnowledgeGraph

    try:
        return KnowledgeGraph.open(kg)
    except MedlensError as exc:
        _fail(str(exc))


@kg_app.command("build")
def build_cli(
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Where to write the graph (default: $MEDLENS_KG, or ~/.local/share/medlens/kg.sqlite).")] = None,
    sources: Annotated[str, typer.Option("--sources", help="Shipped sources to include, comma-separated; 'none' for only your own.")] = "icd10cm,hpo,mesh,drugs,medlens,ddxplus",
    csv_concepts: Annotated[Optional[Path], typer.Option("--csv-concepts", help="Your concepts table (id,name,label[,definition]).")] = None,
    csv_synonyms: Annotated[Optional[Path], typer.Option("--csv-synonyms", help="Your synonyms table (concept_id,text[,kind]).")] = None,
    csv_relations: Annotated[Optional[Path], typer.Option("--csv-relations", help="Your relations table (subject,predicate,object[,attrs]).")] = None,
    csv_source: Annotated[str, typer.Option("--csv-source", help="Source name recorded for the CSV tables.")] = "custom",
    obo: Annotated[Optional[list[Path]], typer.Option("--obo", help="An OBO ontology file to add (repeatable); source name = file stem.")] = None,
    obo_label: Annotated[str, typer.Option("--obo-label", help="Entity label of OBO terms.")] = "FINDING",
    umls: Annotated[Optional[Path], typer.Option("--umls", help="A UMLS META folder with MRCONSO.RRF, MRREL.RRF, MRSTY.RRF.")] = None,
) -> None:
    """Build the knowledge graph (about 1-2 minutes for the default sources).

    The new graph is written beside the old one and replaces it only when complete.

    Example: medlens kg build --obo my_terms.obo --csv-concepts local.csv
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from medlens.kg.build import DEFAULT_SOURCES, build_graph

    names = [] if sources.strip().lower() == "none" else [s.strip() for s in sources.split(",") if s.strip()]
    unknown = [n for n in names if n not in DEFAULT_SOURCES]
    if unknown:
        _fail(f"unknown source(s) {', '.join(unknown)}; accepted: {', '.join(DEFAULT_SOURCES)}, or 'none'")
    extra = []
    if csv_concepts:
        from medlens.kg.sources.csv_tables import read_csv_tables

        extra.append(lambda: read_csv_tables(csv_concepts, csv_synonyms, csv_relations, source=csv_source))
    for f in obo or []:
        from medlens.kg.sources.obo import read_obo

        extra.append(lambda f=f: read_obo(f, source=f.stem, title=f.name, license="user supplied", default_label=obo_label))
    if umls:
        from medlens.kg.sources.umls import read_umls_rrf

        extra.append(lambda: read_umls_rrf(umls))
    if not names and not extra:
        _fail("nothing to build: give --sources or your own --csv-concepts / --obo / --umls")

    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err)
    steps = progress.add_task("building", total=None)
    index_task = None

    def on_step(msg: str) -> None:
        progress.update(steps, description=msg)

    def on_progress(done: int, total: int) -> None:
        nonlocal index_task
        if index_task is None:
            index_task = progress.add_task("synonyms indexed", total=total)
        progress.update(index_task, completed=done)

    try:
        with progress:
            report = build_graph(output, sources=names, extra=extra, on_step=on_step, on_progress=on_progress)
    except MedlensError as exc:
        _fail(str(exc))
    table = Table(title=f"knowledge graph: {report.path} ({report.size_bytes / 1e6:.0f} MB)")
    for col in ("source", "concepts", "synonyms", "relations", "seconds"):
        table.add_column(col, justify="right" if col != "source" else "left")
    for name, c in report.counts.items():
        table.add_row(name, f"{c['concepts']:,}", f"{c['synonyms']:,}", f"{c['relations']:,}", "")
    for step, s in report.seconds.items():
        table.add_row(f"[dim]{step}[/dim]", "", "", "", f"{s:.1f}")
    out.print(table)
    idx = report.index
    out.print(f"match index: {idx.get('entries', 0):,} keys from {idx.get('synonyms', 0):,} synonyms; "
              f"{idx.get('abbreviations', 0)} abbreviations resolved, {idx.get('abbreviations_unresolved', 0)} unresolved")


@kg_app.command("stats")
def stats_cli(kg: KgOption = None, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Counts of concepts, synonyms and relations per source, with versions; then the grown layer (what
    `medlens kg grow` learned from text), apart from the curated sources."""
    from medlens.cli.grow import print_grown
    from medlens.relations.grown import grown_stats

    graph = _open(kg)
    stats = graph.stats()
    versions = {s.name: s for s in graph.sources()}
    try:
        grown = grown_stats(graph)
    except MedlensError as exc:
        _fail(str(exc))
    if as_json:
        out.print_json(json.dumps({"path": str(graph.path), "sources": {
            n: {**c, "version": versions[n].version if n in versions else None} for n, c in stats.items()},
            "grown": grown}))
        return
    table = Table(title=str(graph.path))
    for col in ("source", "version", "concepts", "synonyms", "relations"):
        table.add_column(col, justify="right" if col in ("concepts", "synonyms", "relations") else "left")
    totals = [0, 0, 0]
    for name, c in stats.items():
        table.add_row(name, versions[name].version if name in versions else "", f"{c['concepts']:,}", f"{c['synonyms']:,}", f"{c['relations']:,}")
        totals = [totals[0] + c["concepts"], totals[1] + c["synonyms"], totals[2] + c["relations"]]
    table.add_row("[bold]total", "", *(f"[bold]{t:,}" for t in totals))
    out.print(table)
    print_grown(grown, out)


@kg_app.command("concept")
def concept_cli(concept_id: Annotated[str, typer.Argument(help="e.g. ICD10CM:E11.9, HP:0002315, MESH:D003920, DB00945")],
                kg: KgOption = None, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Show a concept: name, label, synonyms, parents, children and relations."""
    graph = _open(kg)
    try:
        c = graph.get(concept_id)
    except MedlensError as exc:
        _fail(str(exc))
    synonyms = graph.synonyms(c.id)
    rels = graph.relations(c.id, direction="both")
    data = {
        "id": c.id, "name": c.name, "label": c.label, "source": c.source, "definition": c.definition, "attrs": c.attrs,
        "synonyms": [{"text": s.text, "kind": s.kind, "source": s.source} for s in synonyms],
        "parents": graph.parents(c.id), "children": graph.children(c.id),
        "relations": [{"subject": r.subject, "predicate": r.predicate, "object": r.object, "source": r.source, **({"attrs": r.attrs} if r.attrs else {})}
                      for r in rels if r.predicate != "is_a"],
    }
    if as_json:
        out.print_json(json.dumps(data))
        return
    out.print(f"[bold]{c.id}[/bold]  {c.name}  [dim]({c.label}, {c.source})[/dim]")
    if c.attrs.get("mesh_trees"):
        out.print("MeSH tree numbers: " + ", ".join(c.attrs["mesh_trees"]))
    if c.definition:
        out.print(f"[dim]{c.definition}[/dim]")
    out.print(f"synonyms ({len(synonyms)}): " + "; ".join(s.text for s in synonyms[:25]) + (" ..." if len(synonyms) > 25 else ""))
    names = graph.concepts(data["parents"] + data["children"][:10])
    out.print("parents: " + ", ".join(f"{p} {names[p].name if p in names else ''}" for p in data["parents"]))
    out.print(f"children ({len(data['children'])}): " + ", ".join(f"{p} {names[p].name if p in names else ''}" for p in data["children"][:10]))
    if data["relations"]:
        out.print(f"relations ({len(data['relations'])}):")
        for r in data["relations"][:20]:
            out.print(f"  {r['subject']} --{r['predicate']}--> {r['object']} {r.get('attrs', '')}")


@kg_app.command("search")
def search_cli(text: Annotated[str, typer.Argument(help="Words to look for; misspellings are tolerated.")],
               kg: KgOption = None, limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 10,
               label: Annotated[Optional[str], typer.Option("--label", help="Only this label (DISEASE, SYMPTOM, DRUG, ...).")] = None,
               as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Fuzzy search of concepts by name or synonym."""
    graph = _open(kg)
    try:
        hits = graph.search(text, limit=limit, labels=[label.upper()] if label else None)
    except MedlensError as exc:
        _fail(str(exc))
    if as_json:
        out.print_json(json.dumps([{"id": h.concept.id, "name": h.concept.name, "label": h.concept.label,
                                    "source": h.concept.source, "matched": h.matched, "score": h.score} for h in hits]))
        return
    table = Table()
    for col in ("score", "id", "name", "label", "matched"):
        table.add_column(col)
    for h in hits:
        table.add_row(f"{h.score:.2f}", h.concept.id, h.concept.name, h.concept.label, h.matched)
    out.print(table)


@kg_app.command("map")
def map_cli(concept_id: Annotated[str, typer.Argument(help="e.g. ICD10CM:E11.9, DB00316, OMIM:114480, MESHTREE:C04.588.180")],
            to: Annotated[str, typer.Option("--to", help="Target vocabulary: mesh, icd10cm, hpo, omim, orphanet, drugbank.")] = "mesh",
            broader: Annotated[int, typer.Option("--broader", min=0, help="is_a levels to climb when nothing equivalent is found (0: never).")] = 2,
            kg: KgOption = None, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Ids of another vocabulary for a concept (cross-references, same names, then broader concepts).

    Example: medlens kg map DB00316 --to mesh
    """
    graph = _open(kg)
    try:
        found = graph.map_to(concept_id, to, broader=broader)
    except MedlensError as exc:
        _fail(str(exc))
    if as_json:
        out.print_json(json.dumps([{"id": m.concept_id, "name": m.name, "via": m.via, "path": list(m.path)} for m in found]))
        return
    if not found:
        err.print(f"no {to} id found for {concept_id}")
        raise typer.Exit(1)
    table = Table()
    for col in ("id", "name", "via", "path"):
        table.add_column(col)
    for m in found:
        table.add_row(m.concept_id, m.name, m.via, " -> ".join(m.path))
    out.print(table)
