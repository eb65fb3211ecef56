"""Typed objects attached to a running app, one per type, instead of untyped `app.state.*`.

The assembly point (`api/app.py`) attaches the app's context and each part's environment; a
part reads back only its own type (the dashboard its `DashboardEnv`), never the API's context.
"""

from typing import TypeVar

from starlette.applications import Starlette

__all__ = ["attach", "find", "lookup"]

T = TypeVar("T")

_SLOT = "typed_objects"


def attach(app: Starlette, value: object) -> None:
    """Attach `value` to `app` under its type (replacing one of the same type)."""
    objects: dict[type, object] | None = getattr(app.state, _SLOT, None)
    if objects is None:
        objects = {}
        setattr(app.state, _SLOT, objects)
    objects[type(value)] = value


def find(app: Starlette, kind: type[T]) -> T | None:
    """Return the object of type `kind` attached to `app`, None when there is none."""
    objects: dict[type, object] = getattr(app.state, _SLOT, None) or {}
    value = objects.get(kind)
    return value if isinstance(value, kind) else None


def lookup(app: Starlette, kind: type[T]) -> T:
    """Return the object of type `kind` attached to `app`."""
    value = find(app, kind)
    if value is None:
        raise LookupError(f"no {kind.__name__} attached to this app")
    return value
