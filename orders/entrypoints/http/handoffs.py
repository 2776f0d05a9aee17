"""Handoff tickets: opened by the assistant (or a signed-in user), listed, joined, read and answered in
the console, written to by their customer meanwhile, closed (which hands the conversation back to the
bot)."""

from __future__ import annotations

from flask import jsonify

from orders.domain.access import Actor, Role, Source
from orders.entrypoints import schemas
from orders.entrypoints.http.dependencies import actor, deps, is_service_call, new_uow
from orders.entrypoints.http.errors import COMMON, ERROR, error
from orders.entrypoints.http.serializers import iso
from orders.entrypoints.openapi import ApiRoutes
from orders.service_layer import handoff_conversations, services, views

routes = ApiRoutes()
ASSISTANT = Actor("assistant", Role.OPERATIONS, Source.CHAT)


@routes.operation(
    "/api/v1/handoffs",
    "POST",
    summary="Open a handoff ticket (action server, or a signed-in user)",
    tag="handoffs",
    body=schemas.HandoffIn,
    responses={201: ("the ticket", schemas.HandoffOut), **COMMON},
)
def open_handoff(body: schemas.HandoffIn):
    who = ASSISTANT if is_service_call() else actor()
    ticket_id = services.open_handoff(
        new_uow(), body.conversation_id, body.channel, body.message, body.language, who
    )
    response = jsonify(_ticket_json(views.handoff(new_uow(), ticket_id)))
    response.status_code = 201
    return response


@routes.operation(
    "/api/v1/handoffs",
    "GET",
    summary="Handoff tickets (operations)",
    tag="handoffs",
    query=schemas.HandoffQuery,
    responses={200: ("tickets", schemas.HandoffList), 403: ("not allowed", ERROR), **COMMON},
)
def list_handoffs(query: schemas.HandoffQuery):
    tickets = views.handoffs(new_uow(), actor(), query.status, query.limit)
    return jsonify({"items": [_ticket_json(r) for r in tickets]})


@routes.operation(
    "/api/v1/handoffs/<int:ticket_id>/close",
    "POST",
    summary="Close a handoff ticket",
    tag="handoffs",
    responses={
        200: ("closed; the conversation is handed back to the bot", schemas.HandoffClosedOut),
        403: ("not allowed", ERROR),
        404: ("no open ticket", ERROR),
        **COMMON,
    },
)
def close_handoff(ticket_id: int):
    closed = handoff_conversations.close(
        new_uow(), ticket_id, actor(), deps().conversations, deps().signer.owns
    )
    if closed is None:
        return error(404, "ticket_not_found", f"No open ticket #{ticket_id}.")
    ticket, resumed = closed
    return jsonify({**_ticket_json(ticket), "bot_resumed": resumed})


def _ticket_json(ticket: dict) -> dict:
    return iso({k: v for k, v in ticket.items() if k != "read_through"})


@routes.operation(
    "/api/v1/handoffs/<int:ticket_id>/join",
    "POST",
    summary="Take a ticket: its customer is told a colleague has joined (once); marks it read",
    tag="handoffs",
    responses={
        200: ("the ticket", schemas.HandoffOut),
        403: ("not allowed", ERROR),
        404: ("no such ticket", ERROR),
        409: ("the ticket is closed", ERROR),
        **COMMON,
    },
)
def join_handoff(ticket_id: int):
    return jsonify(_ticket_json(services.join_handoff(new_uow(), ticket_id, actor())))


@routes.operation(
    "/api/v1/handoffs/<int:ticket_id>/read",
    "POST",
    summary="Mark what the ticket's customer wrote so far as read",
    tag="handoffs",
    responses={
        200: ("the ticket", schemas.HandoffOut),
        403: ("not allowed", ERROR),
        404: ("no such ticket", ERROR),
        **COMMON,
    },
)
def read_handoff(ticket_id: int):
    return jsonify(_ticket_json(services.read_handoff(new_uow(), ticket_id, actor())))


@routes.operation(
    "/api/v1/handoffs/<int:ticket_id>/messages",
    "POST",
    summary="The ticket's customer writes to staff (the chat page, while a person handles the chat)",
    tag="handoffs",
    body=schemas.HandoffMessageIn,
    responses={
        201: ("stored and pushed to the consoles", schemas.HandoffMessageOut),
        403: ("not the ticket's customer", ERROR),
        404: ("no such ticket of the caller's", ERROR),
        409: ("the ticket is closed: the assistant answers again", ERROR),
        **COMMON,
    },
)
def write_to_handoff(ticket_id: int, body: schemas.HandoffMessageIn):
    written = services.write_to_handoff(new_uow(), ticket_id, body.message, actor())
    response = jsonify(iso(written))
    response.status_code = 201
    return response


@routes.operation(
    "/api/v1/handoffs/<int:ticket_id>/conversation",
    "GET",
    summary="What was said under a ticket: the chat (if it is the ticket's customer's) and staff answers",
    tag="handoffs",
    responses={
        200: ("the conversation", schemas.HandoffConversationOut),
        403: ("not allowed", ERROR),
        404: ("no such ticket", ERROR),
        **COMMON,
    },
)
def handoff_conversation(ticket_id: int):
    found = handoff_conversations.conversation(
        new_uow(), deps().engine, ticket_id, actor(), deps().conversations, deps().signer.owns
    )
    if found is None:
        return error(404, "ticket_not_found", f"No handoff ticket #{ticket_id}.")
    items = [{**m, "at": m["at"].isoformat()} for m in found.items]
    return jsonify(
        {"ticket_id": ticket_id, "available": found.available, "withheld": found.withheld, "items": items}
    )


@routes.operation(
    "/api/v1/handoffs/<int:ticket_id>/reply",
    "POST",
    summary="Answer the ticket's customer in their chat",
    tag="handoffs",
    body=schemas.HandoffReplyIn,
    responses={
        201: ("sent", schemas.HandoffReplyOut),
        403: ("not allowed", ERROR),
        404: ("no such ticket", ERROR),
        409: ("the ticket is closed", ERROR),
        422: ("nobody to answer", ERROR),
        **COMMON,
    },
)
def handoff_reply(ticket_id: int, body: schemas.HandoffReplyIn):
    customer_id = services.reply_handoff(new_uow(), ticket_id, body.message, actor())
    response = jsonify({"ticket_id": ticket_id, "customer_id": customer_id, "message": body.message})
    response.status_code = 201
    return response
