"""Results as Arrow tables: one row per document, the result's structure as nested columns.

The Arrow schema is derived from the result's pydantic model (``DocumentResult`` for ``analyze``,
``DeidDocument`` for ``deid``, ``GrowResult`` for ``kg grow``), so it follows the JSON form field by field:

=====================================  ==========================================================
pydantic                               Arrow
=====================================  ==========================================================
``str`` / ``int`` / ``float`` / ``bool``  ``string`` / ``int64`` / ``double`` / ``bool``
``Literal["a", "b"]``                  ``string``
``X | None``                           the type of ``X`` (nullable)
``list[X]``, ``tuple[X, ...]``         ``list<X>``
``tuple[int, int]``                    ``list<int64>``
a model                                ``struct`` of its fields
``dict[str, Model]``                   ``map<string, struct>``
anything else (mixed-type dicts, ...)  ``string`` holding its JSON
=====================================  ==========================================================

Every table carries ``medlens.schema`` (the model's name) and ``medlens.schema_version`` in its schema
metadata; :func:`from_table` turns a table back into the models (a Parquet round trip gives equal models).
"""

from __future__ import annotations

import json
import types
import typing
from functools import lru_cache
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

TABLE_SCHEMA_VERSION = "1"
"""Version of the table layout (bumped when the mapping above changes; the results' own
``schema_version`` column versions their fields)."""


def _pa():
    try:
        import pyarrow as pa
    except ImportError as exc:  # pyarrow comes with the ray extra
        from medlens.errors import ConfigError, Errors

        raise ConfigError(Errors.E905.format(what="Parquet input and output", extra="ray")) from exc
    return pa


def _strip_optional(ann: Any) -> Any:
    origin = get_origin(ann)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(ann) if a is not type(None)]
        if len(args) == 1:
            return args[0]
        return _JSON  # a real union of several types: stored as JSON
    return ann


class _JSON:
    """Marker: the value is stored as its JSON text."""


def _kind(ann: Any) -> tuple:
    """A normalized description of an annotation: ('scalar', pa type) | ('list', inner) | ('model', cls) |
    ('map', inner) | ('json',)."""
    pa = _pa()
    ann = _strip_optional(ann)
    if ann is _JSON or ann is Any:
        return ("json",)
    if ann is str:
        return ("scalar", pa.string())
    if ann is bool:
        return ("scalar", pa.bool_())
    if ann is int:
        return ("scalar", pa.int64())
    if ann is float:
        return ("scalar", pa.float64())
    origin = get_origin(ann)
    if origin is Literal:
        return ("scalar", pa.string())
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ("model", ann)
    if origin in (list, typing.List):  # noqa: UP006
        return ("list", _kind(get_args(ann)[0]))
    if origin is tuple:
        args = get_args(ann)
        if len(args) == 2 and args[1] is Ellipsis:
            return ("list", _kind(args[0]))
        inner = {_kind(a) for a in args}
        if len(inner) == 1:
            return ("tuple", next(iter(inner)))
        return ("json",)
    if origin is dict:
        key, value = get_args(ann)
        inner = _kind(value)
        if key is str and inner[0] in ("model", "scalar"):
            return ("map", inner)
        return ("json",)
    return ("json",)


def _arrow_type(kind: tuple):
    pa = _pa()
    tag = kind[0]
    if tag == "scalar":
        return kind[1]
    if tag == "json":
        return pa.string()
    if tag in ("list", "tuple"):
        return pa.list_(_arrow_type(kind[1]))
    if tag == "map":
        return pa.map_(pa.string(), _arrow_type(kind[1]))
    return pa.struct([pa.field(name, _arrow_type(_kind(f.annotation))) for name, f in kind[1].model_fields.items()])


@lru_cache(maxsize=None)
def schema_of(model: type[BaseModel]):
    """The Arrow schema of a table of ``model`` rows (with ``medlens.schema`` metadata)."""
    pa = _pa()
    fields = [pa.field(name, _arrow_type(_kind(f.annotation))) for name, f in model.model_fields.items()]
    return pa.schema(fields, metadata={"medlens.schema": model.__name__,
                                       "medlens.table_schema_version": TABLE_SCHEMA_VERSION})


def _to_arrow(kind: tuple, value: Any) -> Any:
    if value is None:
        return None
    tag = kind[0]
    if tag == "scalar":
        return value
    if tag == "json":
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if tag in ("list", "tuple"):
        return [_to_arrow(kind[1], v) for v in value]
    if tag == "map":
        return [(k, _to_arrow(kind[1], v)) for k, v in value.items()]
    return {name: _to_arrow(_kind(f.annotation), value.get(name)) for name, f in kind[1].model_fields.items()}


def _from_arrow(kind: tuple, value: Any) -> Any:
    if value is None:
        return None
    tag = kind[0]
    if tag == "scalar":
        return value
    if tag == "json":
        return json.loads(value)
    if tag in ("list", "tuple"):
        return [_from_arrow(kind[1], v) for v in value]
    if tag == "map":
        return {k: _from_arrow(kind[1], v) for k, v in value}
    return {name: _from_arrow(_kind(f.annotation), value.get(name)) for name, f in kind[1].model_fields.items()}


def to_table(results: list[BaseModel], model: type[BaseModel]):
    """An Arrow table of ``results`` (one row each) with :func:`schema_of` ``model``."""
    pa = _pa()
    kind = ("model", model)
    rows = [_to_arrow(kind, r.model_dump(mode="json")) for r in results]
    return pa.Table.from_pylist(rows, schema=schema_of(model))


def from_table(table, model: type[BaseModel]) -> list[BaseModel]:
    """The models of a table written by :func:`to_table` (fields left at their defaults are dropped first,
    so optional fields come back as they were)."""
    kind = ("model", model)
    out = []
    for row in table.to_pylist():
        data = _from_arrow(kind, row)
        out.append(model.model_validate(_drop_nones(model, data)))
    return out


def _drop_nones(model: type[BaseModel], data: dict) -> dict:
    """Remove None values of fields whose default is not None (Arrow has no 'absent', only null)."""
    out = {}
    for name, f in model.model_fields.items():
        v = data.get(name)
        if v is None and f.default is not None:
            continue
        ann = _strip_optional(f.annotation)
        if isinstance(v, dict) and isinstance(ann, type) and issubclass(ann, BaseModel):
            v = _drop_nones(ann, v)
        elif isinstance(v, list) and get_origin(ann) is list:
            inner = _strip_optional(get_args(ann)[0])
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                v = [_drop_nones(inner, x) if isinstance(x, dict) else x for x in v]
        elif isinstance(v, dict) and get_origin(ann) is dict:
            inner = _strip_optional(get_args(ann)[1])
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                v = {k: _drop_nones(inner, x) if isinstance(x, dict) else x for k, x in v.items()}
        out[name] = v
    return out


def describe_schema(model: type[BaseModel]) -> str:
    """The table schema as text (for docs/scale.md and ``medlens batch --schema``)."""
    return schema_of(model).to_string(show_schema_metadata=False)
