"""Rules and lexicons shipped as data files, validated on load.

Every file under ``resources/<lang>/`` is read through a pydantic schema that
forbids unknown keys, so a typo in a rules file is an error that names the
file and the bad field, never a silently ignored rule.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from medlens.errors import Errors, ResourceError

RESOURCES_DIR = Path(__file__).parent
M = TypeVar("M", bound=BaseModel)


def resource_path(name: str, lang: str = "en") -> Path:
    """Path of a shipped resource file, e.g. ``resource_path("sections.json")``."""
    return RESOURCES_DIR / lang / name


def load_resource(path: str | Path, schema: type[M]) -> M:
    """Read a JSON resource and validate it against ``schema``.

    Args:
        path: a file path, or the bare name of a shipped file (``"sections.json"``).
        schema: a pydantic model (use ``model_config = ConfigDict(extra="forbid")``).

    Raises:
        ResourceError: the file is missing, is not JSON, or does not match the schema.
    """
    p = Path(path)
    if not p.is_absolute() and not p.exists():
        p = resource_path(str(path))
    return _load(p.resolve(), schema)


@lru_cache(maxsize=64)
def _load(path: Path, schema: type[M]) -> M:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ResourceError(Errors.E005.format(path=path, details="file not found")) from exc
    except json.JSONDecodeError as exc:
        raise ResourceError(Errors.E005.format(path=path, details=f"not valid JSON ({exc})")) from exc
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        raise ResourceError(Errors.E005.format(path=path, details=exc)) from exc
