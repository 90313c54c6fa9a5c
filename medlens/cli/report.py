"""A readable terminal report of analyzed documents (Rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from medlens.results import DocumentResult

STATUS_STYLE = {
    "present": "bold green",
    "negated": "red strike",
    "uncertain": "yellow",
    "historical": "cyan",
    "hypothetical": "magenta",
    "family": "blue",
}
LABEL_STYLE = {
    "DISEASE": "bold red", "SYMPTOM": "bold yellow", "FINDING": "yellow", "DRUG": "bold blue",
    "TEST": "bold cyan", "PROCEDURE": "bold magenta", "ANATOMY": "green",
}


def render(result: DocumentResult, console: Console) -> None:
    """Print one document: its sections, then a table of entities with assertion and top concept."""
    console.rule(f"[bold]{result.id}")
    if result.error is not None:
        console.print(f"[red]error[/red] ({result.error.type}): {result.error.message}")
        return
    sections = ", ".join(dict.fromkeys(s.category for s in result.sections if s.category != "unknown")) or "none"
    console.print(f"{result.chars} characters, {result.sentences} sentences, {len(result.entities)} entities")
    console.print(f"[dim]sections:[/dim] {sections}")
    if not result.entities:
        return
    table = Table(show_lines=False, header_style="bold", expand=False)
    for col in ("entity", "label", "status", "section", "concept", "name", "link"):
        table.add_column(col, overflow="fold")
    for e in result.entities:
        top = e.concepts[0] if e.concepts else None
        more = f" +{len(e.concepts) - 1}" if len(e.concepts) > 1 else ""
        table.add_row(
            Text(e.text, style=STATUS_STYLE.get(e.assertion.status, "")),
            Text(e.label, style=LABEL_STYLE.get(e.label, "")),
            Text(e.assertion.status, style=STATUS_STYLE.get(e.assertion.status, "")),
            e.section,
            (top.id + more) if top else "-",
            top.name if top else "",
            f"{top.method} {top.score:.2f}" if top else "",
        )
    console.print(table)


def render_summary(n_docs: int, n_failed: int, n_entities: int, seconds: float, console: Console) -> None:
    rate = f", {n_docs / seconds:.1f} documents/s" if seconds > 0 else ""
    failed = f", [red]{n_failed} failed[/red]" if n_failed else ""
    console.print(f"[bold]{n_docs} documents[/bold]{failed}, {n_entities} entities in {seconds:.1f} s{rate}")
