"""The bridge's groups (targets), how often each may be posted to, and the messages it posts."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from orders.adapters.chat_webhooks import DingTalkRobot, Posted, SlackChannel, SlackIncomingWebhook
from orders.config import BridgeSettings

log = logging.getLogger(__name__)


ROLE_NAMES = {"warehouse": {"en": "warehouse", "zh": "仓库"}, "finance": {"en": "finance", "zh": "财务"}}
WINDOW_S = 60.0


class Poster(Protocol):
    platform: str

    def post(self, title: str, lines: list[str]) -> Posted: ...


@dataclass
class Target:
    name: str  # "dingtalk:warehouse"
    role: str  # the outbox recipient_role it delivers
    poster: Poster
    per_minute: int
    language: str  # "en", "zh" or "both"


@dataclass
class BridgeConfig:
    targets: list[Target] = field(default_factory=list)
    enabled: bool = True
    poll_seconds: float = 1.0
    batch: int = 20
    scan: int = 500
    hole_grace_seconds: float = 3.0
    lease_seconds: float = 30.0
    base_backoff_seconds: float = 1.0
    max_backoff_seconds: float = 300.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BridgeConfig:
        return cls.from_settings(BridgeSettings.from_env(environ))

    @classmethod
    def from_settings(cls, settings: BridgeSettings) -> BridgeConfig:
        """The groups ``settings`` configure, each with its platform's poster."""
        targets = []
        for role, group in settings.groups.items():
            if group.dingtalk_webhook:
                webhook = group.dingtalk_webhook
                if "://" not in webhook:  # just the access token
                    webhook = f"{settings.dingtalk_api_url}/robot/send?access_token={webhook}"
                robot = DingTalkRobot(webhook, group.dingtalk_secret)
                targets.append(
                    Target(
                        f"dingtalk:{role}",
                        role,
                        robot,
                        settings.dingtalk_per_minute,
                        settings.dingtalk_language,
                    )
                )
            if group.slack_channel and settings.slack_bot_token:
                poster = SlackChannel(settings.slack_bot_token, group.slack_channel, settings.slack_api_url)
                targets.append(
                    Target(f"slack:{role}", role, poster, settings.slack_per_minute, settings.slack_language)
                )
            if group.slack_incoming_webhook:
                hook = SlackIncomingWebhook(group.slack_incoming_webhook)
                targets.append(
                    Target(
                        f"slack-webhook:{role}",
                        role,
                        hook,
                        settings.slack_per_minute,
                        settings.slack_language,
                    )
                )
        return cls(
            targets=targets,
            enabled=settings.enabled,
            poll_seconds=settings.poll_seconds,
            batch=settings.batch,
            lease_seconds=settings.lease_seconds,
            max_backoff_seconds=settings.max_backoff_seconds,
        )


def line_of(row: Any, language: str) -> str:
    if language == "en":
        return row.message_en
    if language == "zh":
        return row.message_zh
    return f"{row.message_zh} | {row.message_en}"


def title_of(count: int, role: str, language: str) -> str:
    en = f"{count} {ROLE_NAMES[role]['en']} notifications"
    zh = f"{count} 条{ROLE_NAMES[role]['zh']}通知"
    return {"en": en, "zh": zh}.get(language, f"{zh} | {en}")
