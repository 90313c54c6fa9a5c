"""Writing a batch command's results as they come (shared by ``analyze`` and ``deid``)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from medlens.batch import completed_ids


def progress_bar(console: Console) -> Progress:
    """A progress bar with count, rate, elapsed and remaining time (hidden when not a terminal)."""
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False,
        disable=not console.is_terminal and not console.is_jupyter,
    )


class BatchOutput:
    """Results of a batch, one document at a time.

    ``jsonl`` writes a line per document and flushes it, so that an interrupted
    run can ``--resume`` (ids already in the file are in :attr:`skip`); ``json``
    writes one array at the end (a single object for one stdin document); any
    other format is written by the ``write`` function given to :meth:`add`.
    Failed documents are reported on ``err`` (unless ``report_errors`` is False,
    for formats that show them themselves).

    Args:
        source: the command's input argument (a path or ``-``).
        output: the output file, or None for stdout.
        fmt: the output format name.
        resume: skip ids already in ``output`` and append.
        description: the progress bar's label.
        err: the console for progress and messages.
    """

    def __init__(self, source: str, output: Path | None, fmt: str, resume: bool, description: str, err: Console,
                 report_errors: bool = True) -> None:
        self.source = source
        self.fmt = fmt
        self.err = err
        self.report_errors = report_errors
        self.skip: set[str] = completed_ids(output) if resume and output else set()
        self.fh: IO[str] = output.open("a" if resume else "w", encoding="utf-8") if output else sys.stdout
        self._own = output is not None
        self._collected: list[Any] = []
        self.n_docs = self.n_failed = 0
        self.start = time.perf_counter()
        self._bar = progress_bar(err)
        self._task = None
        self._description = description

    def on_total(self, total: int) -> None:
        """Called once the batch knows how many documents it will process."""
        if self.skip:
            self.err.print(f"resuming: {len(self.skip)} documents already done, {total} to go")
        self._task = self._bar.add_task(self._description, total=total, rate="")

    def add(self, result: Any, write: Callable[[IO[str], Any], None] | None = None) -> None:
        """Record and write one result (a pydantic model with ``id`` and ``error``)."""
        self.n_docs += 1
        if result.error is not None:
            self.n_failed += 1
            if self.report_errors:
                self.err.print(f"[red]failed[/red] {result.id}: {result.error.message}")
        if self.fmt == "jsonl":
            self.fh.write(result.model_dump_json(exclude_none=True) + "\n")
            self.fh.flush()
        elif self.fmt == "json":
            self._collected.append(result)
        elif write is not None:
            write(self.fh, result)
        elapsed = time.perf_counter() - self.start
        if self._task is not None:
            self._bar.update(self._task, advance=1, rate=f"{self.n_docs / elapsed:.1f} docs/s" if elapsed > 0 else "")

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start

    def __enter__(self) -> BatchOutput:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()
        try:
            if self.fmt == "json":
                payload = [r.model_dump(mode="json", exclude_none=True) for r in self._collected]
                one = len(payload) == 1 and self.source == "-"
                self.fh.write(json.dumps(payload[0] if one else payload, indent=2, ensure_ascii=False) + "\n")
        finally:
            if self._own:
                self.fh.close()
