"""services.reply_handoff: staff answer a handoff ticket; the answer is an outbox row for its customer."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from orders.adapters.orm import audit_log, outbox
from orders.domain.access import Actor, NotPermitted, Role, Source
from orders.domain.errors import DomainError
from orders.service_layer import services
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork

OPS = Actor("mei", Role.OPERATIONS, Source.REST)


def ticket_for(engine, customer_id: str | None) -> int:
    who = Actor("c", Role.CUSTOMER, Source.CHAT, customer_id) if customer_id else OPS
    return services.open_handoff(SqlAlchemyUnitOfWork(engine), "conv-9", "socketio", "help", "zh", who)


def rows(engine, table, **where):
    statement = select(table)
    for name, value in where.items():
        statement = statement.where(table.c[name] == value)
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(statement).mappings()]


def test_the_answer_is_one_outbox_row_and_one_audit_record(engine):
    ticket = ticket_for(engine, "C-007")
    assert (
        services.reply_handoff(SqlAlchemyUnitOfWork(engine), ticket, " 您好，已为您加急。 ", OPS) == "C-007"
    )
    [row] = rows(engine, outbox, event_type="handoff_reply")
    assert (row["recipient_role"], row["customer_id"], row["order_id"]) == ("customer", "C-007", None)
    assert row["message_zh"] == row["message_en"] == "您好，已为您加急。"
    assert row["dispatched_at"] is None  # the hub dispatches it
    [audit] = rows(engine, audit_log, action="handoff_reply")
    assert audit["actor"] == "mei" and audit["to_value"] == f"ticket {ticket}"


def test_refusals_write_nothing(engine):
    anonymous = ticket_for(engine, None)
    with pytest.raises(services.HandoffUnreachable):
        services.reply_handoff(SqlAlchemyUnitOfWork(engine), anonymous, "hi", OPS)
    with pytest.raises(services.HandoffNotFound):
        services.reply_handoff(SqlAlchemyUnitOfWork(engine), 12345, "hi", OPS)
    ticket = ticket_for(engine, "C-007")
    with pytest.raises(DomainError):
        services.reply_handoff(SqlAlchemyUnitOfWork(engine), ticket, "   ", OPS)
    with pytest.raises(NotPermitted):
        services.reply_handoff(
            SqlAlchemyUnitOfWork(engine), ticket, "hi", Actor("w", Role.WAREHOUSE, Source.REST)
        )
    services.close_handoff(SqlAlchemyUnitOfWork(engine), ticket, OPS)
    with pytest.raises(services.HandoffClosed):
        services.reply_handoff(SqlAlchemyUnitOfWork(engine), ticket, "hi", OPS)
    assert rows(engine, outbox, event_type="handoff_reply") == []
    assert rows(engine, audit_log, action="handoff_reply") == []


def test_a_conversation_has_one_open_ticket_and_operations_hear_of_it_once(engine):
    first = ticket_for(engine, "C-007")
    assert ticket_for(engine, "C-007") == first  # asked again, or a retry
    assert len(rows(engine, outbox, event_type="handoff_requested")) == 1
    services.close_handoff(SqlAlchemyUnitOfWork(engine), first, OPS)
    assert ticket_for(engine, "C-007") != first  # closed: a new request opens a new ticket
    assert len(rows(engine, outbox, event_type="handoff_requested")) == 2


def test_a_visitor_who_signs_in_and_asks_again_gets_a_ticket_of_their_own(engine):
    visitor = ticket_for(engine, None)
    customer = ticket_for(engine, "C-007")
    assert customer != visitor and ticket_for(engine, "C-007") == customer
