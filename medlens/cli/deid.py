"""``medlens deid``: de-identify notes (a thin command over :mod:`medlens.deid.batch`)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from medlens.cli.console import err
from medlens.cli.console import fail as _fail
from medlens.errors import MedlensError



class DeidFormat(str, Enum):
    text = "text"
    json = "json"
    jsonl = "jsonl"


def _parse_actions(spec: Optional[str]) -> dict[str, str]:
    """``NAME=surrogate,DATE=surrogate`` -> dict (validated later by ReplaceOptions)."""
    out: dict[str, str] = {}
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        if "=" not in item:
            raise typer.BadParameter(f"'{item}' must look like TYPE=ACTION, e.g. DATE=surrogate")
        t, a = item.split("=", 1)
        out[t.strip().upper()] = a.strip().lower()
    return out


def deid_cli(
    path: Annotated[str, typer.Argument(help="A text file, a folder of notes (searched recursively), or - for stdin.")],
    action: Annotated[str, typer.Option("--action", "-a", help="Default replacement: redact ([NAME]), mask (****), surrogate (realistic stand-ins) or keep.")] = "redact",
    per_type: Annotated[Optional[str], typer.Option("--type-action", help="Per-type actions, e.g. DATE=surrogate,NAME=surrogate,LOCATION=keep.")] = None,
    key: Annotated[Optional[str], typer.Option("--key", envvar="MEDLENS_DEID_KEY", help="Secret for consistent surrogates and date shift (one per patient); default: random per run. Prefer the MEDLENS_DEID_KEY variable to a command-line argument.")] = None,
    format: Annotated[Optional[DeidFormat], typer.Option("--format", "-f", help="text (the de-identified text; default without --output), json or jsonl (default with --output; one document per line with the offset mapping).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write results to this file instead of stdout.")] = None,
    processes: Annotated[Optional[int], typer.Option("--processes", "-j", min=1, help="Worker processes (default: every core; small batches run in one process).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Skip documents already in --output (JSONL) and append the rest.")] = False,
    kg: Annotated[Optional[Path], typer.Option("--kg", help="Knowledge graph for the medical-term guard (default: $MEDLENS_KG, or ~/.local/share/medlens/kg.sqlite).")] = None,
    no_guard: Annotated[bool, typer.Option("--no-medical-guard", help="Do not load the knowledge graph (disease and drug names are then guarded only by the eponym rules).")] = False,
    model: Annotated[str, typer.Option("--model", help="PHI model beside the patterns: 'default' (the shipped model when installed), 'none' (patterns only) or a model folder.")] = "default",
    mapping: Annotated[bool, typer.Option("--mapping/--no-mapping", help="Include the original-to-new offset mapping in JSON output.")] = True,
    pattern: Annotated[list[str], typer.Option("--pattern", help="File name pattern in a folder (repeatable).")] = ["*.txt", "*.text", "*.md", "*.note"],
) -> None:
    """De-identify notes: find names, dates, addresses, phone numbers, ids ... and replace them.

    Examples:

      echo "Seen by Dr. Smith on 03/14/2021." | medlens deid -

      medlens deid notes/ -o deid.jsonl --action surrogate --resume

      MEDLENS_DEID_KEY=patient-42 medlens deid note.txt -a surrogate
    """
    from medlens.cli.batch_output import BatchOutput
    from medlens.deid.batch import DeidJob, deidentify_documents
    from medlens.deid.engine import make_options

    fmt = format or (DeidFormat.jsonl if output else DeidFormat.text)
    if resume and (output is None or fmt is not DeidFormat.jsonl):
        _fail("--resume needs --output FILE with --format jsonl (the file records what is done).")
    try:
        options = make_options(default_action=action, actions=_parse_actions(per_type), key=key)
        job = DeidJob(kg_path=str(kg) if kg else None, protect_medical=not no_guard, options=options, mapping=mapping,
                       model=model)
        if model not in ("default", "none") and not Path(model).exists():
            _fail(f"--model {model!r}: no such model folder; accepted: a folder written by `medlens export`, 'default' or 'none'.")
        if job.protect_medical:
            from medlens.pipeline import shared_graph

            shared_graph(job.kg_path)  # fail fast, before any worker starts
    except MedlensError as exc:
        _fail(str(exc))
    except typer.BadParameter as exc:
        _fail(str(exc))

    out = BatchOutput(path, output, fmt.value, resume, "de-identifying", err)
    n_phi = 0

    def write(fh, result) -> None:
        if result.text is None:
            return
        if out.n_docs > 1 or str(path) != "-" and Path(path).is_dir():
            fh.write(f"==> {result.id} <==\n")
        fh.write(result.text if result.text.endswith("\n") else result.text + "\n")

    try:
        with out:
            for result in deidentify_documents(path, job, processes=processes, skip_ids=out.skip,
                                               patterns=tuple(pattern), on_total=out.on_total):
                n_phi += len(result.replacements or [])
                out.add(result, write)
    except MedlensError as exc:
        _fail(str(exc))
    err.print(f"{out.n_docs} documents, {n_phi} identifiers replaced, {out.n_failed} failed, {out.seconds:.1f} s")
    if out.n_failed and out.n_failed == out.n_docs:
        raise typer.Exit(1)


