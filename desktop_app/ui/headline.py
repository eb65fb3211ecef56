"""The window's and the tray's headline: one state, one sentence, the one thing to do; Qt-free."""

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Action", "Headline", "TrayState"]


class TrayState(StrEnum):
    """What the tray icon shows."""

    IDLE = "idle"
    RELAYING = "relaying"
    WARNING = "warning"
    ERROR = "error"


class Action(StrEnum):
    """The one thing the friend can do about the headline (a "fix it" button)."""

    NONE = ""
    RESUME = "resume"
    PICK_PORT = "pick_port"
    RETRY = "retry"
    OPEN_PORT = "open_port"
    CHECK = "check"


@dataclass(frozen=True)
class Headline:
    """State, title ("You're helping stream alex"), a detail sentence and the action."""

    state: TrayState
    title: str
    detail: str = ""
    action: Action = Action.NONE
    action_text: str = ""
