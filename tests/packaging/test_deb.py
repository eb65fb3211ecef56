"""The .deb recipe: bundle, menu entry and streamr:// handler, around whatever bundle DIST holds."""

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_DEB = ROOT / "packaging" / "linux" / "build_deb.sh"

pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")


@pytest.fixture(scope="module")
def deb(tmp_path_factory) -> Path:
    """Build a .deb around a stand-in bundle (the real PyInstaller build is test_bundle.py)."""
    dist = tmp_path_factory.mktemp("dist")
    bundle = dist / "streamr-node"
    (bundle / "_internal").mkdir(parents=True)
    exe = bundle / "streamr-node"
    exe.write_text('#!/bin/sh\necho stand-in "$@"\n')
    exe.chmod(0o755)
    out = subprocess.run(
        [str(BUILD_DEB)], env={"DIST": str(dist), "VERSION": "9.8.7", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    path = Path(out.stdout.strip().splitlines()[-1])
    assert path.name.startswith("streamrp2p_9.8.7_") and path.suffix == ".deb"
    return path


def dpkg(*args: str) -> str:
    return subprocess.run(["dpkg-deb", *args], capture_output=True, text=True, check=True).stdout


def test_deb_depends_on_the_libraries_a_pyside6_bundle_needs(deb):
    fields = dpkg("-f", str(deb), "Package", "Version", "Depends")
    assert "Package: streamrp2p" in fields and "Version: 9.8.7" in fields
    depends = {
        d.strip().split()[0] for d in fields.split("Depends:", 1)[1].replace("\n", " ").split(",")
    }
    assert {
        "libgl1",
        "libegl1",
        "fonts-dejavu-core",
        "fontconfig-config",
        "libxcb-cursor0",
    } <= depends


def test_deb_installs_bundle_launcher_menu_entry_and_icons(deb):
    listing = dpkg("-c", str(deb))
    for path in (
        "./opt/streamrp2p/streamr-node/streamr-node",
        "./opt/streamrp2p/streamr-open",
        "./usr/bin/streamr-node -> /opt/streamrp2p/streamr-node/streamr-node",
        "./usr/share/applications/streamrp2p.desktop",
    ):
        assert path in listing, path
    if (ROOT / "assets" / "png" / "app-256.png").is_file():
        assert "./usr/share/icons/hicolor/256x256/apps/streamrp2p.png" in listing
    top = listing.splitlines()[0]
    assert top.startswith("drwxr-xr-x root/root"), top


def test_desktop_entry_opens_streamr_links_with_the_invite(deb, tmp_path):
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path)], check=True)
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(tmp_path / "usr/share/applications/streamrp2p.desktop")
    desktop = entry["Desktop Entry"]
    assert "x-scheme-handler/streamr" in desktop["MimeType"].split(";")
    launcher, field = desktop["Exec"].split()
    assert (launcher, field) == ("/opt/streamrp2p/streamr-open", "%u")
    # The launcher hands the link to the app as --invite; without a link it just starts it.
    script = (
        (tmp_path / launcher.lstrip("/"))
        .read_text()
        .replace("/opt/streamrp2p/", f"{tmp_path}/opt/streamrp2p/")
    )
    opener = tmp_path / "open.sh"
    opener.write_text(script)
    link = "streamr://join?coordinator=http://h:8000&code=abcdefghijklmnop"
    with_link = subprocess.run(["sh", str(opener), link], capture_output=True, text=True)
    assert with_link.stdout.strip() == f"stand-in --invite {link}"
    without = subprocess.run(["sh", str(opener)], capture_output=True, text=True)
    assert without.stdout.strip() == "stand-in"
