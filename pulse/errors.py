"""Error kinds by meaning (docs/architecture.md §Errors by meaning).

Code raises these; transports translate them, each in one place: ``http_status`` below is the HTTP
status of each kind (used by the FastAPI exception handler), and ``pipeline/status.py`` is the
OTLP table (gRPC codes, retryable vs permanent, Retry-After / RetryInfo).
Every error renders as the single JSON shape of the API: ``{"error": message, "details"?: [...]}``.

This module imports nothing from the project.
"""

from __future__ import annotations

from typing import Any


class PulseError(Exception):
    """Base class: a message for humans and optional structured details."""

    http_status = 500

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.message}
        if self.details is not None:
            out["details"] = self.details
        return out


class InvalidInput(PulseError):
    """The client sent something we will never accept as it is (permanent; do not retry)."""

    http_status = 400


class PayloadTooLarge(InvalidInput):
    http_status = 413


class UnsupportedMediaType(InvalidInput):
    http_status = 415


class Unauthorized(PulseError):
    http_status = 401


class Forbidden(PulseError):
    http_status = 403


class NotFound(PulseError):
    http_status = 404


class Overloaded(PulseError):
    """We are full right now; retry after ``retry_after`` seconds (retryable)."""

    http_status = 503

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Retryable(PulseError):
    """A transient failure (database unreachable, ...): the client should retry."""

    http_status = 503

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConfigError(PulseError):
    """A setting is invalid; the message names the setting."""


class Unstorable(PulseError):
    """The database refused this data for good (a bad row, not a bad connection): retrying the
    same data cannot succeed, so the writer isolates and dead-letters it."""

    http_status = 422
