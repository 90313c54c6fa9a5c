"""``medlens diagnose``: a ranked differential with evidence, next questions and suggestions."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from medlens.cli.console import fail as _fail
from medlens.errors import MedlensError

out = Console()


class DiagnoseFormat(str, Enum):
    report = "report"
    json = "json"
    fhir = "fhir"


class DiagnoseMode(str, Enum):
    auto = "auto"
    common = "common"
    rare = "rare"


class Sex(str, Enum):
    female = "female"
    male = "male"



def diagnose_cli(
    note: Annotated[Optional[str], typer.Argument(help="A note or description file, or - for stdin (optional with --symptoms/--hpo/--findings).")] = None,
    symptoms: Annotated[Optional[str], typer.Option("--symptoms", "-s", help='Symptoms as free text, e.g. "fever, productive cough, no rash".')] = None,
    hpo: Annotated[Optional[str], typer.Option("--hpo", help="HPO ids, comma-separated; prefix - for absent (HP:0001945,-HP:0000988).")] = None,
    findings_file: Annotated[Optional[Path], typer.Option("--findings", help="A JSON list of findings (ids, texts or {id|text, present}).")] = None,
    table: Annotated[Optional[Path], typer.Option("--table", help="Rank with your own disease-symptom table: a folder with dataset.csv, or a SymCAT.json, symcat-474-symptoms.csv or Columbia disease_symptom_pairs.csv file (development/examples).")] = None,
    mode: Annotated[DiagnoseMode, typer.Option("--mode", "-m", help="auto: common diseases (DDXPlus) for notes and patient text, rare-disease phenotype ranking (HPO) for --hpo input; common; or rare.")] = DiagnoseMode.auto,
    age: Annotated[Optional[float], typer.Option("--age", min=0, max=120, help="Patient's age in years (default: read from the text).")] = None,
    sex: Annotated[Optional[Sex], typer.Option("--sex", help="Patient's sex (default: read from the text).")] = None,
    lab: Annotated[list[str], typer.Option("--lab", help="A lab value for the guideline rules, e.g. 'potassium=6.8 mmol/L' (repeatable).")] = [],
    rules: Annotated[Optional[Path], typer.Option("--rules", help="Guideline rules file (default: the shipped guideline_rules.json).")] = None,
    top: Annotated[int, typer.Option("--top", "-n", min=1, help="How many diagnoses to show.")] = 5,
    format: Annotated[DiagnoseFormat, typer.Option("--format", "-f", help="report (readable), json, or fhir (a FHIR R4 Bundle: Condition resources with verificationStatus differential and a DiagnosticReport).")] = DiagnoseFormat.report,
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

      medlens diagnose examples/01_discharge_summary.txt            # common diseases, triage, ICD-10-CM

      medlens diagnose --mode rare examples/01_discharge_summary.txt  # rare-disease phenotype ranking
    """
    from medlens.reasoning import DiagnosisEngine
    from medlens.reasoning.models import Patient

    if not any([note, symptoms, hpo, findings_file]):
        _fail("nothing to diagnose: give a NOTE file (or - for stdin), --symptoms, --hpo or --findings.")
    try:
        engine = DiagnosisEngine.load(kg, table=table, rules=rules, mode=mode.value, semantic=semantic)
        patient = Patient(age=age, sex=sex.value if sex else None) if (age is not None or sex) else None
        text = None
        if note == "-":
            text = sys.stdin.read()
        elif note:
            p = Path(note)
            if not p.is_file():
                _fail(f"{note}: no such file (give a file, or - for stdin, or use --symptoms).")
            text = p.read_text(encoding="utf-8")
        if text is not None:
            from medlens.io.readers import check_text

            check_text(text, "stdin" if note == "-" else note)  # NUL and other control characters: E214
        found = engine.findings(text=text, symptoms=symptoms, hpo=hpo.split(",") if hpo else None,
                                json_items=findings_file.read_text(encoding="utf-8") if findings_file else None)
        context = "\n".join(x for x in (text, symptoms) if x) or None
        result = engine.diagnose(found, labs=lab, top=top, text=context, patient=patient)
        if format is DiagnoseFormat.json and not interactive:
            out.file.write(result.model_dump_json(indent=2, exclude_none=True) + "\n")
            return
        if format is DiagnoseFormat.fhir and not interactive:
            from medlens.reasoning.fhir import differential_bundle

            import json

            out.file.write(json.dumps(differential_bundle(result), indent=2) + "\n")
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
            result = engine.diagnose(found, labs=lab, top=top, text=context, patient=patient)
            render_differential(result, out)
    except MedlensError as exc:
        _fail(str(exc))


