"""``medlens kg grow`` and ``medlens kg relations``: grow the graph from text and list what it learned."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from medlens.cli.console import err
from medlens.cli.console import fail as _fail
from medlens.errors import MedlensError

out = Console()

KgOption = Annotated[Path | None, typer.Option("--kg", help="Graph file (default: $MEDLENS_KG, or ~/.local/share/medlens/kg.sqlite); the grown layer is the file beside it (kg.grown.sqlite).")]


def grow_cli(
    corpus: Annotated[list[Path], typer.Argument(help="JSONL files (one {\"id\": ..., \"text\": ...} a line), folders of text files (searched recursively) or text files.")],
    kg: KgOption = None,
    processes: Annotated[int | None, typer.Option("--processes", "-j", min=1, help="Worker processes (default: every core).")] = None,
    model: Annotated[bool, typer.Option("--model/--no-model", help="Run the shipped models (transformer recognizer, adverse-event tagger; the trained relation model runs whenever it is installed). --no-model: the dictionary recognizer and rules, about 10x faster.")] = True,
    pattern: Annotated[list[str], typer.Option("--pattern", help="File name pattern in a folder (repeatable).")] = ["*.txt", "*.text", "*.md", "*.note"],
    commit_every: Annotated[int, typer.Option("--commit-every", min=1, help="Documents per commit of the partial layer (what an interruption can lose).")] = 32,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Read at most this many documents.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Grow the knowledge graph from text: co-occurrence statistics and relations with their evidence.

    Every document runs through the pipeline and the relation components;
    its concepts and relations go to the grown layer, a file beside the
    graph (the curated graph is never changed). Documents already counted
    (same text) are skipped: a second run adds only new documents. The
    layer is replaced only when the grow has finished; an interrupted grow
    leaves the previous one in use, and the next grow resumes from it.

    Examples:

      medlens kg grow abstracts.jsonl

      medlens kg grow notes/ more_notes/ --no-model -j 2
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from medlens.relations.grow import grow

    progress = Progress(TextColumn("[bold]growing"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=err, disable=as_json and not err.is_terminal)
    task = progress.add_task("grow", total=None, info="")
    edges = [0]

    def on_total(n: int) -> None:
        progress.update(task, total=n)

    def on_document(res, outcome: str) -> None:
        edges[0] += len(res.edges) if outcome in ("added", "replaced") else 0
        progress.update(task, advance=1, info=f"{edges[0]:,} relations")

    try:
        with progress:
            report = grow(kg, [str(c) for c in corpus], processes=processes, model=model, patterns=tuple(pattern),
                          commit_every=commit_every, limit=limit, on_total=on_total, on_document=on_document)
    except KeyboardInterrupt:
        err.print("interrupted: the previous grown layer is still in use; run the same command again to resume.")
        raise typer.Exit(130) from None
    except MedlensError as exc:
        _fail(str(exc))
    c = report.counts
    data = {"path": str(report.path), "added": c.added, "replaced": c.replaced, "skipped": c.skipped,
            "failed": c.failed, "resumed": c.resumed, "relations_added": c.edges, "seconds": round(report.seconds, 2),
            "docs_per_second": round(report.docs_per_second, 2), "pipeline": report.pipeline, "layer": report.stats,
            "errors": c.errors[:20]}
    if as_json:
        out.print_json(json.dumps(data))
        return
    err.print(f"{c.added:,} documents added, {c.replaced:,} replaced, {c.skipped:,} already counted, {c.failed:,} failed"
              + (f" ({c.resumed:,} resumed from an interrupted grow)" if c.resumed else "")
              + f"; {c.edges:,} relations in {report.seconds:.1f}s ({report.docs_per_second:.1f} documents/s)")
    for e in c.errors[:5]:
        err.print(f"[yellow]failed:[/yellow] {escape(e)}")
    print_grown(report.stats, out)


def print_grown(stats: dict | None, console: Console) -> None:
    """The grown layer's table (``medlens kg stats`` and ``medlens kg grow``)."""
    if stats is None:
        console.print("[dim]grown layer: none (grow one with `medlens kg grow CORPUS`)[/dim]")
        return
    console.print(f"[bold]grown layer[/bold] (learned from text): {stats['path']} ({stats['size_bytes'] / 1e6:.1f} MB, "
                  f"{stats['grows']} grow(s), last {stats['updated']})")
    console.print(f"  {stats['documents']:,} documents, {stats['sentences']:,} sentences, {stats['mentions']:,} concept "
                  f"mentions of {stats['concepts']:,} concepts; {stats['pairs']:,} co-occurring pairs "
                  f"({stats['pairs_in_a_sentence']:,} in one sentence)")
    table = Table(title="learned relations")
    for col in ("predicate", "edges", "evidence"):
        table.add_column(col, justify="left" if col == "predicate" else "right")
    for pred, v in stats["predicates"].items():
        table.add_row(pred, f"{v['edges']:,}", f"{v['evidence']:,}")
    table.add_row("[bold]total", f"[bold]{stats['edges']:,}", f"[bold]{stats['evidence']:,}")
    console.print(table)
    if stats["methods"]:
        console.print("  by method: " + ", ".join(f"{m} {n:,}" for m, n in stats["methods"].items()))
    if stats.get("pipeline"):
        console.print("  [dim]last grown with: " + " -> ".join(p.removeprefix("medlens_") for p in stats["pipeline"]) + "[/dim]")


