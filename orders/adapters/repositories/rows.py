"""Rows as plain dicts, the shape every repository returns for what is not an Order."""

from __future__ import annotations

from typing import Any


def as_dict(row) -> dict[str, Any]:
    return dict(row._mapping)
