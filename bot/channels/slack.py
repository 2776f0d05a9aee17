"""Rasa's Slack connector, hardened: verified senders get their staff token, retries run once.

What Rasa 3.6's ``SlackInput`` lacks and this subclass adds:

- every request is verified (``X-Slack-Signature``: ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}`` with
  the signing secret; ``X-Slack-Request-Timestamp`` at most 5 minutes off) before anything in it is read,
  and malformed bodies get a 400 instead of an exception;
- an event is processed once: Slack's retries (``X-Slack-Retry-Num``), replays of a captured request and
  the ``message`` + ``app_mention`` pair Slack sends for one mention are recognised by event id and by
  message (channel, ts), answered 200 and skipped;
- the sender's Slack user id is exchanged for a staff token in the staff directory (``staff_identity``)
  and put into the message metadata, so the actions act with that staff user's rights; unknown
  senders get no token, hence the actions' refusal;
- replies go into the thread of the message (``use_threads``, on by default), and the Web API base URL
  is configurable (``SLACK_API_URL``), which Rasa's ``SlackBot`` does not allow;
- the Rasa sender id is a keyed digest (``conversation_id``), so nobody can join the conversation
  through the REST channel.

Settings come from ``credentials.yml`` or, when absent there, from the environment: ``SLACK_BOT_TOKEN``,
``SLACK_SIGNING_SECRET``, ``SLACK_API_URL``, ``SLACK_TEAM_ID`` (optional: only this workspace),
``SLACK_CHANNEL`` (optional: a channel where every message is for the bot, not only mentions).
Without a signing secret the channel answers 503 to everything.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.slack import SlackBot
from rasa.core.channels.slack import SlackInput as RasaSlackInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.staff_identity import (
    MAX_TEXT_CHARS,
    StaffDirectory,
    conversation_id,
    keep_task,
    seen_recently,
)
from bot.channels.webhook import json_object, refuse, setting, too_large, webhook_blueprint

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
REPLAY_WINDOW_S = 5 * 60
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


class SlackOutput(SlackBot):
    """Rasa's Slack output channel with a configurable Web API URL, in threads, without ``as_user``
    (a legacy parameter that apps with granular bot tokens must not send)."""

    def __init__(
        self,
        token: str,
        slack_channel: str | None = None,
        thread_id: str | None = None,
        proxy: str | None = None,
        api_url: str = DEFAULT_API_URL,
    ) -> None:
        super().__init__(token, slack_channel, thread_id, proxy)
        base = api_url if api_url.endswith("/") else api_url + "/"
        self.client = AsyncWebClient(token, base_url=base, proxy=proxy)

    async def _post_message(self, channel: str, **kwargs: Any) -> None:
        kwargs.pop("as_user", None)
        if self.thread_id:
            kwargs["thread_ts"] = self.thread_id
        try:
            await self.client.chat_postMessage(channel=channel, **kwargs)
        except Exception as problem:  # a reply that cannot be posted must not break the conversation
            logger.error("slack: chat.postMessage to %s failed: %s", channel, problem)


class SlackInput(RasaSlackInput):
    @classmethod
    def name(cls) -> str:
        return "slack"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            slack_token=setting(credentials, "slack_token", "SLACK_BOT_TOKEN", ""),
            slack_channel=setting(credentials, "slack_channel", "SLACK_CHANNEL"),
            proxy=credentials.get("proxy"),
            use_threads=credentials.get("use_threads", True),
            slack_signing_secret=setting(credentials, "slack_signing_secret", "SLACK_SIGNING_SECRET", ""),
            conversation_granularity=credentials.get("conversation_granularity", "sender"),
            api_url=setting(credentials, "api_url", "SLACK_API_URL", DEFAULT_API_URL),
            team_id=setting(credentials, "team_id", "SLACK_TEAM_ID"),
        )

    def __init__(
        self,
        slack_token: str,
        slack_channel: str | None = None,
        proxy: str | None = None,
        use_threads: bool = True,
        slack_signing_secret: str = "",
        conversation_granularity: str = "sender",
        api_url: str = DEFAULT_API_URL,
        team_id: str | None = None,
        directory: StaffDirectory | None = None,
    ) -> None:
        super().__init__(
            slack_token,
            slack_channel,
            proxy,
            use_threads=use_threads,
            slack_signing_secret=slack_signing_secret,
            conversation_granularity=conversation_granularity,
        )
        self.api_url = api_url
        self.team_id = team_id
        self.directory = directory or StaffDirectory.from_env()
        self.seen = seen_recently("slack", 2 * REPLAY_WINDOW_S)  # longer than a signature stays valid

    def _validate_credentials(self) -> None:
        # Rasa raises at start-up without a signing secret; we start and answer 503 instead, so that
        # `make run` works without a Slack app.
        if not self.slack_signing_secret:
            logger.info("slack channel not configured (no SLACK_SIGNING_SECRET): it answers 503")

    def get_output_channel(self, channel: str | None = None, thread_id: str | None = None) -> OutputChannel:
        return SlackOutput(
            self.slack_token, channel or self.slack_channel, thread_id, self.proxy, self.api_url
        )

    # --- the webhook -------------------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        return webhook_blueprint(
            "slack_webhook", lambda: bool(self.slack_signing_secret), self.handle, on_new_message
        )

    async def handle(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        if not self.slack_signing_secret:
            return refuse(HTTPStatus.SERVICE_UNAVAILABLE, "The Slack channel is not configured.")
        if (oversized := too_large(request)) is not None:
            return oversized
        if not request.headers.get("X-Slack-Signature") or not request.headers.get(
            "X-Slack-Request-Timestamp"
        ):
            return refuse(HTTPStatus.UNAUTHORIZED, "Missing X-Slack-Signature or timestamp header.")
        if not self.is_request_from_slack_authentic(request):  # signature and the 5-minute window
            logger.warning("slack: refused a request with a wrong signature or a stale timestamp")
            return refuse(HTTPStatus.UNAUTHORIZED, "Signature or timestamp invalid.")

        content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if content_type == "application/x-www-form-urlencoded":
            # Interactive components (buttons): our replies carry none, so there is nothing to do.
            return response.text("")
        if content_type != "application/json":
            return refuse(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Expected application/json.")
        payload = json_object(request.body)
        if isinstance(payload, HTTPResponse):
            return payload

        if payload.get("type") == "url_verification":
            challenge = payload.get("challenge")
            if not isinstance(challenge, str):
                return refuse(HTTPStatus.BAD_REQUEST, "No challenge.")
            return response.json({"challenge": challenge})
        if payload.get("type") != "event_callback":
            return response.text("")
        if self.team_id and payload.get("team_id") != self.team_id:
            logger.warning("slack: event from workspace %r refused", payload.get("team_id"))
            return refuse(HTTPStatus.FORBIDDEN, "Unknown workspace.")
        event = payload.get("event")
        if not isinstance(event, dict):
            return refuse(HTTPStatus.BAD_REQUEST, "No event.")

        event_id = payload.get("event_id")
        message_key = f"msg:{event.get('channel')}:{event.get('ts')}" if event.get("ts") else None
        retry = request.headers.get("X-Slack-Retry-Num")
        if (isinstance(event_id, str) and f"event:{event_id}" in self.seen) or (
            message_key and message_key in self.seen
        ):
            logger.info(
                "slack: event %s (retry %s, reason %s) already received, skipped",
                event_id,
                retry,
                request.headers.get("X-Slack-Retry-Reason"),
            )
            return response.text("", headers={"X-Slack-No-Retry": "1"})
        if isinstance(event_id, str):
            self.seen.add(f"event:{event_id}")

        text = event.get("text")
        user = event.get("user")
        channel = event.get("channel")
        if (
            event.get("type") not in ("message", "app_mention")
            or event.get("subtype") not in (None, "thread_broadcast")
            or event.get("bot_id")
            or not isinstance(text, str)
            or not text.strip()
            or not isinstance(user, str)
            or not isinstance(channel, str)
        ):
            return response.text("")  # edits, joins, the bot's own messages, ...
        bot_users = _bot_user_ids(payload)
        if user in bot_users:
            return response.text("")
        if not (
            event.get("type") == "app_mention"
            or event.get("channel_type") == "im"
            or (self.slack_channel and channel == self.slack_channel)
        ):
            return response.text("")  # a channel message not meant for the bot
        if message_key:
            self.seen.add(message_key)

        text = _clean_text(text, bot_users)
        if not text:
            return response.text("")
        if len(text) > MAX_TEXT_CHARS:
            text = text[:MAX_TEXT_CHARS]
        thread_ts = event.get("thread_ts")
        if not thread_ts and self.use_threads and event.get("channel_type") != "im":
            thread_ts = event.get("ts")  # start a thread on the message in a channel
        sender = conversation_id(
            "slack",
            self.slack_signing_secret,
            *self._conversation_parts(
                payload.get("team_id") or "", user, channel, event.get("thread_ts") or event.get("ts")
            ),
        )
        keep_task(
            self._background_tasks,
            self._run_turn(on_new_message, text, sender, user, channel, thread_ts, payload, event),
        )
        return response.text("")

    def _conversation_parts(self, team: str, user: str, channel: str, thread: str | None) -> list[str]:
        if self.conversation_granularity == "thread" and thread:
            return [team, user, channel, thread]
        if self.conversation_granularity == "channel":
            return [team, user, channel]
        return [team, user]

    async def _run_turn(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        text: str,
        sender: str,
        user: str,
        channel: str,
        thread_ts: str | None,
        payload: dict[str, Any],
        event: dict[str, Any],
    ) -> None:
        try:
            token = await self.directory.token_for("slack", user)
            metadata: dict[str, Any] = {
                "out_channel": channel,
                "thread_id": thread_ts,
                "slack": {
                    "team_id": payload.get("team_id"),
                    "user": user,
                    "event_id": payload.get("event_id"),
                },
            }
            if token:
                metadata["token"] = token
            await on_new_message(
                UserMessage(
                    text,
                    self.get_output_channel(channel, thread_ts),
                    sender,
                    input_channel=self.name(),
                    metadata=metadata,
                )
            )
        except Exception:
            logger.exception("slack: the message of %s in %s could not be handled", user, channel)


def _bot_user_ids(payload: dict[str, Any]) -> set[str]:
    found = set()
    for authorization in payload.get("authorizations") or []:
        if (
            isinstance(authorization, dict)
            and authorization.get("is_bot") is not False
            and isinstance(authorization.get("user_id"), str)
        ):
            found.add(authorization["user_id"])
    for user in payload.get("authed_users") or []:
        if isinstance(user, str):
            found.add(user)
    return found


def _clean_text(text: str, bot_users: set[str]) -> str:
    """The text without the bot's @-mentions, with Slack's link and entity markup undone."""

    def mention(match: re.Match) -> str:
        return " " if match.group(1) in bot_users or not bot_users else match.group(0)

    text = _MENTION.sub(mention, text)
    text = re.sub(r"<((?:mailto:|https?://)[^|>]*)\|([^>]*)>", r"\2", text)  # <url|label> -> label
    text = re.sub(r"<((?:mailto:|https?://)[^>]*)>", r"\1", text)
    return " ".join(html.unescape(text).split())
