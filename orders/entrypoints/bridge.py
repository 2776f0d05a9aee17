"""The chat bridge: warehouse and finance notifications into their DingTalk and Slack groups.

A consumer of the outbox inside the order service (a thread per group, started in the gunicorn master
next to the scheduler, only when a group is configured). Each group ("target", e.g.
``dingtalk:warehouse``) has a cursor row in ``bridge_cursors``: the last outbox id it delivered. A
target reads the committed rows after its cursor in id order, posts its role's rows, and moves the
cursor only after the platform accepted the post, in one compare-and-set update; so a restart resumes
after the last delivered event, and nothing is posted twice (the one window left: a crash after the
platform accepted a post and before the cursor update commits, which re-posts that one message).

- **Order.** PostgreSQL hands out ids at insert, not at commit: a target does not pass an id that is
  not visible yet (a "hole") until it fills or ``hole_grace_seconds`` pass (a rolled-back insert).
- **Rate limits.** At most ``per_minute`` posts in any 60 s (DingTalk allows about 20 per robot); the
  recent post times are stored with the cursor, so a restart respects them too. When the backlog is
  more than the posts left in the window can carry one by one, the backlog goes out as one message
  (up to ``batch`` events each).
- **Failures.** Network errors, HTTP errors and platform error codes are retried with exponential
  backoff (with jitter, up to ``max_backoff_seconds``), honouring a platform's Retry-After; the cursor
  stays, so nothing is skipped.
- **Several processes.** A target is delivered by one process at a time: a lease on its cursor row
  (``owner``, ``lease_until``), renewed while it works and released on a clean stop; another process
  takes over after ``lease_seconds`` when the owner died.

Configuration (environment): ``orders.config.BridgeSettings``, documented in docs/configuration.md.
"""

from __future__ import annotations

