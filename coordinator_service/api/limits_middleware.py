"""Refuse request bodies over the size limit with 413 before any route reads them."""

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodySizeLimit", "replay"]


class BodySizeLimit:
    """Answer 413 JSON for bodies larger than `max_bytes` (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await self._refuse(send, 400, "bad_request", "Content-Length is not a number")
                    return
                break
        if declared is not None:
            if declared > self.max_bytes:
                await self._too_large(send)
                return
            await self.app(scope, receive, send)
            return
        # No length given (chunked): read the body up to the limit, then replay it.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, replay([message]), send)
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(body)
            more = message.get("more_body", False)
        replayed: list[Message] = [
            {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        ]
        await self.app(scope, replay(replayed, receive), send)

    async def _too_large(self, send: Send) -> None:
        await self._refuse(
            send, 413, "body_too_large", f"the request body is larger than {self.max_bytes} bytes"
        )

    async def _refuse(self, send: Send, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def replay(messages: list[Message], then: Receive | None = None) -> Receive:
    """A receive() that gives `messages` again, then defers to `then` (or a disconnect)."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive
