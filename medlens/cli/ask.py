"""``medlens ask`` (a question answered with its evidence) and ``medlens index build|update|info`` (document indexes)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from medlens.cli.console import err
from medlens.cli.console import fail as _fail
from medlens.errors import MedlensError

out = Console(soft_wrap=True)

index_app = typer.Typer(help="Build and update sentence indexes of your documents for `medlens ask --docs`.",
                        no_args_is_help=True)


def ask_cli(
    question: Annotated[str, typer.Argument(help='The question, e.g. "what are the symptoms of Marfan syndrome?".')],
    context: Annotated[Optional[str], typer.Option("--context", "-c", help="An abstract or text the question is about: answered yes / no / maybe with the supporting sentences.")] = None,
    context_file: Annotated[Optional[Path], typer.Option("--context-file", help="Read the context from this file (- for stdin).")] = None,
    docs: Annotated[Optional[str], typer.Option("--docs", "-d", help="An index folder (`medlens index build`), or a folder of .txt files / a JSONL corpus indexed on the fly: ranked answer sentences with document ids and offsets.")] = None,
    top: Annotated[int, typer.Option("--top", "-n", min=1, max=50, help="Most answers to show.")] = 5,
    json_out: Annotated[bool, typer.Option("--json", help="Print the answer as JSON (the versioned Answer schema).")] = False,
    kg: Annotated[Optional[Path], typer.Option("--kg", help="Knowledge graph file (default: $MEDLENS_KG, or ~/.local/share/medlens/kg.sqlite).")] = None,
) -> None:
    """Answer a medical question with its evidence: about the knowledge graph (default), about a context
    (--context: yes / no / maybe), or over your documents (--docs). "I don't know" with what was searched is a
    valid answer.

    Examples:

      medlens ask "what are the symptoms of Marfan syndrome?"

      medlens ask "what is the ICD-10 code of type 2 diabetes?" --json

      medlens ask "which diseases cause hearing loss and short stature?"

      medlens index build notes/ -o notes.index && medlens ask "who had chest pain?" --docs notes.index

      medlens ask "Do statins reduce mortality?" --context-file abstract.txt
    """
    from medlens.qa.api import ask

    if context is not None and context_file is not None:
        _fail("give --context or --context-file, not both.")
    if context_file is not None:
        try:
            context = sys.stdin.read() if str(context_file) == "-" else context_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            _fail(f"{context_file}: cannot be read ({exc}).")
    try:
        answer = ask(question, context=context, docs=docs, kg_path=kg, top=top)
    except MedlensError as exc:
        _fail(str(exc))
    if json_out:
        sys.stdout.write(answer.model_dump_json(indent=2) + "\n")
        return
    render_answer(answer, top)


def render_answer(answer, top: int = 5, console: Console | None = None) -> None:
    """Print an Answer readably: the answers with their evidence, readings, what was searched."""
    c = console or out
    if answer.kind == "research" and answer.research is not None:
        r = answer.research
        probs = ", ".join(f"{k} {v:.2f}" for k, v in r.probabilities.items())
        c.print(f"[bold]{r.label.upper()}[/bold]  ({probs})")
        for e in r.evidence:
            c.print(f"  [dim]evidence[/dim] {escape(e.text)}" + (f"  [dim][{e.start}:{e.end}][/dim]" if e.start is not None else ""))
        return
    if answer.intent and answer.kind != "documents":
        c.print(f"[dim]understood as:[/dim] {answer.intent.replace('_', ' ')}")
    if answer.readings:
        c.print("[yellow]The question can be read several ways:[/yellow]")
        for r in answer.readings:
            c.print(f"  - {escape(r)}")
    for i, item in enumerate(answer.answers[:top], 1):
        ident = f" [cyan]{escape(item.id)}[/cyan]" if item.id else ""
        if answer.kind == "documents":
            ev = item.evidence[0]
            c.print(f"{i}. [cyan]{escape(ev.doc_id or '')}[/cyan] [{ev.start}:{ev.end}]  score {item.score:.3f}")
            c.print(f"   {escape(item.text)}")
            continue
        c.print(f"{i}. [bold]{escape(item.text)}[/bold]{ident}  score {item.score:.2f}")
        for e in item.evidence[:3]:
            where = e.source or (e.doc_id if e.kind == "sentence" else None) or ""
            parts = [escape(x) for x in (where, e.provenance or "") if x]
            prov = f" [dim]({'; '.join(parts)})[/dim]" if parts else ""
            c.print(f"   [dim]-[/dim] {escape(e.text)}{prov}")
    if answer.message:
        c.print(("[yellow]" if answer.kind == "none" else "[dim]") + escape(answer.message) + ("[/yellow]" if answer.kind == "none" else "[/dim]"))
    if answer.kind == "none" or answer.searched:
        for s in answer.searched:
            c.print(f"[dim]searched: {escape(s)}[/dim]")


@index_app.command("build")
def index_build_cli(
    source: Annotated[Path, typer.Argument(help="A folder of .txt/.md/.note files (searched recursively), a text file, or a JSONL corpus (one {\"id\", \"text\"} object a line).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The index folder. If it holds an index, only new and changed documents are added.")],
    prune: Annotated[bool, typer.Option("--prune", help="Drop indexed documents that SOURCE no longer holds.")] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Start from an empty index.")] = False,
) -> None:
    """Index the sentences of documents (BM25 and sentence embeddings) for `medlens ask --docs`.

    Examples:

      medlens index build notes/ -o notes.index

      medlens index build corpus.jsonl -o corpus.index --rebuild
    """
    _build(source, output, prune, rebuild)


@index_app.command("update")
def index_update_cli(
    index: Annotated[Path, typer.Argument(help="An existing index folder.")],
    source: Annotated[Optional[Path], typer.Argument(help="Where to read documents (default: the source the index was built from).")] = None,
    prune: Annotated[bool, typer.Option("--prune", help="Drop indexed documents that the source no longer holds.")] = False,
) -> None:
    """Add new and changed documents to an index (only their sentences are encoded).

    Example:

      medlens index update notes.index --prune
    """
    from medlens.qa.index import read_manifest

    try:
        manifest = read_manifest(index)
    except MedlensError as exc:
        _fail(str(exc))
    src = source or Path(manifest.get("source", ""))
    if not str(src):
        _fail(f"{index}: the index does not record its source; give SOURCE.")
    _build(src, index, prune, False)


def _build(source: Path, output: Path, prune: bool, rebuild: bool) -> None:
    from medlens.qa.index import build_index

    started = time.perf_counter()
    try:
        _, stats = build_index(source, output, prune=prune, rebuild=rebuild, progress=sys.stderr.isatty())
    except MedlensError as exc:
        _fail(str(exc))
    err.print(f"{output}: {stats.documents} documents, {stats.sentences} sentences (added {stats.added}, changed "
              f"{stats.changed}, unchanged {stats.unchanged}, removed {stats.removed}; {stats.encoded} sentences "
              f"encoded) in {time.perf_counter() - started:.1f} s")


@index_app.command("info")
def index_info_cli(index: Annotated[Path, typer.Argument(help="An index folder.")]) -> None:
    """Show an index's counts, source and dates."""
    from medlens.qa.index import DocumentIndex

    try:
        idx = DocumentIndex.open(index)
    except MedlensError as exc:
        _fail(str(exc))
    m = idx.manifest
    out.print(f"{index}: {idx.n_documents} documents, {len(idx)} sentences; source {m.get('source')}; "
              f"created {m.get('created')}, updated {m.get('updated')}; encoder {m.get('encoder')}")
