"""One probe of one node's relay for one stream, fetched as a real player would, with a reason.

1. Refuse relays on private, loopback or link-local addresses unless allowed (`private_address`);
   plain-HTTP relays are then fetched at the address that was checked (no DNS rebinding). That
   address (IP and port) is the relay's identity for this probe (`ProbeOutcome.address`).
2. Play like one of `players.PLAYERS`, chosen at random: `RELAY/live/STREAM.m3u8` (a master: one
   of its variants at random), then two or three consecutive segments from where that player
   starts near the live edge, with its headers and think time. No nonce, nothing probe-only.
3. Each segment's `X-Streamr-Segment-Proof` must be the HMAC of the node's relay URL and the
   body's SHA-256 keyed by this node's probe key (`not_owned` otherwise; `outdated` when the
   relay signs nothing at all: an app older than signed segments, see `MUST_UPDATE`).
4. Each body's SHA-256 must be a segment the origin published (`hash_mismatch`), recently enough
   (`stale`, `StreamIndex.staleness`): one of the current publish session may be older than its
   place in the playlist says by at most the stale limit; one of an earlier session is fine
   until the current session has had that long to reach the node (the publish gap never counts).

Playlists are read up to `MAX_PLAYLIST_BYTES` (a player needs the live tail; our relays list a
handful of segments) and parsed on a worker thread, so a node serving a huge playlist costs the
API's event loop nothing. Timeouts, size caps and no redirects bound every request; `timeout`,
`refused`, `http_error` and `no_relay` name the other ways a probe fails.
"""

import asyncio
import hashlib
import ipaddress
import random
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from coordinator_service.prober.addresses import refusal
from coordinator_service.prober.fetch import FetchError, fetch
from coordinator_service.prober.origin import StreamIndex
from coordinator_service.prober.players import Player, pick_player
from coordinator_service.prober.reputation import Reason
from coordinator_service.relay_tls.names import parse_relay_name
from streamr_protocol import SEGMENT_PROOF_HEADER, verify_segment_proof
from streamr_protocol.hls import HlsError, MasterPlaylist, MediaPlaylist, parse_playlist

__all__ = [
    "ProbeConfig",
    "ProbeOutcome",
    "ProbeTarget",
    "check_reachable",
    "is_public_address",
    "probe_node",
]

MAX_PLAYLIST_BYTES = 64 << 10
MAX_SEGMENT_BYTES = 32 << 20
MAX_REACH_BYTES = 64 << 10


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """The node and stream to probe."""

    node_id: str
    relay_url: str
    probe_key: str
    stream: str


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    """How a probe ended."""

    reason: Reason
    detail: str = ""
    latency_ms: int | None = None
    address: str = ""  # the IP and port probed ("" when the probe got no address)
    player: str = ""

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


@dataclass(frozen=True, slots=True)
class ProbeConfig:
    """Probe limits; `stale_after_s` None means max(4 target durations, 8 s)."""

    allow_private: bool = False
    timeout_s: float = 10.0
    stale_after_s: float | None = None
    page_origin: str = ""  # the watch page's origin, sent by browser players
    think: bool = True  # pause between requests like a viewer (tests of timing-free logic: off)
    relay_domain: str | None = None  # names under it carry their address: no DNS lookup
    denied: frozenset[str] = frozenset()  # the coordinator's own addresses (addresses.py)


class _Failed(Exception):
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason: Reason = reason
        self.detail = detail


def is_public_address(address: str) -> bool:
    """Tell whether an IP address is a public internet address (see prober/addresses.py)."""
    return refusal(address) is None


async def _resolve(host: str, relay_domain: str | None = None) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    named = parse_relay_name(host, relay_domain) if relay_domain else None
    if named is not None:  # what the coordinator's own DNS answers for it
        return [str(named.address)]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise _Failed("refused", f"cannot resolve {host}: {exc}") from exc
    return sorted({str(info[4][0]) for info in infos})


