"""Rasa's socket.io channel, fixed for current python-socketio and hardened against bad input.

Rasa 3.6 calls ``sio.enter_room(...)`` without ``await``; python-socketio 5 made it a coroutine, so with
``session_persistence: true`` the socket never joins its session room and replies are lost
(RasaHQ/rasa#13027). We re-register the two affected handlers with the call awaited, and check what
clients send before it reaches Rasa.
"""

from __future__ import annotations

import inspect
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from orderbot_common import untrusted_json
from orderbot_common.text import describe, forbidden_character
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput
from sanic import Blueprint

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000
MAX_METADATA_BYTES = 16 * 1024
MAX_METADATA_DEPTH = 16


def checked_metadata(metadata: Any) -> dict[str, Any] | str:
    """The widget's metadata as a dict, or what is wrong with it. It arrives as an object or as JSON
    text, already parsed by socket.io (so its depth is bounded by re-encoding it, which recursion
    would otherwise break on): at most 16 KiB, MAX_METADATA_DEPTH levels, no forbidden character."""
    if not isinstance(metadata, str):
        try:
            metadata = json.dumps(metadata)
        except (TypeError, ValueError, RecursionError):
            return "send a JSON object."
    try:
        value = untrusted_json.load(
            metadata, max_bytes=MAX_METADATA_BYTES, max_depth=MAX_METADATA_DEPTH, what="the metadata"
        )
    except untrusted_json.UntrustedJson as problem:
        return str(problem)
    return value if isinstance(value, dict) else "send a JSON object of at most 16 KiB."


class SocketIOInput(RasaSocketIOInput):
    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        sio = self.sio

        async def reply_error(sid: str, text: str) -> None:
            await sio.emit(
                self.bot_message_evt, {"text": text, "error": True}, room=sid, namespace=self.namespace
            )

        async def session_request(sid: str, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            session_id = data.get("session_id")
            if (
                not isinstance(session_id, str)
                or not session_id
                or len(session_id) > 128
                or forbidden_character(session_id)
            ):
                session_id = uuid.uuid4().hex
            if self.session_persistence:
                entered = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(entered):
                    await entered
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        async def handle_message(sid: str, data: Any) -> None:
            if not isinstance(data, dict) or not isinstance(data.get("message", ""), str):
                await reply_error(sid, "Malformed message: send an object with a text `message`.")
                return
            text = data.get("message", "")
            if len(text) > MAX_MESSAGE_CHARS:
                await reply_error(sid, f"Message too long: at most {MAX_MESSAGE_CHARS} characters, please.")
                return
            if found := forbidden_character(text):
                await reply_error(sid, f"Malformed message: it contains {describe(found)} ({found}).")
                return
            if self.session_persistence:
                sender_id = data.get("session_id")
                if (
                    not isinstance(sender_id, str)
                    or not sender_id
                    or len(sender_id) > 128
                    or forbidden_character(sender_id)
                ):
                    await reply_error(sid, "No session: send `session_request` first and use its session_id.")
                    return
            else:
                sender_id = sid
            metadata = checked_metadata(data.get(self.metadata_key) or {})
            if not isinstance(metadata, dict):
                await reply_error(sid, f"Malformed metadata: {metadata}")
                return
            message = UserMessage(
                text,
                SocketIOOutput(sio, self.bot_message_evt),
                sender_id,
                input_channel=self.name(),
                metadata=metadata,
            )
            await on_new_message(message)

        sio.on("session_request", session_request, namespace=self.namespace)
        sio.on(self.user_message_evt, handle_message, namespace=self.namespace)
        return blueprint
