"""Delivering one group: read the outbox after its cursor, post within the rate limit, move the
cursor once the platform accepted the post; one process at a time holds a group's lease."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Engine,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from orders.adapters.orm import bridge_cursors, outbox
from orders.clock import utcnow
from orders.entrypoints.bridge.targets import WINDOW_S, BridgeConfig, Target, line_of, title_of

log = logging.getLogger(__name__)


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
