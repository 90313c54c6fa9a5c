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
    """Print one document: its sections, a table of entities with assertion and top concept, then the
    drugs' attributes and the adverse drug events."""
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
    _render_medications(result, console)


_ATTRIBUTE_ORDER = ("strength", "dose", "route", "frequency", "duration", "status", "indication")


def _attribute_cell(kind: str, attr) -> str:
    """"25 mg", "PO (oral route)", "BID (2/day)", "Q4-6H PRN (4-6/day, as needed for wheezing)"."""
    d = attr.details
    if kind == "route":
        implied = ", implied by the name" if attr.source == "implied" else ""
        return f"{attr.value} ({str(d.get('display', '')).lower()}{implied})"
    if kind == "frequency":
        parts = []
        if d.get("per_day") is not None:
            most = d.get("per_day_max")
            parts.append(f"{d['per_day']:g}{'-' + format(most, 'g') if most is not None else ''}/day")
        if d.get("as_needed"):
            reason = d.get("as_needed_reason")
            parts.append(f"as needed for {reason}" if reason else "as needed")
        return f"{attr.value} ({', '.join(parts)})" if parts else attr.value
    return attr.value


def _render_medications(result: DocumentResult, console: Console) -> None:
    """A table of the drugs' attributes and a list of adverse drug events (when there are any)."""
    drugs = [e for e in result.entities if e.attributes]
    if drugs:
        table = Table(title="medications", show_lines=False, header_style="bold", expand=False)
        table.add_column("drug", overflow="fold")
        for kind in _ATTRIBUTE_ORDER:
            table.add_column(kind, overflow="fold")
        for e in drugs:
            cells = [_attribute_cell(k, e.attributes[k]) if k in e.attributes else "" for k in _ATTRIBUTE_ORDER]
            table.add_row(Text(e.text, style=LABEL_STYLE["DRUG"]), *cells)
        console.print(table)
    for ev in result.adverse_events:
        flags = [f for f, on in (("negated", ev.negated), ("speculated", ev.speculated)) if on]
        line = Text("adverse event ", style="bold")
        line.append(f"{ev.drug} -[caused]-> {ev.effect}")
        if flags:
            line.append(f" [{', '.join(flags)}]", style="red")
        line.append(f" ({ev.source}; {ev.evidence.strip()[:120]})", style="dim")
        console.print(line)


def render_summary(n_docs: int, n_failed: int, n_entities: int, seconds: float, console: Console) -> None:
    rate = f", {n_docs / seconds:.1f} documents/s" if seconds > 0 else ""
    failed = f", [red]{n_failed} failed[/red]" if n_failed else ""
    console.print(f"[bold]{n_docs} documents[/bold]{failed}, {n_entities} entities in {seconds:.1f} s{rate}")
