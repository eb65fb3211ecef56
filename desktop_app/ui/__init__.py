"""The Qt tray UI; it observes the node core through a bridge and never calls the network."""
