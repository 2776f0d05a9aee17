"""Posting notifications into chat groups: DingTalk custom robots and Slack (Web API or incoming webhook).

Each poster turns a list of notification lines into one message, posts it, and says whether it arrived
(``Posted``), with a hint when to try again. The bridge (``orders/entrypoints/bridge/``) decides what to
post, when, and remembers what arrived.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests

log = logging.getLogger(__name__)

DINGTALK_TEXT_LIMIT = 18_000  # DingTalk's limit is 20,000 bytes; keep room for the title and markup
SLACK_TEXT_LIMIT = 39_000  # chat.postMessage truncates text after 40,000 characters


@dataclass(frozen=True)
class Posted:
    ok: bool
    detail: str = ""
    retry_after_s: float | None = None  # the platform asked us to wait this long


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    """The ``sign`` query parameter of a custom robot: base64(HMAC-SHA256(secret, ts + "\\n" + secret)),
    URL-encoded."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote(base64.b64encode(digest).decode("ascii"), safe="")


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    encoded = urlencode(query)
    extra = "&".join(f"{key}={value}" for key, value in params.items())  # values are encoded already
    return urlunsplit(parts._replace(query=f"{encoded}&{extra}" if encoded else extra))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class DingTalkRobot:
    """A DingTalk custom robot (群自定义机器人) with the "sign" (加签) security setting."""

    platform = "dingtalk"

    def __init__(
        self,
        webhook_url: str,
        secret: str | None,
        http: requests.Session | None = None,
        timeout_s: float = 10,
    ) -> None:
        self.webhook_url = webhook_url
        self.secret = secret
        self.http = http or requests.Session()
        self.timeout_s = timeout_s

    def url(self, now_ms: int | None = None) -> str:
        if not self.secret:
            return self.webhook_url
        timestamp = int(time.time() * 1000) if now_ms is None else now_ms
        return _with_query(
            self.webhook_url, timestamp=str(timestamp), sign=dingtalk_sign(timestamp, self.secret)
        )

    @staticmethod
    def body(title: str, lines: list[str]) -> dict:
        if len(lines) == 1:
            return {"msgtype": "text", "text": {"content": _clip(lines[0], DINGTALK_TEXT_LIMIT)}}
        text = f"#### {title}\n\n" + "\n".join(f"- {line}" for line in lines)
        return {"msgtype": "markdown", "markdown": {"title": title, "text": _clip(text, DINGTALK_TEXT_LIMIT)}}

    def post(self, title: str, lines: list[str]) -> Posted:
        try:
            answer = self.http.post(self.url(), json=self.body(title, lines), timeout=self.timeout_s)
        except requests.RequestException as problem:
            return Posted(False, f"{type(problem).__name__}: {problem}")
        try:
            result = answer.json()
        except ValueError:
            result = None
        if answer.status_code == 429:
            return Posted(False, "HTTP 429", _retry_after(answer) or 60.0)
        if answer.status_code != 200 or not isinstance(result, dict):
            return Posted(False, f"HTTP {answer.status_code}: {answer.text[:200]}")
        code = result.get("errcode", 0)
        if code == 0:
            return Posted(True)
        detail = f"errcode {code}: {result.get('errmsg')}"
        if code in (130101, 660026):  # "send too fast": the robot is throttled for a while
            return Posted(False, detail, 60.0)
        return Posted(False, detail)


class SlackChannel:
    """``chat.postMessage`` to a channel with a bot token."""

    platform = "slack"

    def __init__(
        self,
        token: str,
        channel: str,
        api_url: str = "https://slack.com/api/",
        http: requests.Session | None = None,
        timeout_s: float = 10,
    ) -> None:
        self.token = token
        self.channel = channel
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        self.http = http or requests.Session()
        self.timeout_s = timeout_s

    def post(self, title: str, lines: list[str]) -> Posted:
        text = lines[0] if len(lines) == 1 else f"*{title}*\n" + "\n".join(f"• {line}" for line in lines)
        try:
            answer = self.http.post(
                f"{self.api_url}chat.postMessage",
                json={"channel": self.channel, "text": _clip(text, SLACK_TEXT_LIMIT), "mrkdwn": True},
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=self.timeout_s,
            )
        except requests.RequestException as problem:
            return Posted(False, f"{type(problem).__name__}: {problem}")
        if answer.status_code == 429:
            return Posted(False, "rate limited", _retry_after(answer) or 30.0)
        try:
            result = answer.json()
        except ValueError:
            return Posted(False, f"HTTP {answer.status_code}: {answer.text[:200]}")
        if answer.status_code == 200 and isinstance(result, dict) and result.get("ok") is True:
            return Posted(True)
        error = result.get("error") if isinstance(result, dict) else None
        return Posted(False, f"HTTP {answer.status_code}: {error}", 30.0 if error == "ratelimited" else None)


class SlackIncomingWebhook:
    """A Slack incoming webhook (one URL per channel; no bot token needed)."""

    platform = "slack"

    def __init__(self, url: str, http: requests.Session | None = None, timeout_s: float = 10) -> None:
        self.url = url
        self.http = http or requests.Session()
        self.timeout_s = timeout_s

    def post(self, title: str, lines: list[str]) -> Posted:
        text = lines[0] if len(lines) == 1 else f"*{title}*\n" + "\n".join(f"• {line}" for line in lines)
        try:
            answer = self.http.post(
                self.url, json={"text": _clip(text, SLACK_TEXT_LIMIT)}, timeout=self.timeout_s
            )
        except requests.RequestException as problem:
            return Posted(False, f"{type(problem).__name__}: {problem}")
        if answer.status_code == 200:
            return Posted(True)
        if answer.status_code == 429:
            return Posted(False, "rate limited", _retry_after(answer) or 30.0)
        return Posted(False, f"HTTP {answer.status_code}: {answer.text[:200]}")


def _retry_after(answer: requests.Response) -> float | None:
    try:
        return max(float(answer.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return None
