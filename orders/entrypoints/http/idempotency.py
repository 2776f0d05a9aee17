"""``Idempotency-Key`` on POST: the same key from the same caller gets the first answer again."""

from __future__ import annotations

import functools

from flask import Response, current_app, request
from sqlalchemy.exc import IntegrityError

from orders.clock import utcnow
from orders.entrypoints.http.dependencies import actor, new_uow
from orders.entrypoints.http.errors import error
from orders.entrypoints.openapi import RequestInvalid

MAX_KEY_CHARS = 128


def idempotent(view):
    @functools.wraps(view)
    def replay_or_run(**kwargs):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view(**kwargs)
        if len(key) > MAX_KEY_CHARS:
            raise RequestInvalid(f"Idempotency-Key is at most {MAX_KEY_CHARS} characters.")
        who = actor()
        principal = f"{who.role.value}:{who.customer_id or who.name}"
        with new_uow() as uow:
            seen = uow.idempotency.get(principal, key)
        if seen is not None:
            if (seen["method"], seen["path"]) != (request.method, request.path):
                return error(
                    422, "idempotency_key_reused", "This Idempotency-Key was used for another request."
                )
            replay = Response(seen["body"], status=seen["status_code"], mimetype="application/json")
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        response = current_app.make_response(view(**kwargs))
        if response.status_code < 500:
            try:
                with new_uow() as uow:
                    uow.idempotency.add(
                        principal=principal,
                        key=key,
                        method=request.method,
                        path=request.path,
                        status_code=response.status_code,
                        body=response.get_data(as_text=True),
                        created_at=utcnow(),
                    )
                    uow.commit()
            except IntegrityError:  # a concurrent request with the same key stored its answer first
                pass
        return response

    return replay_or_run
