"""HTTP client of the order service, used by the actions. Every call has a timeout."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

import aiohttp


class OrderServiceUnavailable(Exception):
    """The order service did not answer in time, or answered with a server error."""


class OrderNotFound(Exception):
    """The order service has no such order (or the caller may not see it)."""


class OrderServiceClient:
    def __init__(self, base_url: str, timeout_s: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    @classmethod
    def from_env(cls) -> OrderServiceClient:
        return cls(
            os.environ.get("ORDER_SERVICE_URL", "http://127.0.0.1:8080"),
            float(os.environ.get("ORDER_SERVICE_TIMEOUT", "5")),
        )

    async def get_order(self, order_id: str) -> dict[str, Any]:
        return await self._get_json(f"/api/v1/orders/{quote(order_id, safe='')}")

    async def _get_json(self, path: str) -> dict[str, Any]:
        try:
            async with (
                aiohttp.ClientSession(timeout=self.timeout) as session,
                session.get(self.base_url + path) as response,
            ):
                if response.status == 404:
                    raise OrderNotFound(path)
                if response.status >= 400:
                    raise OrderServiceUnavailable(f"{path}: HTTP {response.status}")
                return await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise OrderServiceUnavailable(f"{path}: {type(exc).__name__}: {exc}") from exc
