"""A lean ASGI path for the heartbeat: the same endpoint without FastAPI's per-request machinery.

Every node beats every 30 s, so `POST /api/v1/nodes/heartbeat` is the coordinator's hot path.
FastAPI's routing, dependency solving, middleware stack and exception middleware cost several
times the endpoint's own work (benchmarks/heartbeats.py --profile). `CoordinatorApp` is a FastAPI
app whose `FastRoute` answers a well-formed heartbeat in front of that stack, doing itself what
the stack would have done for it:

- the body is read up to the app's size limit and validated by the route's own pydantic model;
  anything unusual (no or a too-large body, not JSON, a validation error, another content type)
  is replayed to the ordinary path, so error shapes and the 413 are the stack's by construction;
- errors the endpoint raises go through the app's own exception handlers (the JSON error shape);
  an unexpected one gets the catch-all handler's 500 and is raised again, as Starlette's
  server-error middleware does;
- requests are counted and timed in the app's metrics under the route's template, as
  `MetricsMiddleware` does, and `scope["route"]`/`scope["app"]` are set as routing would;
- the OpenAPI schema is the route's, untouched.

The endpoint must take exactly the body and the `Request` (no dependencies); otherwise the fast
path stays off and says so in the log.
"""

import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from coordinator_service.api.limits_middleware import replay
from coordinator_service.api.metrics import Metrics

__all__ = ["CoordinatorApp", "FastRoute", "fast_route_for"]

logger = logging.getLogger(__name__)

Endpoint = Callable[..., Awaitable[Response]]
Handler = Callable[[Request, Exception], Awaitable[Response]]


class CoordinatorApp(FastAPI):
    """A FastAPI app that hands its hot route to `fast_route` before its middleware stack."""

    fast_route: "FastRoute | None" = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fast = self.fast_route
        if fast is not None and fast.takes(scope):
            await fast(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def ordinary(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a request through the whole stack (what FastRoute falls back to)."""
        await super().__call__(scope, receive, send)


class FastRoute:
    """Serve one POST route of `app` straight from its endpoint function (see module doc)."""

    def __init__(
        self,
        app: CoordinatorApp,
        router: APIRouter,
        path: str,
        *,
        metrics: Metrics,
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.path = path
        self.target = fast_route_for(app, router, path)
        self.max_body_bytes = max_body_bytes
        self.served = 0  # requests answered here, not by FastAPI's ordinary path
        self._count = metrics.requests
        self._latency = metrics.latency.labels(path)
        self._counters: dict[int, Any] = {}  # status -> its labelled counter

    def takes(self, scope: Scope) -> bool:
        """Whether `scope` is a JSON POST to the fast route."""
        return (
            self.target is not None
            and scope["type"] == "http"
            and scope["path"] == self.path
            and scope["method"] == "POST"
            and _is_json(scope)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.target is not None
        route, model, body_name, request_name = self.target
        messages, body = await _read_body(receive, self.max_body_bytes)
        again = replay(messages, receive)
        if body is None:  # gone mid-body, or too large: the ordinary path answers it
            await self.app.ordinary(scope, again, send)
            return
        try:
            parsed = model.model_validate_json(body)
        except PydanticValidationError:
            await self.app.ordinary(scope, again, send)  # FastAPI words the error, as always
            return
        started = time.perf_counter()
        if self.app.root_path:
            scope["root_path"] = self.app.root_path
        scope["app"] = self.app
        scope["route"] = route
        self.served += 1
        request = Request(scope, replay(list(messages)), send)
        status = 500
        try:
            try:
                response = await route.endpoint(**{body_name: parsed, request_name: request})
            except Exception as exc:
                handler = self._handler_for(exc)
                if handler is None:
                    await self._answer_unexpected(request, exc, scope, send)
                    raise
                response = await handler(request, exc)
            status = response.status_code
            await response(scope, again, send)
        finally:
            counter = self._counters.get(status)
            if counter is None:
                counter = self._counters[status] = self._count.labels(
                    "POST", self.path, str(status)
                )
            counter.inc()
            self._latency.observe(time.perf_counter() - started)

    def _handler_for(self, exc: Exception) -> Handler | None:
        """The app's handler for `exc` (by class), except the catch-all one for `Exception`."""
        handlers = self.app.exception_handlers
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            handler = handlers.get(cls)
            if handler is not None:
                return handler  # type: ignore[return-value]
        return None

    async def _answer_unexpected(
        self, request: Request, exc: Exception, scope: Scope, send: Send
    ) -> None:
        """Answer with the app's catch-all handler, as the server-error middleware would."""
        handler = self.app.exception_handlers.get(Exception)
        if handler is not None:
            response = await handler(request, exc)  # type: ignore[misc]
            await response(scope, replay([]), send)


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


async def _read_body(receive: Receive, limit: int) -> tuple[list[Message], bytes | None]:
    """Read the whole request body; None as the body when something else than it arrived or it
    grew over `limit` (the messages read so far are returned either way, to replay)."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return messages, None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return messages, b"".join(chunks)
