"""HLS playlists, read and written alike by node and coordinator (pure, with the m3u8 library)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

import m3u8

__all__ = [
    "HlsError",
    "UnsupportedHls",
    "MasterPlaylist",
    "MediaPlaylist",
    "MediaSegment",
    "RenderedSegment",
    "Variant",
    "parse_playlist",
    "render_master",
    "render_media",
]


class HlsError(ValueError):
    """Text that is not a usable HLS playlist; str() is one line."""


class UnsupportedHls(HlsError):
    """Valid HLS using a feature the relay does not handle (byte ranges, encryption, …)."""


@dataclass(frozen=True)
class Variant:
    """One rendition of a master playlist; `uri` is absolute."""

    uri: str
    bandwidth: int
    average_bandwidth: int | None = None
    resolution: tuple[int, int] | None = None
    codecs: str | None = None
    frame_rate: float | None = None


@dataclass(frozen=True)
class MasterPlaylist:
    variants: tuple[Variant, ...]


@dataclass(frozen=True)
class MediaSegment:
    """One segment as the origin lists it; `uri` is absolute, `sequence` its media sequence."""

    uri: str
    sequence: int
    duration: float
    title: str | None = None
    discontinuity: bool = False
    program_date_time: datetime | None = None


@dataclass(frozen=True)
class MediaPlaylist:
    target_duration: float
    media_sequence: int
    segments: tuple[MediaSegment, ...]
    ended: bool = False
    discontinuity_sequence: int = 0


@dataclass(frozen=True)
class RenderedSegment:
    """What the node lists for one of its own segments; `uri` is relative to the playlist."""

    uri: str
    duration: float
    title: str | None = None
    discontinuity: bool = False
    program_date_time: datetime | None = None


def parse_playlist(text: str, url: str) -> MasterPlaylist | MediaPlaylist:
    """Parse a master or media playlist fetched from `url`, resolving URIs against it.

    Raises HlsError for text that is not HLS, UnsupportedHls for HLS features the
    relay does not handle (byte ranges, encryption, fMP4 init sections, separate renditions).
    """
    if not text.lstrip("\ufeff").startswith("#EXTM3U"):
        raise HlsError("not an HLS playlist (no #EXTM3U header)")
    try:
        parsed = m3u8.loads(text)
    except Exception as exc:  # the library raises assorted errors on malformed tags
        raise HlsError(f"malformed HLS playlist: {exc}") from exc
    if parsed.is_variant:
        return _master(parsed, url)
    return _media(parsed, url)


def _resolve(base: str, uri: str) -> str:
    try:
        return urljoin(base, uri)
    except ValueError as exc:  # e.g. "Invalid IPv6 URL" for a stray '['
        raise HlsError(f"unusable URI {uri[:80]!r} in the playlist: {exc}") from exc


def _master(parsed: m3u8.M3U8, url: str) -> MasterPlaylist:
    if any(media.uri for media in parsed.media):
        raise UnsupportedHls("separate audio/subtitle renditions (EXT-X-MEDIA) are not supported")
    variants = []
    for playlist in parsed.playlists:
        info = playlist.stream_info
        variants.append(
            Variant(
                uri=_resolve(url, playlist.uri),
                bandwidth=int(info.bandwidth or 0),
                average_bandwidth=info.average_bandwidth,
                resolution=tuple(info.resolution) if info.resolution else None,
                codecs=info.codecs,
                frame_rate=info.frame_rate,
            )
        )
    if not variants:
        raise HlsError("master playlist lists no variants")
    return MasterPlaylist(tuple(variants))


def _media(parsed: m3u8.M3U8, url: str) -> MediaPlaylist:
    if parsed.target_duration is None:
        raise HlsError("media playlist without #EXT-X-TARGETDURATION")
    start = int(parsed.media_sequence or 0)
    segments = []
    for index, segment in enumerate(parsed.segments):
        if segment.byterange:
            raise UnsupportedHls("byte-range segments (EXT-X-BYTERANGE) are not supported")
        if segment.key is not None and segment.key.method not in (None, "NONE"):
            raise UnsupportedHls("encrypted segments (EXT-X-KEY) are not supported")
        if segment.init_section is not None:
            raise UnsupportedHls("fMP4 init sections (EXT-X-MAP) are not supported")
        if not segment.uri or segment.duration is None:
            raise HlsError("segment without URI or #EXTINF duration")
        segments.append(
            MediaSegment(
                uri=_resolve(url, segment.uri),
                sequence=start + index,
                duration=float(segment.duration),
                title=segment.title or None,
                discontinuity=bool(segment.discontinuity),
                program_date_time=segment.program_date_time,
            )
        )
    return MediaPlaylist(
        target_duration=float(parsed.target_duration),
        media_sequence=start,
        segments=tuple(segments),
        ended=bool(parsed.is_endlist),
        discontinuity_sequence=int(parsed.discontinuity_sequence or 0),
    )


def render_media(
    segments: Sequence[RenderedSegment],
    *,
    target_duration: float,
    media_sequence: int,
    discontinuity_sequence: int = 0,
    ended: bool = False,
) -> str:
    """Render the node's media playlist listing its own segment URIs."""
    playlist = m3u8.M3U8()
    playlist.version = 3
    playlist.target_duration = max(1, round(target_duration + 0.499))
    playlist.media_sequence = media_sequence
    if discontinuity_sequence:
        playlist.discontinuity_sequence = discontinuity_sequence
    for segment in segments:
        playlist.segments.append(
            m3u8.Segment(
                uri=segment.uri,
                duration=segment.duration,
                title=segment.title or "",
                discontinuity=segment.discontinuity,
                program_date_time=segment.program_date_time,
            )
        )
    playlist.is_endlist = ended
    return str(playlist.dumps())


def render_master(variants: Sequence[tuple[Variant, str]]) -> str:
    """Render a master playlist pointing each variant at the node's copy (relative URI)."""
    playlist = m3u8.M3U8()
    playlist.is_variant = True
    for variant, uri in variants:
        info: dict[str, object] = {"bandwidth": variant.bandwidth}
        if variant.average_bandwidth:
            info["average_bandwidth"] = variant.average_bandwidth
        if variant.resolution:
            info["resolution"] = "{}x{}".format(*variant.resolution)
        if variant.codecs:
            info["codecs"] = variant.codecs
        if variant.frame_rate:
            info["frame_rate"] = variant.frame_rate
        playlist.playlists.append(m3u8.Playlist(uri=uri, stream_info=info, media=[], base_uri=None))
    return str(playlist.dumps())
