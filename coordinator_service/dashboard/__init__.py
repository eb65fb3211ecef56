"""The host web dashboard and public pages."""
