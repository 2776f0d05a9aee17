"""Sign-in throttling: guessing a password or a customer's e-mail or phone gets slower with each miss,
without letting the guesser lock the real person out.

A sign-in names a *kind* (``staff``, ``customer``), an *account* (the user name, the order number) and
comes from an *address* (the client's IP address, or the chat user the action server names). Each
attempt is counted in three tallies:

- the account from this address: ``max_failures`` failures (5) lock this pair;
- the address, whatever the accounts: ``max_address_failures`` (20) lock the address, against trying
  many order numbers (they are sequential) from one place;
- the account, from every address: ``max_account_failures`` (20) lock the account, but only for the
  addresses that have themselves failed for it. A clean address with the right credentials always gets
  in, so an attacker spread over many addresses cannot lock the real person out; each new address of
  theirs gets a single try at that account. Chat users are the exception: a chat user id costs nothing
  to change (a new conversation), so a locked account holds back every chat user, while the sign-in
  form of the chat page (the person's own address) stays open.

A lock lasts ``first_wait`` at the limit's failure and doubles with each further one, up to
``max_wait``; a tally is forgotten ``forget_after`` seconds after its last failure. A success forgets
the pair's tally (not the address's nor the account's: an attacker's own order must not wipe their
record). The lock is checked *before* the credentials, so a locked caller learns nothing from a right
guess (429 whatever it sent).

Concurrent guesses are counted as they start: an attempt is *in flight* from its start to its outcome,
and once the failures plus the attempts in flight reach a limit, further attempts wait for those to
finish (429, one second) rather than all being checked before any failure is counted. An attempt whose
process died stops counting as in flight after ``IN_FLIGHT_SECONDS``.

The tallies live in a ``TallyStore`` (``orders.adapters.signin_tallies``): in this process, or in Redis
so that every order-service process sees the same. When the store fails, sign-in goes on unthrottled
(logged): throttling must not take sign-in down with it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol, TypeVar
from urllib.parse import quote

from orders.clock import utcnow

if TYPE_CHECKING:
    from orders.config import Settings

log = logging.getLogger(__name__)

IN_FLIGHT_SECONDS = 30.0  # far longer than a sign-in takes; after it an unfinished attempt is dropped
IN_FLIGHT_WAIT_SECONDS = 1.0  # the Retry-After while other attempts at the same limit are in flight
KINDS = ("staff", "customer")

T = TypeVar("T")


@dataclass(frozen=True)
class Tally:
    """What one counter remembers, as plain numbers (times are seconds since the epoch)."""

    failures: int = 0
    locked_until: float = 0.0
    in_flight: int = 0
    in_flight_until: float = 0.0  # when the attempts in flight stop counting
    forget_at: float = 0.0  # when the store may drop this tally

    def at(self, now: float) -> Tally:
        """This tally as it stands at ``now``: forgotten, or without its stale attempts in flight."""
        if self.forget_at <= now:
            return BLANK
        if self.in_flight and self.in_flight_until <= now:
            return replace(self, in_flight=0, in_flight_until=0.0)
        return self

    def kept(self, now: float) -> Tally:
        """``BLANK`` when nothing here still matters at ``now`` (the store deletes it), else itself."""
        if self.failures == 0 and self.in_flight == 0 and self.locked_until <= now:
            return BLANK
        return self


BLANK = Tally()

# The tallies of some keys, as read -> (the tallies to store, in the same order; the result).
Change = Callable[[list[Tally]], tuple[list[Tally], T]]


class TallyStoreBusy(Exception):
    """Others kept changing the same tallies while this change was computed: it was given up."""


class TallyStore(Protocol):
    def update(self, keys: Sequence[str], change: Change[T]) -> T:
        """Atomically read the tallies of ``keys`` (``BLANK`` for a missing one), apply ``change`` and
        store what it returns: ``BLANK`` deletes the key, any other tally is dropped at its
        ``forget_at``. ``change`` may run more than once (an optimistic store retries): it must not
        do anything but compute. Raises ``TallyStoreBusy`` when it could not get a consistent turn."""
        ...


@dataclass(frozen=True)
class ThrottleLimits:
    max_failures: int = 5  # of one account from one address; 0: no limit
    max_address_failures: int = 20  # from one address
    max_account_failures: int = 20  # of one account from every address
    first_wait_seconds: float = 1.0
    max_wait_seconds: float = 900.0
    forget_after_seconds: float = 3600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ThrottleLimits:
        return cls(
            max_failures=settings.signin_max_failures,
            max_address_failures=settings.signin_max_address_failures,
            max_account_failures=settings.signin_max_account_failures,
            first_wait_seconds=settings.signin_first_wait_seconds,
            max_wait_seconds=settings.signin_max_wait_seconds,
            forget_after_seconds=settings.signin_forget_after_seconds,
        )

    def wait(self, failures: int, limit: int) -> float:
        """How long a tally with ``failures`` is locked: ``first_wait`` at ``limit``, doubled by each
        further failure, at most ``max_wait``."""
        beyond = min(failures - limit, 64)  # 2**64 seconds is past any cap
        return min(self.max_wait_seconds, self.first_wait_seconds * 2**beyond)


class SigninThrottled(Exception):
    """Too many failed sign-ins: try again in ``retry_after`` whole seconds."""

    def __init__(self, kind: str, seconds: float) -> None:
        self.kind = kind
        self.retry_after = max(1, math.ceil(seconds))
        super().__init__(f"{kind} sign-in throttled for {self.retry_after} s")


class SigninThrottle:
    """The rules above over a ``TallyStore``; one per order-service process, shared by its threads."""

    def __init__(
        self,
        store: TallyStore,
        limits: ThrottleLimits,
        clock: Callable[[], float] = lambda: utcnow().timestamp(),
    ) -> None:
        # Wall-clock time, not a monotonic one: processes sharing a Redis compare each other's times.
        self.store = store
        self.limits = limits
        self.clock = clock

    def attempt(self, kind: str, account: str, address: str, *, chat_user: bool = False) -> SigninAttempt:
        """Start a sign-in of ``account`` from ``address``, or raise ``SigninThrottled``. The caller then
        checks the credentials and reports ``failed()`` or ``succeeded()``; an attempt left unfinished
        (an exception) is released when used as a context manager."""
        if kind not in KINDS:
            raise ValueError(f"unknown sign-in kind {kind!r}")
        keys = [
            f"{kind}:pair:{quote(account, safe='')}:{quote(address, safe='')}",
            f"{kind}:address:{quote(address, safe='')}",
            f"{kind}:account:{quote(account, safe='')}",
        ]
        now = self.clock()
        try:
            wait = self.store.update(keys, lambda tallies: self._admit(tallies, now, chat_user))
        except TallyStoreBusy:  # many attempts at once on these tallies: this one waits its turn
            raise SigninThrottled(kind, IN_FLIGHT_WAIT_SECONDS) from None
        except Exception:
            log.warning("sign-in throttle: tallies not readable, not throttling", exc_info=True)
            return SigninAttempt(self, keys, tracked=False)
        if wait > 0:
            raise SigninThrottled(kind, wait)
        return SigninAttempt(self, keys, tracked=True)

    # The changes to the tallies [pair, address, account]; each is pure (a store may rerun it).

    def _limits(self) -> tuple[int, int, int]:
        return self.limits.max_failures, self.limits.max_address_failures, self.limits.max_account_failures

    def _admit(self, tallies: list[Tally], now: float, chat_user: bool) -> tuple[list[Tally], float]:
        pair, address, account = current = [tally.at(now) for tally in tallies]
        pair_limit, address_limit, account_limit = self._limits()
        binding = [(pair, pair_limit), (address, address_limit)]
        if chat_user or pair.failures:
            binding.append((account, account_limit))
        wait = max(_holds_back(tally, limit, now) for tally, limit in binding)
        if wait > 0:
            return current, wait
        until = now + IN_FLIGHT_SECONDS
        started = [
            replace(t, in_flight=t.in_flight + 1, in_flight_until=until, forget_at=max(t.forget_at, until))
            for t in current
        ]
        return started, 0.0

    def _fail(self, tallies: list[Tally], now: float) -> tuple[list[Tally], None]:
        failed = []
        for tally, limit in zip(tallies, self._limits(), strict=True):
            tally = _released(tally.at(now))
            failures = tally.failures + 1
            locked_until = tally.locked_until
            if limit and failures >= limit:
                locked_until = max(locked_until, now + self.limits.wait(failures, limit))
            forget_at = max(now + self.limits.forget_after_seconds, locked_until, tally.forget_at)
            failed.append(replace(tally, failures=failures, locked_until=locked_until, forget_at=forget_at))
        return failed, None

    def _succeed(self, tallies: list[Tally], now: float) -> tuple[list[Tally], None]:
        _pair, address, account = (tally.at(now) for tally in tallies)
        return [BLANK, _released(address).kept(now), _released(account).kept(now)], None

    def _abandon(self, tallies: list[Tally], now: float) -> tuple[list[Tally], None]:
        return [_released(tally.at(now)).kept(now) for tally in tallies], None


def _holds_back(tally: Tally, limit: int, now: float) -> float:
    """Seconds this tally makes a new attempt wait: its lock, or a moment while the attempts already in
    flight could reach its limit."""
    if not limit:
        return 0.0
    if tally.locked_until > now:
        return tally.locked_until - now
    if tally.in_flight and tally.failures + tally.in_flight >= limit:
        return IN_FLIGHT_WAIT_SECONDS
    return 0.0


def _released(tally: Tally) -> Tally:
    if not tally.in_flight:
        return tally
    in_flight = tally.in_flight - 1
    return replace(tally, in_flight=in_flight, in_flight_until=tally.in_flight_until if in_flight else 0.0)


class SigninAttempt:
    """One sign-in between its admission and its outcome."""

    def __init__(self, throttle: SigninThrottle, keys: list[str], tracked: bool) -> None:
        self._throttle = throttle
        self._keys = keys
        self._open = tracked  # an untracked attempt (the store failed) has nothing to report

    def failed(self) -> None:
        self._finish(self._throttle._fail)

    def succeeded(self) -> None:
        self._finish(self._throttle._succeed)

    def __enter__(self) -> SigninAttempt:
        return self

    def __exit__(self, *_exc) -> None:
        if self._open:  # neither failed nor succeeded: an exception; only its place in flight ends
            self._finish(self._throttle._abandon)

    def _finish(self, change: Callable[[list[Tally], float], tuple[list[Tally], None]]) -> None:
        if not self._open:
            return
        self._open = False
        now = self._throttle.clock()
        try:
            self._throttle.store.update(self._keys, lambda tallies: change(tallies, now))
        except Exception:
            log.warning("sign-in throttle: outcome not recorded", exc_info=True)
