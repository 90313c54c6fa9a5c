"""API-key authentication: keys are compared by their SHA-256 digests, in constant time."""

from __future__ import annotations

import hmac

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from medlens.serve.errors import ApiError
from medlens.serve.settings import hash_key

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key (or use Authorization: Bearer).")
_bearer = HTTPBearer(auto_error=False, description="An API key as a bearer token.")


async def require_api_key(request: Request, api_key: str | None = Depends(_api_key_header),
                          bearer: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """Accept the request when no keys are configured or its key's SHA-256 is one of them."""
    hashes: frozenset[str] = request.app.state.key_hashes
    if not hashes:
        return
    key = api_key or (bearer.credentials if bearer else None)
    if not key:
        raise ApiError(401, "An API key is required: send it in the X-API-Key header or as Authorization: Bearer <key>.",
                       headers={"WWW-Authenticate": "Bearer"})
    digest = hash_key(key)
    if not any(hmac.compare_digest(digest, h) for h in hashes):
        raise ApiError(401, "The API key is not valid.", headers={"WWW-Authenticate": "Bearer"})
