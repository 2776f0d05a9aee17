"""The HTTP side that the Slack and DingTalk callbacks share: settings, refusals, the JSON body."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any

from orderbot_common import untrusted_json
from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.staff_identity import MAX_BODY_BYTES

Handler = Callable[[Request, Callable[[UserMessage], Awaitable[Any]]], Awaitable[HTTPResponse]]


def setting(credentials: Mapping[str, Any], key: str, variable: str, default: Any = None) -> Any:
    """``credentials.yml``'s value for ``key`` when set, else the environment variable, else ``default``."""
    value = credentials.get(key)
    return value if value not in (None, "") else (os.environ.get(variable) or default)


def refuse(status: HTTPStatus, text: str) -> HTTPResponse:
    return response.text(text, status=status)


def too_large(request: Request) -> HTTPResponse | None:
    if len(request.body or b"") > MAX_BODY_BYTES:
        return refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request body too large.")
    return None


# Slack's and DingTalk's callbacks nest a few levels (blocks, rich text); far deeper is not theirs.
MAX_JSON_DEPTH = 64


def json_object(body: bytes) -> dict[str, Any] | HTTPResponse:
    """The body as a JSON object, or the 400 that says why it is not one (nesting is bounded before
    parsing; no text in it may hold a control character or a lone surrogate)."""
    try:
        payload = untrusted_json.load(
            body, max_bytes=MAX_BODY_BYTES, max_depth=MAX_JSON_DEPTH, what="The body"
        )
    except untrusted_json.UntrustedJson as problem:
        return refuse(
            HTTPStatus.BAD_REQUEST, "Malformed JSON." if problem.reason == "not_json" else str(problem)
        )
    if not isinstance(payload, dict):
        return refuse(HTTPStatus.BAD_REQUEST, "Expected a JSON object.")
    return payload


def webhook_blueprint(
    name: str,
    configured: Callable[[], bool],
    handle: Handler,
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
) -> Blueprint:
    """``GET /`` (health: configured or not) and ``POST /webhook`` (the platform's callback)."""
    blueprint = Blueprint(name, __name__)

    @blueprint.route("/", methods=["GET"])
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok" if configured() else "not configured"})

    @blueprint.route("/webhook", methods=["POST"])
    async def webhook(request: Request) -> HTTPResponse:
        return await handle(request, on_new_message)

    return blueprint
