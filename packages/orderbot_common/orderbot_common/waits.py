"""A wait in words ("2 minutes", "2 分钟"), for a person told to try again later: the order service's
429 message and the assistant's reply say the same wait the same way."""

from __future__ import annotations

import math

_UNITS = {  # seconds in the unit, English singular and plural, Chinese
    "hour": (3600, "hour", "hours", "小时"),
    "minute": (60, "minute", "minutes", "分钟"),
    "second": (1, "second", "seconds", "秒"),
}


def wait_in_words(seconds: float, language: str = "en") -> str:
    """``seconds`` rounded up to whole seconds under a minute, whole minutes under an hour, else whole
    hours: rounded up, so that a person who waits as long as told is let in."""
    whole = max(1, math.ceil(seconds))
    unit = "second" if whole < 60 else "minute" if whole < 3600 else "hour"
    size, one, many, chinese = _UNITS[unit]
    count = math.ceil(whole / size)
    if language == "zh":
        return f"{count} {chinese}"
    return f"{count} {one if count == 1 else many}"
