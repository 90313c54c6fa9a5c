"""``medlens``: analyze notes, build and query the knowledge graph."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from medlens import __version__
from medlens.cli.console import err
from medlens.cli.console import fail as _fail
from medlens.cli.kg import kg_app
from medlens.cli.train import evaluate_cli, export_cli, pretrain_cli, train_app
from medlens.cli.serve import serve_cli
from medlens.cli.deid import deid_cli
from medlens.cli.diagnose import diagnose_cli
from medlens.cli.summarize import summarize_cli
from medlens.cli.ask import ask_cli, index_app
from medlens.errors import MedlensError

app = typer.Typer(
    name="medlens",
    help="Medical text understanding, offline: sections, entities, assertion and coded concepts from clinical notes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class OutputFormat(str, Enum):
    report = "report"
    json = "json"
    jsonl = "jsonl"
    fhir = "fhir"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"medlens {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Medical text understanding, offline."""


@app.command("analyze")
def analyze_cli(
    path: Annotated[str, typer.Argument(help="A text file, a folder of notes (searched recursively), or - for stdin.")],
    format: Annotated[Optional[OutputFormat], typer.Option("--format", "-f", help="report (readable; the default without --output), json (one array), jsonl (one document per line, default with --output) or fhir (one FHIR R4 Bundle per document, one per line).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write results to this file instead of stdout.")] = None,
    processes: Annotated[Optional[int], typer.Option("--processes", "-j", min=1, help="Worker processes (default: every core; small batches run in one process).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Skip documents already in --output (JSONL) and append the rest.")] = False,
    kg: Annotated[Optional[Path], typer.Option("--kg", help="Knowledge graph file (default: $MEDLENS_KG, or ~/.local/share/medlens/kg.sqlite).")] = None,
    labels: Annotated[Optional[str], typer.Option("--labels", help="Comma-separated entity labels to keep, e.g. DISEASE,DRUG (default: all).")] = None,
    pattern: Annotated[list[str], typer.Option("--pattern", help="File name pattern in a folder (repeatable).")] = ["*.txt", "*.text", "*.md", "*.note"],
    include_text: Annotated[bool, typer.Option("--include-text", help="Put each document's text in its JSON result.")] = False,
    model: Annotated[bool, typer.Option("--model/--no-model", help="Run the shipped models: the transformer recognizer (diseases and chemicals), the adverse-drug-event tagger and the document classifier ('categories' in JSON). --no-model: the dictionary recognizer alone (adverse events by rules only), about 10x faster.")] = True,
    prefer: Annotated[Optional[str], typer.Option("--prefer", help="Vocabularies whose ids come first in each entity's concept links, comma-separated: mesh, icd10cm, hpo, omim, orphanet, drugbank (e.g. --prefer mesh: MeSH ids first, with the MeSH equivalents of ICD-10-CM, HPO and DrugBank candidates).")] = None,
    classify: Annotated[bool, typer.Option("--classify", help="Require the document classifier (medlens/assets/classifier), even with --no-model: an error if this installation ships none.")] = False,
    relations: Annotated[bool, typer.Option("--relations", help="Also read document-level relations (chemical induces disease between MeSH concepts; 'relations' in JSON) with the relation model (medlens/assets/relations): a second transformer pass. Best with --prefer mesh.")] = False,
) -> None:
    """Analyze notes: sections, sentences, entities (the shipped transformer model and the knowledge-graph
    dictionary) with assertion and ranked concept links, drug attributes (strength, dose, route, frequency,
    duration, status, indication), adverse drug events, and document categories.

    Examples:

      medlens analyze examples/

      medlens analyze notes/ -o results.jsonl --resume

      echo "Denies chest pain. History of MI." | medlens analyze - -f json

      medlens analyze notes/ --no-model -o results.jsonl   # dictionary only, fastest

      medlens analyze note.txt --prefer mesh   # MeSH ids first in the concept links

      medlens analyze abstract.txt --relations --prefer mesh -f json   # + chemical-induces-disease relations
    """
    from medlens.batch import analyze_documents
    from medlens.cli.batch_output import BatchOutput
    from medlens.cli.report import render, render_summary
    from medlens.config import COMPONENTS, RULES_ONLY, make_config
    from medlens.pipeline import shared_graph

    fmt = format or (OutputFormat.jsonl if output else OutputFormat.report)
    if resume and (output is None or fmt is not OutputFormat.jsonl):
        _fail("--resume needs --output FILE with --format jsonl (the file records what is done).")
    try:
        config = make_config(kg_path=str(kg) if kg else None,
                             labels=tuple(x.strip().upper() for x in labels.split(",")) if labels else None,
                             components=_components(COMPONENTS if model else RULES_ONLY, classify)
                             + (("relations",) if relations else ()),
                             linker={"prefer": [x for x in prefer.split(",") if x.strip()]} if prefer else None)
        graph = shared_graph(config.kg_path)  # fail fast, before any worker starts
        _check_prefer(graph, config.linker.prefer)
        if "classifier" in config.components:
            from medlens.components.classifier import find_model

            find_model(config.classifier_path)
    except MedlensError as exc:
        _fail(str(exc))

    out = BatchOutput(path, output, fmt.value, resume, "analyzing", err, report_errors=fmt is not OutputFormat.report)
    report_console = Console(file=out.fh, soft_wrap=False)
    if not report_console.is_terminal:  # files and pipes: wide enough that the table does not fold
        report_console.width = 160
    n_entities = 0

    def write(fh, result) -> None:
        if fmt is OutputFormat.fhir:
            from medlens.io.fhir import to_fhir_bundle

            fh.write(json.dumps(to_fhir_bundle(result), ensure_ascii=False) + "\n")
        else:
            render(result, report_console)
            if result.categories:  # the five most probable; the predicted ones in bold
                from rich.markup import escape

                report_console.print("[dim]categories:[/dim] " + ", ".join(
                    (f"[bold]{escape(c.label)}[/bold]" if c.predicted else escape(c.label)) + f" {c.score:.2f}"
                    for c in result.categories[:5]))
            for r in result.relations:
                from rich.markup import escape

                report_console.print(f"[dim]relation:[/dim] {escape(r.head)} ({r.head_id}) {escape(f'-[{r.predicate}]->')} "
                                     f"{escape(r.tail)} ({r.tail_id}) {r.score:.2f} [dim]{r.method}[/dim]")

    try:
        with out:
            for result in analyze_documents(path, config, processes=processes, skip_ids=out.skip,
                                            patterns=tuple(pattern), include_text=include_text or fmt is OutputFormat.fhir,
                                            on_total=out.on_total):
                n_entities += len(result.entities)
                out.add(result, write)
    except MedlensError as exc:
        _fail(str(exc))
    render_summary(out.n_docs, out.n_failed, n_entities, out.seconds, err)


