"""The HLS relay: pull from the origin into a window, serve it to viewers."""
