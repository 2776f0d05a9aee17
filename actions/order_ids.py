"""Order numbers as people type them ("so1001", "SO 1001", "SO-1001") turned into the stored form."""

from __future__ import annotations

import re

_ORDER_ID = re.compile(r"(?<![A-Za-z0-9])[Ss][Oo][-_ ]?(\d{3,10})(?![0-9])")


def normalise_order_id(text: str | None) -> str | None:
    """The first order number in ``text`` as stored ("SO-1001"), or None when there is none."""
    match = _ORDER_ID.search(text or "")
    return f"SO-{match.group(1)}" if match else None
