"""Service settings: validated once at start, from a file, the environment and overrides.

Sources, later ones winning: defaults < a TOML or JSON file (``--config`` or
``$MEDLENS_SERVE_CONFIG``) < environment variables ``MEDLENS_SERVE_<FIELD>``
(e.g. ``MEDLENS_SERVE_PORT=9000``, lists comma-separated) < explicit overrides
(the command line). ``$MEDLENS_KG`` still names the knowledge graph.

API keys are kept only as SHA-256 hex digests. Give them as digests
(``api_key_hashes`` / ``MEDLENS_SERVE_API_KEY_HASHES``), as a file of digests, one
a line (``api_key_file``), or, for development, as plain keys in
``MEDLENS_API_KEYS`` (comma-separated), which are hashed when read and never
stored. Make a digest with ``medlens serve --hash-key`` (reads the key on stdin)
or ``python -c "import hashlib,sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest())" KEY``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from medlens.errors import ConfigError, Errors

ENV_PREFIX = "MEDLENS_SERVE_"


def hash_key(key: str) -> str:
    """The SHA-256 hex digest under which an API key is stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ServiceSettings(BaseModel):
    """Everything ``medlens serve`` needs; unknown keys are rejected.

    Attributes:
        host: address to bind; loopback by default. Any other address needs API keys
            (or ``allow_unauthenticated``).
        port: TCP port.
        kg_path: knowledge graph file (None: ``$MEDLENS_KG`` or the default location).
        api_key_hashes: SHA-256 hex digests of the accepted API keys. With none, the
            service is open (allowed on loopback only, unless ``allow_unauthenticated``).
        api_key_file: a file of more digests, one a line (``#`` comments allowed).
        allow_unauthenticated: serve without keys on a non-loopback address.
        cors_origins: origins allowed by CORS; empty (the default) turns CORS off.
        max_body_bytes: largest request body; larger ones get 413.
        max_text_chars: longest text per document; longer ones get 413.
        max_batch_documents: most documents in one batch request; more get 413.
        request_timeout_s: a request without a response after this gets 504 (every route); its
            queued documents are dropped and workers skip those they had not started.
        max_requests_in_flight: most requests under ``/v1/`` handled at once; one more gets 503
            ``Overloaded`` with ``Retry-After`` at once.
        max_queue_documents: most documents waiting for an analysis worker; a request that would
            go beyond gets 503 ``Overloaded`` with ``Retry-After`` (an empty queue always takes a
            request, so a batch larger than this is still served).
        workers: analysis processes; 0 uses every core. Each loads its own pipeline.
        executor: ``process`` (one pipeline per worker process, all cores) or
            ``thread`` (one pipeline in this process; quick to start, for tests and
            one-core machines).
        batch_max_documents: most documents the micro-batcher puts in one model call.
        batch_wait_ms: how long the micro-batcher waits for the next request to join a batch (each
            arrival restarts the wait).
        batch_max_wait_ms: the longest a batch waits for more requests in all (used while another
            worker is busy).
        batch_balance: while another worker is busy, a batch stops at its worker's fair share of
            the documents queued and running (the workers finish together).
        gc_freeze: after start-up and a worker's 8th, 64th and 512th batch, collect garbage and move the
            objects alive to the collector's permanent generation (``gc.freeze``), so that Python's full
            collections, which otherwise walk the whole loaded pipeline (0.1-0.35 s, every ~10 batches),
            do not pause the requests of a batch; off: Python's default collector.
        memory_zone_documents: a worker reads its batches inside a spaCy memory zone that stays open
            until it has read this many documents, then frees the strings and lexemes they added
            (every new id, date and word), so the service does not grow with the words it has seen;
            1 closes a zone after every batch (common words are made again for each), 0 uses no zones.
        log_level: ``debug``, ``info``, ``warning`` or ``error``.
        ask_indexes: document indexes ``POST /v1/ask`` may search, each ``NAME=PATH`` (a folder written by
            ``medlens index build``); clients name an index, never a path.
        max_question_chars: longest question ``POST /v1/ask`` accepts; longer ones get 413.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    kg_path: str | None = None
    api_key_hashes: tuple[str, ...] = ()
    api_key_file: str | None = None
    allow_unauthenticated: bool = False
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = Field(2_000_000, ge=1_000)
    max_text_chars: int = Field(200_000, ge=100)
    max_batch_documents: int = Field(64, ge=1, le=10_000)
    request_timeout_s: float = Field(30.0, gt=0, le=3600)
    max_requests_in_flight: int = Field(256, ge=1, le=100_000)
    max_queue_documents: int = Field(64, ge=1, le=100_000)
    workers: int = Field(0, ge=0, le=256)
    executor: Literal["process", "thread"] = "process"
    batch_max_documents: int = Field(16, ge=1, le=1024)
    batch_wait_ms: float = Field(2.0, ge=0, le=1000)
    batch_max_wait_ms: float = Field(50.0, ge=0, le=10_000)
    batch_balance: bool = False
    gc_freeze: bool = True
    memory_zone_documents: int = Field(64, ge=0, le=1_000_000)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    ask_indexes: tuple[str, ...] = ()
    max_question_chars: int = Field(1000, ge=10, le=100_000)

    @field_validator("ask_indexes")
    @classmethod
    def _indexes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            name, sep, path = item.partition("=")
            if not sep or not name.strip() or not path.strip():
                raise ValueError(f"ask index {item!r} must look like NAME=PATH (an index folder of `medlens index build`)")
        return tuple(v.strip() for v in value)

    def index_paths(self) -> dict[str, str]:
        """``ask_indexes`` as ``{name: folder}``: the document indexes ``POST /v1/ask`` may search."""
        out = {}
        for item in self.ask_indexes:
            name, _, path = item.partition("=")
            out[name.strip()] = str(Path(path.strip()).expanduser())
        return out

    @field_validator("api_key_hashes")
    @classmethod
    def _digests(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = tuple(v.strip().lower() for v in value if v.strip())
        bad = [v for v in out if len(v) != 64 or any(c not in "0123456789abcdef" for c in v)]
        if bad:
            raise ValueError(f"{len(bad)} value(s) are not SHA-256 hex digests (64 hex characters); "
                             "store hashes, not keys (medlens serve --hash-key)")
        return out

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"CORS origin {origin!r} must be '*' or start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _check(self) -> ServiceSettings:
        if self.api_key_file is not None and not Path(self.api_key_file).expanduser().is_file():
            raise ValueError(f"api_key_file {self.api_key_file!r} does not exist")
        if self.kg_path is not None and not Path(self.kg_path).expanduser().is_file():
            raise ValueError(f"kg_path {self.kg_path!r}: no knowledge graph there (run `medlens kg build`)")
        if not is_loopback(self.host) and not self.all_key_hashes() and not self.allow_unauthenticated:
            raise ValueError(f"host {self.host!r} is not a loopback address and no API keys are configured; "
                             "configure keys or set allow_unauthenticated")
        return self

    def all_key_hashes(self) -> frozenset[str]:
        """The accepted key digests: ``api_key_hashes`` plus those in ``api_key_file``."""
        hashes = set(self.api_key_hashes)
        if self.api_key_file:
            lines = Path(self.api_key_file).expanduser().read_text(encoding="utf-8").splitlines()
            from_file = tuple(ln.split("#", 1)[0].strip() for ln in lines)
            hashes.update(type(self)._digests(from_file))
        return frozenset(hashes)

    def worker_count(self) -> int:
        """Analysis workers: ``workers``, or the cores available when it is 0."""
        if self.workers:
            return self.workers
        from medlens.runtime import available_cores

        return available_cores()


def _read_file(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode("utf-8")) if path.suffix.lower() == ".toml" else json.loads(raw)
    except FileNotFoundError as exc:
        raise ConfigError(Errors.E003.format(details=f"service config file {path} does not exist")) from exc
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise ConfigError(Errors.E003.format(details=f"service config file {path} cannot be parsed: {exc}")) from exc
    if isinstance(data, dict) and isinstance(data.get("serve"), dict):  # [serve] table of a larger file
        data = data["serve"]
    if not isinstance(data, dict):
        raise ConfigError(Errors.E003.format(details=f"service config file {path} must hold a table/object"))
    return data


_LIST_FIELDS = {"api_key_hashes", "cors_origins", "ask_indexes"}


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ServiceSettings.model_fields:
        value = env.get(ENV_PREFIX + name.upper())
        if value is None or value == "":
            continue
        out[name] = tuple(v.strip() for v in value.split(",") if v.strip()) if name in _LIST_FIELDS else value
    if env.get("MEDLENS_API_KEYS"):
        plain = [hash_key(k.strip()) for k in env["MEDLENS_API_KEYS"].split(",") if k.strip()]
        out["api_key_hashes"] = tuple(out.get("api_key_hashes", ())) + tuple(plain)
    return out


def load_settings(config_file: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None,
                  **overrides: Any) -> ServiceSettings:
    """Validated service settings from a file, the environment and overrides.

    Args:
        config_file: a ``.toml`` or ``.json`` file (None: ``$MEDLENS_SERVE_CONFIG`` if set).
        env: the environment to read (None: ``os.environ``).
        **overrides: field values that win over everything else (None values are ignored).

    Raises:
        ConfigError: an unknown key, a bad value or a missing file; the message names it.
    """
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    path = config_file or env.get(ENV_PREFIX + "CONFIG")
    if path:
        data.update(_read_file(Path(path).expanduser()))
    data.update(_from_env(env))
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return ServiceSettings.model_validate(data)
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(Errors.E003.format(details=f"service settings: {details}")) from exc


__all__ = ["ServiceSettings", "hash_key", "is_loopback", "load_settings"]
