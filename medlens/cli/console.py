"""The commands' shared error console and their one way to stop with a message."""

from __future__ import annotations

import typer
from rich.console import Console

err = Console(stderr=True, soft_wrap=True)
"""Messages, progress and errors go to stderr, so stdout holds only results."""


def fail(message: str, code: int = 2) -> None:
    """Print ``error: message`` on stderr and exit with ``code`` (2: bad usage or input)."""
    err.print(f"[bold red]error:[/bold red] {message}")
    raise typer.Exit(code)
