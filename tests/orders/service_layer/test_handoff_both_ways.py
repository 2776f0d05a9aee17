"""Handoffs both ways: the customer writes to staff while a ticket is open, staff join and read it,
and the customer is told when a person joins and when the assistant is back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from orders.adapters.orm import audit_log, handoff_messages, outbox
from orders.domain.access import Actor, NotPermitted, Role, Source
from orders.domain.errors import DomainError
from orders.service_layer import services, views
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork

OPS = Actor("mei", Role.OPERATIONS, Source.REST)
LI = Actor("li", Role.OPERATIONS, Source.REST)
C7 = Actor("customer:C-007", Role.CUSTOMER, Source.CHAT, "C-007")


def uow(engine) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(engine)


def outbox_of(engine, event_type: str) -> list[dict]:
    with engine.connect() as connection:
        statement = select(outbox).where(outbox.c.event_type == event_type).order_by(outbox.c.id)
        return [dict(r) for r in connection.execute(statement).mappings()]


def ticket(engine, who: Actor = C7, conversation: str = "conv-7") -> int:
    return services.open_handoff(uow(engine), conversation, "socketio", "a person please", "en", who)


def test_opening_tells_the_customer_they_wait_and_operations_who_asks(engine):
    opened = ticket(engine)
    [waiting] = outbox_of(engine, "handoff_opened")
    assert (waiting["recipient_role"], waiting["customer_id"]) == ("customer", "C-007")
    assert waiting["data"] == {"ticket_id": opened, "conversation_id": "conv-7"}
    assert "colleague" in waiting["message_en"] and "客服" in waiting["message_zh"]
    [asked] = outbox_of(engine, "handoff_requested")
    assert asked["recipient_role"] == "operations"
    ticket(engine, OPS, "conv-visitor")  # a visitor's ticket: nobody's chat to tell
    assert len(outbox_of(engine, "handoff_opened")) == 1


def test_what_the_customer_writes_reaches_operations_and_counts_as_unread(engine):
    opened = ticket(engine)
    written = services.write_to_handoff(uow(engine), opened, "  still there? ", C7)
    assert written["text"] == "still there?" and written["ticket_id"] == opened
    services.write_to_handoff(uow(engine), opened, "order SO-1001", C7)
    [first, second] = outbox_of(engine, "handoff_message")
    assert (first["recipient_role"], first["customer_id"]) == ("operations", "C-007")
    assert first["data"] == {"ticket_id": opened, "conversation_id": "conv-7", "text": "still there?"}
    assert "SO-1001" in second["message_en"] and "SO-1001" in second["message_zh"]
    assert views.handoff(uow(engine), opened)["unread"] == 2
    [listed] = views.handoffs(uow(engine), OPS, "open", 10)
    assert listed["unread"] == 2

    read = services.read_handoff(uow(engine), opened, OPS)
    assert read["unread"] == 0
    services.write_to_handoff(uow(engine), opened, "hello?", C7)
    assert views.handoff(uow(engine), opened)["unread"] == 1
    # Staff see them among the ticket's messages, in order.
    texts = [m["text"] for m in views.handoff_messages(uow(engine), [opened])]
    assert texts == ["still there?", "order SO-1001", "hello?"]


def test_only_the_tickets_customer_writes_to_it_and_only_while_it_is_open(engine):
    opened = ticket(engine)
    other = Actor("customer:C-008", Role.CUSTOMER, Source.CHAT, "C-008")
    with pytest.raises(services.HandoffNotFound):  # another customer's ticket does not exist for them
        services.write_to_handoff(uow(engine), opened, "hi", other)
    with pytest.raises(services.HandoffNotFound):
        services.write_to_handoff(uow(engine), 9999, "hi", C7)
    with pytest.raises(NotPermitted):
        services.write_to_handoff(uow(engine), opened, "hi", OPS)
    with pytest.raises(DomainError):
        services.write_to_handoff(uow(engine), opened, "   ", C7)
    services.close_handoff(uow(engine), opened, OPS)
    with pytest.raises(services.HandoffClosed):
        services.write_to_handoff(uow(engine), opened, "hi", C7)
    with engine.connect() as connection:
        assert connection.execute(select(handoff_messages)).all() == []
    assert outbox_of(engine, "handoff_message") == []


def test_the_first_to_join_is_announced_once_and_reads_everything(engine):
    opened = ticket(engine)
    services.write_to_handoff(uow(engine), opened, "hi", C7)
    joined = services.join_handoff(uow(engine), opened, OPS)
    assert (joined["joined_by"], joined["unread"]) == ("mei", 0) and joined["joined_at"] is not None
    again = services.join_handoff(uow(engine), opened, LI)  # a second colleague looks in
    assert again["joined_by"] == "mei"
    [notice] = outbox_of(engine, "handoff_joined")
    assert (notice["recipient_role"], notice["customer_id"]) == ("customer", "C-007")
    assert "mei" not in notice["message_en"] + notice["message_zh"] + str(notice["data"])
    with engine.connect() as connection:
        audit = connection.execute(select(audit_log).where(audit_log.c.action == "join_handoff")).all()
    assert len(audit) == 1
    with pytest.raises(NotPermitted):
        services.join_handoff(uow(engine), opened, Actor("wang", Role.WAREHOUSE, Source.REST))
    services.close_handoff(uow(engine), opened, OPS)
    with pytest.raises(services.HandoffClosed):
        services.join_handoff(uow(engine), opened, OPS)


def test_an_answer_joins_when_nobody_had(engine):
    opened = ticket(engine)
    services.write_to_handoff(uow(engine), opened, "hi", C7)
    services.reply_handoff(uow(engine), opened, "Hello, I am here.", OPS)
    assert len(outbox_of(engine, "handoff_joined")) == 1
    assert views.handoff(uow(engine), opened)["unread"] == 0
    [joined] = outbox_of(engine, "handoff_joined")
    [reply] = outbox_of(engine, "handoff_reply")
    assert joined["id"] < reply["id"]  # "a colleague has joined" comes before their answer


def test_closing_tells_the_customer_the_assistant_is_back(engine):
    opened = ticket(engine)
    services.close_handoff(uow(engine), opened, OPS)
    [notice] = outbox_of(engine, "handoff_closed")
    assert (notice["recipient_role"], notice["customer_id"]) == ("customer", "C-007")
    assert "assistant" in notice["message_en"]
    assert services.close_handoff(uow(engine), opened, OPS) is None  # once
    assert len(outbox_of(engine, "handoff_closed")) == 1
    visitor = ticket(engine, OPS, "conv-visitor")
    services.close_handoff(uow(engine), visitor, OPS)
    assert len(outbox_of(engine, "handoff_closed")) == 1
