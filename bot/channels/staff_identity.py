"""What the Slack and DingTalk channels share: who a verified sender is, and what was seen already.

A channel calls ``StaffDirectory.token_for(platform, user_id)`` only after it has verified the
platform's signature on the request. The order service's staff directory (``POST
/api/v1/auth/staff-link``, with the service token) answers with a staff JWT for a linked user, or 404
for anybody else; the channel puts the JWT into the message metadata as ``token``, where the actions
read it (``actions/identity.py``), so a verified sender gets exactly the rights of the staff user the
directory links them to, and an unknown sender gets no token and the actions' polite refusal.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024  # a chat message callback is a few KiB; refuse anything much larger
MAX_TEXT_CHARS = 2000  # what the socket.io channel accepts too


@dataclass
class _Entry:
    token: str | None
    fresh_until: float


class StaffDirectory:
    """Staff JWTs for verified platform user ids, cached until shortly before they expire.

    Unknown users are remembered for ``negative_seconds`` (a newly linked user waits at most that
    long); failures (order service down, wrong service token) are not remembered.
    """

    def __init__(
        self,
        base_url: str | None,
        service_token: str | None,
        timeout_s: float = 5.0,
        negative_seconds: float = 30.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = (base_url or "").rstrip("/")
        self.service_token = service_token or ""
        self.timeout_s = timeout_s
        self.negative_seconds = negative_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._cache: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> StaffDirectory:
        env = os.environ if environ is None else environ
        url = env.get("ORDER_SERVICE_URL") or (
            f"http://{env.get('ORDERS_HOST', '127.0.0.1')}:{env.get('ORDERS_PORT', '8080')}"
        )
        return cls(
            url,
            env.get("ORDERBOT_SERVICE_TOKEN"),
            timeout_s=float(env.get("ORDER_SERVICE_TIMEOUT", "5")),
            negative_seconds=float(env.get("ORDERBOT_STAFF_LOOKUP_NEGATIVE_SECONDS", "30")),
        )

    async def token_for(self, platform: str, user_id: str | None) -> str | None:
        """The staff JWT of the directory user linked to ``user_id`` on ``platform``, else None."""
        if not user_id or not isinstance(user_id, str) or len(user_id) > 128:
            return None
        key = (platform, user_id)
        entry = self._cache.get(key)
        if entry is not None and self._clock() < entry.fresh_until:
            return entry.token
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:  # one look-up per user at a time; the others get its answer
                entry = self._cache.get(key)
                if entry is not None and self._clock() < entry.fresh_until:
                    return entry.token
                found = await self._look_up(platform, user_id)
                if found is None:
                    return None  # a failure: ask again next time
                token, lifetime = found
                # Renew well before expiry (a tenth of the lifetime early, at most five minutes);
                # remember an unknown user for a short while only.
                if token is None:
                    lifetime = self.negative_seconds
                else:
                    lifetime = max(lifetime - min(300.0, lifetime / 10), 0.0)
                self._cache[key] = _Entry(token, self._clock() + lifetime)
                self._cache.move_to_end(key)
                while len(self._cache) > self.max_entries:
                    self._cache.popitem(last=False)
                return token
        finally:
            if not lock.locked():
                self._locks.pop(key, None)

    async def _look_up(self, platform: str, user_id: str) -> tuple[str | None, float] | None:
        """(token or None for "not in the directory", seconds it is valid); None on failure."""
        if not self.base_url or not self.service_token:
            logger.error("staff look-up impossible: ORDER_SERVICE_URL and ORDERBOT_SERVICE_TOKEN must be set")
            return None
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as session,
                session.post(
                    f"{self.base_url}/api/v1/auth/staff-link",
                    json={"platform": platform, "platform_user_id": user_id},
                    headers={"Authorization": f"Bearer {self.service_token}"},
                ) as response,
            ):
                if response.status == 404:
                    logger.info("%s user %s is not in the staff directory", platform, user_id)
                    return None, 0.0
                if response.status != 200:
                    logger.error(
                        "staff look-up for %s user %s failed: HTTP %d %s",
                        platform,
                        user_id,
                        response.status,
                        (await response.text())[:200],
                    )
                    return None
                body: Any = await response.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as problem:
            logger.error("staff look-up for %s user %s failed: %r", platform, user_id, problem)
            return None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            logger.error("staff look-up for %s user %s: no token in the answer", platform, user_id)
            return None
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, (int, float)) and expires_in > 0 else 300.0
        return token, lifetime


class SeenRecently:
    """Keys seen in the last ``ttl_s`` seconds (event ids, message ids, signatures): replays and
    platform retries are recognised. In memory, per Rasa process."""

    def __init__(
        self, ttl_s: float, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._seen: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    def _expire(self) -> None:
        now = self._clock()
        while self._seen:
            key, (at, _) = next(iter(self._seen.items()))
            if now - at <= self.ttl_s and len(self._seen) <= self.max_entries:
                break
            self._seen.popitem(last=False)

    def get(self, key: str) -> Any:
        self._expire()
        found = self._seen.get(key)
        return None if found is None else found[1]

    def __contains__(self, key: str) -> bool:
        self._expire()
        return key in self._seen

    def add(self, key: str, value: Any = True) -> bool:
        """Remember ``key``; False when it was already there (a duplicate)."""
        self._expire()
        if key in self._seen:
            return False
        self._seen[key] = (self._clock(), value)
        return True


class SharedSeenRecently:
    """``SeenRecently`` kept in Redis, so that every Rasa replica (and a restarted one) recognises a
    replayed signature or a re-delivered event: SET NX with an expiry, one key per value seen. When
    Redis cannot be reached, the process's own memory stands in (and it says so in the log)."""

    def __init__(self, url: str, namespace: str, ttl_s: float, client: Any = None) -> None:
        import redis  # Rasa's own dependency (its Redis lock store)

        self.ttl_s = ttl_s
        self.namespace = namespace
        self._client = client or redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._local = SeenRecently(ttl_s)
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)

    def _key(self, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return f"orderbot:seen:{self.namespace}:{digest}"

    def get(self, key: str) -> Any:
        try:
            found = self._client.get(self._key(key))
        except self._errors:
            logger.warning("replay guard: Redis unreachable, using this process's memory")
            return self._local.get(key)
        return None if found is None else found.decode()

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def add(self, key: str, value: Any = True) -> bool:
        """Remember ``key``; False when it was already there (a duplicate, in any replica)."""
        try:
            stored = self._client.set(self._key(key), str(value), nx=True, ex=max(1, int(self.ttl_s)))
        except self._errors:
            logger.warning("replay guard: Redis unreachable, using this process's memory")
            return self._local.add(key, value)
        return bool(stored)


def seen_recently(namespace: str, ttl_s: float) -> SeenRecently | SharedSeenRecently:
    """Shared through Redis when ``ORDERBOT_REDIS_URL`` is set (several Rasa replicas), else in
    this process's memory (the embedded default: one Rasa)."""
    url = os.environ.get("ORDERBOT_REDIS_URL", "").strip()
    return SharedSeenRecently(url, namespace, ttl_s) if url else SeenRecently(ttl_s)


def conversation_id(platform: str, secret: str, *parts: str) -> str:
    """The Rasa sender id of a verified platform conversation.

    The REST and socket.io channels accept any sender id, so a readable id like ``slack:U123`` would let
    anybody write into a staff member's conversation (answer the "ship it?" question of their form, fill
    its slots). A keyed digest of the channel secret makes the id impossible to guess from outside.
    """
    readable = ":".join([platform, *parts])
    digest = hmac.new(secret.encode("utf-8"), readable.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{readable[:96]}:{digest[:24]}"


def keep_task(tasks: set[asyncio.Task], coroutine) -> asyncio.Task:
    """Run ``coroutine`` in the background, holding a reference until it ends (asyncio drops others)."""
    task = asyncio.create_task(coroutine)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return task
