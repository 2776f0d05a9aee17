"""``Idempotency-Key`` on POST: the same key from the same caller gets the first answer again.

The key is reserved before the request runs (a row without an answer yet, committed at once), so a
repeat that arrives while the first is still running waits for that first answer instead of racing it
(on PostgreSQL the race ended in ``409 concurrent_update`` for every repeat but one).
"""

from __future__ import annotations

import functools
import time
from datetime import timedelta

from flask import Response, current_app, request
from sqlalchemy.exc import IntegrityError

from orders.clock import utcnow
from orders.entrypoints.http.dependencies import actor, new_uow
from orders.entrypoints.http.errors import error
from orders.entrypoints.openapi import RequestInvalid, check_text

MAX_KEY_CHARS = 128
PENDING = 0  # the status code of a reserved key whose request has not answered yet
# A repeat waits this long for the first request's answer (imports run longest), then is told to retry.
WAIT_FOR_FIRST_S = 60.0
# A reservation this old belongs to a request that died (a killed worker): a repeat may run instead.
ABANDONED_AFTER = timedelta(minutes=15)


def idempotent(view):
    @functools.wraps(view)
    def replay_or_run(**kwargs):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view(**kwargs)
        if len(key) > MAX_KEY_CHARS:
            raise RequestInvalid(f"Idempotency-Key is at most {MAX_KEY_CHARS} characters.")
        check_text(key, "Idempotency-Key header")
        who = actor()
        principal = f"{who.role.value}:{who.customer_id or who.name}"
        deadline = time.monotonic() + WAIT_FOR_FIRST_S
        pause = 0.02
        while True:
            reserved_at = _reserve(principal, key)
            if reserved_at is not None:
                return _run_and_store(view, kwargs, principal, key, reserved_at)
            with new_uow() as uow:
                seen = uow.idempotency.get(principal, key)
            if seen is None:  # the first request failed and let the key go: this one runs
                continue
            if (seen["method"], seen["path"]) != (request.method, request.path):
                return error(
                    422, "idempotency_key_reused", "This Idempotency-Key was used for another request."
                )
            if seen["status_code"] != PENDING:
                replay = Response(seen["body"], status=seen["status_code"], mimetype="application/json")
                replay.headers["Idempotent-Replayed"] = "true"
                return replay
            if utcnow() - seen["created_at"] > ABANDONED_AFTER:
                with new_uow() as uow:
                    uow.idempotency.remove(principal, key, seen["created_at"])
                    uow.commit()
                continue
            if time.monotonic() > deadline:
                answer = error(
                    409,
                    "idempotency_key_in_use",
                    "A request with this Idempotency-Key is still running; repeat it later for its answer.",
                )
                answer.headers["Retry-After"] = "5"
                return answer
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    return replay_or_run


def _reserve(principal: str, key: str):
    """Claim the key for this request; its reservation time, or None when another request holds it."""
    now = utcnow()
    try:
        with new_uow() as uow:
            uow.idempotency.add(
                principal=principal,
                key=key,
                method=request.method,
                path=request.path,
                status_code=PENDING,
                body="",
                created_at=now,
            )
            uow.commit()
    except IntegrityError:
        return None
    return now


def _run_and_store(view, kwargs, principal: str, key: str, reserved_at) -> Response:
    """Run the request that holds the key; keep its answer for repeats, or free the key when it failed
    on our side (a 5xx, an exception), so that a repeat runs it again."""
    try:
        response = current_app.make_response(view(**kwargs))
    except BaseException:
        _release(principal, key, reserved_at)
        raise
    if response.status_code >= 500:
        _release(principal, key, reserved_at)
        return response
    with new_uow() as uow:
        uow.idempotency.answer(principal, key, response.status_code, response.get_data(as_text=True))
        uow.commit()
    return response


def _release(principal: str, key: str, reserved_at) -> None:
    with new_uow() as uow:
        uow.idempotency.remove(principal, key, reserved_at)
        uow.commit()
