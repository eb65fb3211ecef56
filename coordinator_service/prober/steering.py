"""A viewer's watch playlist (HLS Content Steering pathways) and its steering manifest (pure).

The multivariant playlist offers each of the stream's variants once per pathway: the relays
picked for this viewer in order, then the origin. Each variant carries `PATHWAY-ID` (a node id,
or `origin`); `#EXT-X-CONTENT-STEERING` names the steering manifest and the viewer's first
pathway. Players without steering see the same list as redundant variants, first pathway first;
players with neither play the first variant, which is the first relay's.

The steering manifest (JSON: VERSION, TTL, RELOAD-URI, PATHWAY-PRIORITY, PATHWAY-CLONES) keeps
the viewer's relays that are still eligible in the viewer's order, adds newly eligible relays
as clones (each variant's URI replaced by STABLE-VARIANT-ID) when fewer than wanted remain, and
ends with the origin. The viewer's pathway list rides in the RELOAD-URI, so the server keeps no
state per viewer.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import m3u8
from m3u8.model import ContentSteering, SessionData

from coordinator_service.prober.routing import RelayCandidate
from streamr_protocol.hls import Variant

__all__ = [
    "ORIGIN",
    "REPORT_TOKEN_DATA_ID",
    "STEERING_TTL_S",
    "Pathway",
    "WatchVariant",
    "pathway_list",
    "render_watch_playlist",
    "stable_id",
    "steering_manifest",
    "watch_variants",
]

ORIGIN = "origin"
REPORT_TOKEN_DATA_ID = "org.streamrp2p.report-token"
STEERING_TTL_S = 10
DEFAULT_BANDWIDTH = 2_000_000  # bit/s assumed when the origin states none (or SRS's token 1)


@dataclass(frozen=True, slots=True)
class WatchVariant:
    """One rendition: its attributes, where the origin serves it, its path on any relay."""

    bandwidth: int
    origin_uri: str
    relay_path: str
    average_bandwidth: int | None = None
    resolution: tuple[int, int] | None = None
    codecs: str | None = None
    frame_rate: float | None = None


@dataclass(frozen=True, slots=True)
class Pathway:
    """A way to the stream: a relay (`base` = scheme://host[:port]) or the origin (`base` None)."""

    id: str
    base: str | None = None

    def uri(self, variant: WatchVariant) -> str:
        """Return where this pathway serves `variant`'s media playlist."""
        if self.base is None:
            return variant.origin_uri
        return self.base + variant.relay_path


def watch_variants(
    stream_name: str, origin_url: str, variants: Sequence[Variant]
) -> list[WatchVariant]:
    """Return the stream's renditions as relays lay them out (see the relay server's paths).

    A media-playlist origin (no variants) and a master with one variant (SRS 6's hls_ctx step)
    are one rendition at `/live/NAME.m3u8` on relays; several variants are `/live/NAME/I.m3u8`.
    """
    single = f"/live/{stream_name}.m3u8"
    if not variants:
        return [WatchVariant(DEFAULT_BANDWIDTH, origin_url, single)]
    many = len(variants) > 1
    return [
        WatchVariant(
            bandwidth=v.bandwidth if v.bandwidth >= 10_000 else DEFAULT_BANDWIDTH,
            origin_uri=v.uri,
            relay_path=f"/live/{stream_name}/{i}.m3u8" if many else single,
            average_bandwidth=v.average_bandwidth if many else None,
            resolution=v.resolution,
            codecs=v.codecs,
            frame_rate=v.frame_rate,
        )
        for i, v in enumerate(variants)
    ]


def render_watch_playlist(
    variants: Sequence[WatchVariant],
    pathways: Sequence[Pathway],
    steering_uri: str | None,
    report_token: str | None = None,
) -> str:
    """Render the multivariant playlist: every variant on every pathway, in pathway order."""
    playlist = m3u8.M3U8()
    playlist.is_variant = True
    if steering_uri is not None and pathways:
        playlist.content_steering = ContentSteering(
            base_uri=None, server_uri=steering_uri, pathway_id=pathways[0].id
        )
    if report_token:
        playlist.session_data.append(SessionData(REPORT_TOKEN_DATA_ID, value=report_token))
    for pathway in pathways:
        for position, variant in enumerate(variants):
            info: dict[str, object] = {
                "bandwidth": variant.bandwidth,
                "pathway_id": pathway.id,
                "stable_variant_id": stable_id(position),
            }
            if variant.average_bandwidth:
                info["average_bandwidth"] = variant.average_bandwidth
            if variant.resolution:
                info["resolution"] = "{}x{}".format(*variant.resolution)
            if variant.codecs:
                info["codecs"] = variant.codecs
            if variant.frame_rate:
                info["frame_rate"] = variant.frame_rate
            playlist.playlists.append(
                m3u8.Playlist(uri=pathway.uri(variant), stream_info=info, media=[], base_uri=None)
            )
    return str(playlist.dumps())


def steering_manifest(
    listed: Sequence[str],
    eligible: Collection[str],
    extra: Sequence[RelayCandidate],
    variants: Sequence[WatchVariant],
    wanted: int,
    reload_uri: str,
    ttl_s: int = STEERING_TTL_S,
) -> dict[str, object]:
    """Return the steering manifest for a viewer holding the pathways `listed` (ids, in order).

    `eligible` are the node ids a viewer may use now. While fewer than `wanted` listed relays
    are eligible, relays from `extra` (other eligible ones, in preference order) are cloned in
    from the first listed pathway, each variant's URI replaced by the relay's (by
    STABLE-VARIANT-ID). The RELOAD-URI is `reload_uri` plus `p=` the viewer's new pathway list.
    """
    held = [i for i in dict.fromkeys(listed) if i != ORIGIN]
    keep = [i for i in held if i in eligible]
    clones: list[dict[str, object]] = []
    for candidate in extra:
        if len(keep) >= wanted or not listed:
            break
        if candidate.node_id in held or candidate.node_id == ORIGIN:
            continue
        uris = {stable_id(i): candidate.relay_url + v.relay_path for i, v in enumerate(variants)}
        clones.append(
            {
                "BASE-ID": listed[0],
                "ID": candidate.node_id,
                "URI-REPLACEMENT": {"PER-VARIANT-URIS": uris},
            }
        )
        held.append(candidate.node_id)
        keep.append(candidate.node_id)
    separator = "&" if "?" in reload_uri else "?"
    manifest: dict[str, object] = {
        "VERSION": 1,
        "TTL": ttl_s,
        "RELOAD-URI": reload_uri + separator + urlencode({"p": ",".join([*held, ORIGIN])}),
        "PATHWAY-PRIORITY": [*keep, ORIGIN],
    }
    if clones:
        manifest["PATHWAY-CLONES"] = clones
    return manifest


def stable_id(position: int) -> str:
    """Return the STABLE-VARIANT-ID of the variant at `position` (the same on every pathway)."""
    return f"v{position}"


def pathway_list(pathways: Sequence[Pathway]) -> str:
    """Return the pathway ids as the `p` query value (comma separated)."""
    return ",".join(p.id for p in pathways)
