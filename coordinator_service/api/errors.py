"""One place that turns every error into `{"error": {"code", "message"}}` with the right status."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from coordinator_service.errors import (
    AuthError,
    ConflictError,
    Error,
    InviteError,
    NotFoundError,
    StorageError,
    ValidationError,
)
from coordinator_service.storage.db import DISK_FULL_MESSAGE, is_disk_full

__all__ = ["RateLimitedError", "error_response", "install_error_handlers"]

logger = logging.getLogger(__name__)

# Distinct statuses for distinct invite problems, so a node can tell its friend what happened.
_INVITE_STATUS = {
    "invite_invalid": 404,
    "invite_expired": 410,
    "invite_used_up": 409,
    "invite_revoked": 403,
}
_STATUS_BY_CLASS: list[tuple[type[Error], int]] = [
    (NotFoundError, 404),
    (ConflictError, 409),
    (AuthError, 401),
    (ValidationError, 422),
    (StorageError, 503),
]
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


class RateLimitedError(Error):
    """Too many requests from one client or node."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """Build the JSON error body every failure uses."""
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def status_for(error: Error) -> int:
    """Map a domain error to its HTTP status."""
    if isinstance(error, InviteError):
        return _INVITE_STATUS.get(error.code, 400)
    if isinstance(error, RateLimitedError):
        return 429
    for cls, status in _STATUS_BY_CLASS:
        if isinstance(error, cls):
            return status
    return 400


def _describe(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        if error.get("type") == "json_invalid":
            return "the request body is not valid JSON"
        loc = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body",))
        msg = str(error.get("msg", "invalid")).replace("\n", " ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    more = len(exc.errors()) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


async def _on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Error)
    headers = None
    if isinstance(exc, RateLimitedError):
        headers = {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, AuthError):
        headers = {"WWW-Authenticate": "Bearer"}
    return error_response(status_for(exc), exc.code, exc.message, headers)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    message = _describe(exc)
    code = (
        "invalid_json"
        if message.startswith("the request body is not valid JSON")
        else "invalid_request"
    )
    return error_response(422, code, message)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"nothing at {request.url.path}"
    if exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    code = _HTTP_CODES.get(exc.status_code, "error")
    return error_response(exc.status_code, code, detail, dict(exc.headers or {}) or None)


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if isinstance(exc, IntegrityError):
        return error_response(409, "conflict", "the request conflicts with stored data")
    if isinstance(exc, DataError):
        return error_response(422, "invalid_request", "a value does not fit what can be stored")
    logger.warning("database error on %s %s: %s", request.method, request.url.path, exc)
    if is_disk_full(exc):
        return error_response(503, "storage_full", DISK_FULL_MESSAGE)
    return error_response(503, "storage_busy", "the database is busy; try again shortly")


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "the coordinator hit an internal error")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on `app`."""
    app.add_exception_handler(Error, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(DBAPIError, _on_database_error)
    app.add_exception_handler(Exception, _on_unexpected)
