"""The friend's app: the Qt-free node core and the Qt tray UI that observes it."""
