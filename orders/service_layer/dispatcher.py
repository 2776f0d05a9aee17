"""The outbox relay: moves committed outbox rows to the fan-out, in id order, and marks them dispatched.

Rows are claimed with ``UPDATE ... WHERE dispatched_at IS NULL`` (works on SQLite and PostgreSQL), so
of several dispatchers (several processes) exactly one publishes a given row. The claim is published
before it commits: a dispatcher that waits on the claimed rows' locks publishes its own later rows
after them, so events leave in id order across processes; a failed publish rolls the claim back and
the rows are retried (a duplicate is harmless, clients dedupe by id).

PostgreSQL hands out ids when rows are inserted, not when they commit: id 10 can commit after id 11.
A client that saw 11 and reconnects "after 11" would never get 10, so the dispatcher holds back rows
behind a hole (an id not yet visible) until it fills or ``hole_grace_seconds`` pass (a rolled-back
insert leaves a hole forever). SQLite has one writer, so its ids commit in order and no hole waits.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Any

from sqlalchemy import Engine, event, func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from orders.adapters.fanout import FanOut
from orders.adapters.orm import outbox
from orders.clock import utcnow
from orders.domain.access import Actor, Role

log = logging.getLogger(__name__)


def event_frame(row: Any) -> str:
    """The JSON text a WebSocket client receives for one outbox row."""
    created = row.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    return json.dumps(
        {
            "type": "event",
            "id": row.id,
            "event_type": row.event_type,
            "order_id": row.order_id,
            "customer_id": row.customer_id,
            "time": created.isoformat(),
            "recipient_role": row.recipient_role,
            "message": {"en": row.message_en, "zh": row.message_zh},
            "data": row.data,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


@dataclass(frozen=True)
class Scope:
    """Which events one signed-in client may receive; built from its token only."""

    role: Role
    customer_id: str | None = None

    @classmethod
    def of(cls, actor: Actor) -> Scope:
        return cls(actor.role, actor.customer_id if actor.role is Role.CUSTOMER else None)

    def allows(self, recipient_role: str, customer_id: str | None) -> bool:
        if self.role is Role.OPERATIONS:
            return True
        if self.role is Role.CUSTOMER:
            return (
                recipient_role == Role.CUSTOMER.value
                and self.customer_id is not None
                and customer_id == self.customer_id
            )
        return recipient_role == self.role.value

    def where(self, statement):
        if self.role is Role.OPERATIONS:
            return statement
        statement = statement.where(outbox.c.recipient_role == self.role.value)
        if self.role is Role.CUSTOMER:
            statement = statement.where(outbox.c.customer_id == self.customer_id)
        return statement


def dispatched_horizon(engine: Engine) -> int:
    """The highest id already dispatched: a hub starting now has missed nothing live before it."""
    with engine.connect() as connection:
        found = connection.execute(
            select(func.max(outbox.c.id)).where(outbox.c.dispatched_at.is_not(None))
        ).scalar()
    return found or 0


def replay(
    engine: Engine, scope: Scope, after: int, upto: int, retention: timedelta, page: int = 500
) -> Iterator[tuple[int, str]]:
    """(id, frame) of the events in ``scope`` with after < id <= upto, younger than ``retention``,
    oldest first, read a page at a time."""
    since = utcnow() - retention
    while after < upto:
        statement = scope.where(
            select(outbox)
            .where(outbox.c.id > after, outbox.c.id <= upto, outbox.c.created_at >= since)
            .order_by(outbox.c.id)
            .limit(page)
        )
        with engine.connect() as connection:
            rows = connection.execute(statement).all()
        if not rows:
            return
        for row in rows:
            yield row.id, event_frame(row)
        after = rows[-1].id


def dispatched_between(engine: Engine, after: int, page: int = 500) -> list[tuple[int, str]]:
    """Dispatched events after ``after`` (a hub catching up after a lost Redis subscription)."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(outbox)
            .where(outbox.c.id > after, outbox.c.dispatched_at.is_not(None))
            .order_by(outbox.c.id)
            .limit(page)
        ).all()
    return [(row.id, event_frame(row)) for row in rows]


class OutboxDispatcher:
    """A background thread that publishes undispatched outbox rows; ``wake()`` makes it look now."""

    def __init__(
        self,
        engine: Engine,
        fanout: FanOut,
        poll_seconds: float = 0.5,
        batch: int = 200,
        hole_grace_seconds: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.fanout = fanout
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.hole_grace_seconds = hole_grace_seconds
        self._clock = clock
        self._holes: dict[int, float] = {}  # lowest missing id -> when first seen
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # A commit through any session on this engine may have written outbox rows: look at once,
        # so a REST call's events reach clients in milliseconds rather than a poll interval.
        event.listen(Session, "after_commit", self._after_commit)
        self._thread = threading.Thread(target=self._run, name="hub-dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        event.remove(Session, "after_commit", self._after_commit)
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wake(self) -> None:
        self._wake.set()

    def _after_commit(self, session: Session) -> None:
        if session.bind is self.engine:
            self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                more = self.dispatch_once()
            except OperationalError:  # SQLite busy, PostgreSQL restarting: retry soon
                log.warning("hub: outbox dispatch failed, retrying", exc_info=True)
                more = False
            except Exception:
                log.exception("hub: outbox dispatch failed")
                more = False
            if not more:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def dispatch_once(self) -> bool:
        """Publish one batch; True when more rows are waiting (or a hole may have filled)."""
        with Session(self.engine) as session:
            waiting = session.execute(
                select(outbox.c.id)
                .where(outbox.c.dispatched_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self.batch)
            ).scalars()
            waiting = list(waiting)
            if not waiting:
                self._holes.clear()
                return False
            last = session.execute(
                select(func.max(outbox.c.id)).where(outbox.c.dispatched_at.is_not(None))
            ).scalar()
            ready = self._in_order(waiting, last)
            if not ready:
                return False  # behind a hole that may still fill: look again at the next poll
            claimed = session.execute(
                update(outbox)
                .where(outbox.c.id.in_(ready), outbox.c.dispatched_at.is_(None))
                .values(dispatched_at=utcnow())
                .returning(*outbox.c)
            ).all()
            for row in sorted(claimed, key=lambda r: r.id):
                self.fanout.publish(row.id, event_frame(row))
            session.commit()
        return len(claimed) == self.batch  # a full batch: more may wait; else sleep until woken

    def _in_order(self, waiting: list[int], last: int | None) -> list[int]:
        """The prefix of ``waiting`` that may go now: contiguous after ``last``, or past old holes."""
        expected = waiting[0] if last is None else last + 1
        self._holes = {start: since for start, since in self._holes.items() if start >= expected}
        now = self._clock()
        ready = []
        for event_id in waiting:
            if event_id > expected:
                since = self._holes.setdefault(expected, now)
                if now - since < self.hole_grace_seconds:
                    break
                log.info("hub: outbox ids %d..%d never committed, going on", expected, event_id - 1)
                del self._holes[expected]
            elif event_id < expected:
                log.warning("hub: outbox row %d committed after later ones, sent out of order", event_id)
            ready.append(event_id)
            expected = max(expected, event_id + 1)
        return ready
