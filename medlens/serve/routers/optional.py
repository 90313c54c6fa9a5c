"""Routers that exist only when their capability is installed: diagnose (issue 4), deid (issue 6), summarize (issue 16).

Each entry names a module under ``medlens.serve.routers`` exposing ``router``
(an ``APIRouter``) and ``available() -> bool``. A capability whose module is
missing, or whose ``available()`` is False, is left out of the API and shows as
``false`` in ``GET /v1/info`` (the web page reads that to show "diagnosis not
available"). To plug one in, add ``medlens/serve/routers/diagnose.py`` (or
``deid.py``) with those two names; nothing else changes.
"""

from __future__ import annotations

import importlib
import logging

from fastapi import FastAPI

log = logging.getLogger("medlens.serve")

OPTIONAL = ("diagnose", "deid", "summarize", "ask")


def include_available(app: FastAPI, dependencies: list) -> dict[str, bool]:
    """Include every available optional router; returns ``{name: included}``."""
    found: dict[str, bool] = {}
    for name in OPTIONAL:
        try:
            module = importlib.import_module(f"medlens.serve.routers.{name}")
            ok = bool(module.available())
        except ImportError:
            ok = False
        if ok:
            app.include_router(module.router, dependencies=dependencies)
        found[name] = ok
    return found
