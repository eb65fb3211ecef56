"""Carry the node core's events to the GUI thread as one queued Qt signal."""

from collections.abc import Callable

from desktop_app.core import events as ev
from desktop_app.ui.qt import QObject, Signal

__all__ = ["NodeBridge", "Subscribe"]

Subscribe = Callable[[Callable[[ev.NodeEvent], None]], Callable[[], None]]


class NodeBridge(QObject):
    """Re-emits each core event (published on the core's thread) as `node_event` on the GUI thread.

    A new kind of node event needs no change here: the model's `apply_event` handles it.

    Signals:
        node_event(object): a desktop_app.core.events object.
    """

    node_event = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe: Callable[[], None] | None = None

    def attach(self, subscribe: Subscribe) -> None:
        """Start listening to a node (`node.subscribe`); a previous node is let go."""
        self.detach()
        self._unsubscribe = subscribe(self.publish)

    def detach(self) -> None:
        """Stop listening."""
        if self._unsubscribe is not None:
            try:
                self._unsubscribe()
            except ValueError:  # the node already dropped us
                pass
            self._unsubscribe = None

    def publish(self, event: ev.NodeEvent) -> None:
        """Emit `event` (the core's listener; queued when called from another thread)."""
        self.node_event.emit(event)
