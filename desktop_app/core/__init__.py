"""The node core: relay, heartbeats and coordinator client. Never imports Qt."""
