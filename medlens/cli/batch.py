"""``medlens batch``: analyze or de-identify a corpus at scale (local processes or a Ray cluster), exactly once."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from medlens.cli.console import err
from medlens.cli.console import fail as _fail
from medlens.errors import MedlensError


class BatchTaskName(str, Enum):
    analyze = "analyze"
    deid = "deid"
    grow = "grow"


class BatchFormat(str, Enum):
    parquet = "parquet"
    jsonl = "jsonl"


class EngineName(str, Enum):
    local = "local"
    ray = "ray"


class InputKind(str, Enum):
    auto = "auto"
    folder = "folder"
    text = "text"
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"
    sql = "sql"


def batch_cli(
    source: Annotated[str, typer.Argument(help="A folder of text files, a .jsonl, .csv or .parquet file (or a folder of .parquet files), or a database for --query (a SQLite file, or a SQLAlchemy URL such as postgresql://host/db).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The job's folder: one partition file per shard (part-000000.parquet, ...), _manifest.json and, when finished, _SUCCESS.json.")],
    task: Annotated[BatchTaskName, typer.Option("--task", help="analyze (the pipeline's results, as `medlens analyze`), deid (de-identified text with the offset mapping, as `medlens deid`) or grow (grow the knowledge graph's learned layer, as `medlens kg grow`).")] = BatchTaskName.analyze,
    format: Annotated[BatchFormat, typer.Option("--format", "-f", help="parquet (one row per document, nested columns; see docs/scale.md) or jsonl (one JSON result a line).")] = BatchFormat.parquet,
    engine: Annotated[EngineName, typer.Option("--engine", help="local (worker processes on this machine) or ray (actors on a Ray cluster: --address, or a Ray runtime started for the job).")] = EngineName.local,
    address: Annotated[Optional[str], typer.Option("--address", help="Ray cluster to join, e.g. 10.0.0.5:6379 or 'auto' (default: $RAY_ADDRESS, else start a local Ray runtime).")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", "-j", min=1, help="Worker processes (local) or actors (ray), each holding one pipeline (default: every core; ray: the cluster's CPUs / --cpus-per-worker).")] = None,
    cpus_per_worker: Annotated[int, typer.Option("--cpus-per-worker", min=1, help="Ray: cores each actor holds (its model threads).")] = 1,
    shard_size: Annotated[int, typer.Option("--shard-size", min=1, help="Documents per shard (and per partition file). Fixed for the life of a job.")] = 256,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the job in --output: shards already written are skipped; the rest are processed once.")] = False,
    input_format: Annotated[InputKind, typer.Option("--input-format", help="The kind of SOURCE (default: from its suffix).")] = InputKind.auto,
    text_column: Annotated[str, typer.Option("--text-column", help="The text's column (CSV, Parquet, SQL) or key (JSONL).")] = "text",
    id_column: Annotated[str, typer.Option("--id-column", help="The id's column or key (rows without one: <file>:<row>). SQL rows are read ordered by it.")] = "id",
    query: Annotated[Optional[str], typer.Option("--query", help="SQL query giving the id and text columns (SOURCE is then a database).")] = None,
    pattern: Annotated[list[str], typer.Option("--pattern", help="File name pattern in a folder (repeatable).")] = ["*.txt", "*.text", "*.md", "*.note"],
    kg: Annotated[Optional[Path], typer.Option("--kg", help="Knowledge graph file (default: $MEDLENS_KG, or ~/.local/share/medlens/kg.sqlite); on a cluster, the same path on every node.")] = None,
    model: Annotated[bool, typer.Option("--model/--no-model", help="analyze, grow: run the shipped models; --no-model: the dictionary and rules only, about 10x faster. deid: --no-model uses the patterns only.")] = True,
    labels: Annotated[Optional[str], typer.Option("--labels", help="analyze: comma-separated entity labels to keep.")] = None,
    include_text: Annotated[bool, typer.Option("--include-text", help="analyze: put each document's text in its result.")] = False,
    action: Annotated[str, typer.Option("--action", "-a", help="deid: redact, mask, surrogate or keep.")] = "redact",
    key: Annotated[Optional[str], typer.Option("--key", envvar="MEDLENS_DEID_KEY", help="deid: secret for consistent surrogates (prefer $MEDLENS_DEID_KEY); required for surrogates in a resumable job, so a resumed run replaces like the first.")] = None,
    object_store_mb: Annotated[int, typer.Option("--object-store-mb", min=80, help="Ray runtime started for the job: its object store size.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print the job's report as JSON.")] = False,
) -> None:
    """Run analyze, deid or kg grow over a corpus at scale: shards in a fixed order, one Parquet (or JSONL)
    partition per shard written atomically, exactly once even when a run is killed and resumed.

    Examples:

      medlens batch notes/ -o out/ --no-model

      medlens batch notes.csv --text-column transcription --id-column note_id -o out/ -j 2

      medlens batch notes.parquet -o out/ --engine ray   # a Ray runtime on this machine

      medlens batch notes.db --query "SELECT id, text FROM notes" -o out/ --engine ray --address 10.0.0.5:6379

      medlens batch notes/ -o out/ --resume   # after an interruption

      medlens batch notes/ -o deid/ --task deid --action surrogate   # with MEDLENS_DEID_KEY set
    """
    from medlens.cli.batch_output import progress_bar
    from medlens.engines.job import LocalEngine, run_job
    from medlens.engines.sources import make_source

    try:
        spec = make_source(source, None if input_format is InputKind.auto else input_format.value,
                           text_column=text_column, id_column=id_column, query=query, patterns=tuple(pattern))
        job = _make_task(task, kg, model, labels, include_text, action, key)
        if engine is EngineName.ray:
            from medlens.engines.ray_engine import RayEngine

            eng = RayEngine(address=address, workers=workers, cpus_per_worker=cpus_per_worker,
                            object_store_mb=object_store_mb)
        else:
            eng = LocalEngine(workers)
    except MedlensError as exc:
        _fail(str(exc))

    bar = progress_bar(err)
    state = {"task": None, "docs": 0, "t0": None}

    def on_start(todo: int, done: int) -> None:
        import time

        if done:
            err.print(f"resuming: {done:,} documents already written, {todo:,} to go")
        state["task"] = bar.add_task(f"{task.value} ({engine.value})", total=todo, rate="")
        state["t0"] = time.perf_counter()

    def on_progress(n: int, failed: int) -> None:
        import time

        state["docs"] += n
        elapsed = time.perf_counter() - state["t0"]
        bar.update(state["task"], advance=n, rate=f"{state['docs'] / elapsed:.1f} docs/s" if elapsed > 0 else "")

    def on_error(result) -> None:
        e = result.error
        err.print(f"[red]failed[/red] {escape(result.id)}: {escape(e if isinstance(e, str) else e.message)}")

    import contextlib
    import sys

    try:
        # stdout is the report's alone (Ray prints its workers' messages to stdout): the job's to stderr
        with bar, contextlib.redirect_stdout(sys.stderr):
            report = run_job(spec, job, output, engine=eng, fmt=format.value, shard_size=shard_size, resume=resume,
                             on_start=on_start, on_progress=on_progress, on_error=on_error)
        grown = None
        if task is BatchTaskName.grow:
            from medlens.engines.grow import merge_grow

            grown = merge_grow(output, kg)
    except MedlensError as exc:
        _fail(str(exc))
    data = report.to_dict()
    if grown is not None:
        data["grown"] = grown
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        err.print(f"{report.documents:,} documents in {report.shards:,} shards -> {output}: {report.processed:,} processed "
                  f"({report.failed:,} failed), {report.skipped_documents:,} already done, {report.seconds:.1f} s "
                  f"({report.docs_per_second:.1f} docs/s) on {eng.describe()}"
                  + (f"; {report.retried} piece(s) sent again after a worker died" if report.retried else ""))
        if grown is not None:
            err.print(f"grown layer {grown['path']}: {grown['added']:,} documents added, {grown['skipped']:,} already "
                      f"counted, {grown['failed']:,} failed, {grown['relations_added']:,} relations")


def _make_task(task: BatchTaskName, kg: Path | None, model: bool, labels: str | None, include_text: bool,
               action: str, key: str | None):
    from medlens.pipeline import shared_graph

    if task is BatchTaskName.analyze:
        from medlens.batch import AnalyzeTask
        from medlens.config import COMPONENTS, RULES_ONLY, make_config

        config = make_config(kg_path=str(kg) if kg else None, components=COMPONENTS if model else RULES_ONLY,
                             labels=tuple(x.strip().upper() for x in labels.split(",")) if labels else None)
        shared_graph(config.kg_path)  # fail fast, before any worker starts
        return AnalyzeTask(config=config, include_text=include_text)
    if task is BatchTaskName.deid:
        from medlens.deid.batch import DeidJob
        from medlens.deid.engine import make_options

        job = DeidJob(kg_path=str(kg) if kg else None, options=make_options(default_action=action, key=key),
                      model="default" if model else "none")
        shared_graph(job.kg_path)
        return job
    from medlens.relations.grow import GrowTask, grow_config

    config = grow_config(kg, model)
    shared_graph(config.kg_path)
    return GrowTask(config=config)
