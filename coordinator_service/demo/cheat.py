"""A cheating node for the demo and fraud tests: `python -m coordinator_service.demo.cheat MODE …`.

MODE is one of:
- `stale`: pulls a few segments, then stops pulling, yet keeps claiming the stream is live and
  keeps serving its old window (a relay that stopped pulling);
- `corrupt`: relays normally but serves segments with some bytes flipped, under the right names
  and ETags (a relay that serves wrong bytes).

The rest of the arguments go to the ordinary node (`desktop_app.app.main`). Deliberately not a
flag of `streamr-node` and not in the bundles: it exists so the host can watch fraud get caught.
It runs as a process of its own; no coordinator module imports it (the architecture test allows
this one module, and only it, to import the node core).
"""

import dataclasses
import hashlib
import sys
from collections.abc import Sequence

from desktop_app.core.relay.puller import Rendition, StreamPuller
from desktop_app.core.relay.window import CachedSegment
from streamr_protocol.hls import MediaPlaylist

__all__ = ["MODES", "STALE_AFTER_SEGMENTS", "corrupt_bytes", "install", "main"]

MODES = ("stale", "corrupt")
STALE_AFTER_SEGMENTS = 3
_TS_PACKET = 188


def corrupt_bytes(data: bytes) -> bytes:
    """Flip one payload byte in every MPEG-TS packet (sync bytes kept, so it still looks TS)."""
    out = bytearray(data)
    for offset in range(100, len(out), _TS_PACKET):
        out[offset] ^= 0xFF
    if not data:
        return b"\xff"
    if out == data:  # shorter than one packet
        out[-1] ^= 0xFF
    return bytes(out)


def install(mode: str) -> None:
    """Patch the node's stream puller so this process cheats in `mode`."""
    if mode == "corrupt":
        honest_segment = StreamPuller.segment

        def segment(self: StreamPuller, index: int, name: str) -> CachedSegment | None:
            found = honest_segment(self, index, name)
            if found is None:
                return None
            data = corrupt_bytes(found.data)
            # a cheat signs what it serves (its own key): the bytes are wrong, the proof is its own
            return dataclasses.replace(
                found, data=data, sha256=hashlib.sha256(data).hexdigest(), proofs={}
            )

        StreamPuller.segment = segment  # type: ignore[method-assign]
    elif mode == "stale":
        honest_ingest = StreamPuller._ingest

        async def _ingest(
            self: StreamPuller, rendition: Rendition, playlist: MediaPlaylist
        ) -> CachedSegment | None:
            if self.segments_pulled >= STALE_AFTER_SEGMENTS:
                return None  # stop pulling, keep the old window
            return await honest_ingest(self, rendition, playlist)

        def _tick(self: StreamPuller) -> None:
            """Never notice the stall: keep claiming live."""

        StreamPuller._ingest = _ingest  # type: ignore[method-assign]
        StreamPuller._tick = _tick  # type: ignore[method-assign]
    else:
        raise ValueError(f"unknown cheat mode {mode!r}: use one of {', '.join(MODES)}")


def main(argv: Sequence[str] | None = None) -> int:
    """Install the cheat named by the first argument, then run the node with the rest."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in MODES:
        print(
            f"usage: python -m coordinator_service.demo.cheat {{{','.join(MODES)}}} "
            "NODE-ARGUMENTS...",
            file=sys.stderr,
        )
        return 2
    install(args[0])
    from desktop_app.app import main as node_main

    return int(node_main(args[1:]) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
