"""The request shapes of real HLS players, so a relay cannot tell a probe from a viewer.

Each probe picks one player at random and fetches what that player fetches at start-up (master
playlist, one variant, then two or three consecutive segments near the live edge) with its
User-Agent and headers and a viewer's think time between requests. There is no query parameter,
header or pattern that only the coordinator sends. The shapes follow what those players send
(hls.js runs in the browser on the watch page, so its requests carry that page's Origin and
the browser's fetch metadata; VLC 3 and ffmpeg's HLS demuxer send `Range: bytes=0-`, and
ffmpeg `Icy-MetaData: 1`). An empty header value means: leave out the HTTP client's default.
"""

import random
from dataclasses import dataclass

__all__ = ["PLAYERS", "Player", "pick_player"]


@dataclass(frozen=True, slots=True)
class Player:
    """One player's request shape."""

    name: str
    headers: tuple[tuple[str, str], ...]
    browser: bool
    think_s: tuple[float, float]  # pause between two requests, uniform in [low, high]
    live_edge: tuple[int, int]  # first segment fetched: this many from the end, uniform

    def request_headers(self, page_origin: str) -> dict[str, str]:
        """Return the headers of one request (a browser player adds the page's origin)."""
        headers = dict(self.headers)
        if self.browser and page_origin:
            headers["Origin"] = page_origin
            headers["Referer"] = f"{page_origin}/"
        return headers


_CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
PLAYERS: tuple[Player, ...] = (
    Player(
        "hls.js/chrome",
        (
            ("User-Agent", f"{_CHROME} Chrome/131.0.0.0 Safari/537.36"),
            ("Accept", "*/*"),
            ("Accept-Language", "en-US,en;q=0.9"),
            ("Accept-Encoding", "gzip, deflate, br, zstd"),
            ("sec-ch-ua", '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"'),
            ("sec-ch-ua-mobile", "?0"),
            ("sec-ch-ua-platform", '"Windows"'),
            ("Sec-Fetch-Site", "cross-site"),
            ("Sec-Fetch-Mode", "cors"),
            ("Sec-Fetch-Dest", "empty"),
        ),
        browser=True,
        think_s=(0.01, 0.25),
        live_edge=(3, 4),
    ),
    Player(
        "hls.js/firefox",
        (
            (
                "User-Agent",
                "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            ),
            ("Accept", "*/*"),
            ("Accept-Language", "en-US,en;q=0.5"),
            ("Accept-Encoding", "gzip, deflate, br, zstd"),
            ("Sec-Fetch-Dest", "empty"),
            ("Sec-Fetch-Mode", "cors"),
            ("Sec-Fetch-Site", "cross-site"),
        ),
        browser=True,
        think_s=(0.01, 0.25),
        live_edge=(3, 4),
    ),
    Player(
        "vlc",
        (
            ("User-Agent", "VLC/3.0.21 LibVLC/3.0.21"),
            ("Accept", "*/*"),
            ("Accept-Language", "en_US"),
            ("Accept-Encoding", ""),
            ("Range", "bytes=0-"),
        ),
        browser=False,
        think_s=(0.0, 0.15),
        live_edge=(2, 3),
    ),
    Player(
        "ffmpeg",
        (
            ("User-Agent", "Lavf/61.7.100"),
            ("Accept", "*/*"),
            ("Accept-Encoding", ""),
            ("Range", "bytes=0-"),
            ("Icy-MetaData", "1"),
        ),
        browser=False,
        think_s=(0.0, 0.05),
        live_edge=(2, 3),
    ),
)


def pick_player(rnd: random.Random) -> Player:
    """Return one of the players, uniformly at random."""
    return rnd.choice(PLAYERS)
