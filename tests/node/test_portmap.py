"""UPnP port mapping against a fake router (a test cannot have a real one)."""

from desktop_app.core.portmap import map_port
from tests.fixtures.fake_router import EXTERNAL_IP, fake_router


def test_upnp_maps_the_relay_port_on_the_router(tmp_path) -> None:
    with fake_router(tmp_path) as router:
        result = map_port(
            8093,
            discover_delay_ms=50,
            minissdpd_socket=router.socket_path,
            multicast_if="127.0.0.1",
        )
    assert result.ok, result.message
    assert result.external_ip == EXTERNAL_IP and result.external_port == 8093
    (mapping,) = router.mappings
    assert mapping["NewExternalPort"] == mapping["NewInternalPort"] == "8093"
    assert mapping["NewProtocol"] == "TCP"
    assert mapping["NewPortMappingDescription"] == "StreamrP2P relay"


def test_router_refusing_the_mapping_explains_port_forwarding(tmp_path) -> None:
    with fake_router(tmp_path) as router:
        router.refuse = (718, "ConflictInMappingEntry")
        result = map_port(
            8093,
            discover_delay_ms=50,
            minissdpd_socket=router.socket_path,
            multicast_if="127.0.0.1",
        )
    assert not result.ok
    assert result.message.startswith("Your router did not open the port")
    assert "forward TCP port 8093" in result.message


def test_no_router_explains_port_forwarding(tmp_path) -> None:
    result = map_port(
        8093,
        discover_delay_ms=50,
        minissdpd_socket=str(tmp_path / "none.sock"),
        multicast_if="127.0.0.1",
    )
    assert not result.ok
    assert result.message.startswith("Your router did not answer.")
    assert "Port forwarding" in result.message
