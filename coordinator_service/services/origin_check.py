"""One look at a stream's origin when the host adds it: a warning line when it is not HLS yet."""

import httpx

from streamr_protocol.hls import HlsError, parse_playlist

__all__ = ["check_origin"]

MAX_BYTES = 1 << 20


async def check_origin(url: str, timeout_s: float = 3.0) -> str | None:
    """Fetch the origin playlist once; None when it answers HLS, else why not (one line).

    Not an error: the streamer may simply not be live yet, so the stream is added anyway.
    """
    try:
        async with (
            httpx.AsyncClient(timeout=timeout_s, follow_redirects=True) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                return f"the origin answers HTTP {response.status_code}"
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    return "the origin sends more than 1 MB: not a playlist"
    except httpx.HTTPError as exc:
        return f"the origin does not answer ({type(exc).__name__}: {exc})".replace(" ()", "")
    try:
        parse_playlist(body.decode("utf-8", "replace"), url)
    except HlsError as exc:
        return f"the origin does not send an HLS playlist ({exc})"
    return None
