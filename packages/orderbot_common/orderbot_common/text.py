"""Which characters no text that enters orderbot may hold, whatever the entry point (REST, an ERP file,
chat metadata, a hub frame): one rule, so every entry point refuses the same input."""

from __future__ import annotations

import re

# Control characters (C0 but tab, line feed and carriage return, which are ordinary whitespace in a
# message; DEL) never belong in a name, an order number or a message, and PostgreSQL refuses NUL
# outright. A lone surrogate is not a character at all: no UTF-8 encoder (the database driver's,
# the JSON writer's) can write it.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def forbidden_character(value: str) -> str | None:
    """A description of the first character ``value`` must not hold (``"U+0000"``), or None."""
    found = _FORBIDDEN.search(value)
    return None if found is None else f"U+{ord(found.group()):04X}"


def describe(character: str) -> str:
    """``U+0000`` in words, for an error message."""
    code = int(character[2:], 16)
    return "a lone surrogate" if 0xD800 <= code <= 0xDFFF else "a control character"


def printable(value: str) -> str:
    """``value`` with its forbidden characters written as escapes (``\\x00``, ``\\ud800``), so it can be
    stored and shown, e.g. in a quarantined row."""
    return _FORBIDDEN.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode(), value)
