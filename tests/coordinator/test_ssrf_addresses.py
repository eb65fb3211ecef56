"""The prober never fetches CGNAT, IPv6-embedded internal or the coordinator's own addresses."""

import pytest

from coordinator_service.config import Settings
from coordinator_service.prober.addresses import coordinator_addresses, refusal
from tests.coordinator.conftest import Api

PUBLIC_URL = "http://93.184.216.34:8000"  # the host's public address (a literal: no DNS)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"public_url": PUBLIC_URL})


async def _check(api: Api, relay_url: str) -> dict[str, object]:
    node = await api.register(relay_url=relay_url)
    answer = await api.client.post(
        "/api/v1/nodes/me/reachability",
        headers={"Authorization": f"Bearer {node['node_token']}"},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "relay_url",
    [
        "http://100.64.0.1:8090",  # CGNAT / Tailscale
        "http://100.100.100.200:8090",  # a cloud's metadata service inside 100.64/10
        "http://[2002:7f00:1::1]:8090",  # 6to4 carrying 127.0.0.1
        "http://[64:ff9b::a9fe:a9fe]:8090",  # NAT64 carrying 169.254.169.254
        "http://[::ffff:10.0.0.1]:8090",  # IPv4-mapped private
        "http://93.184.216.34:8090",  # the coordinator's own public address, another port
    ],
)
async def test_relay_urls_on_internal_or_own_addresses_are_refused(
    api: Api, relay_url: str
) -> None:
    answer = await _check(api, relay_url)
    assert answer["reachable"] is False
    assert answer["reason"] == "private_address", answer


def test_refusal_explains_each_address() -> None:
    own = frozenset({"93.184.216.34"})
    assert refusal("8.8.8.8", own) is None
    assert refusal("2606:4700::1111", own) is None
    assert "not a public" in (refusal("100.64.0.1", own) or "")
    assert "carries 127.0.0.1" in (refusal("2002:7f00:1::1", own) or "")
    assert "own address" in (refusal("93.184.216.34", own) or "")
    assert "own address" in (refusal("::ffff:93.184.216.34", own) or "")
    assert "not an IP" in (refusal("example.org", own) or "")


async def test_coordinator_addresses_include_the_public_urls_host() -> None:
    found = await coordinator_addresses("https://93.184.216.34:8443", "198.51.100.7")
    assert {"93.184.216.34", "198.51.100.7"} <= found
