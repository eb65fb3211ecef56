"""One probe of one node's relay for one stream, ending with a reason.

1. Refuse relays on private, loopback or link-local addresses unless allowed (`private_address`);
   plain-HTTP relays are then fetched at the address that was checked (no DNS rebinding).
2. Fetch `RELAY/live/STREAM.m3u8` (a master: one of its variants at random).
3. Pick one of the newest segments at random and fetch it with `?streamr_nonce=NONCE`.
4. The `X-Streamr-Proof` header must be the HMAC of the nonce and the body's SHA-256 keyed by
   this node's probe key (`not_owned` otherwise: whoever answered is not this node).
5. The body's SHA-256 must be a segment the origin published (`hash_mismatch`), recently enough:
   its age minus the segments listed after it must stay under the stale limit (`stale`).

Timeouts, size caps and no redirects bound every request; `timeout`, `refused`, `http_error`
and `no_relay` name the other ways a probe fails.
"""

import asyncio
import hashlib
import ipaddress
import random
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from coordinator_service.prober.fetch import FetchError, fetch
from coordinator_service.prober.origin import StreamIndex
from coordinator_service.prober.reputation import Reason
from streamr_protocol import NONCE_PARAM, PROOF_HEADER, verify_proof
from streamr_protocol.hls import HlsError, MasterPlaylist, MediaPlaylist, parse_playlist

__all__ = [
    "ProbeConfig",
    "ProbeOutcome",
    "ProbeTarget",
    "check_reachable",
    "is_public_address",
    "probe_node",
]

MAX_PLAYLIST_BYTES = 1 << 20
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

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


@dataclass(frozen=True, slots=True)
class ProbeConfig:
    """Probe limits; `stale_after_s` None means max(4 target durations, 8 s)."""

    allow_private: bool = False
    timeout_s: float = 10.0
    stale_after_s: float | None = None
    newest: int = 3


class _Failed(Exception):
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason: Reason = reason
        self.detail = detail


