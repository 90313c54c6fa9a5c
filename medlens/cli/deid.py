"""``medlens deid``: de-identify notes (a thin command over :mod:`medlens.deid.batch`)."""

from __future__ import annotations

import json
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from medlens.errors import MedlensError

err = Console(stderr=True, soft_wrap=True)


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
    mapping: Annotated[bool, typer.Option("--mapping/--no-mapping", help="Include the original-to-new offset mapping in JSON output.")] = True,
    pattern: Annotated[list[str], typer.Option("--pattern", help="File name pattern in a folder (repeatable).")] = ["*.txt", "*.text", "*.md", "*.note"],
) -> None:
    """De-identify notes: find names, dates, addresses, phone numbers, ids ... and replace them.

    Examples:

      echo "Seen by Dr. Smith on 03/14/2021." | medlens deid -

      medlens deid notes/ -o deid.jsonl --action surrogate --resume

      MEDLENS_DEID_KEY=patient-42 medlens deid note.txt -a surrogate
    """
    from medlens.cli.app import progress_bar
    from medlens.deid.batch import DeidJob, completed_ids, deidentify_documents
    from medlens.deid.engine import make_options

    fmt = format or (DeidFormat.jsonl if output else DeidFormat.text)
    if resume and (output is None or fmt is not DeidFormat.jsonl):
        _fail("--resume needs --output FILE with --format jsonl (the file records what is done).")
    try:
        options = make_options(default_action=action, actions=_parse_actions(per_type), key=key)
        job = DeidJob(kg_path=str(kg) if kg else None, protect_medical=not no_guard, options=options, mapping=mapping)
        if job.protect_medical:
            from medlens.pipeline import shared_graph

            shared_graph(job.kg_path)  # fail fast, before any worker starts
    except MedlensError as exc:
        _fail(str(exc))
    except typer.BadParameter as exc:
        _fail(str(exc))

    skip = completed_ids(output) if resume and output else set()
    out_fh = output.open("a" if resume else "w", encoding="utf-8") if output else sys.stdout
    collected = []
    n_docs = n_failed = n_phi = 0
    start = time.perf_counter()
    bar = progress_bar(err)
    task = None

    def on_total(total: int) -> None:
        nonlocal task
        if skip:
            err.print(f"resuming: {len(skip)} documents already done, {total} to go")
        task = bar.add_task("de-identifying", total=total, rate="")

    try:
        with bar:
            for result in deidentify_documents(path, job, processes=processes, skip_ids=skip,
                                               patterns=tuple(pattern), on_total=on_total):
                n_docs += 1
                n_failed += result.error is not None
                n_phi += len(result.replacements or [])
                if result.error is not None:
                    err.print(f"[red]failed[/red] {result.id}: {result.error.message}")
                if fmt is DeidFormat.jsonl:
                    out_fh.write(result.model_dump_json(exclude_none=True) + "\n")
                    out_fh.flush()
                elif fmt is DeidFormat.json:
                    collected.append(result)
                elif result.text is not None:
                    if n_docs > 1 or str(path) != "-" and Path(path).is_dir():
                        out_fh.write(f"==> {result.id} <==\n")
                    out_fh.write(result.text if result.text.endswith("\n") else result.text + "\n")
                elapsed = time.perf_counter() - start
                bar.update(task, advance=1, rate=f"{n_docs / elapsed:.1f} docs/s" if elapsed > 0 else "")
    except MedlensError as exc:
        _fail(str(exc))
    finally:
        if fmt is DeidFormat.json:
            payload = [r.model_dump(mode="json", exclude_none=True) for r in collected]
            out_fh.write(json.dumps(payload[0] if len(payload) == 1 and path == "-" else payload, indent=2, ensure_ascii=False) + "\n")
        if output:
            out_fh.close()
    err.print(f"{n_docs} documents, {n_phi} identifiers replaced, {n_failed} failed, {time.perf_counter() - start:.1f} s")
    if n_failed and n_failed == n_docs:
        raise typer.Exit(1)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/bold red] {message}")
    raise typer.Exit(code)
