"""The segment window is bounded in bytes and names segments by content."""

import hashlib

import m3u8
from hypothesis import given
from hypothesis import strategies as st

from desktop_app.core.relay.window import SegmentWindow


def test_window_evicts_oldest_beyond_byte_bound_but_keeps_newest() -> None:
    window = SegmentWindow(max_bytes=2500, list_size=3)
    for i in range(5):
        window.add(bytes([i]) * 1000, duration=1.0, origin_uri=f"http://o/{i}.ts")
    assert window.bytes_cached <= 2500
    assert [s.data[0] for s in window.segments] == [3, 4]
    big = SegmentWindow(max_bytes=10)
    big.add(b"x" * 100, duration=1.0, origin_uri="http://o/big.ts")
    assert len(big) == 1


def test_reused_origin_name_with_new_bytes_gets_a_new_node_name() -> None:
    window = SegmentWindow()
    old = window.add(b"\x47old", duration=1.0, origin_uri="http://o/live/demo-0.ts")
    window.mark_discontinuity()
    new = window.add(b"\x47new", duration=1.0, origin_uri="http://o/live/demo-0.ts")
    assert old.name != new.name
    assert window.get(new.name).data == b"\x47new"
    assert window.get(old.name).data == b"\x47old"
    assert new.name.endswith(hashlib.sha256(b"\x47new").hexdigest()[:16] + ".ts")
    assert new.discontinuity and not old.discontinuity


def test_discontinuity_sequence_counts_discontinuities_scrolled_out() -> None:
    window = SegmentWindow(list_size=2, max_segments=3)
    window.add(b"a", duration=1.0, origin_uri="a")
    window.mark_discontinuity()
    window.add(b"b", duration=1.0, origin_uri="b")
    for data in (b"c", b"d", b"e"):
        window.add(data, duration=1.0, origin_uri=data.decode())
    parsed = m3u8.loads(window.render("s/"))
    assert parsed.discontinuity_sequence == 1
    assert parsed.media_sequence == 3
    assert [s.uri.split("-")[0] for s in parsed.segments] == ["s/3", "s/4"]


@given(
    st.lists(st.tuples(st.binary(min_size=1, max_size=300), st.booleans()), max_size=40),
    st.integers(100, 3000),
    st.integers(1, 8),
)
def test_window_invariants_hold_for_any_sequence_of_segments(items, max_bytes, list_size) -> None:
    window = SegmentWindow(max_bytes=max_bytes, list_size=list_size, max_segments=12)
    added = []
    for data, restart in items:
        if restart:
            window.mark_discontinuity()
        added.append(window.add(data, duration=1.0, origin_uri="http://o/live/reused.ts"))
    kept = window.segments
    if added:
        assert kept[-1] == added[-1]  # the newest always stays
        assert window.bytes_cached <= max_bytes or len(kept) == 1
    assert len({s.name for s in kept}) == len(kept)
    assert [s.sequence for s in kept] == sorted(s.sequence for s in kept)
    for segment in kept:
        assert window.get(segment.name) is segment
        assert segment.name.split("-")[1].startswith(hashlib.sha256(segment.data).hexdigest()[:16])
    parsed = m3u8.loads(window.render("s/"))
    assert len(parsed.segments) == min(list_size, len(kept))


def _feed(window: SegmentWindow, sequences: range | list[int]) -> list[int]:
    return [
        window.add(
            bytes([n % 256]) * 10, duration=1.0, origin_uri=f"o/{n}.ts", origin_sequence=n
        ).sequence
        for n in sequences
    ]


def test_relays_that_started_apart_number_the_same_segment_alike() -> None:
    early, late = SegmentWindow(list_size=3), SegmentWindow(list_size=3)
    _feed(early, range(40, 50))
    _feed(late, range(46, 50))
    assert [s.sequence for s in early.listed] == [s.sequence for s in late.listed] == [47, 48, 49]
    assert [s.name for s in early.listed] == [s.name for s in late.listed]
    assert m3u8.loads(early.render("main/")).media_sequence == 47


def test_an_origin_restart_keeps_the_numbering_going_up() -> None:
    window = SegmentWindow(list_size=4)
    assert _feed(window, range(7, 10)) == [7, 8, 9]
    window.mark_discontinuity()
    assert _feed(window, range(3)) == [10, 11, 12]  # the publisher restarted at 0
    assert _feed(window, [3]) == [13]


def test_a_skip_ahead_lists_only_the_new_run() -> None:
    window = SegmentWindow(list_size=6)
    _feed(window, range(4))
    window.mark_discontinuity()
    assert _feed(window, [9, 10]) == [9, 10]  # segments 4-8 never reached this relay
    assert [s.sequence for s in window.listed] == [9, 10]
    parsed = m3u8.loads(window.render("main/"))
    assert parsed.media_sequence == 9 and len(parsed.segments) == 2
    assert window.get(window.segments[0].name) is not None  # still served by name


def test_playlist_bytes_are_rendered_once_per_change_of_the_window() -> None:
    window = SegmentWindow(list_size=2)
    window.add(b"a", duration=1.0, origin_uri="a")
    first = window.playlist_bytes("s/")
    assert first == window.render("s/").encode()
    assert window.playlist_bytes("s/") is first  # unchanged window: the same bytes, not re-rendered
    assert window.playlist_bytes("0/") == window.render("0/").encode()
    window.add(b"b", duration=1.0, origin_uri="b")
    second = window.playlist_bytes("s/")
    assert second != first and second == window.render("s/").encode()
    window.target_duration = 4.0
    assert b"#EXT-X-TARGETDURATION:4" in window.playlist_bytes("s/")
    window.ended = True
    assert window.playlist_bytes("s/").rstrip().endswith(b"#EXT-X-ENDLIST")
    window.clear()
    assert window.playlist_bytes("s/") == window.render("s/").encode()


def test_a_segment_stays_servable_while_a_playlist_that_listed_it_may_be_current() -> None:
    window = SegmentWindow(list_size=3)  # keeps 2 × 3 + 2 segments by default
    added = [window.add(bytes([i]), duration=1.0, origin_uri=str(i)) for i in range(20)]
    assert len(window) == 8
    gone_from_playlist = added[-4]  # listed until three segments ago
    assert gone_from_playlist not in window.listed
    assert window.get(gone_from_playlist.name) is gone_from_playlist
    assert window.get(added[-9].name) is None
