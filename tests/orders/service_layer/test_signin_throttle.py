"""The sign-in throttle's rules, on the in-process tallies and a clock the tests move (no sleeping)."""

from __future__ import annotations

import pytest

from orders.adapters.signin_tallies import InProcessTallies
from orders.service_layer.signin_throttle import (
    IN_FLIGHT_SECONDS,
    SigninThrottle,
    SigninThrottled,
    TallyStoreBusy,
    ThrottleLimits,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def throttle_with(clock: Clock, **limits) -> SigninThrottle:
    return SigninThrottle(InProcessTallies(clock), ThrottleLimits(**limits), clock)


def fail(throttle: SigninThrottle, account: str, address: str, kind: str = "customer", chat_user=False):
    with throttle.attempt(kind, account, address, chat_user=chat_user) as attempt:
        attempt.failed()


def succeed(throttle: SigninThrottle, account: str, address: str, kind: str = "customer", chat_user=False):
    with throttle.attempt(kind, account, address, chat_user=chat_user) as attempt:
        attempt.succeeded()


def retry_after(throttle: SigninThrottle, account: str, address: str, kind="customer", chat_user=False):
    with pytest.raises(SigninThrottled) as refused:
        throttle.attempt(kind, account, address, chat_user=chat_user)
    return refused.value.retry_after


def test_failures_past_the_limit_lock_for_a_wait_that_doubles_up_to_the_cap(clock):
    throttle = throttle_with(clock, max_failures=3, first_wait_seconds=1, max_wait_seconds=8)
    for _ in range(3):
        fail(throttle, "SO-1", "198.51.100.7")
    waits = []
    for _ in range(5):
        waits.append(retry_after(throttle, "SO-1", "198.51.100.7"))
        clock.advance(waits[-1] - 0.5)
        assert retry_after(throttle, "SO-1", "198.51.100.7") == 1  # still locked, half a second left
        clock.advance(0.5)
        fail(throttle, "SO-1", "198.51.100.7")  # the lock is over: one more try, wrong again
    assert waits == [1, 2, 4, 8, 8]


def test_a_locked_pair_holds_back_neither_another_address_nor_another_account(clock):
    throttle = throttle_with(clock, max_failures=3)
    for _ in range(3):
        fail(throttle, "SO-1", "198.51.100.7")
    assert retry_after(throttle, "SO-1", "198.51.100.7") == 1
    succeed(throttle, "SO-1", "203.0.113.9")  # the real customer, elsewhere
    succeed(throttle, "SO-2", "198.51.100.7")  # another order from the same address
    # staff and customer sign-ins are counted apart, even for the same name
    succeed(throttle, "SO-1", "198.51.100.7", kind="staff")


def test_a_success_forgets_the_pairs_failures(clock):
    throttle = throttle_with(clock, max_failures=3)
    for _ in range(2):
        fail(throttle, "wang", "198.51.100.7", kind="staff")
    succeed(throttle, "wang", "198.51.100.7", kind="staff")
    for _ in range(2):
        fail(throttle, "wang", "198.51.100.7", kind="staff")
    succeed(throttle, "wang", "198.51.100.7", kind="staff")  # 2 + 2 failures, never 3 in a row


def test_failures_are_forgotten_after_a_quiet_while(clock):
    throttle = throttle_with(clock, max_failures=3, forget_after_seconds=600)
    for _ in range(2):
        fail(throttle, "SO-1", "198.51.100.7")
    clock.advance(599)
    fail(throttle, "SO-1", "198.51.100.7")  # the third within the window: locked
    assert retry_after(throttle, "SO-1", "198.51.100.7") == 1
    clock.advance(601)
    for _ in range(2):
        fail(throttle, "SO-1", "198.51.100.7")
    succeed(throttle, "SO-1", "198.51.100.7")  # the earlier three were forgotten


def test_guessing_many_order_numbers_from_one_address_locks_the_address(clock):
    throttle = throttle_with(clock, max_failures=5, max_address_failures=4)
    for number in range(4):
        fail(throttle, f"SO-{number}", "198.51.100.7")
    assert retry_after(throttle, "SO-99", "198.51.100.7") == 1  # even an order not tried yet
    succeed(throttle, "SO-99", "203.0.113.9")


def test_an_account_guessed_from_many_addresses_locks_only_the_addresses_that_failed(clock):
    throttle = throttle_with(clock, max_failures=5, max_account_failures=3)
    attackers = ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
    for address in attackers:
        fail(throttle, "SO-1", address)
    for address in attackers:  # each has failed for SO-1: the account's lock holds it back
        assert retry_after(throttle, "SO-1", address) == 1
    succeed(throttle, "SO-1", "203.0.113.9")  # a clean address with the right proof gets in
    fail(throttle, "SO-1", "198.51.100.4")  # a new attacker address: one try, then it is held back too
    assert retry_after(throttle, "SO-1", "198.51.100.4") == 2  # the account's fourth failure: 2 s
    succeed(throttle, "SO-2", attackers[0])  # other accounts are not locked


def test_chat_users_are_all_held_back_by_an_accounts_lock(clock):
    """A chat user id costs nothing to change, so a locked account refuses every chat user; the chat
    page's own sign-in form (the person's address) stays open."""
    throttle = throttle_with(clock, max_failures=5, max_account_failures=3)
    for sender in ("chat:a", "chat:b", "chat:c"):
        fail(throttle, "SO-1", sender, chat_user=True)
    assert retry_after(throttle, "SO-1", "chat:never-seen", chat_user=True) == 1
    succeed(throttle, "SO-1", "203.0.113.9")


def test_concurrent_attempts_cannot_all_be_checked_before_a_failure_is_counted(clock):
    throttle = throttle_with(clock, max_failures=2)
    first = throttle.attempt("customer", "SO-1", "198.51.100.7")
    second = throttle.attempt("customer", "SO-1", "198.51.100.7")
    assert retry_after(throttle, "SO-1", "198.51.100.7") == 1  # two in flight could reach the limit
    first.failed()
    assert retry_after(throttle, "SO-1", "198.51.100.7") == 1
    second.succeeded()
    succeed(throttle, "SO-1", "198.51.100.7")


def test_an_attempt_that_ends_in_an_exception_only_leaves_the_flight(clock):
    throttle = throttle_with(clock, max_failures=1)
    with pytest.raises(RuntimeError), throttle.attempt("customer", "SO-1", "198.51.100.7"):
        raise RuntimeError("database gone")
    succeed(throttle, "SO-1", "198.51.100.7")  # neither counted as a failure nor still in flight


def test_an_attempt_whose_process_died_stops_counting_as_in_flight(clock):
    throttle = throttle_with(clock, max_failures=1)
    throttle.attempt("customer", "SO-1", "198.51.100.7")  # never finished
    assert retry_after(throttle, "SO-1", "198.51.100.7") == 1
    clock.advance(IN_FLIGHT_SECONDS)
    succeed(throttle, "SO-1", "198.51.100.7")


def test_a_limit_of_zero_turns_its_rule_off(clock):
    throttle = throttle_with(clock, max_failures=0, max_address_failures=0, max_account_failures=0)
    for _ in range(50):
        fail(throttle, "SO-1", "198.51.100.7")
    succeed(throttle, "SO-1", "198.51.100.7")


class BrokenTallies:
    def __init__(self, problem: Exception) -> None:
        self.problem = problem

    def update(self, keys, change):
        raise self.problem


def test_sign_in_goes_on_when_the_tallies_cannot_be_read(clock):
    throttle = SigninThrottle(BrokenTallies(ConnectionError("Redis down")), ThrottleLimits(max_failures=1))
    for _ in range(3):
        fail(throttle, "SO-1", "198.51.100.7")  # not throttled, nothing raised


def test_an_attempt_waits_when_others_keep_changing_its_tallies(clock):
    throttle = SigninThrottle(BrokenTallies(TallyStoreBusy("contended")), ThrottleLimits())
    assert retry_after(throttle, "SO-1", "198.51.100.7") == 1


def test_forgotten_tallies_leave_the_in_process_store(clock):
    tallies = InProcessTallies(clock)
    throttle = SigninThrottle(tallies, ThrottleLimits(forget_after_seconds=600), clock)
    for number in range(100):
        fail(throttle, f"SO-{number}", f"198.51.100.{number}")
    assert len(tallies) == 300  # a pair, an address and an account per failure
    clock.advance(600 + InProcessTallies.SWEEP_SECONDS)
    succeed(throttle, "SO-1", "203.0.113.9")
    assert len(tallies) == 0