def render_differential(result, console: Console) -> None:
    """Print a differential as a readable report (the disclaimer first)."""
    from rich.table import Table

    console.print(f"[yellow]{result.disclaimer}[/yellow]\n")
    if result.triage:
        color = {"emergency": "bold red", "soon": "bold yellow", "self-care": "bold green"}[result.triage.level]
        console.print(f"[{color}]Triage: {result.triage.advice}[/{color}] [dim]({result.triage.reason})[/dim]")
        if result.triage.vitals:
            units = {"%": " %", "°C": " °C", "mmHg": " mmHg"}
            vit = ", ".join(f"{v.text} (= {v.value:g}{units.get(v.unit, v.unit)})" if v.vital == "temp" else v.text
                            for v in result.triage.vitals)
            news = f"; NEWS2 {result.triage.news2}" if result.triage.news2 is not None else ""
            console.print(f"[bold]Vital signs read[/bold]: {vit}{news}")
    console.print(f"[bold]Mode[/bold]: {result.mode} — ranked by " + "; ".join(result.knowledge or [result.method]))
    if result.patient:
        p = result.patient
        who = ", ".join(x for x in (f"{p.age:g} years" if p.age is not None else None, p.sex) if x)
        said = "; ".join(x for x in (p.age_text, p.sex_text) if x)
        console.print(f"[bold]Patient[/bold]: {who}" + (f" [dim](from: {said})[/dim]" if said else ""))
    if result.risk_factors:
        console.print("[bold]Risk factors and history used[/bold]: " + ", ".join(
            f"{r.name}{'' if r.status == 'present' else ' (absent)'}{' (family)' if r.context == 'family' else ''}"
            for r in result.risk_factors))
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
    if result.excluded_diagnoses:
        console.print("[bold]Ruled out by age/sex[/bold]: " + ", ".join(f"{x.name} [dim]({x.reason})[/dim]" for x in result.excluded_diagnoses[:5]))
    if not result.diagnoses:
        console.print("\nNo diagnosis: no finding could be scored.")
    table = Table(show_lines=True)
    for col in ("#", "diagnosis", "p", "supporting", "against", "expected, not reported"):
        table.add_column(col)
    for d in result.diagnoses:
        def name(e) -> str:
            if e.relation == "p_finding_given_disease":
                return f"{e.term_name}{'' if e.finding_status == 'present' else ' (absent)'}"
            if e.relation == "stated_diagnosis":
                return f"stated in the text: {e.term_name}"
            if e.relation == "abnormal_result":
                return f"abnormal result: {e.text}"
            return f"{e.finding_name}{'' if e.match == 'exact' else f' ~ {e.term_name}'}"

        sup = "\n".join(f"{name(e)}{f' ({e.frequency:.0%})' if e.frequency is not None else ''}" for e in d.supporting[:8])
        con = "\n".join(f"{name(e)}{f' ({e.frequency:.0%} of patients)' if e.frequency is not None else ''}"
                        if e.relation == "p_finding_given_disease" else
                        f"{e.finding_name} ({e.finding_status}; {e.relation}"
                        f"{f', {e.frequency:.0%}' if e.frequency is not None else ''})" for e in d.contradicting[:5])
        mis = "\n".join(f"{e.finding_name} ({e.frequency:.0%})" for e in d.missing[:3])
        flag = "\n[bold red]can't miss[/bold red]" if d.cant_miss else ""
        code = f"\nICD-10-CM {d.icd10cm}" if d.icd10cm else ""
        urg = f"\n{d.urgency}" if d.urgency else ""
        table.add_row(str(d.rank), f"{d.name}{flag}\n[dim]{d.id}{code}{urg}[/dim]", f"{d.probability:.2f}", sup, con, mis)
    if result.diagnoses:
        console.print(table)
    if result.rare:
        console.print("[bold]Also consider (rare diseases, HPO phenotype ranking)[/bold]: " + ", ".join(
            f"{d.name} [dim]({d.id}, p={d.probability:.2f})[/dim]" for d in result.rare))
    if result.questions:
        console.print("[bold]Ask next[/bold] (expected information gain, bits):")
        for q in result.questions:
            console.print(f"  {q.question}  [dim]{q.information_gain:.2f}[/dim]")
    if result.suggestions:
        console.print("[bold]Suggestions[/bold]:")
        for s in result.suggestions:
            ref = s.provenance.reference or s.provenance.source
            console.print(f"  \\[{s.kind}] {s.text}\n    [dim]why: {s.reason}; source: {ref}[/dim]")
    if result.drug_reactions:
        console.print("[bold]Possible drug reactions[/bold] [dim](read from this text, or learned from text by "
                      "`medlens kg grow`; not curated knowledge)[/dim]:")
        for r in result.drug_reactions:
            if r.knowledge == "read from this text":
                how = "started, then this finding" if r.predicate == "after_starting" else "the text says so"
                console.print(f"  {r.drug_text or r.drug_name} -> {r.finding_text or r.finding_name}  [dim]{how}[/dim]")
            else:
                console.print(f"  {r.drug_text or r.drug_name} -> {r.finding_text or r.finding_name}  [dim]{r.predicate}, "
                              f"score {r.score:.2f}, {r.documents} document(s)[/dim]")
            for e in r.evidence[:2]:
                console.print(f"    [dim]{e.doc_id}: {e.sentence}[/dim]")


def _answer_finding(engine, qid: str, name: str, status: str):
    from medlens.reasoning.models import Finding

    hpo = [qid] if qid.startswith("HP:") else []
    return Finding(id=qid, name=name, status=status, origin="input", concepts=[qid], hpo=hpo, text=name)
