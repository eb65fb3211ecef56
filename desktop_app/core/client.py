"""CoordinatorClient: the node's httpx calls to the coordinator, errors mapped to core.errors."""

from collections.abc import Sequence
from typing import TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from desktop_app.core.errors import (
    CoordinatorProtocolError,
    CoordinatorUnreachable,
    InviteRefused,
    TokenRejected,
)
from desktop_app.core.tls_trust import trusted_context
from streamr_protocol import (
    HeartbeatRequest,
    HeartbeatResponse,
    InviteCheckResponse,
    NodeEarningsResponse,
    NodeProfileUpdateRequest,
    NodeRegisterRequest,
    NodeRegisterResponse,
    NodeStatusResponse,
    ReachabilityResponse,
    RelayCsrRequest,
    RelayCsrResponse,
    StreamResponse,
)
from streamr_protocol.models import AuditReport, AuditReportBatch, AuditReportsAccepted

__all__ = ["CoordinatorClient"]

Model = TypeVar("Model", bound=BaseModel)
T = TypeVar("T")
_STREAM_LIST = TypeAdapter(list[StreamResponse])


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
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=5.0),
            verify=trusted_context(),
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

    async def report_audits(self, reports: Sequence[AuditReport]) -> int:
        """Post peer audit reports; returns how many the coordinator accepted."""
        response = await self._call(
            "POST", "/api/v1/nodes/audits", AuditReportBatch(reports=list(reports))
        )
        return self._parse(response, AuditReportsAccepted).accepted

    async def check_invite(self, code: str) -> str | None:
        """The invite's status (active, invalid, revoked, expired, used); None from a host too
        old to say."""
        response = await self._call("GET", f"/api/v1/join/{code}")
        if response.status_code in (404, 405):
            return None
        return self._parse(response, InviteCheckResponse).status

    async def leave(self) -> None:
        """Tell the coordinator this node leaves (its token stops working)."""
        self._check(await self._call("POST", "/api/v1/nodes/me/leave"))

    async def me(self) -> NodeStatusResponse:
        return self._parse(await self._call("GET", "/api/v1/nodes/me"), NodeStatusResponse)

    async def update_profile(
        self, display_name: str | None = None, payout_handle: str | None = None
    ) -> NodeStatusResponse:
        """Change this node's display name and/or payout handle at the coordinator.

        Raises ValueError (pydantic) for a name or handle the protocol refuses, before any call.
        """
        request = NodeProfileUpdateRequest(display_name=display_name, payout_handle=payout_handle)
        response = await self._call(
            "PATCH", "/api/v1/nodes/me", request.model_dump(mode="json", exclude_none=True)
        )
        return self._parse(response, NodeStatusResponse)

    async def earnings(self) -> NodeEarningsResponse | None:
        """This node's earnings, with why time was (not) credited when the coordinator knows;
        None while the coordinator has no such endpoint."""
        response = await self._call("GET", "/api/v1/nodes/me/earnings?credit=1")
        if response.status_code in (404, 405):
            return None
        return self._parse(response, NodeEarningsResponse)

    async def list_streams(self) -> list[StreamResponse]:
        """Every stream of the coordinator that is not paused, live or not (public)."""
        response = await self._call("GET", "/api/v1/streams")
        return self._parse_as(response, _STREAM_LIST, "stream list")

    async def check_reachability(self) -> ReachabilityResponse:
        """Ask the coordinator to fetch this node's relay URL now (reachable, reason)."""
        return self._parse(
            await self._call("POST", "/api/v1/nodes/me/reachability"), ReachabilityResponse
        )

    async def request_certificate(self, csr_pem: str) -> RelayCsrResponse:
        """Send the relay's CSR; the chain arrives in a later heartbeat answer."""
        return self._parse(
            await self._call("POST", "/api/v1/nodes/me/tls", RelayCsrRequest(csr=csr_pem)),
            RelayCsrResponse,
        )

    async def _call(
        self, method: str, path: str, body: BaseModel | dict[str, object] | None = None
    ) -> httpx.Response:
        payload = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
        try:
            return await self._http.request(method, path, json=payload)
        except httpx.HTTPError as exc:
            raise CoordinatorUnreachable(
                f"cannot reach the coordinator at {self.base_url}: {type(exc).__name__}"
            ) from exc

    def _parse(self, response: httpx.Response, model: type[Model]) -> Model:
        return self._parse_as(response, TypeAdapter(model), model.__name__)

    def _parse_as(self, response: httpx.Response, adapter: TypeAdapter[T], what: str) -> T:
        self._check(response)
        try:
            return adapter.validate_json(response.content)
        except ValidationError as exc:
            raise CoordinatorProtocolError(
                f"unexpected answer from the coordinator ({what})"
            ) from exc

    def _check(self, response: httpx.Response) -> None:
        """Raise the core error matching a non-2xx answer."""
        status = response.status_code
        if status in (401, 403):
            raise TokenRejected(f"the coordinator refused this node: {_message(response)}")
        if status == 429 or status >= 500:
            raise CoordinatorUnreachable(f"the coordinator answered {status}: {_message(response)}")
        if status >= 400:
            raise CoordinatorProtocolError(
                f"the coordinator answered {status}: {_message(response)}"
            )


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
