"""Printable text: names and handles without control, format (bidi) or separator characters."""

import unicodedata

__all__ = ["printable_text"]

# Cc control, Cf format (bidi overrides, zero-width), Cs surrogates, Co private use,
# Zl/Zp line and paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def printable_text(value: str) -> str:
    """Return `value` when every character is printable; raise ValueError naming the first other."""
    for index, char in enumerate(value):
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            raise ValueError(
                f"only printable text is allowed (character {index + 1} is U+{ord(char):04X})"
            )
    return value
