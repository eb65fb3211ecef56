"""Origin playlists parse into absolute URIs; the node's playlists keep the tags."""

from datetime import UTC, datetime, timedelta

import m3u8
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamr_protocol.hls import (
    HlsError,
    MasterPlaylist,
    MediaPlaylist,
    RenderedSegment,
    UnsupportedHls,
    Variant,
    parse_playlist,
    render_master,
    render_media,
)

SRS_MASTER = """#EXTM3U
#EXT-X-STREAM-INF:BANDWIDTH=1,AVERAGE-BANDWIDTH=1
/live/livestream.m3u8?hls_ctx=0i55u9z6
"""

SRS_MEDIA = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-MEDIA-SEQUENCE:41
#EXT-X-TARGETDURATION:10
#EXT-X-DISCONTINUITY
#EXTINF:10.010, no desc
livestream-41.ts?hls_ctx=0i55u9z6
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:00:10.000+00:00
#EXTINF:9.980, no desc
http://cdn.example:8080/other/livestream-42.ts?hls_ctx=0i55u9z6&x=1
"""


def test_srs_master_resolves_hls_ctx_variant_against_origin() -> None:
    parsed = parse_playlist(SRS_MASTER, "http://origin:8080/live/livestream.m3u8")
    assert isinstance(parsed, MasterPlaylist)
    assert parsed.variants[0].uri == "http://origin:8080/live/livestream.m3u8?hls_ctx=0i55u9z6"


def test_media_playlist_keeps_queries_sequence_and_tags() -> None:
    url = "http://origin:8080/live/livestream.m3u8?hls_ctx=0i55u9z6"
    parsed = parse_playlist(SRS_MEDIA, url)
    assert isinstance(parsed, MediaPlaylist)
    first, second = parsed.segments
    assert first.uri == "http://origin:8080/live/livestream-41.ts?hls_ctx=0i55u9z6"
    assert second.uri == "http://cdn.example:8080/other/livestream-42.ts?hls_ctx=0i55u9z6&x=1"
    assert (first.sequence, second.sequence) == (41, 42)
    assert first.discontinuity and not second.discontinuity
    assert second.program_date_time == datetime(2026, 11, 25, 12, 0, 10, tzinfo=UTC)
    assert parsed.target_duration == 10 and not parsed.ended


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<html>502 Bad Gateway</html>", "no #EXTM3U"),
        ("#EXTM3U\n#EXTINF:1,\nx.ts\n", "TARGETDURATION"),
        ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n", "no variants"),
        ("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttp://[x/a.ts\n", "unusable URI"),
    ],
)
def test_garbage_is_a_playlist_error(text: str, message: str) -> None:
    with pytest.raises(HlsError, match=message):
        parse_playlist(text, "http://o/live/a.m3u8")


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("#EXT-X-BYTERANGE:1000@0", "byte-range"),
        ('#EXT-X-KEY:METHOD=AES-128,URI="k"', "encrypted"),
        ('#EXT-X-MAP:URI="init.mp4"', "init sections"),
    ],
)
def test_unsupported_features_get_a_clear_error(tag: str, message: str) -> None:
    text = f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n{tag}\n#EXTINF:1,\na.ts\n"
    with pytest.raises(UnsupportedHls, match=message):
        parse_playlist(text, "http://o/live/a.m3u8")


def test_render_master_points_variants_at_node_copies() -> None:
    variant = Variant("http://o/live/a_0.m3u8", 400_000, None, (320, 180), "avc1.64000d,mp4a.40.2")
    parsed = m3u8.loads(render_master([(variant, "a/0.m3u8")]))
    assert parsed.playlists[0].uri == "a/0.m3u8"
    assert parsed.playlists[0].stream_info.bandwidth == 400_000
    assert parsed.playlists[0].stream_info.resolution == (320, 180)


segments_strategy = st.lists(
    st.tuples(
        st.floats(min_value=0.1, max_value=12, allow_nan=False).map(lambda f: round(f, 3)),
        st.booleans(),
        st.booleans(),
    ),
    min_size=1,
    max_size=12,
)


@given(segments_strategy, st.integers(0, 10**6), st.integers(0, 100), st.booleans())
def test_rendered_media_playlist_round_trips(spec, sequence, discontinuities, ended) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rendered = [
        RenderedSegment(
            uri=f"s/{i}-{'a' * 16}.ts",
            duration=duration,
            discontinuity=disc,
            program_date_time=start + timedelta(seconds=i) if pdt else None,
        )
        for i, (duration, disc, pdt) in enumerate(spec)
    ]
    text = render_media(
        rendered,
        target_duration=max(d for d, _, _ in spec),
        media_sequence=sequence,
        discontinuity_sequence=discontinuities,
        ended=ended,
    )
    parsed = parse_playlist(text, "http://node/live/s.m3u8")
    assert isinstance(parsed, MediaPlaylist)
    assert parsed.media_sequence == sequence and parsed.ended == ended
    assert parsed.discontinuity_sequence == discontinuities
    assert parsed.target_duration >= max(round(d) for d, _, _ in spec)
    for mine, theirs in zip(rendered, parsed.segments, strict=True):
        assert theirs.uri == "http://node/live/" + mine.uri
        assert theirs.duration == pytest.approx(mine.duration)
        assert theirs.discontinuity == mine.discontinuity
        assert theirs.program_date_time == mine.program_date_time
