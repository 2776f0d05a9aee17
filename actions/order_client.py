"""HTTP client of the order service, used by the actions. Every call has a timeout."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

import aiohttp


class OrderServiceUnavailable(Exception):
    """The order service did not answer in time, or answered with a server error."""


class OrderNotFound(Exception):
    """The order service has no such order, or the caller may not see it."""


class NotAuthenticated(Exception):
    """The token is missing, invalid or expired, or the proof of identity did not match."""


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

    async def get_order(self, order_id: str, token: str) -> dict[str, Any]:
        return await self._request("GET", f"/api/v1/orders/{quote(order_id, safe='')}", token=token)

    async def customer_token(self, order_id: str, email: str | None, phone: str | None) -> str:
        """Prove a customer's identity with an order number plus the e-mail or phone on it."""
        body = {
            "order_id": order_id,
            **({"email": email} if email else {}),
            **({"phone": phone} if phone else {}),
        }
        answer = await self._request("POST", "/api/v1/auth/customer", json=body)
        return answer["access_token"]

    async def _request(
        self, method: str, path: str, token: str | None = None, json: Any = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            async with (
                aiohttp.ClientSession(timeout=self.timeout) as session,
                session.request(method, self.base_url + path, headers=headers, json=json) as response,
            ):
                if response.status == 404:
                    raise OrderNotFound(path)
                if response.status in (400, 401):
                    raise NotAuthenticated(path)
                if response.status >= 400:
                    raise OrderServiceUnavailable(f"{method} {path}: HTTP {response.status}")
                return await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise OrderServiceUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
