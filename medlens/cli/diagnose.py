"""``medlens diagnose``: a ranked differential with evidence, next questions and suggestions."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from medlens.errors import MedlensError

out = Console()
err = Console(stderr=True, soft_wrap=True)


class DiagnoseFormat(str, Enum):
    report = "report"
    json = "json"


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/bold red] {message}")
    raise typer.Exit(2)


def diagnose_cli(
    note: Annotated[Optional[str], typer.Argument(help="A note or description file, or - for stdin (optional with --symptoms/--hpo/--findings).")] = None,
    symptoms: Annotated[Optional[str], typer.Option("--symptoms", "-s", help='Symptoms as free text, e.g. "fever, productive cough, no rash".')] = None,
    hpo: Annotated[Optional[str], typer.Option("--hpo", help="HPO ids, comma-separated; prefix - for absent (HP:0001945,-HP:0000988).")] = None,
    findings_file: Annotated[Optional[Path], typer.Option("--findings", help="A JSON list of findings (ids, texts or {id|text, present}).")] = None,
    table: Annotated[Optional[Path], typer.Option("--table", help="Rank with a disease-symptom table folder (dataset.csv, ...) instead of the HPO annotations.")] = None,
    lab: Annotated[list[str], typer.Option("--lab", help="A lab value for the guideline rules, e.g. 'potassium=6.8 mmol/L' (repeatable).")] = [],
    rules: Annotated[Optional[Path], typer.Option("--rules", help="Guideline rules file (default: the shipped guideline_rules.json).")] = None,
    top: Annotated[int, typer.Option("--top", "-n", min=1, help="How many diagnoses to show.")] = 5,
    format: Annotated[DiagnoseFormat, typer.Option("--format", "-f", help="report (readable) or json.")] = DiagnoseFormat.report,
    interactive: Annotated[bool, typer.Option("--interactive", "-i", help="Ask the most informative next question, re-rank, repeat.")] = False,
    kg: Annotated[Optional[Path], typer.Option("--kg", help="Knowledge graph file (default: $MEDLENS_KG, or ~/.local/share/medlens/kg.sqlite).")] = None,
    semantic: Annotated[bool, typer.Option("--semantic/--no-semantic", help="Also match the words of a text to symptoms by meaning (sentence encoder), after the lay lexicon and the pipeline.")] = True,
) -> None:
    """Rank diagnoses for a note or symptoms, with the evidence for and against each (decision support only).

    Examples:

      medlens diagnose --symptoms "fever, stiff neck, headache, no rash"

      echo "I keep throwing up and it burns when I pee" | medlens diagnose -

      medlens diagnose --hpo HP:0001250,HP:0001263,-HP:0000252 -f json

      medlens diagnose --table ../shared/data/disease-symptom-kb -s "itchy rash, no fever" -i
    """
    from medlens.reasoning import DiagnosisEngine

    if not any([note, symptoms, hpo, findings_file]):
        _fail("nothing to diagnose: give a NOTE file (or - for stdin), --symptoms, --hpo or --findings.")
    try:
        engine = DiagnosisEngine.load(kg, table=table, rules=rules, semantic=semantic)
        text = None
        if note == "-":
            text = sys.stdin.read()
        elif note:
            p = Path(note)
            if not p.is_file():
                _fail(f"{note}: no such file (give a file, or - for stdin, or use --symptoms).")
            text = p.read_text(encoding="utf-8")
        found = engine.findings(text=text, symptoms=symptoms, hpo=hpo.split(",") if hpo else None,
                                json_items=findings_file.read_text(encoding="utf-8") if findings_file else None)
        result = engine.diagnose(found, labs=lab, top=top)
        if format is DiagnoseFormat.json and not interactive:
            out.file.write(result.model_dump_json(indent=2, exclude_none=True) + "\n")
            return
        render_differential(result, out)
        while interactive and result.questions:
            q = result.questions[0]
            answer = typer.prompt(f"{q.question} [y]es / [n]o / [s]kip / [q]uit", default="s").strip().lower()[:1]
            if answer == "q":
                break
            if answer in ("y", "n"):
                status = "present" if answer == "y" else "absent"
                new = _answer_finding(engine, q.id, q.name, status)
                found = [*found, new]
            else:
                found = [*found, _answer_finding(engine, q.id, q.name, "uncertain")]
            result = engine.diagnose(found, labs=lab, top=top)
            render_differential(result, out)
    except MedlensError as exc:
        _fail(str(exc))


def render_differential(result, console: Console) -> None:
    """Print a differential as a readable report (the disclaimer first)."""
    from rich.table import Table

    console.print(f"[yellow]{result.disclaimer}[/yellow]\n")
    counted = ", ".join(f"{f.name}{'' if f.status == 'present' else ' (absent)'}" for f in result.findings) or "none"
    console.print(f"[bold]Findings used[/bold] ({result.method} scorer, {result.candidates:,} candidates): {counted}")
    by_meaning = [f for f in result.findings if f.origin == "semantic"]
    if by_meaning:
        from rich.markup import escape

        console.print("[bold]Matched by meaning[/bold]: " + "; ".join(
            escape(f"\"{f.text}\" ~ {f.matched} ({f.score:.2f})") for f in by_meaning))
    if result.excluded_findings:
        console.print("[bold]Not counted[/bold]: " + ", ".join(f"{f.name} ({f.status})" for f in result.excluded_findings))
    if result.unmapped:
        console.print("[bold]Not covered by the knowledge used[/bold]: " + ", ".join(f.name for f in result.unmapped))
    if not result.diagnoses:
        console.print("\nNo diagnosis: no finding could be scored.")
    table = Table(show_lines=True)
    for col in ("#", "diagnosis", "p", "supporting", "against", "expected, not reported"):
        table.add_column(col)
    for d in result.diagnoses:
        sup = "\n".join(f"{e.finding_name}{'' if e.match == 'exact' else f' ~ {e.term_name}'}"
                        f"{f' ({e.frequency:.0%})' if e.frequency is not None else ''}" for e in d.supporting)
        con = "\n".join(f"{e.finding_name} ({e.finding_status}; {e.relation}"
                        f"{f', {e.frequency:.0%}' if e.frequency is not None else ''})" for e in d.contradicting)
        mis = "\n".join(f"{e.finding_name} ({e.frequency:.0%})" for e in d.missing[:3])
        table.add_row(str(d.rank), f"{d.name}\n[dim]{d.id}[/dim]", f"{d.probability:.2f}", sup, con, mis)
    if result.diagnoses:
        console.print(table)
    if result.questions:
        console.print("[bold]Ask next[/bold] (expected information gain, bits):")
        for q in result.questions:
            console.print(f"  {q.question}  [dim]{q.information_gain:.2f}[/dim]")
    if result.suggestions:
        console.print("[bold]Suggestions[/bold]:")
        for s in result.suggestions:
            ref = s.provenance.reference or s.provenance.source
            console.print(f"  \\[{s.kind}] {s.text}\n    [dim]why: {s.reason}; source: {ref}[/dim]")


def _answer_finding(engine, qid: str, name: str, status: str):
    from medlens.reasoning.models import Finding

    hpo = [qid] if qid.startswith("HP:") else []
    return Finding(id=qid, name=name, status=status, origin="input", concepts=[qid], hpo=hpo, text=name)
