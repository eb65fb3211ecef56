"""Follow an origin's master playlists down to its media playlists (SRS 6's `hls_ctx` step).

SRS 6 first answers `/live/NAME.m3u8` with a master playlist of one variant pointing at
`/live/NAME.m3u8?hls_ctx=ID`; that media playlist and its segment URIs carry the ID, which
names the reader's session in SRS (its API counts one client per session). A reader keeps the
URL it was given and steps again only when SRS answers it with another master (the session
expired), so SRS counts it once. A master with several variants (ABR: SRS's transcoder outputs
or several published renditions behind a master file) is resolved variant by variant, each
through its own step.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from streamr_protocol.hls import HlsError, MasterPlaylist, MediaPlaylist, Variant, parse_playlist

__all__ = ["MAX_STEPS", "FetchText", "Resolved", "follow_steps", "resolve_renditions"]

MAX_STEPS = 3
MAX_VARIANTS = 8

FetchText = Callable[[str], Awaitable[tuple[str, str]]]
"""GET a playlist: `url` → (its text, the URL it was finally read from)."""


@dataclass(frozen=True)
class Resolved:
    """One rendition: its variant in the master (None for a lone stream), where it is read."""

    variant: Variant | None
    url: str
    playlist: MediaPlaylist


async def follow_steps(
    fetch_text: FetchText, url: str, first: MasterPlaylist | MediaPlaylist | None = None
) -> tuple[str, MasterPlaylist | MediaPlaylist]:
    """Read `url` (or take `first`, already read from it), stepping through one-variant masters.

    Returns the URL the answer came from and the answer: a media playlist, or a master with
    several variants.
    """
    parsed = first
    if parsed is None:
        text, url = await fetch_text(url)
        parsed = parse_playlist(text, url)
    for _ in range(MAX_STEPS):
        if not (isinstance(parsed, MasterPlaylist) and len(parsed.variants) == 1):
            break
        text, url = await fetch_text(parsed.variants[0].uri)
        parsed = parse_playlist(text, url)
    if isinstance(parsed, MasterPlaylist) and len(parsed.variants) == 1:
        raise HlsError(f"master playlists still lead to a master after {MAX_STEPS} steps")
    return url, parsed


async def resolve_renditions(
    fetch_text: FetchText, entry: str, max_variants: int = MAX_VARIANTS
) -> list[Resolved]:
    """Resolve a stream's entry URL into its renditions' media playlists (the first few)."""
    url, parsed = await follow_steps(fetch_text, entry)
    if isinstance(parsed, MediaPlaylist):
        return [Resolved(None, url, parsed)]
    renditions = []
    for variant in parsed.variants[:max_variants]:
        media_url, media = await follow_steps(fetch_text, variant.uri)
        if not isinstance(media, MediaPlaylist):
            raise HlsError("a variant of the master playlist is a master playlist")
        renditions.append(Resolved(variant, media_url, media))
    return renditions
