"""Who is speaking: a token from the chat page's metadata, or proof typed into the chat.

A bare sender id proves nothing (anyone can post any sender id to the REST or socket.io channel), so
order facts are only ever fetched, and changes only ever made, with a token the order service issued;
the order service decides what its holder may see and do.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker

from actions.order_ids import ORDER_ID

TOKEN_SLOT = "customer_token"
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\w-])\+?\d[\d\s-]{5,18}\d(?![\w-])")


def metadata_token(tracker: Tracker) -> str | None:
    metadata: Any = tracker.latest_message.get("metadata") or {}
    token = metadata.get("token") if isinstance(metadata, dict) else None
    return token if isinstance(token, str) and 0 < len(token) < 4096 else None


def user_token(tracker: Tracker) -> str | None:
    """The chat page's token for this message, else the one a customer proved earlier in this chat."""
    return metadata_token(tracker) or tracker.get_slot(TOKEN_SLOT)


def contact_in(text: str | None) -> tuple[str | None, str | None]:
    """An e-mail address and a phone number typed in ``text`` (after the order number is removed)."""
    text = ORDER_ID.sub(" ", text or "")
    email = _EMAIL.search(text)
    phone = _PHONE.search(_EMAIL.sub(" ", text))
    return (email.group(0) if email else None, phone.group(0) if phone else None)
