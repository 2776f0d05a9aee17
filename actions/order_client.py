"""HTTP client of the order service, used by the actions. Every call has a timeout, and every call
carries the end user's token: the order service decides what that user may see and do. Each call also
carries the action run's request id (``X-Request-ID``), so that both servers' logs name the same run."""

from __future__ import annotations

import hashlib
import os
from typing import Any
from urllib.parse import quote

import aiohttp

from actions.observability import REQUEST_ID_HEADER, current_request_id, note_order_service_failure


class OrderServiceUnavailable(Exception):
    """The order service did not answer in time, or answered with a server error."""


class OrderNotFound(Exception):
    """The order service has no such order, or the caller may not see it."""


class NotAuthenticated(Exception):
    """The token is missing, invalid or expired, or the proof of identity did not match."""


class TooManyAttempts(Exception):
    """The order service refused a sign-in after too many failed ones: try again in ``retry_after``
    seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"try again in {retry_after} s")
        self.retry_after = retry_after


class Refused(Exception):
    """The order service refused the change (state, rule, permission); ``code`` names why."""

    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.code = code
        self.details = details


# The chat user a customer sign-in is for: the order service throttles failures per chat user, not per
# the action server's address that every chat user shares.
CHAT_USER_HEADER = "X-Orderbot-Chat-User"


class OrderServiceClient:
    def __init__(self, base_url: str, timeout_s: float = 2.5, service_token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.service_token = service_token

    @classmethod
    def from_env(cls) -> OrderServiceClient:
        # The default keeps a failing call under the 3 seconds a user waits for "try again".
        return cls(
            os.environ.get("ORDER_SERVICE_URL", "http://127.0.0.1:8080"),
            float(os.environ.get("ORDER_SERVICE_TIMEOUT", "2.5")),
            os.environ.get("ORDERBOT_SERVICE_TOKEN") or None,
        )

    async def me(self, token: str) -> dict[str, Any]:
        return await self.request("GET", "/api/v1/me", token)

    async def get_order(self, order_id: str, token: str) -> dict[str, Any]:
        return await self.request("GET", f"/api/v1/orders/{quote(order_id, safe='')}", token)

    async def get_invoice(self, order_id: str, token: str) -> dict[str, Any]:
        return await self.request("GET", f"/api/v1/orders/{quote(order_id, safe='')}/invoice", token)

    async def transition(
        self, order_id: str, action: str, token: str, reason: str | None = None
    ) -> dict[str, Any]:
        body = {"action": action, **({"reason": reason} if reason else {})}
        return await self.request(
            "POST", f"/api/v1/orders/{quote(order_id, safe='')}/transitions", token, json=body
        )

    async def record_shipment(
        self, order_id: str, carrier: str, tracking_number: str, token: str
    ) -> dict[str, Any]:
        body = {"carrier": carrier, "tracking_number": tracking_number}
        return await self.request(
            "PUT", f"/api/v1/orders/{quote(order_id, safe='')}/shipment", token, json=body
        )

    async def settle(self, day: str, token: str) -> dict[str, Any]:
        return await self.request("POST", "/api/v1/settlements", token, json={"date": day}, timeout_s=60)

    async def list_orders(self, token: str, **params: Any) -> dict[str, Any]:
        return await self.request(
            "GET", "/api/v1/orders", token, params={k: v for k, v in params.items() if v}
        )

    async def import_source(self, source: str, token: str) -> dict[str, Any]:
        return await self.request("POST", "/api/v1/imports", token, json={"source": source}, timeout_s=600)

    async def check_shipment(self, carrier: str, tracking_number: str) -> dict[str, Any]:
        body = {"carrier": carrier, "tracking_number": tracking_number or "0"}
        return await self.request("POST", "/api/v1/carriers/check", json=body)

    async def import_sources(self, token: str) -> list[str]:
        return (await self.request("GET", "/api/v1/imports/sources", token))["items"]

    async def customer_token(
        self, order_id: str, email: str | None, phone: str | None, chat_user: str | None = None
    ) -> str:
        """Prove a customer's identity with an order number plus the e-mail or phone on it, for
        ``chat_user`` (the conversation's sender id): with the service token, the order service counts
        failed proofs per chat user. Raises ``TooManyAttempts`` after too many failures."""
        body = {
            "order_id": order_id,
            **({"email": email} if email else {}),
            **({"phone": phone} if phone else {}),
        }
        headers = {CHAT_USER_HEADER: _header_safe(chat_user)} if chat_user and self.service_token else {}
        answer = await self.request(
            "POST", "/api/v1/auth/customer", self.service_token, json=body, headers=headers
        )
        return answer["access_token"]

    async def request(
        self,
        method: str,
        path: str,
        token: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        timeout_s: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        headers = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        request_id = current_request_id()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        timeout = aiohttp.ClientTimeout(total=timeout_s) if timeout_s else self.timeout
        try:
            return await self._send(method, path, headers, json, params, timeout)
        except OrderServiceUnavailable:
            note_order_service_failure()  # the action's run counts as failed, whatever it replies
            raise

    async def _send(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        json: Any,
        params: dict[str, Any] | None,
        timeout: aiohttp.ClientTimeout,
    ) -> dict[str, Any]:
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.request(
                    method, self.base_url + path, headers=headers, json=json, params=params
                ) as response,
            ):
                if response.status < 400:
                    return await response.json()
                if response.status == 404 and path.startswith("/api/v1/orders/"):
                    body = await _error_body(response)
                    if body.get("code") == "order_not_found":
                        raise OrderNotFound(path)
                    raise Refused(body.get("code", "not_found"), body.get("message", ""), body)
                if response.status == 401 or (response.status == 400 and "/auth/" in path):
                    raise NotAuthenticated(path)
                if response.status == 429:
                    raise TooManyAttempts(await _retry_after(response))
                if response.status < 500:
                    body = await _error_body(response)
                    raise Refused(body.get("code", "refused"), body.get("message", ""), body)
                raise OrderServiceUnavailable(f"{method} {path}: HTTP {response.status}")
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise OrderServiceUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc


def _header_safe(chat_user: str) -> str:
    """The chat user id as a header carries it (128 printable ASCII characters at most): a longer
    or odd one by its digest, which still names one user."""
    if len(chat_user) <= 128 and chat_user.isascii() and chat_user.isprintable():
        return chat_user
    return "sha256:" + hashlib.sha256(chat_user.encode("utf-8", "surrogatepass")).hexdigest()


async def _retry_after(response: aiohttp.ClientResponse) -> int:
    """The seconds to wait, from Retry-After (or the error body's retry_after_s); 1 when neither says."""
    header = response.headers.get("Retry-After", "")
    if header.isdigit():
        return max(1, int(header))
    seconds = (await _error_body(response)).get("retry_after_s")
    return max(1, seconds) if isinstance(seconds, int) else 1


async def _error_body(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        return (await response.json()).get("error", {})
    except (ValueError, aiohttp.ContentTypeError):
        return {}