import atexit
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import (
    Engine,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from orders.adapters.chat_webhooks import DingTalkRobot, Posted, SlackChannel, SlackIncomingWebhook
from orders.adapters.orm import bridge_cursors, outbox
from orders.clock import utcnow
from orders.config import BRIDGE_ROLES, BridgeSettings

log = logging.getLogger(__name__)

ROLES = BRIDGE_ROLES
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


def _naive_utcnow() -> datetime:
    return utcnow().replace(tzinfo=None)  # bridge_cursors.updated_at is a naive UTC column


class TargetWorker:
    """Delivers one target; ``run_once`` does one step and says how long to wait before the next."""

    def __init__(
        self,
        engine: Engine,
        target: Target,
        config: BridgeConfig,
        owner: str,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.target = target
        self.config = config
        self.owner = owner
        self._clock = clock
        self._monotonic = monotonic
        self._holes: dict[int, float] = {}
        self._failures = 0
        self._lease_until = 0.0

    # --- the cursor row ---------------------------------------------------------------------------

    def _ensure_row(self) -> None:
        """A target seen for the first time starts after the newest event: a new group is not flooded
        with the past."""
        with self.engine.begin() as connection:
            if connection.execute(
                select(bridge_cursors.c.target).where(bridge_cursors.c.target == self.target.name)
            ).first():
                return
            newest = connection.execute(select(func.max(outbox.c.id))).scalar() or 0
            try:
                with connection.begin_nested():
                    connection.execute(
                        insert(bridge_cursors).values(
                            target=self.target.name,
                            last_id=newest,
                            recent_posts=[],
                            owner=None,
                            lease_until=0.0,
                            updated_at=_naive_utcnow(),
                        )
                    )
                log.info("bridge %s: starts after outbox id %d", self.target.name, newest)
            except IntegrityError:
                pass  # another process created it

    def claim(self) -> bool:
        """Take or renew the lease of this target; False while another process holds it."""
        now = self._clock()
        if self._lease_until - now > self.config.lease_seconds / 2:
            return True
        for _ in range(2):
            with self.engine.begin() as connection:
                claimed = connection.execute(
                    update(bridge_cursors)
                    .where(
                        bridge_cursors.c.target == self.target.name,
                        (bridge_cursors.c.owner == self.owner)
                        | (bridge_cursors.c.owner.is_(None))
                        | (bridge_cursors.c.lease_until < now),
                    )
                    .values(owner=self.owner, lease_until=now + self.config.lease_seconds)
                ).rowcount
            if claimed:
                self._lease_until = now + self.config.lease_seconds
                return True
            self._ensure_row()
        self._lease_until = 0.0
        return False

    def release(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(bridge_cursors)
                .where(bridge_cursors.c.target == self.target.name, bridge_cursors.c.owner == self.owner)
                .values(owner=None, lease_until=0.0)
            )
        self._lease_until = 0.0

    def _advance(self, old: int, new: int, recent: list[float]) -> bool:
        with self.engine.begin() as connection:
            moved = connection.execute(
                update(bridge_cursors)
                .where(
                    bridge_cursors.c.target == self.target.name,
                    bridge_cursors.c.owner == self.owner,
                    bridge_cursors.c.last_id == old,
                )
                .values(last_id=new, recent_posts=recent, updated_at=_naive_utcnow())
            ).rowcount
        if not moved:
            log.error("bridge %s: the cursor was moved by another process; stepping back", self.target.name)
            self._lease_until = 0.0
        return bool(moved)

    # --- one step ---------------------------------------------------------------------------------

    def run_once(self) -> float:
        if not self.claim():
            return self.config.poll_seconds
        with self.engine.connect() as connection:
            cursor = connection.execute(
                select(bridge_cursors.c.last_id, bridge_cursors.c.recent_posts).where(
                    bridge_cursors.c.target == self.target.name
                )
            ).one()
            rows = connection.execute(
                select(
                    outbox.c.id,
                    outbox.c.recipient_role,
                    outbox.c.message_en,
                    outbox.c.message_zh,
                )
                .where(outbox.c.id > cursor.last_id)
                .order_by(outbox.c.id)
                .limit(self.config.scan)
            ).all()
        last_id = cursor.last_id
        ready = self._in_order(rows, last_id)
        if not ready:
            return self.config.poll_seconds
        now = self._clock()
        recent = [t for t in (cursor.recent_posts or []) if now - t < WINDOW_S]
        mine = [row for row in ready if row.recipient_role == self.target.role]
        if not mine:  # only other roles' events: just move past them
            self._advance(last_id, ready[-1].id, recent)
            return 0.0 if len(rows) == self.config.scan else self.config.poll_seconds
        left = self.target.per_minute - len(recent)
        if left <= 0:
            return max(min(recent) + WINDOW_S - now, 0.05)
        pending = mine[: self.config.batch]
        # One by one while the window can carry the whole backlog that way; else all in one message.
        chosen = pending[:1] if len(pending) == 1 or left > len(pending) else pending
        lines = [line_of(row, self.target.language) for row in chosen]
        result = self.target.poster.post(title_of(len(lines), self.target.role, self.target.language), lines)
        if not result.ok:
            self._failures += 1
            delay = min(
                self.config.max_backoff_seconds,
                self.config.base_backoff_seconds * 2 ** (self._failures - 1),
            ) * random.uniform(0.8, 1.2)
            if result.retry_after_s is not None:
                delay = max(delay, result.retry_after_s)
            log.warning(
                "bridge %s: post of %d event(s) from id %d failed (%s); retry %d in %.1f s",
                self.target.name,
                len(chosen),
                chosen[0].id,
                result.detail,
                self._failures,
                delay,
            )
            return delay
        self._failures = 0
        self._advance(last_id, chosen[-1].id, recent + [self._clock()])
        log.info("bridge %s: delivered %d event(s) up to id %d", self.target.name, len(chosen), chosen[-1].id)
        return 0.0

    def _in_order(self, rows: list[Any], last_id: int) -> list[Any]:
        """The prefix of ``rows`` that may go now: contiguous after ``last_id``, or past old holes."""
        expected = last_id + 1
        self._holes = {start: since for start, since in self._holes.items() if start >= expected}
        now = self._monotonic()
        ready = []
        for row in rows:
            if row.id > expected:
                since = self._holes.setdefault(expected, now)
                if now - since < self.config.hole_grace_seconds:
                    break
                log.info(
                    "bridge %s: outbox ids %d..%d never committed", self.target.name, expected, row.id - 1
                )
                del self._holes[expected]
            ready.append(row)
            expected = row.id + 1
        return ready


class Bridge:
    """One thread per target."""

    def __init__(self, engine: Engine, config: BridgeConfig, owner: str | None = None) -> None:
        self.engine = engine
        self.config = config
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.workers = [TargetWorker(engine, target, config, self.owner) for target in config.targets]
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Bridge:
        for worker in self.workers:
            thread = threading.Thread(
                target=self._run, args=(worker,), name=f"bridge-{worker.target.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        log.info("chat bridge started: %s", ", ".join(w.target.name for w in self.workers))
        return self

    def _run(self, worker: TargetWorker) -> None:
        while not self._stopping.is_set():
            try:
                delay = worker.run_once()
            except Exception:
                log.exception("bridge %s: step failed", worker.target.name)
                delay = max(self.config.poll_seconds, 5.0)
            if delay > 0:
                self._stopping.wait(delay)

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop after the post in flight (if any) and hand the leases back."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout_s)
        for worker, thread in zip(self.workers, self._threads, strict=True):
            if thread.is_alive():
                continue
            try:
                worker.release()
            except Exception:
                log.warning("bridge %s: lease not released", worker.target.name, exc_info=True)
        self._threads = []


def start_bridge(engine: Engine, environ: Mapping[str, str] | None = None) -> Bridge | None:
    """Start the bridge when at least one group is configured (and ORDERBOT_BRIDGE is not off)."""
    config = BridgeConfig.from_env(environ)
    if not config.enabled or not config.targets:
        return None
    bridge = Bridge(engine, config).start()
    atexit.register(bridge.stop)
    return bridge
