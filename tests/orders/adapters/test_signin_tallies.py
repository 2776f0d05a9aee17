"""The sign-in throttle's tally stores: in this process, and in the real Redis of this machine (skipped,
saying why, when it cannot be reached)."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace

import pytest

from orders.adapters.signin_tallies import InProcessTallies, RedisTallies
from orders.service_layer.signin_throttle import (
    BLANK,
    SigninThrottle,
    SigninThrottled,
    Tally,
    ThrottleLimits,
)
from tests.conftest import free_port
from tests.orders.conftest import REDIS_URL, redis_client


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own in the real Redis, its keys deleted afterwards."""
    client = redis_client()
    prefix = f"orderbot-test:signin:{uuid.uuid4().hex}"
    yield prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


@pytest.fixture(params=["in_process", "redis"])
def tallies(request):
    if request.param == "in_process":
        yield InProcessTallies()
    else:
        store = RedisTallies(REDIS_URL, request.getfixturevalue("redis_prefix"))
        yield store
        store.close()


def counted(tallies: list[Tally]) -> tuple[list[Tally], list[int]]:
    forget_at = time.time() + 60
    return [replace(t, failures=t.failures + 1, forget_at=forget_at) for t in tallies], [
        t.failures for t in tallies
    ]


def test_a_missing_tally_reads_blank_and_a_written_one_reads_back(tallies):
    assert tallies.update(["a", "b"], counted) == [0, 0]
    assert tallies.update(["a", "b"], counted) == [1, 1]
    stored = tallies.update(["a"], lambda read: (read, read[0]))
    assert stored.failures == 2 and stored.forget_at > time.time()
    locked = Tally(failures=7, locked_until=1.5e9 + 0.25, in_flight=2, in_flight_until=1.5e9, forget_at=2e9)
    tallies.update(["c"], lambda read: ([locked], None))
    assert tallies.update(["c"], lambda read: (read, read[0])) == locked  # every field, exactly


def test_writing_blank_deletes_the_tally(tallies):
    tallies.update(["a"], counted)
    tallies.update(["a"], lambda read: ([BLANK], None))
    assert tallies.update(["a"], lambda read: (read, read[0])) == BLANK


def test_concurrent_updates_of_the_same_tallies_lose_none(tallies):
    def count_many():
        for _ in range(25):
            tallies.update(["shared", "also"], counted)

    threads = [threading.Thread(target=count_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tallies.update(["shared", "also"], counted) == [200, 200]


def test_a_redis_tally_expires_when_it_is_forgotten(redis_prefix):
    client = redis_client()
    store = RedisTallies(REDIS_URL, redis_prefix)
    store.update(["a"], lambda read: ([Tally(failures=1, forget_at=time.time() + 30)], None))
    ttl_ms = client.pttl(f"{redis_prefix}:a")
    assert 29_000 < ttl_ms <= 30_001
    store.close()


def test_two_throttles_sharing_a_redis_count_each_others_failures(redis_prefix):
    """As two order-service processes do: one's failures lock the other's sign-ins."""
    limits = ThrottleLimits(max_failures=3)
    one = SigninThrottle(RedisTallies(REDIS_URL, redis_prefix), limits)
    two = SigninThrottle(RedisTallies(REDIS_URL, redis_prefix), limits)
    for throttle in (one, two, one):
        with throttle.attempt("staff", "wang", "198.51.100.7") as attempt:
            attempt.failed()
    with pytest.raises(SigninThrottled):
        two.attempt("staff", "wang", "198.51.100.7")
    with two.attempt("staff", "wang", "203.0.113.9") as attempt:  # another address: let in
        attempt.succeeded()


def test_sign_in_goes_on_unthrottled_when_redis_is_down():
    nobody = free_port()  # nothing listens there
    throttle = SigninThrottle(
        RedisTallies(f"redis://127.0.0.1:{nobody}/0", "orderbot-test", timeout_seconds=0.5),
        ThrottleLimits(max_failures=1),
    )
    for _ in range(3):
        with throttle.attempt("staff", "wang", "198.51.100.7") as attempt:
            attempt.failed()
