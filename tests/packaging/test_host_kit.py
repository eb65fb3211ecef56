"""The host's kit in packaging/host/: files parse and agree with each other and with the CLI."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

HOST = Path(__file__).resolve().parents[2] / "packaging" / "host"
ROOT = HOST.parents[1]


def parse_srs_conf(text: str) -> dict:
    """Parse SRS's nginx-like config into nested dicts: {directive: [args] | {block}}."""
    tokens = re.findall(r"[{};]|[^\s{};]+", re.sub(r"#[^\n]*", "", text))
    stack: list[dict] = [{}]
    words: list[str] = []
    for token in tokens:
        if token == "{":
            block: dict = {}
            stack[-1][" ".join(words)] = block
            stack.append(block)
            words = []
        elif token == "}":
            assert not words, f"unterminated directive before }}: {words}"
            stack.pop()
            assert stack, "unbalanced }"
        elif token == ";":
            stack[-1][words[0]] = words[1:]
            words = []
        else:
            words.append(token)
    assert len(stack) == 1 and not words, "unbalanced braces or missing ;"
    return stack[0]


def test_srs_conf_cuts_short_hls_segments_and_calls_the_hooks():
    conf = parse_srs_conf((HOST / "srs.conf").read_text())
    assert conf["listen"] == ["1935"]
    assert conf["http_server"]["listen"] == ["8080"]
    vhost = conf["vhost __defaultVhost__"]
    hls = vhost["hls"]
    assert hls["enabled"] == ["on"]
    assert 1 <= float(hls["hls_fragment"][0]) <= 2
    # SRS 6 cuts only after hls_td_ratio × hls_fragment: 1.0 keeps the promised 2 s segments
    # (tests/coordinator/test_srs_origin.py reads what the real SRS makes of it)
    assert float(hls["hls_td_ratio"][0]) == 1.0
    assert float(hls["hls_window"][0]) >= 3 * float(hls["hls_fragment"][0])
    assert hls["hls_ts_file"] == ["[app]/[stream]-[seq].ts"]
    hooks = vhost["http_hooks"]
    assert hooks["enabled"] == ["on"]
    assert hooks["on_publish"] == hooks["on_unpublish"] == ["__HOOK_URL__"]


def test_srs_conf_parser_rejects_unbalanced_config():
    with pytest.raises(AssertionError):
        parse_srs_conf("vhost x { hls { enabled on; }")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    units = []
    for name in ("streamr-coordinator", "streamr-node"):
        exe = bin_dir / name
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
        text = (HOST / f"{name}.service").read_text()
        assert "/opt/streamrp2p/venv/bin/" in text
        unit = tmp_path / f"{name}.service"
        unit.write_text(text.replace("/opt/streamrp2p/venv/bin/", f"{bin_dir}/"))
        units.append(str(unit))
    result = subprocess.run(
        ["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


def test_compose_mounts_the_srs_conf_and_builds_the_coordinator_from_the_dockerfile():
    compose = yaml.safe_load((HOST / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) >= {"srs", "coordinator", "postgres"}
    srs = services["srs"]
    assert srs["image"].startswith("ossrs/srs:6")
    mount_source, mount_target = srs["volumes"][0].split(":")[:2]
    assert (HOST / mount_source).resolve() == HOST / "srs.conf"
    assert mount_target.endswith(srs["command"][-1].split("/")[-1])
    assert "8080:8080" in srs["ports"]
    rtmp = [p for p in srs["ports"] if p.endswith(":1935")]
    # RTMP is published on loopback unless the host names an address (never all interfaces)
    assert rtmp == ["${STREAMR_RTMP_BIND:-127.0.0.1}:1935:1935"]
    hook_env = srs["environment"]["SRS_VHOST_HTTP_HOOKS_ON_PUBLISH"]
    assert "/api/v1/hooks/srs/" in hook_env
    build = services["coordinator"]["build"]
    context = (HOST / build["context"]).resolve()
    assert context == ROOT
    assert (context / build["dockerfile"]).is_file()
    assert services["postgres"]["profiles"] == ["postgres"]


def test_dockerfile_copies_only_paths_that_exist():
    text = (HOST / "Dockerfile").read_text()
    copies = re.findall(r"^COPY\s+(.+?)\s+\S+$", text, flags=re.M)
    assert copies
    for sources in copies:
        for source in sources.split():
            assert (ROOT / source).exists(), source


def test_commands_in_the_kit_are_ones_the_cli_accepts():
    import json
    import shlex

    from coordinator_service.cli import build_parser

    parser = build_parser()
    dockerfile = (HOST / "Dockerfile").read_text()
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, flags=re.M).group(1))
    assert parser.parse_args(cmd).command == "serve"
    unit = (HOST / "streamr-coordinator.service").read_text()
    exec_start = re.search(r"^ExecStart=(.+)$", unit, flags=re.M).group(1)
    args = parser.parse_args(shlex.split(exec_start)[1:])
    assert (args.command, args.host, args.port) == ("serve", "0.0.0.0", 8000)
    compose = yaml.safe_load((HOST / "compose.yaml").read_text())
    usage = re.findall(
        r"docker compose run --rm coordinator (hooks url [^\n]+)",
        (HOST / "compose.yaml").read_text(),
    )
    assert usage, "compose.yaml explains how to get the hook URL"
    assert parser.parse_args(shlex.split(usage[0])).hooks_command == "url"
    assert compose["services"]["coordinator"]["volumes"][0].endswith(":/data")
