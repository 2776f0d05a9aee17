"""The notification hub: pushes outbox events to the WebSocket clients entitled to them, the moment
they happen, with nothing lost when a client or the hub reconnects.

- ``protocol``: what the hub and its clients say to each other (the frames, close codes, sign-in);
- ``routing``: who gets which event (one client's session, the hub of this process, replays);
- ``transport``: how a frame is written to a socket (whole, one at a time, bounded in time);
- ``endpoint``: one connection from its first message to its close, and ``register_hub``.
"""

from orders.entrypoints.hub.endpoint import register_hub
from orders.entrypoints.hub.protocol import LAG_SECONDS, PATH
from orders.entrypoints.hub.routing import Hub

__all__ = ["LAG_SECONDS", "PATH", "Hub", "register_hub"]
