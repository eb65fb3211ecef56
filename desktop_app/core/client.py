"""CoordinatorClient: the node's httpx calls to the coordinator, errors mapped to core.errors."""

from typing import TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from desktop_app.core.errors import (
    CoordinatorProtocolError,
    CoordinatorUnreachable,
    InviteRefused,
    TokenRejected,
)
from streamr_protocol import (
    HeartbeatRequest,
    HeartbeatResponse,
    NodeEarningsResponse,
    NodeRegisterRequest,
    NodeRegisterResponse,
    NodeStatusResponse,
)

__all__ = ["CoordinatorClient"]

Model = TypeVar("Model", bound=BaseModel)


class CoordinatorClient:
    """Talk to one coordinator, as a node (with its token once it has one)."""

    def __init__(
        self, base_url: str, token: str | None = None, *, timeout: float = 10.0, version: str = "0"
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"User-Agent": f"streamr-node/{version}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=httpx.Timeout(timeout, connect=5.0)
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def register(self, request: NodeRegisterRequest) -> NodeRegisterResponse:
        """Join with an invite; InviteRefused carries the coordinator's reason."""
        response = await self._call("POST", "/api/v1/nodes/register", request)
        if 400 <= response.status_code < 500 and response.status_code != 429:
            raise InviteRefused(f"the invite was refused: {_message(response)}")
        return self._parse(response, NodeRegisterResponse)

    async def heartbeat(self, request: HeartbeatRequest) -> HeartbeatResponse:
        return self._parse(
            await self._call("POST", "/api/v1/nodes/heartbeat", request), HeartbeatResponse
        )

    async def me(self) -> NodeStatusResponse:
        return self._parse(await self._call("GET", "/api/v1/nodes/me"), NodeStatusResponse)

    async def earnings(self) -> NodeEarningsResponse | None:
        """This node's earnings; None while the coordinator has no such endpoint."""
        response = await self._call("GET", "/api/v1/nodes/me/earnings")
        if response.status_code in (404, 405):
            return None
        return self._parse(response, NodeEarningsResponse)

    async def _call(self, method: str, path: str, body: BaseModel | None = None) -> httpx.Response:
        try:
            return await self._http.request(
                method, path, json=None if body is None else body.model_dump(mode="json")
            )
        except httpx.HTTPError as exc:
            raise CoordinatorUnreachable(
                f"cannot reach the coordinator at {self.base_url}: {type(exc).__name__}"
            ) from exc

    def _parse(self, response: httpx.Response, model: type[Model]) -> Model:
        status = response.status_code
        if status in (401, 403):
            raise TokenRejected(f"the coordinator refused this node: {_message(response)}")
        if status == 429 or status >= 500:
            raise CoordinatorUnreachable(f"the coordinator answered {status}: {_message(response)}")
        if status >= 400:
            raise CoordinatorProtocolError(
                f"the coordinator answered {status}: {_message(response)}"
            )
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise CoordinatorProtocolError(
                f"unexpected answer from the coordinator ({model.__name__})"
            ) from exc


def _message(response: httpx.Response) -> str:
    """The `error.message` of the coordinator's JSON error shape, else the status phrase."""
    try:
        body = response.json()
        message = body["error"]["message"]
        if isinstance(message, str) and message:
            return message.splitlines()[0][:300]
    except (ValueError, KeyError, TypeError):
        pass
    return response.reason_phrase or f"HTTP {response.status_code}"
