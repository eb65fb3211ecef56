"""A fake home router for UPnP tests: a MiniSSDPd socket naming an IGD, and the IGD's HTTP side.

miniupnpc asks the MiniSSDPd unix socket for gateways before any multicast, so a test needs no
network: the socket answers with this router's description URL on 127.0.0.1.
"""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

IGD = "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
WANIP = "urn:schemas-upnp-org:service:WANIPConnection:1"
EXTERNAL_IP = "81.2.69.160"

DESCRIPTION = f"""<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
<specVersion><major>1</major><minor>0</minor></specVersion>
<device><deviceType>{IGD}</deviceType><friendlyName>Fake router</friendlyName>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
<serviceList><service>
<serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType>
<serviceId>urn:upnp-org:serviceId:WANCommonIFC1</serviceId>
<controlURL>/ctl/CmnIfCfg</controlURL><eventSubURL>/evt/CmnIfCfg</eventSubURL>
<SCPDURL>/WANCfg.xml</SCPDURL></service></serviceList>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
<serviceList><service><serviceType>{WANIP}</serviceType>
<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
<controlURL>/ctl/IPConn</controlURL><eventSubURL>/evt/IPConn</eventSubURL>
<SCPDURL>/WANIPCn.xml</SCPDURL></service></serviceList></device></deviceList>
</device></deviceList></device></root>
"""

ENVELOPE = (
    '<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
    's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>{}</s:Body></s:Envelope>'
)
FAULT = (
    "<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>"
    '<UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>{code}</errorCode>'
    "<errorDescription>{text}</errorDescription></UPnPError></detail></s:Fault>"
)


@dataclass
class FakeRouter:
    """What the router was asked; set `refuse` to answer AddPortMapping with an error."""

    socket_path: str
    url: str = ""
    refuse: tuple[int, str] | None = None
    mappings: list[dict[str, str]] = field(default_factory=list)


def _length(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.insert(0, (n & 0x7F) | 0x80)
        n >>= 7
    return bytes(out)


def _tag(body: str, name: str) -> str:
    start = body.find(f"<{name}>")
    end = body.find(f"</{name}>")
    return body[start + len(name) + 2 : end] if start >= 0 and end > start else ""


def _handler(router: FakeRouter) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", 'text/xml; charset="utf-8"')
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/rootDesc.xml":
                self._send(200, DESCRIPTION)
            else:
                self._send(404, "")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            action = self.headers.get("SOAPAction", "").strip('"').split("#")[-1]
            if action == "GetStatusInfo":
                inner = (
                    "<NewConnectionStatus>Connected</NewConnectionStatus>"
                    "<NewLastConnectionError>ERROR_NONE</NewLastConnectionError>"
                    "<NewUptime>1000</NewUptime>"
                )
            elif action == "GetExternalIPAddress":
                inner = f"<NewExternalIPAddress>{EXTERNAL_IP}</NewExternalIPAddress>"
            elif action == "AddPortMapping":
                if router.refuse is not None:
                    code, text = router.refuse
                    self._send(500, ENVELOPE.format(FAULT.format(code=code, text=text)))
                    return
                router.mappings.append(
                    {
                        name: _tag(body, name)
                        for name in (
                            "NewExternalPort",
                            "NewProtocol",
                            "NewInternalPort",
                            "NewInternalClient",
                            "NewPortMappingDescription",
                        )
                    }
                )
                inner = ""
            else:
                self._send(500, ENVELOPE.format(FAULT.format(code=401, text="Invalid Action")))
                return
            response = f'<u:{action}Response xmlns:u="{WANIP}">{inner}</u:{action}Response>'
            self._send(200, ENVELOPE.format(response))

    return Handler


@contextmanager
def fake_router(tmp_path: Path) -> Iterator[FakeRouter]:
    """Run the router's HTTP side and its MiniSSDPd socket until the block ends."""
    router = FakeRouter(socket_path=str(tmp_path / "minissdpd.sock"))
    http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(router))
    router.url = f"http://127.0.0.1:{http.server_address[1]}/rootDesc.xml"
    ssdpd = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ssdpd.bind(router.socket_path)
    ssdpd.listen(4)
    ssdpd.settimeout(0.2)
    stop = threading.Event()

    def serve_ssdpd() -> None:
        while not stop.is_set():
            try:
                conn, _ = ssdpd.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                request = conn.recv(512)
                wanted = request[2:].decode(errors="replace")
                if request[:1] in (b"\x01", b"\x03") and (IGD in wanted or "all" in wanted):
                    usn = f"uuid:fake-router::{IGD}"
                    reply = b"\x01" + b"".join(
                        _length(len(part)) + part
                        for part in (router.url.encode(), IGD.encode(), usn.encode())
                    )
                else:
                    reply = b"\x00"
                conn.sendall(reply)

    threads = [
        threading.Thread(target=http.serve_forever, daemon=True),
        threading.Thread(target=serve_ssdpd, daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        yield router
    finally:
        stop.set()
        http.shutdown()
        http.server_close()
        ssdpd.close()
        for thread in threads:
            thread.join(5)
