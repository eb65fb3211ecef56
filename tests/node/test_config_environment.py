"""NodeConfig: flags > STREAMR_NODE_* environment > defaults, with the same checks for each."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from desktop_app.app import build_config, parse_args
from desktop_app.core.config import DEFAULT_STATUS_PORT, NodeConfig


@pytest.fixture(autouse=True)
def no_node_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("STREAMR_NODE_RELAY_HOST", "STREAMR_NODE_STATUS_PORT"):
        monkeypatch.delenv(key, raising=False)


def test_the_environment_fills_what_no_flag_gave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAMR_NODE_RELAY_PORT", "9100")
    monkeypatch.setenv("streamr_node_offline_grace_s", "2.5")  # any case, as before
    monkeypatch.setenv("STREAMR_NODE_UNKNOWN_KNOB", "ignored")

    config = NodeConfig(data_dir=tmp_path)

    assert (config.relay_port, config.offline_grace_s) == (9100, 2.5)
    assert config.status_port == DEFAULT_STATUS_PORT
    assert {"relay_port", "offline_grace_s"} <= config.model_fields_set  # given, as flags are
    assert "status_port" not in config.model_fields_set


def test_a_flag_wins_over_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMR_NODE_RELAY_PORT", "9100")

    config = build_config(parse_args(["--relay-port", "9200", "--data-dir", str(tmp_path)]))

    assert config.relay_port == 9200


def test_a_bad_environment_value_is_refused_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAMR_NODE_RELAY_PORT", "70000")
    with pytest.raises(ValidationError) as caught:
        NodeConfig(data_dir=tmp_path)
    assert caught.value.errors()[0]["loc"] == ("relay_port",)

    with pytest.raises(ValueError, match="^--relay-port: Input should be less than or equal to"):
        build_config(parse_args(["--data-dir", str(tmp_path)]))
