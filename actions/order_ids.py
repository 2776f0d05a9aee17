"""Order numbers as people type them ("so1001", "SO 1001", "订单1001") turned into the stored form."""

from __future__ import annotations

import re

from rasa_sdk import Tracker

ORDER_ID = re.compile(
    r"(?<![A-Za-z0-9])[Ss][Oo][-_ ]?(\d{3,10})(?![0-9])|(?<=订单)\s?(\d{3,10})(?![0-9])|"
    r"(?<=订单号)[:：\s]?(\d{3,10})(?![0-9])|(?<=单号)(\d{3,10})(?![0-9])"
)
_DIGITS = re.compile(r"^\s*(\d{3,10})\s*$")


def normalise_order_id(text: str | None) -> str | None:
    """The first order number in ``text`` as stored ("SO-1001"), or None when there is none."""
    match = ORDER_ID.search(text or "")
    if not match:
        return None
    return f"SO-{next(group for group in match.groups() if group)}"


def entity_order_id(value: str | None) -> str | None:
    """An extracted ``order_id`` entity, which may be the bare number after 订单 ("1001")."""
    digits = _DIGITS.match(value or "")
    return f"SO-{digits.group(1)}" if digits else normalise_order_id(value)


def requested_order_id(tracker: Tracker) -> str | None:
    """The order the user means: named in this message, else the one the conversation is about."""
    for candidate in (
        entity_order_id(next(tracker.get_latest_entity_values("order_id"), None)),
        normalise_order_id(tracker.latest_message.get("text")),
        normalise_order_id(tracker.get_slot("order_id")),
    ):
        if candidate:
            return candidate
    return None