class _Relay:
    """The relay's base URL and the checked address to connect to (HTTPS: the name as SNI)."""

    def __init__(self, relay_url: str) -> None:
        parts = urlsplit(relay_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _Failed("no_relay", f"relay URL {relay_url!r} is not an http(s) URL")
        self.parts = parts
        self.base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
        self.pinned: str | None = None
        self.address = ""

    async def check(
        self,
        allow_private: bool,
        relay_domain: str | None = None,
        denied: frozenset[str] = frozenset(),
    ) -> None:
        addresses = await _resolve(self.parts.hostname or "", relay_domain)
        if not allow_private:
            blocked = [a for a in addresses if refusal(a, denied)]
            if blocked:
                own = " (the coordinator's own address)" if blocked[0] in denied else ""
                raise _Failed("private_address", f"relay resolves to {blocked[0]}{own}")
        if addresses:
            self.pinned = addresses[0]
        if addresses:
            port = self.parts.port or (443 if self.parts.scheme == "https" else 80)
            host = addresses[0]
            self.address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def same_origin(self, url: str) -> bool:
        other = urlsplit(url)
        return (other.scheme, other.netloc.lower()) == (
            self.parts.scheme,
            self.parts.netloc.lower(),
        )

    @property
    def extensions(self) -> dict[str, str]:
        """For a pinned HTTPS relay: the certificate is checked for its name, not the address."""
        if self.pinned is None or self.parts.scheme != "https":
            return {}
        return {"sni_hostname": self.parts.hostname or ""}

    def request(self, url: str) -> tuple[str, dict[str, str]]:
        """Return the URL to connect to and the headers (Host kept when pinned)."""
        if self.pinned is None:
            return url, {}
        parts = urlsplit(url)
        host = f"[{self.pinned}]" if ":" in self.pinned else self.pinned
        netloc = host if parts.port is None else f"{host}:{parts.port}"
        pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        return pinned, {"Host": parts.netloc}


async def _get(
    client: httpx.AsyncClient, relay: _Relay, url: str, cap: int, headers: dict[str, str]
) -> tuple[bytes, httpx.Headers]:
    if not relay.same_origin(url):
        raise _Failed("not_owned", "the relay lists a URL outside itself")
    target, host = relay.request(url)
    fetched = await fetch(
        client, target, max_bytes=cap, headers={**headers, **host}, extensions=relay.extensions
    )
    return fetched.body, fetched.headers


async def _parse(body: bytes, url: str) -> MasterPlaylist | MediaPlaylist:
    """Parse on a worker thread: the relay chose the bytes, the API's loop must not pay."""
    try:
        return await asyncio.to_thread(parse_playlist, body.decode("utf-8", "replace"), url)
    except HlsError as exc:
        raise _Failed("http_error", f"the relay's playlist: {exc}") from exc


async def probe_node(
    client: httpx.AsyncClient,
    target: ProbeTarget,
    index: StreamIndex,
    refresh: Callable[[], Awaitable[StreamIndex]],
    config: ProbeConfig,
    rnd: random.Random | None = None,
) -> ProbeOutcome:
    """Probe one node once; never raises for anything the node does."""
    rnd = rnd or random.SystemRandom()
    started = time.perf_counter()
    player = pick_player(rnd)
    relay: _Relay | None = None

    def outcome(reason: Reason, detail: str = "") -> ProbeOutcome:
        return ProbeOutcome(
            reason,
            detail[:500],
            round((time.perf_counter() - started) * 1000),
            relay.address if relay is not None else "",
            player.name,
        )

    if not target.relay_url.strip():
        return outcome("no_relay", "the node reported no relay URL")
    try:
        async with asyncio.timeout(config.timeout_s):
            relay = _Relay(target.relay_url)
            await relay.check(config.allow_private, config.relay_domain, config.denied)
            reason, detail = await _play(client, relay, player, target, index, refresh, config, rnd)
            return outcome(reason, detail)
    except TimeoutError:
        return outcome("timeout", f"no complete answer within {config.timeout_s:g} s")
    except _Failed as exc:
        return outcome(exc.reason, exc.detail)
    except FetchError as exc:
        return outcome(exc.reason, exc.detail)  # type: ignore[arg-type]


async def _play(
    client: httpx.AsyncClient,
    relay: _Relay,
    player: Player,
    target: ProbeTarget,
    index: StreamIndex,
    refresh: Callable[[], Awaitable[StreamIndex]],
    config: ProbeConfig,
    rnd: random.Random,
) -> tuple[Reason, str]:
    headers = player.request_headers(config.page_origin)

    async def think() -> None:
        if config.think:
            await asyncio.sleep(rnd.uniform(*player.think_s))

    url = f"{relay.base}/live/{target.stream}.m3u8"
    playlist = await _parse((await _get(client, relay, url, MAX_PLAYLIST_BYTES, headers))[0], url)
    if isinstance(playlist, MasterPlaylist):
        url = rnd.choice(playlist.variants).uri
        await think()
        body, _ = await _get(client, relay, url, MAX_PLAYLIST_BYTES, headers)
        playlist = await _parse(body, url)
    if isinstance(playlist, MasterPlaylist):
        raise _Failed("http_error", "the relay's variant playlist is a master playlist")
    segments = playlist.segments
    if not segments:
        raise _Failed("stale", "the relay's playlist lists no segments")
    first = max(0, len(segments) - rnd.randint(*player.live_edge))
    count = rnd.choice((2, 3))
    for position in range(first, min(first + count, len(segments))):
        await think()
        body, answer = await _get(client, relay, segments[position].uri, MAX_SEGMENT_BYTES, headers)
        proof = answer.get(SEGMENT_PROOF_HEADER)
        if proof is None:
            return "outdated", "the relay signs no segment: its app predates signed segments"
        if not verify_segment_proof(target.probe_key, target.relay_url, body, proof):
            return "not_owned", "the segment's proof does not match this node's key and URL"
        digest = hashlib.sha256(body).hexdigest()
        published = index.lookup(digest)
        if published is None:  # the node may have pulled it before our last origin poll
            index = await refresh()
            published = index.lookup(digest)
        if published is None:
            return "hash_mismatch", f"sha256 {digest[:16]}… is no recent origin segment"
        listed_after = sum(s.duration for s in segments[position + 1 :])
        limit = config.stale_after_s or max(4 * index.target_duration, 8.0)
        stale = index.staleness(published, listed_after, limit, time.time())
        if stale is not None:  # judged on the current publish session, with a restart grace
            return "stale", stale
    return "ok", ""


async def check_reachable(
    client: httpx.AsyncClient, relay_url: str, config: ProbeConfig
) -> ProbeOutcome:
    """GET the relay's base URL once: any HTTP answer (even a 404) means reachable (`ok`).

    Same guard as a probe: no private addresses unless allowed, the checked address pinned,
    no redirects followed, the body capped, the whole check bounded by `config.timeout_s`.
    """
    started = time.perf_counter()

    def outcome(reason: Reason, detail: str = "") -> ProbeOutcome:
        return ProbeOutcome(reason, detail[:500], round((time.perf_counter() - started) * 1000))

    if not relay_url.strip():
        return outcome("no_relay", "the node reported no relay URL")
    try:
        async with asyncio.timeout(config.timeout_s):
            relay = _Relay(relay_url)
            await relay.check(config.allow_private, config.relay_domain, config.denied)
            target, headers = relay.request(f"{relay.base}/")
            await fetch(
                client,
                target,
                max_bytes=MAX_REACH_BYTES,
                headers=headers,
                extensions=relay.extensions,
            )
    except TimeoutError:
        return outcome("timeout", f"no answer within {config.timeout_s:g} s")
    except _Failed as exc:
        return outcome(exc.reason, exc.detail)
    except FetchError as exc:
        if exc.status is None:
            return outcome(exc.reason, exc.detail)  # type: ignore[arg-type]
    return outcome("ok", "")