def is_public_address(address: str) -> bool:
    """Tell whether an IP address is globally routable (not private, loopback, link-local, …)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


async def _resolve(host: str) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise _Failed("refused", f"cannot resolve {host}: {exc}") from exc
    return sorted({str(info[4][0]) for info in infos})


class _Relay:
    """The relay's base URL and, for plain HTTP, the checked address to connect to."""

    def __init__(self, relay_url: str) -> None:
        parts = urlsplit(relay_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _Failed("no_relay", f"relay URL {relay_url!r} is not an http(s) URL")
        self.parts = parts
        self.base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
        self.pinned: str | None = None

    async def check(self, allow_private: bool) -> None:
        addresses = await _resolve(self.parts.hostname or "")
        if not allow_private:
            blocked = [a for a in addresses if not is_public_address(a)]
            if blocked:
                raise _Failed("private_address", f"relay resolves to {blocked[0]}")
        if self.parts.scheme == "http" and addresses:
            self.pinned = addresses[0]

    def same_origin(self, url: str) -> bool:
        other = urlsplit(url)
        return (other.scheme, other.netloc.lower()) == (
            self.parts.scheme,
            self.parts.netloc.lower(),
        )

    def request(self, url: str) -> tuple[str, dict[str, str]]:
        """Return the URL to connect to and the headers (Host kept when pinned)."""
        if self.pinned is None:
            return url, {}
        parts = urlsplit(url)
        host = f"[{self.pinned}]" if ":" in self.pinned else self.pinned
        netloc = host if parts.port is None else f"{host}:{parts.port}"
        pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        return pinned, {"Host": parts.netloc}


async def _get(client: httpx.AsyncClient, relay: _Relay, url: str, cap: int) -> bytes:
    if not relay.same_origin(url):
        raise _Failed("not_owned", "the relay lists a URL outside itself")
    target, headers = relay.request(url)
    return (await fetch(client, target, max_bytes=cap, headers=headers)).body


async def _get_with_proof(
    client: httpx.AsyncClient, relay: _Relay, url: str, nonce: str
) -> tuple[bytes, str | None]:
    if not relay.same_origin(url):
        raise _Failed("not_owned", "the relay lists a segment outside itself")
    separator = "&" if "?" in url else "?"
    target, headers = relay.request(f"{url}{separator}{NONCE_PARAM}={nonce}")
    fetched = await fetch(client, target, max_bytes=MAX_SEGMENT_BYTES, headers=headers)
    return fetched.body, fetched.headers.get(PROOF_HEADER)


def _parse(body: bytes, url: str) -> MasterPlaylist | MediaPlaylist:
    try:
        return parse_playlist(body.decode("utf-8", "replace"), url)
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

    def outcome(reason: Reason, detail: str = "") -> ProbeOutcome:
        return ProbeOutcome(reason, detail[:500], round((time.perf_counter() - started) * 1000))

    if not target.relay_url.strip():
        return outcome("no_relay", "the node reported no relay URL")
    try:
        async with asyncio.timeout(config.timeout_s):
            return await _probe(client, target, index, refresh, config, rnd, outcome)
    except TimeoutError:
        return outcome("timeout", f"no complete answer within {config.timeout_s:g} s")
    except _Failed as exc:
        return outcome(exc.reason, exc.detail)
    except FetchError as exc:
        return outcome(exc.reason, exc.detail)  # type: ignore[arg-type]


async def _probe(
    client: httpx.AsyncClient,
    target: ProbeTarget,
    index: StreamIndex,
    refresh: Callable[[], Awaitable[StreamIndex]],
    config: ProbeConfig,
    rnd: random.Random,
    outcome: Callable[[Reason, str], ProbeOutcome],
) -> ProbeOutcome:
    relay = _Relay(target.relay_url)
    await relay.check(config.allow_private)
    url = f"{relay.base}/live/{target.stream}.m3u8"
    playlist = _parse(await _get(client, relay, url, MAX_PLAYLIST_BYTES), url)
    if isinstance(playlist, MasterPlaylist):
        url = rnd.choice(playlist.variants).uri
        playlist = _parse(await _get(client, relay, url, MAX_PLAYLIST_BYTES), url)
    if isinstance(playlist, MasterPlaylist):
        raise _Failed("http_error", "the relay's variant playlist is a master playlist")
    segments = playlist.segments
    if not segments:
        raise _Failed("stale", "the relay's playlist lists no segments")
    position = len(segments) - 1 - rnd.randrange(min(config.newest, len(segments)))
    segment_url = segments[position].uri
    nonce = secrets.token_urlsafe(16)
    body, proof = await _get_with_proof(client, relay, segment_url, nonce)
    if not verify_proof(target.probe_key, nonce, body, proof):
        return outcome("not_owned", "the segment's proof does not match this node's key")
    digest = hashlib.sha256(body).hexdigest()
    published = index.lookup(digest)
    if published is None:  # the node may have pulled it before our last origin poll
        index = await refresh()
        published = index.lookup(digest)
    if published is None:
        return outcome("hash_mismatch", f"sha256 {digest[:16]}… is no recent origin segment")
    listed_after = sum(s.duration for s in segments[position + 1 :])
    age = time.time() - published.seen_at - listed_after
    limit = config.stale_after_s or max(4 * index.target_duration, 8.0)
    if age > limit:
        return outcome("stale", f"stale by {age:.0f} s (limit {limit:.0f} s)")
    return outcome("ok", "")


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
            await relay.check(config.allow_private)
            target, headers = relay.request(f"{relay.base}/")
            await fetch(client, target, max_bytes=MAX_REACH_BYTES, headers=headers)
    except TimeoutError:
        return outcome("timeout", f"no answer within {config.timeout_s:g} s")
    except _Failed as exc:
        return outcome(exc.reason, exc.detail)
    except FetchError as exc:
        if exc.status is None:
            return outcome(exc.reason, exc.detail)  # type: ignore[arg-type]
    return outcome("ok", "")
