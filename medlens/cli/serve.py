"""``medlens serve``: the REST service and web page (FastAPI + uvicorn)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer


def serve_cli(
    host: Annotated[Optional[str], typer.Option("--host", help="Address to bind (default 127.0.0.1, loopback only; any other address needs API keys).")] = None,
    port: Annotated[Optional[int], typer.Option("--port", "-p", help="TCP port (default 8000).")] = None,
    kg: Annotated[Optional[Path], typer.Option("--kg", help="Knowledge graph file (default: $MEDLENS_KG, or ~/.local/share/medlens/kg.sqlite).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="Service settings file (.toml or .json); see docs/service.md.")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", "-w", min=0, help="Analysis processes (default 0 = every core).")] = None,
    executor: Annotated[Optional[str], typer.Option("--executor", help="process (one pipeline per core, default) or thread (one pipeline, quick start).")] = None,
    api_key_file: Annotated[Optional[Path], typer.Option("--api-key-file", help="File of SHA-256 digests of accepted API keys, one a line.")] = None,
    log_level: Annotated[Optional[str], typer.Option("--log-level", help="debug, info, warning or error.")] = None,
    hash_key: Annotated[bool, typer.Option("--hash-key", help="Read an API key on stdin, print its SHA-256 digest (what the settings store) and exit.")] = False,
) -> None:
    """Serve the REST API, its docs (/docs) and the web page (/) from one process.

    Settings come from --config, then MEDLENS_SERVE_* environment variables, then
    these options. The pipeline and knowledge graph load once at start.

    Examples:

      medlens serve                                   # http://127.0.0.1:8000/

      echo -n "$KEY" | medlens serve --hash-key >> keys.txt; medlens serve --api-key-file keys.txt
    """
    from medlens.errors import MedlensError
    from medlens.serve.settings import hash_key as _hash, load_settings

    if hash_key:
        key = sys.stdin.read().strip()
        if not key:
            typer.echo("error: no key on stdin", err=True)
            raise typer.Exit(2)
        typer.echo(_hash(key))
        return
    try:
        settings = load_settings(config, host=host, port=port, kg_path=str(kg) if kg else None, workers=workers,
                                 executor=executor, api_key_file=str(api_key_file) if api_key_file else None,
                                 log_level=log_level)
        from medlens.pipeline import shared_graph

        shared_graph(settings.kg_path)  # fail fast with a clear message, before uvicorn starts
    except MedlensError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    import uvicorn

    from medlens.serve.app import create_app

    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    app = create_app(settings)
    typer.echo(f"medlens serve: http://{settings.host}:{settings.port}/ (API docs at /docs)", err=True)
    # access_log off: uvicorn's access log writes query strings; ours logs ids, sizes and timings only
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level, access_log=False,
                timeout_graceful_shutdown=10)


__all__ = ["serve_cli"]
