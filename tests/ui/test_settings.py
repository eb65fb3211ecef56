"""Settings live in the platform's config folder and survive a restart."""

from desktop_app.ui.settings import TraySettings, config_dir


def test_settings_persist_in_the_platform_config_folder(home) -> None:
    settings = TraySettings(display_name="Sam", upload_cap_mbit=8, relay_port=9000)
    path = settings.save()
    assert path == home / ".config" / "StreamrP2P" / "tray.json"
    assert TraySettings.load() == settings


def test_broken_settings_file_gives_defaults(home) -> None:
    config_dir().mkdir(parents=True)
    (config_dir() / "tray.json").write_text('{"relay_port": 70000}')
    assert TraySettings.load() == TraySettings()
