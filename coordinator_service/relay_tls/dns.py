"""The relay domain's authoritative DNS: relay names → their address, ACME TXT challenges.

The host delegates the zone to the coordinator with an NS record; this server answers for it
over UDP and TCP (dnslib encodes and decodes the messages). Names outside the zone are refused.
"""

import asyncio
import logging
import struct
import threading
from collections import defaultdict
from ipaddress import IPv4Address

from dnslib import AAAA, NS, QTYPE, RCODE, RR, SOA, TXT, A, DNSError, DNSRecord

from coordinator_service.relay_tls.names import parse_relay_name

__all__ = ["ChallengeRecords", "RelayDns", "parse_listen"]

logger = logging.getLogger(__name__)

TTL = 60
CHALLENGE_TTL = 1
CHALLENGE_PREFIX = "_acme-challenge."


def parse_listen(listen: str) -> tuple[str, int]:
    """Split HOST:PORT or [IPV6]:PORT; ValueError when it is neither."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{listen!r} is not HOST:PORT (like 0.0.0.0:53)")
    return host.strip("[]") or "0.0.0.0", int(port)


class ChallengeRecords:
    """The TXT values of pending DNS-01 challenges, by name; safe to share between threads."""

    def __init__(self) -> None:
        self._values: defaultdict[str, list[str]] = defaultdict(list)
        self._lock = threading.Lock()

    def add(self, name: str, value: str) -> None:
        with self._lock:
            self._values[name.lower().rstrip(".")].append(value)

    def remove(self, name: str, value: str) -> None:
        with self._lock:
            values = self._values.get(name.lower().rstrip("."), [])
            if value in values:
                values.remove(value)
            if not values:
                self._values.pop(name.lower().rstrip("."), None)

    def get(self, name: str) -> list[str]:
        with self._lock:
            return list(self._values.get(name, ()))


class RelayDns:
    """Answer for `zone`; `nameserver` is the host name the NS record delegates to."""

    def __init__(self, zone: str, nameserver: str, challenges: ChallengeRecords) -> None:
        self.zone = zone
        self.nameserver = nameserver.rstrip(".")
        self.challenges = challenges
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self.port = 0

    # --- answering ---------------------------------------------------------------------------

    def answer(self, data: bytes) -> bytes | None:
        """The reply to one DNS message; None when it is not a query worth answering."""
        try:
            request = DNSRecord.parse(data)
        except (DNSError, struct.error, IndexError, ValueError):
            return None
        if request.header.qr or not request.questions:
            return None
        reply = request.reply()
        reply.header.ra = 0
        question = request.q
        name = str(question.qname).lower().rstrip(".")
        if name != self.zone and not name.endswith("." + self.zone):
            reply.header.aa = 0
            reply.header.rcode = RCODE.REFUSED
            return bytes(reply.pack())
        records = self._records(name, question.qtype)
        if records is None:
            reply.header.rcode = RCODE.NXDOMAIN
        for record in records or ():
            reply.add_answer(record)
        if not records:
            reply.add_auth(self._soa())
        return bytes(reply.pack())

    def _records(self, name: str, qtype: int) -> list[RR] | None:
        """The answers for a name in the zone; [] when the name exists without that type."""
        if name == self.zone:
            if qtype in (QTYPE.SOA, QTYPE.ANY):
                return [self._soa()]
            if qtype == QTYPE.NS:
                return [RR(self.zone, QTYPE.NS, rdata=NS(self.nameserver + "."), ttl=TTL)]
            return []
        if name.startswith(CHALLENGE_PREFIX):
            values = self.challenges.get(name)
            if not values:
                relay = parse_relay_name(name[len(CHALLENGE_PREFIX) :], self.zone)
                return [] if relay is not None else None
            if qtype not in (QTYPE.TXT, QTYPE.ANY):
                return []
            return [RR(name, QTYPE.TXT, rdata=TXT(v), ttl=CHALLENGE_TTL) for v in values]
        relay = parse_relay_name(name, self.zone)
        if relay is None:
            return None
        if isinstance(relay.address, IPv4Address):
            if qtype in (QTYPE.A, QTYPE.ANY):
                return [RR(name, QTYPE.A, rdata=A(str(relay.address)), ttl=TTL)]
        elif qtype in (QTYPE.AAAA, QTYPE.ANY):
            return [RR(name, QTYPE.AAAA, rdata=AAAA(str(relay.address)), ttl=TTL)]
        return []

    def _soa(self) -> RR:
        soa = SOA(
            self.nameserver + ".",
            f"hostmaster.{self.zone}.",
            (1, 3600, 600, 86400, CHALLENGE_TTL),
        )
        return RR(self.zone, QTYPE.SOA, rdata=soa, ttl=TTL)

    # --- serving -----------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> None:
        """Listen on UDP and TCP (port 0 picks one, read back in `.port`); OSError when busy."""
        loop = asyncio.get_running_loop()
        dns = self

        class _Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
                reply = dns.answer(data)
                if reply is not None:
                    self.transport.sendto(reply, addr)  # type: ignore[attr-defined]

        transport, _ = await loop.create_datagram_endpoint(_Udp, local_addr=(host, port))
        self._udp = transport
        self.port = int(transport.get_extra_info("sockname")[1])
        try:
            self._tcp = await asyncio.start_server(self._serve_tcp, host, self.port)
        except OSError:
            transport.close()
            raise
        logger.info("relay DNS for %s on %s:%d (UDP and TCP)", self.zone, host, self.port)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                size = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), 10))[0]
                reply = self.answer(await asyncio.wait_for(reader.readexactly(size), 10))
                if reply is None:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()
            self._tcp = None
