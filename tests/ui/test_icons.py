"""The committed icons are what assets/build_icons.py renders from the SVG sources."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_icons_match_their_svg_sources(tmp_path) -> None:
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
        assert (tmp_path / name).read_bytes() == (ROOT / "assets" / name).read_bytes(), name


def test_ico_and_icns_have_their_magic_numbers() -> None:
    assert (ROOT / "assets/app.ico").read_bytes()[:4] == b"\0\0\1\0"
    assert (ROOT / "assets/app.icns").read_bytes()[:4] == b"icns"
