"""Reading JSON a client sent: bounded in size and nesting before the parser runs (Python's parser
recurses once per level, so ``[`` x 100,000 is a RecursionError), and holding no text that
``text.forbidden_character`` refuses. One reader for every entry point (REST bodies, hub frames, chat
metadata), so each refuses the same input with its own words."""

from __future__ import annotations

import json
import re
from typing import Any

from orderbot_common.text import describe, forbidden_character

_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class UntrustedJson(ValueError):
    """Why the JSON was refused: ``reason`` is one of too_large, too_deep, not_json, forbidden_character."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def load(raw: str | bytes, *, max_bytes: int | None, max_depth: int, what: str = "the JSON") -> Any:
    """``raw`` parsed, or UntrustedJson saying what is wrong with it (``max_bytes`` None: the transport
    bounds the size already)."""
    if max_bytes is not None and len(raw) > max_bytes:
        raise UntrustedJson("too_large", f"{what} is too large (at most {max_bytes // 1024} KiB).")
    check_depth(raw, max_depth, what)
    try:
        value = json.loads(raw or "null")
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise UntrustedJson("not_json", f"{what} is not valid JSON.") from None
    check_strings(value, what)
    return value


def check_depth(raw: str | bytes, max_depth: int, what: str = "the JSON") -> None:
    """Refuse nesting deeper than ``max_depth``, by a scan that does not recurse."""
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw  # the brackets are ASCII either way
    if "[" not in text and "{" not in text:
        return
    depth = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):  # brackets outside strings, scanned in C
        if bracket in "[{":
            depth += 1
            if depth > max_depth:
                raise UntrustedJson("too_deep", f"{what} is nested deeper than {max_depth} levels.")
        else:
            depth -= 1


def check_strings(value: Any, what: str = "the JSON") -> None:
    """Refuse a key or string holding a character no text may hold (NUL, other controls, lone surrogates:
    ``"\\ud800"`` is valid JSON, but no database or UTF-8 writer takes it)."""
    stack = [value]
    while stack:  # no recursion: depth is bounded already, but a flat walk costs nothing more
        item = stack.pop()
        if isinstance(item, str):
            _check(item, what)
        elif isinstance(item, dict):
            for key, inner in item.items():
                _check(key, what)
                stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)


def _check(text: str, what: str) -> None:
    found = forbidden_character(text)
    if found:
        raise UntrustedJson("forbidden_character", f"{what} contains {describe(found)} ({found}).")