def relations_cli(
    concept_id: Annotated[str, typer.Argument(help="e.g. DB00951 (isoniazid), MESH:D056486, ICD10CM:I10")],
    kg: KgOption = None,
    predicate: Annotated[list[str] | None, typer.Option("--predicate", "-p", help="Only this predicate (repeatable): induces, adverse_event, treats, has_finding, detects.")] = None,
    direction: Annotated[str, typer.Option("--direction", help="out (the concept is the head), in (the tail) or both.")] = "both",
    min_score: Annotated[float, typer.Option("--min-score", min=0.0, max=1.0, help="Drop edges with a lower combined score.")] = 0.0,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Most edges listed.")] = 20,
    equivalents: Annotated[bool, typer.Option("--equivalents", help="Also the edges of the same concept under the ids of other vocabularies (MeSH, ICD-10-CM, HPO, DrugBank).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A concept's relations learned from text, each with its score, documents and evidence sentences.

    Example: medlens kg relations DB00951 --predicate adverse_event
    """
    from medlens.kg.store import KnowledgeGraph
    from medlens.relations.grown import grown_layer, relations_of

    try:
        graph = KnowledgeGraph.open(kg)
        concept = graph.get(concept_id)
        if grown_layer(graph) is None:
            from medlens.errors import Errors

            _fail(Errors.E320.format(path=graph.path.with_name(graph.path.stem + ".grown.sqlite")))
        edges = relations_of(graph, concept.id, predicate=predicate or None, direction=direction,
                             min_score=min_score, limit=limit, equivalents=equivalents)
    except MedlensError as exc:
        _fail(str(exc))
    if as_json:
        out.print_json(json.dumps({"concept": {"id": concept.id, "name": concept.name, "label": concept.label},
                                   "edges": [e.to_dict() for e in edges]}))
        return
    out.print(f"[bold]{concept.id}[/bold]  {escape(concept.name)}  [dim]({concept.label}) -- learned from text[/dim]")
    if not edges:
        out.print("[dim]no learned relations[/dim]" + (f" [dim]with score >= {min_score}[/dim]" if min_score else ""))
        return
    for e in edges:
        out.print(f"{e.score:.2f}  {escape(e.head_name or e.head_id)} [dim]({e.head_id})[/dim] --[bold]{e.predicate}[/bold]--> "
                  f"{escape(e.tail_name or e.tail_id)} [dim]({e.tail_id})[/dim]  [dim]{e.documents} doc(s), "
                  f"{', '.join(e.methods)}" + (f", PMI {e.pmi:.2f}" if e.pmi is not None else "") + "[/dim]")
        for ev in e.evidence:
            out.print(f"      [dim]{escape(ev.doc_id)}:[/dim] {escape(ev.sentence)}")
