"""Errors of the tray app.

Error
├── JoinError        joining a coordinator failed (bad invite, coordinator down); one line
└── InstanceError    another instance runs, or the single-instance server cannot listen
"""

__all__ = ["Error", "InstanceError", "JoinError"]


class Error(Exception):
    """Base of the tray app's errors; the message is one line for the friend."""


class JoinError(Error):
    """Joining failed; `invite_problem` says whether a new invite is needed."""

    def __init__(self, message: str, invite_problem: bool = False) -> None:
        super().__init__(message)
        self.invite_problem = invite_problem


class InstanceError(Error):
    """The single-instance guard could not be set up."""
