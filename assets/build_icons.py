"""Render the SVG icons in this folder to the PNG, ICO and ICNS files each OS needs.

Run from anywhere: `python assets/build_icons.py`. Uses Qt's QSvgRenderer (PySide6-Essentials);
ICO and ICNS are written here (both are a small header around PNG images), so Pillow is not needed.
The generated files are committed; rerun after editing an SVG.
"""

import struct
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
TRAY_STATES = ("idle", "relaying", "warning", "error")
TRAY_SIZES = (16, 22, 24, 32, 48, 64, 128)
APP_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# ICNS chunk types holding PNG data, by pixel size (Apple's "iconutil" names).
ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09"}


def render_png(svg: Path, size: int) -> bytes:
    """Render `svg` to a square PNG of `size` pixels with a transparent background."""
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg.name}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """Pack PNG images into a Windows .ico (PNG-compressed entries, Vista and later)."""
    sizes = [s for s in sorted(pngs) if s <= 256]
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    entries, blobs = b"", b""
    for size in sizes:
        blob = pngs[size]
        side = 0 if size == 256 else size  # 0 means 256 in the ICO directory
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(blob), offset)
        offset += len(blob)
        blobs += blob
    return header + entries + blobs


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    """Pack PNG images into a macOS .icns."""
    chunks = b""
    for size, kind in ICNS_TYPES.items():
        if size in pngs:
            chunks += kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size]
    return b"icns" + struct.pack(">I", 8 + len(chunks)) + chunks


def build(out: Path = HERE) -> list[Path]:
    """Write every generated file under `out` and return their paths."""
    written: list[Path] = []
    png_dir = out / "png"
    png_dir.mkdir(parents=True, exist_ok=True)

    def write(path: Path, data: bytes) -> None:
        path.write_bytes(data)
        written.append(path)

    for state in TRAY_STATES:
        for size in TRAY_SIZES:
            write(
                png_dir / f"tray-{state}-{size}.png", render_png(HERE / f"tray-{state}.svg", size)
            )
    app = {size: render_png(HERE / "app.svg", size) for size in APP_SIZES}
    for size, data in app.items():
        write(png_dir / f"app-{size}.png", data)
    write(out / "app.ico", ico_bytes(app))
    write(out / "app.icns", icns_bytes(app))
    return written


def main() -> int:
    """Render all icons; print what was written."""
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    del app
    for path in build():
        print(path.relative_to(HERE.parent))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
