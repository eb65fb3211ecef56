"""Does a segment look like media? MPEG-TS, fragmented MP4 or MPEG audio (ADTS/MP3), by bytes.

The relay re-serves what it pulls to anyone; checking the first bytes, whatever the URL's
extension says, keeps it from republishing a web page or an internal service's answer.
"""

__all__ = ["media_kind"]

TS_PACKET = 188
_MP4_BOXES = frozenset(
    {b"ftyp", b"styp", b"moof", b"moov", b"sidx", b"emsg", b"prft", b"free", b"mdat", b"skip"}
)


def _is_ts(data: bytes) -> bool:
    if len(data) < TS_PACKET or data[0] != 0x47:
        return False
    packets = min(len(data) // TS_PACKET, 4)
    return all(data[i * TS_PACKET] == 0x47 for i in range(packets))


def _is_fmp4(data: bytes) -> bool:
    if len(data) < 8 or data[4:8] not in _MP4_BOXES:
        return False
    size = int.from_bytes(data[:4], "big")
    return size == 1 or size >= 8  # 1: a 64-bit size follows


def _skip_id3(data: bytes) -> bytes:
    """Drop a leading ID3v2 tag (HLS packed audio carries its timestamp in one)."""
    if len(data) >= 10 and data[:3] == b"ID3":
        size = 0
        for byte in data[6:10]:
            size = (size << 7) | (byte & 0x7F)
        footer = 10 if data[5] & 0x10 else 0
        return data[10 + size + footer :]
    return data


def _is_mpeg_audio(data: bytes) -> bool:
    data = _skip_id3(data)
    return len(data) >= 4 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0


def media_kind(data: bytes) -> str | None:
    """Return "ts", "fmp4" or "audio" for bytes that start like that media, else None."""
    if _is_ts(data):
        return "ts"
    if _is_fmp4(data):
        return "fmp4"
    if _is_mpeg_audio(data):
        return "audio"
    return None
