"""A lean ASGI path for the heartbeat: the same endpoint without FastAPI's per-request machinery.

Every node beats every 30 s, so `POST /api/v1/nodes/heartbeat` is the coordinator's hot path.
FastAPI's routing, dependency solving and exception middleware cost several times the endpoint's
own work (benchmarks/heartbeats.py --profile). `FastRoute` sits inside the metrics and body-size
middlewares and, for a well-formed JSON body, calls the route's own endpoint function directly:

- the body is validated by the route's own pydantic model; anything unusual (not JSON, a
  validation error, another content type) is replayed to the ordinary FastAPI path, so error
  shapes are FastAPI's by construction;
- errors the endpoint raises go through the app's own exception handlers (the JSON error shape),
  and unexpected ones propagate to the outer server-error middleware as on the ordinary path;
- `scope["route"]` is set to the route, so metrics are labelled as before;
- the OpenAPI schema is the route's, untouched.

The endpoint must take exactly the body and the `Request` (no dependencies); otherwise the fast
path stays off and says so in the log.
"""

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coordinator_service.api.limits_middleware import replay

__all__ = ["FastRoute", "fast_route_for"]

logger = logging.getLogger(__name__)

Endpoint = Callable[..., Awaitable[Response]]


class FastRoute:
    """Serve one POST route of `app` straight from its endpoint function (see module doc)."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI, router: APIRouter, path: str) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self.path = path
        self.target = fast_route_for(fastapi_app, router, path)
        self.served = 0  # requests answered here, not by FastAPI's ordinary path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = self.target
        if (
            target is None
            or scope["type"] != "http"
            or scope["path"] != self.path
            or scope["method"] != "POST"
            or not _is_json(scope)
        ):
            await self.app(scope, receive, send)
            return
        route, model, body_name, request_name = target
        messages, body = await _read_body(receive)
        again = replay(messages, receive)
        if body is None:  # the client went away mid-body: let the ordinary path see it
            await self.app(scope, again, send)
            return
        try:
            parsed = model.model_validate_json(body)
        except PydanticValidationError:
            await self.app(scope, again, send)  # FastAPI words the error, as always
            return
        scope["route"] = route
        self.served += 1
        request = Request(scope, replay(list(messages)), send)
        try:
            response = await route.endpoint(**{body_name: parsed, request_name: request})
        except Exception as exc:
            handler = self._handler_for(exc)
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, again, send)

    def _handler_for(
        self, exc: Exception
    ) -> Callable[[Request, Exception], Awaitable[Response]] | None:
        """The app's handler for `exc` (by class), except the catch-all one for `Exception`.

        The catch-all belongs to the outer server-error middleware, as on the ordinary path.
        """
        handlers = self.fastapi_app.exception_handlers
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            handler = handlers.get(cls)
            if handler is not None:
                return handler  # type: ignore[return-value]
        return None


def fast_route_for(
    app: FastAPI, router: APIRouter, path: str
) -> tuple[APIRoute, type[BaseModel], str, str] | None:
    """Return (route, body model, body parameter, request parameter), or None if not eligible.

    `router` is the APIRouter that declares the route (included in `app` as it is).
    """
    for route in router.routes:
        if isinstance(route, APIRoute) and route.path == path and "POST" in (route.methods or ()):
            break
    else:
        logger.warning("no POST route at %s: its fast path is off", path)
        return None
    body_name = request_name = ""
    model: Any = None
    for name, parameter in inspect.signature(route.endpoint).parameters.items():
        annotation = parameter.annotation
        if annotation is Request:
            request_name = name
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel) and not model:
            body_name, model = name, annotation
        else:
            body_name = ""
            break
    dependencies = route.dependencies or router.dependencies or app.router.dependencies
    if dependencies or not body_name or not request_name:
        logger.warning("%s takes more than a body and the request: its fast path is off", path)
        return None
    return route, model, body_name, request_name


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bytes(value).split(b";", 1)[0].strip().lower() == b"application/json"
    return False


async def _read_body(receive: Receive) -> tuple[list[Message], bytes | None]:
    """Read the whole request body; None as the body when something else than it arrived."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return messages, b"".join(chunks)