def _check_prefer(graph, prefer: list[str] | None) -> None:
    """Refuse --prefer names that are no source of the graph (the message lists the graph's sources)."""
    names = {s.name for s in graph.sources()}
    unknown = [p for p in prefer or () if p not in names]
    if unknown:
        _fail(f"--prefer {', '.join(unknown)}: not a source of {graph.path}; its sources: {', '.join(sorted(names))} "
              "(drugbank = drugs)")


def _components(base: tuple[str, ...], classify: bool) -> tuple[str, ...]:
    """``base``, plus the document classifier at the end when asked for (once)."""
    return base + ("classifier",) if classify and "classifier" not in base else base



# after `analyze`, in the order `medlens --help` lists them
from medlens.cli.batch import batch_cli  # noqa: E402

app.command("batch")(batch_cli)
app.command("diagnose")(diagnose_cli)
app.command("summarize")(summarize_cli)
app.command("deid")(deid_cli)
app.command("serve")(serve_cli)
from medlens.cli.grow import grow_cli, relations_cli  # noqa: E402 - grouped with the kg sub-app they join

kg_app.command("grow")(grow_cli)
kg_app.command("relations")(relations_cli)
app.add_typer(kg_app, name="kg")
app.command("ask")(ask_cli)
app.add_typer(index_app, name="index")
app.add_typer(train_app, name="train")
app.command("pretrain")(pretrain_cli)
app.command("evaluate")(evaluate_cli)
app.command("export")(export_cli)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
