"""Where the sign-in throttle keeps its tallies (``orders.service_layer.signin_throttle``): in this process
(the embedded default), or in Redis when several order-service processes must see the same tallies
(``ORDERBOT_REDIS_URL``)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import fields

from orders.clock import utcnow
from orders.service_layer.signin_throttle import BLANK, Change, T, Tally, TallyStoreBusy

_FIELDS = tuple(field.name for field in fields(Tally))


class InProcessTallies:
    """A dict behind a lock. The throttle ignores a tally past its ``forget_at``; the dict drops all of
    them once a minute, so that guesses spread over many accounts and addresses do not grow it without
    end (``clock``: the throttle's)."""

    SWEEP_SECONDS = 60.0

    def __init__(self, clock: Callable[[], float] = lambda: utcnow().timestamp()) -> None:
        self._clock = clock
        self._tallies: dict[str, Tally] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def update(self, keys: Sequence[str], change: Change[T]) -> T:
        with self._lock:
            now = self._clock()
            if now >= self._next_sweep:
                self._tallies = {k: t for k, t in self._tallies.items() if t.forget_at > now}
                self._next_sweep = now + self.SWEEP_SECONDS
            read = [self._tallies.get(key, BLANK) for key in keys]
            written, result = change(read)
            for key, tally in zip(keys, written, strict=True):
                if tally == BLANK:
                    self._tallies.pop(key, None)
                else:
                    self._tallies[key] = tally
            return result

    def __len__(self) -> int:
        return len(self._tallies)


class RedisTallies:
    """One Redis hash per tally (``<prefix>:<key>``, expiring at its ``forget_at``), read and written in
    an optimistic transaction (WATCH, then MULTI/EXEC): if another process changed one of the keys
    meanwhile, EXEC fails and the change is computed again from what is there now, after a short random
    pause so that contenders spread out. A change that writes nothing (a refusal) needs no EXEC: it
    was decided on what was there when read."""

    TRIES = 50
    PAUSE_SECONDS = 0.002  # at most, times the number of the try

    def __init__(self, url: str, prefix: str, timeout_seconds: float = 2.0) -> None:
        import redis  # only needed when ORDERBOT_REDIS_URL is set

        self._redis = redis
        # A short timeout: a sign-in waits for Redis, and goes on unthrottled when it does not answer.
        self._client = redis.Redis.from_url(
            url, socket_connect_timeout=timeout_seconds, socket_timeout=timeout_seconds
        )
        self._prefix = prefix

    def update(self, keys: Sequence[str], change: Change[T]) -> T:
        names = [f"{self._prefix}:{key}" for key in keys]
        with self._client.pipeline() as pipe:
            for attempt in range(self.TRIES):
                try:
                    pipe.watch(*names)
                    read = [_tally(pipe.hgetall(name)) for name in names]
                    written, result = change(read)
                    if written == read:
                        pipe.unwatch()
                        return result
                    pipe.multi()
                    for name, before, after in zip(names, read, written, strict=True):
                        if after == before:
                            continue
                        if after == BLANK:
                            pipe.delete(name)
                        else:
                            pipe.hset(name, mapping={f: str(getattr(after, f)) for f in _FIELDS})
                            pipe.pexpireat(name, int(after.forget_at * 1000) + 1)
                    pipe.execute()  # raises WatchError when a watched key changed since WATCH
                    return result
                except self._redis.WatchError:
                    time.sleep(random.uniform(0, self.PAUSE_SECONDS * (attempt + 1)))
        raise TallyStoreBusy(f"gave up after {self.TRIES} tries: {names}")

    def close(self) -> None:
        self._client.close()


def _tally(stored: dict[bytes, bytes]) -> Tally:
    if not stored:
        return BLANK
    values = {name.decode(): value.decode() for name, value in stored.items()}
    return Tally(
        failures=int(values.get("failures", "0")),
        locked_until=float(values.get("locked_until", "0")),
        in_flight=int(values.get("in_flight", "0")),
        in_flight_until=float(values.get("in_flight_until", "0")),
        forget_at=float(values.get("forget_at", "0")),
    )
