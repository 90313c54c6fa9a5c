"""JSON error responses: every error is ``{"error": {"type", "message"}}`` with its status."""

from __future__ import annotations

from http import HTTPStatus

from fastapi.responses import JSONResponse
from pydantic import BaseModel

_TYPES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
          408: "Timeout", 413: "PayloadTooLarge", 415: "UnsupportedMediaType", 422: "ValidationError",
          429: "TooManyRequests", 500: "InternalError", 503: "Unavailable", 504: "Timeout"}


class ErrorBody(BaseModel):
    type: str
    message: str


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorBody


class ApiError(Exception):
    """Raise in a route to answer with a JSON error.

    Args:
        status: the HTTP status code.
        message: what went wrong and how to fix it (never the note's text).
        type: a short error name (default: from the status).
        headers: extra response headers.
    """

    def __init__(self, status: int, message: str, type: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type or error_type(status)
        self.headers = headers


def error_type(status: int) -> str:
    if status in _TYPES:
        return _TYPES[status]
    try:
        return HTTPStatus(status).phrase.replace(" ", "")
    except ValueError:
        return "Error"


def error_response(status: int, message: str, type: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON error response."""
    return JSONResponse({"error": {"type": type or error_type(status), "message": message}}, status_code=status,
                        headers=headers)


ERROR_RESPONSES = {code: {"model": ErrorResponse, "description": desc} for code, desc in (
    (400, "Malformed request (bad JSON, not UTF-8)"), (401, "Missing or wrong API key"),
    (413, "Request body or text too large"), (422, "Invalid request"), (504, "Analysis timed out"))}
"""OpenAPI ``responses`` for routes that take a body."""
