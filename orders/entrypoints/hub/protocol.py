"""What the notification hub and its clients say to each other, and how a connection signs in.

Protocol (``/ws/notifications``), JSON text frames:

client -> ``{"type":"auth","token":"<JWT>","after":<last event id or null>}`` as the first message,
          within ``hub_auth_timeout_seconds``; a token anywhere else (query string, headers) is ignored.
server -> ``{"type":"ready","role":"<role>","after":<id>}``: the stream continues after that id.
          ``after: null`` means live events only, and ``ready.after`` is then the id to reconnect with.
          With an id, the events the client missed (from the database, younger than the retention)
          come first, then live ones: no gap, no reordering; a repeated id is the same event.
server -> ``{"type":"event","id":…,"event_type":…,"order_id":…,"customer_id":…,"time":"ISO-8601",
          "recipient_role":…,"message":{"en":…,"zh":…},"data":{…}}``
server -> ``{"type":"ping"}`` every ``hub_heartbeat_seconds``;
          client ``{"type":"ping"}`` -> server ``{"type":"pong"}``
server -> ``{"type":"error","code":…,"message":…}``: malformed JSON, unknown type, a second auth
          (the identity of a connection never changes): the connection stays open.
close codes: 4001 authentication failed or timed out, or the token expired (a connection lives no
longer than its token), 4008 client too slow (its buffer overflowed
while it was behind on reading: reconnect with the last id), 1009 message too big (closed by the
WebSocket layer, simple-websocket, before the message is read whole).

Scoping comes from the token only: a customer gets the customer events of its own customer id;
warehouse and finance get their role's events; operations gets every event.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from orderbot_common import untrusted_json

from orders.entrypoints.auth import TokenSigner, Unauthenticated

log = logging.getLogger(__name__)


PATH = "/ws/notifications"
CLOSE_AUTH_FAILED = 4001
CLOSE_TOO_SLOW = 4008
LAG_SECONDS = 1.0  # a client whose socket stays full this long while its queue overflows is too slow
# What a client sends is flat (an auth, a ping); deeper is not ours to read. Its size is bounded by
# the transport (ORDERBOT_HUB_MAX_MESSAGE_BYTES: 1009 beyond it).
MAX_FRAME_DEPTH = 8
REPLAY_ROUNDS = 5  # catch-up rounds from the database while live events outrun a replay


def message_frame(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, **fields}, ensure_ascii=False)


def error_frame(code: str, message: str) -> str:
    return message_frame("error", code=code, message=message)


class Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, str):
        raise Refused("malformed", "Send JSON text frames.")
    try:
        message = untrusted_json.load(raw, max_bytes=None, max_depth=MAX_FRAME_DEPTH, what="The message")
    except untrusted_json.UntrustedJson as problem:
        raise Refused("malformed", str(problem)) from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise Refused("malformed", 'A message is a JSON object with a "type".')
    return message


def authenticate(ws, signer: TokenSigner, timeout: float):
    """The first message must be a valid auth; returns (actor, after, the token's expiry), or raises
    Refused."""
    raw = ws.receive(timeout=timeout)
    if raw is None:
        raise Refused("auth_timeout", f"Send an auth message within {timeout:g} seconds.")
    message = parse(raw)
    if message["type"] != "auth" or not isinstance(message.get("token"), str):
        raise Refused("auth_required", 'The first message must be {"type":"auth","token":...}.')
    after = message.get("after")
    if after is not None and (isinstance(after, bool) or not isinstance(after, int) or after < 0):
        raise Refused("invalid_after", '"after" must be the last event id received, or null.')
    try:
        actor = signer.actor(f"Bearer {message['token']}")
        expires_at = signer.expires_at(message["token"])
    except Unauthenticated as problem:
        raise Refused("unauthenticated", str(problem)) from None
    return actor, after, expires_at
