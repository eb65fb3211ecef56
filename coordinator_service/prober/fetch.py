"""Bounded HTTP GETs for the prober: size caps, no redirects, errors mapped to probe reasons."""

import contextlib

import httpx

__all__ = ["FetchError", "Fetched", "fetch"]


class FetchError(Exception):
    """A GET that failed; `reason` is a probe reason (timeout, refused, http_error).

    `status` is the HTTP status when the server did answer (a non-2xx or a redirect).
    """

    def __init__(self, reason: str, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.status = status


class Fetched:
    """A successful (2xx) response with its body read up to the cap."""

    __slots__ = ("body", "headers", "url")

    def __init__(self, url: str, headers: httpx.Headers, body: bytes) -> None:
        self.url = url
        self.headers = headers
        self.body = body


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    headers: dict[str, str] | None = None,
    extensions: dict[str, str] | None = None,
) -> Fetched:
    """GET `url` without following redirects; raise FetchError on anything but a 2xx body.

    A header given with an empty value is left out (instead of the client's default); the body
    is decoded (gzip, deflate) and the cap applies to the decoded bytes. `extensions` go to
    httpx as they are (`sni_hostname`: the name a pinned HTTPS address's certificate carries).
    """
    try:
        request = client.build_request("GET", url, headers=headers, extensions=extensions)
        for name, value in (headers or {}).items():
            if not value:
                del request.headers[name]
        response = await client.send(request, stream=True, follow_redirects=False)
        async with contextlib.aclosing(response):
            if response.is_redirect:
                raise FetchError(
                    "http_error",
                    f"HTTP {response.status_code} redirect refused",
                    response.status_code,
                )
            if response.status_code >= 300:
                raise FetchError("http_error", f"HTTP {response.status_code}", response.status_code)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError("http_error", f"response larger than {max_bytes} bytes")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError("http_error", f"response larger than {max_bytes} bytes")
                chunks.append(chunk)
            return Fetched(str(response.url), response.headers, b"".join(chunks))
    except httpx.TimeoutException as exc:
        raise FetchError("timeout", f"timed out ({type(exc).__name__})") from exc
    except httpx.ConnectError as exc:
        raise FetchError("refused", f"connection failed: {exc}") from exc
    except httpx.HTTPError as exc:
        raise FetchError("http_error", f"{type(exc).__name__}: {exc}") from exc
