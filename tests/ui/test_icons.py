"""The committed icons are what assets/build_icons.py renders from the SVG sources."""

import struct
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Qt's rasterizer rounds differently on some CPUs (SIMD paths): a channel may differ by one.
CHANNEL_TOLERANCE = 2


def _pixels(path: Path) -> tuple[int, int, bytes]:
    from PySide6.QtGui import QImage

    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGBA8888)
    assert not image.isNull(), path
    return image.width(), image.height(), bytes(image.constBits())


def _ico_sizes(data: bytes) -> list[tuple[int, int]]:
    count = struct.unpack_from("<H", data, 4)[0]
    return [(data[6 + 16 * i] or 256, data[7 + 16 * i] or 256) for i in range(count)]


def _icns_types(data: bytes) -> list[bytes]:
    types, offset = [], 8
    while offset < len(data):
        kind, length = data[offset : offset + 4], struct.unpack_from(">I", data, offset + 4)[0]
        types.append(kind)
        offset += length
    return types


def test_generated_icons_match_their_svg_sources(tmp_path, qapp) -> None:
    code = (
        "import sys, pathlib; sys.path.insert(0, 'assets'); import build_icons as b\n"
        "from PySide6.QtGui import QGuiApplication; app = QGuiApplication([])\n"
        f"out = pathlib.Path({str(tmp_path)!r})\n"
        "print('\\n'.join(str(p.relative_to(out)) for p in b.build(out)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    written = out.stdout.split()
    assert "app.ico" in written and "app.icns" in written and "png/app-512.png" in written
    for name in written:
        made, committed = tmp_path / name, ROOT / "assets" / name
        if name.endswith(".png"):
            width, height, ours = _pixels(made)
            assert (width, height) == _pixels(committed)[:2], name
            theirs = _pixels(committed)[2]
            worst = max(abs(a - b) for a, b in zip(ours, theirs, strict=True))
            assert worst <= CHANNEL_TOLERANCE, f"{name}: a channel differs by {worst}"
        elif name.endswith(".ico"):
            assert _ico_sizes(made.read_bytes()) == _ico_sizes(committed.read_bytes()), name
        elif name.endswith(".icns"):
            assert _icns_types(made.read_bytes()) == _icns_types(committed.read_bytes()), name
        else:
            assert made.read_bytes() == committed.read_bytes(), name


def test_ico_and_icns_have_their_magic_numbers() -> None:
    assert (ROOT / "assets/app.ico").read_bytes()[:4] == b"\0\0\1\0"
    assert (ROOT / "assets/app.icns").read_bytes()[:4] == b"icns"
