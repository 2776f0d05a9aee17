"""The signed-in customer's chat as it stood, for the chat page to show again after a reload."""

from __future__ import annotations

from flask import jsonify

from orders.entrypoints import schemas
from orders.entrypoints.http.dependencies import actor, deps, new_uow
from orders.entrypoints.http.errors import COMMON, ERROR, error
from orders.entrypoints.http.serializers import iso, notification_json
from orders.entrypoints.openapi import ApiRoutes
from orders.service_layer import chat_history

routes = ApiRoutes()


@routes.operation(
    "/api/v1/me/conversation",
    "GET",
    summary="The caller's chat with the assistant: messages, notifications and staff answers, in order",
    tag="auth",
    query=schemas.ChatHistoryQuery,
    responses={
        200: ("the conversation", schemas.ChatHistoryOut),
        403: ("not a customer", ERROR),
        404: ("no conversation of the caller's by that id", ERROR),
        **COMMON,
    },
)
def my_conversation(query: schemas.ChatHistoryQuery):
    found = chat_history.history(
        new_uow(), query.conversation_id, actor(), deps().conversations, deps().signer.owns
    )
    if found is None:
        return error(404, "conversation_not_found", "You have no conversation by that id.")
    notifications = [notification_json(row) for row in found.notifications]
    return jsonify(
        {
            "conversation_id": query.conversation_id,
            "available": found.available,
            "messages": [iso(m) for m in found.messages],
            "notifications": notifications,
            "last_event_id": notifications[-1]["id"] if notifications else None,
            "handoff": found.handoff,
        }
    )
