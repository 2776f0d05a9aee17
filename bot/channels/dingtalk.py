"""DingTalk (钉钉) enterprise-internal robot, HTTP callback mode, as a Rasa input channel.

DingTalk posts each message that mentions the robot (or is sent to it directly) to
``/webhooks/dingtalk/webhook`` with two headers: ``timestamp`` (milliseconds) and ``sign`` =
base64(HMAC-SHA256(key=app secret, msg=timestamp + "\\n" + app secret)). We accept a request only when
the timestamp is at most one hour off and the signature matches, and only then read the body:
``text.content`` (the robot's @-mention stripped), ``senderStaffId`` (the staff id that the staff
directory links to a staff user), ``conversationId`` / ``conversationType`` ("1" one-to-one, "2"
group), ``msgId``, and ``sessionWebhook`` (+ ``sessionWebhookExpiredTime``, ms), the URL through which
we reply (text; markdown when the reply is a list).

The signature does not cover the body, so a captured (timestamp, sign) pair could carry a forged body
for an hour: each pair is accepted for one message id only (a DingTalk re-delivery of the same message
is answered 200 and skipped; another body with a used pair is refused). Reply URLs must lie under
``DINGTALK_API_URL`` (default https://oapi.dingtalk.com), so a payload cannot make us post elsewhere.

Settings come from ``credentials.yml`` or, when absent there, from the environment:
``DINGTALK_APP_SECRET`` (the robot's AppSecret), ``DINGTALK_API_URL``, ``DINGTALK_CORP_ID`` (optional:
only senders of this organisation), ``DINGTALK_ROBOT_CODE`` (optional: only this robot). Without an app
secret the channel answers 503 to everything.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.staff_identity import (
    MAX_TEXT_CHARS,
    StaffDirectory,
    conversation_id,
    keep_task,
    seen_recently,
)
from bot.channels.webhook import json_object, refuse, setting, too_large, webhook_blueprint

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://oapi.dingtalk.com"
MAX_SKEW_MS = 60 * 60 * 1000  # DingTalk: a timestamp more than one hour off is illegitimate
EXPIRY_MARGIN_MS = 2000  # do not start a post that would arrive after the session webhook expired
_LEADING_MENTIONS = re.compile(r"^(?:\s*@\S+)+\s*")


def signature(timestamp: str, secret: str) -> str:
    """DingTalk's ``sign``: base64 of HMAC-SHA256 keyed with the secret over timestamp + "\\n" + secret."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def now_ms() -> int:
    return int(time.time() * 1000)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def reply_body(text: str) -> dict[str, Any]:
    """A text message, or markdown when the reply has several lines (order lists): a title line and a
    bullet per line, which DingTalk renders as a list."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if len(lines) <= 1:
        return {"msgtype": "text", "text": {"content": text.strip()}}
    head, items = lines[0], lines[1:]
    markdown = head + "\n\n" + "\n".join(f"- {item}" for item in items)
    return {"msgtype": "markdown", "markdown": {"title": head[:64], "text": markdown}}


class DingTalkOutput(OutputChannel):
    """Replies through the session webhook of the message being answered, while it is valid."""

    @classmethod
    def name(cls) -> str:
        return "dingtalk"

    def __init__(self, session_webhook: str, expires_at_ms: int, timeout_s: float = 10.0) -> None:
        self.session_webhook = session_webhook
        self.expires_at_ms = expires_at_ms
        self.timeout_s = timeout_s

    async def post(self, body: dict[str, Any]) -> bool:
        if now_ms() + EXPIRY_MARGIN_MS >= self.expires_at_ms:
            logger.warning(
                "dingtalk: session webhook expired at %d, reply not sent: %.80r",
                self.expires_at_ms,
                json.dumps(body, ensure_ascii=False),
            )
            return False
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as http,
                http.post(self.session_webhook, json=body) as answer,
            ):
                text = await answer.text()
                result = json.loads(text) if text else {}
                if answer.status != 200 or (isinstance(result, dict) and result.get("errcode", 0)):
                    logger.error("dingtalk: reply refused: HTTP %d %s", answer.status, text[:200])
                    return False
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as problem:
            logger.error("dingtalk: reply failed: %r", problem)
            return False
        return True

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.post(reply_body(text))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.post({"msgtype": "markdown", "markdown": {"title": "image", "text": f"![]({image})"}})


class DingTalkInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "dingtalk"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            app_secret=setting(credentials, "app_secret", "DINGTALK_APP_SECRET", ""),
            api_url=setting(credentials, "api_url", "DINGTALK_API_URL", DEFAULT_API_URL),
            corp_id=setting(credentials, "corp_id", "DINGTALK_CORP_ID"),
            robot_code=setting(credentials, "robot_code", "DINGTALK_ROBOT_CODE"),
            conversation_granularity=credentials.get("conversation_granularity", "sender"),
        )

    def __init__(
        self,
        app_secret: str,
        api_url: str = DEFAULT_API_URL,
        corp_id: str | None = None,
        robot_code: str | None = None,
        conversation_granularity: str = "sender",
        directory: StaffDirectory | None = None,
    ) -> None:
        self.app_secret = app_secret
        self.api_origin = _origin(api_url)
        self.corp_id = corp_id
        self.robot_code = robot_code
        self.conversation_granularity = conversation_granularity
        self.directory = directory or StaffDirectory.from_env()
        self.signatures = seen_recently(
            "dingtalk-sign", 2 * MAX_SKEW_MS / 1000
        )  # sign -> the msgId it carried
        self.messages = seen_recently("dingtalk-msg", 2 * MAX_SKEW_MS / 1000)
        self._background_tasks: set[asyncio.Task] = set()
        if not app_secret:
            logger.info("dingtalk channel not configured (no DINGTALK_APP_SECRET): it answers 503")

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        return webhook_blueprint(
            "dingtalk_webhook", lambda: bool(self.app_secret), self.handle, on_new_message
        )

    def verify(self, timestamp: str | None, sign: str | None) -> str | None:
        """Why the headers are not DingTalk's, or None when they are."""
        if not timestamp or not sign:
            return "Missing timestamp or sign header."
        if not timestamp.isdigit() or len(timestamp) > 16:
            return "Malformed timestamp."
        if abs(now_ms() - int(timestamp)) > MAX_SKEW_MS:
            return "Timestamp more than one hour off."
        if not hmac.compare_digest(signature(timestamp, self.app_secret).encode(), sign.encode()):
            return "Wrong signature."
        return None

    async def handle(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        if not self.app_secret:
            return refuse(HTTPStatus.SERVICE_UNAVAILABLE, "The DingTalk channel is not configured.")
        if (oversized := too_large(request)) is not None:
            return oversized
        timestamp, sign = request.headers.get("timestamp"), request.headers.get("sign")
        problem = self.verify(timestamp, sign)
        if problem:
            logger.warning("dingtalk: refused a callback: %s", problem)
            return refuse(HTTPStatus.UNAUTHORIZED, problem)
        payload = json_object(request.body)
        if isinstance(payload, HTTPResponse):
            return payload
        msg_id = payload.get("msgId")
        if not isinstance(msg_id, str) or not msg_id or len(msg_id) > 256:
            return refuse(HTTPStatus.BAD_REQUEST, "No msgId.")

        # The signature covers the timestamp only: one signature, one message.
        carried = self.signatures.get(sign)
        if carried is not None and carried != msg_id:
            logger.warning("dingtalk: a used signature came back with another message: refused")
            return refuse(HTTPStatus.UNAUTHORIZED, "Signature already used.")
        self.signatures.add(sign, msg_id)
        if not self.messages.add(msg_id):
            logger.info("dingtalk: message %s already received, skipped", msg_id)
            return response.json({})

        if self.corp_id and payload.get("senderCorpId") != self.corp_id:
            return refuse(HTTPStatus.FORBIDDEN, "Sender of another organisation.")
        if self.robot_code and payload.get("robotCode") not in (None, self.robot_code):
            return refuse(HTTPStatus.FORBIDDEN, "Another robot's message.")
        webhook, expires = payload.get("sessionWebhook"), payload.get("sessionWebhookExpiredTime")
        if not isinstance(webhook, str) or _origin(webhook) != self.api_origin:
            logger.error("dingtalk: sessionWebhook %.100r is not under DINGTALK_API_URL", webhook)
            return refuse(HTTPStatus.BAD_REQUEST, "No usable sessionWebhook.")
        if not isinstance(expires, int) or isinstance(expires, bool):
            return refuse(HTTPStatus.BAD_REQUEST, "No sessionWebhookExpiredTime.")
        if now_ms() + EXPIRY_MARGIN_MS >= expires:
            logger.warning("dingtalk: message %s came with an expired sessionWebhook: not handled", msg_id)
            return response.json({})  # we could not answer it: do not act on it either

        content = (
            (payload.get("text") or {}).get("content") if isinstance(payload.get("text"), dict) else None
        )
        if payload.get("msgtype") != "text" or not isinstance(content, str):
            keep_task(
                self._background_tasks,
                DingTalkOutput(webhook, expires).post(
                    {"msgtype": "text", "text": {"content": "Please send text. / 请发送文字消息。"}}
                ),
            )
            return response.json({})
        text = _LEADING_MENTIONS.sub("", content).strip()[:MAX_TEXT_CHARS]
        if not text:
            return response.json({})
        staff_id = payload.get("senderStaffId")
        staff_id = staff_id if isinstance(staff_id, str) and staff_id else None
        sender_key = staff_id or str(payload.get("senderId") or "unknown")
        parts = [str(payload.get("senderCorpId") or ""), sender_key]
        if self.conversation_granularity == "conversation":
            parts.append(str(payload.get("conversationId") or ""))
        sender = conversation_id("dingtalk", self.app_secret, *parts)
        metadata = {
            "dingtalk": {
                "conversation_id": payload.get("conversationId"),
                "conversation_type": "group" if str(payload.get("conversationType")) == "2" else "single",
                "staff_id": staff_id,
                "msg_id": msg_id,
            }
        }
        keep_task(
            self._background_tasks,
            self._run_turn(
                on_new_message, text, sender, staff_id, metadata, DingTalkOutput(webhook, expires)
            ),
        )
        return response.json({})

    async def _run_turn(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        text: str,
        sender: str,
        staff_id: str | None,
        metadata: dict[str, Any],
        output: OutputChannel,
    ) -> None:
        try:
            token = await self.directory.token_for("dingtalk", staff_id) if staff_id else None
            if token:
                metadata["token"] = token
            await on_new_message(
                UserMessage(text, output, sender, input_channel=self.name(), metadata=metadata)
            )
        except Exception:
            logger.exception("dingtalk: a message of %s could not be handled", staff_id)
