"""Who is told what when something happens to an order (rules 3 to 7), in both languages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orders.domain import events
from orders.domain.access import Role
from orders.domain.labels import STATUS_LABELS
from orders.domain.model import OrderStatus


@dataclass(frozen=True)
class Notification:
    recipient: Role
    event_type: str
    order_id: str | None
    customer_id: str | None
    message: dict[str, str]  # "en", "zh"
    data: dict[str, Any] = field(default_factory=dict)


def _status(value: str, language: str) -> str:
    return STATUS_LABELS[OrderStatus(value)][language]


def notifications_for(event: events.Event) -> list[Notification]:
    match event:
        case events.StatusChanged():
            data = {"action": event.action, "from": event.from_status, "to": event.to_status}
            message = {
                "en": f"Order {event.order_id} is now {_status(event.to_status, 'en')}.",
                "zh": f"订单 {event.order_id} 状态更新：{_status(event.to_status, 'zh')}。",
            }
            # Rule 3: every status change notifies the customer.
            found = [
                Notification(
                    Role.CUSTOMER, "status_changed", event.order_id, event.customer_id, message, data
                )
            ]
            if event.to_status == OrderStatus.CONFIRMED.value or (
                event.to_status == OrderStatus.CANCELLED.value
                and event.from_status in (OrderStatus.CONFIRMED.value, OrderStatus.AWAITING_SHIPMENT.value)
            ):  # the warehouse prepares goods for confirmed orders and stops for cancelled ones
                found.append(
                    Notification(
                        Role.WAREHOUSE, "status_changed", event.order_id, event.customer_id, message, data
                    )
                )
            return found
        case events.ShipmentChanged():  # rule 4
            return [
                Notification(
                    Role.WAREHOUSE,
                    "shipment_changed",
                    event.order_id,
                    event.customer_id,
                    {
                        "en": f"Shipment of order {event.order_id}: {event.carrier}, tracking number "
                        f"{event.tracking_number}.",
                        "zh": f"订单 {event.order_id} 发货信息：{event.carrier}，"
                        f"运单号 {event.tracking_number}。",
                    },
                    {
                        "carrier": event.carrier,
                        "tracking_number": event.tracking_number,
                        "previous_carrier": event.previous_carrier,
                        "previous_tracking_number": event.previous_tracking_number,
                    },
                )
            ]
        case events.InvoiceIssued():  # rule 5
            amount = f"{event.currency} {event.amount:.2f}"
            return [
                Notification(
                    Role.FINANCE,
                    "invoice_issued",
                    event.order_id,
                    event.customer_id,
                    {
                        "en": f"Invoice {event.invoice_number} issued for order {event.order_id}: {amount}.",
                        "zh": f"订单 {event.order_id} 已开具发票 {event.invoice_number}：{amount}。",
                    },
                    {
                        "invoice_number": event.invoice_number,
                        "amount": f"{event.amount:.2f}",
                        "currency": event.currency,
                    },
                )
            ]
        case events.FreightComputed():  # rule 6
            freight = f"{event.currency} {event.freight:.2f}"
            return [
                Notification(
                    Role.FINANCE,
                    "freight_computed",
                    event.order_id,
                    event.customer_id,
                    {
                        "en": f"Order {event.order_id} shipped with {event.carrier}: freight {freight}.",
                        "zh": f"订单 {event.order_id} 已由 {event.carrier} 发货，运费 {freight}。",
                    },
                    {"carrier": event.carrier, "freight": f"{event.freight:.2f}", "currency": event.currency},
                )
            ]
        case events.PaymentRecorded():
            amount = f"{event.currency} {event.amount:.2f}"
            message = {
                "en": f"Payment of {amount} received for order {event.order_id}.",
                "zh": f"订单 {event.order_id} 已收到付款 {amount}。",
            }
            data = {"amount": f"{event.amount:.2f}", "currency": event.currency}
            return [
                Notification(
                    Role.FINANCE, "payment_recorded", event.order_id, event.customer_id, message, data
                ),
                Notification(
                    Role.CUSTOMER, "payment_recorded", event.order_id, event.customer_id, message, data
                ),
            ]
        case events.SettlementRunCompleted():  # rule 7
            day = event.settlement_day.isoformat()
            totals_en = (
                "; ".join(
                    f"{currency} {t['amount_due']} due, freight {t['freight']}"
                    for currency, t in event.totals.items()
                )
                or "nothing due"
            )
            totals_zh = "；".join(
                f"应收 {currency} {t['amount_due']}，运费 {t['freight']}"
                for currency, t in event.totals.items()
            )
            return [
                Notification(
                    Role.FINANCE,
                    "settlement_completed",
                    None,
                    None,
                    {
                        "en": f"Settlement for {day}: {event.orders} unpaid order(s) settled; {totals_en}.",
                        "zh": f"{day} 结算完成：{event.orders} 个未付款订单已结算；{totals_zh}。",
                    },
                    {"day": day, "orders": event.orders, "totals": event.totals},
                )
            ]
        case events.HandoffRequested():  # operations staff answer people who ask for one
            waiting = [_handoff_notice(event)] if event.customer_id else []
            return waiting + [
                Notification(
                    Role.OPERATIONS,
                    "handoff_requested",
                    None,
                    event.customer_id,
                    {
                        "en": f"Ticket #{event.ticket_id}: a {_channel(event.channel, 'en')} user asks "
                        f'for a person: "{event.message[:200]}"',
                        "zh": f"工单 #{event.ticket_id}：{_channel(event.channel, 'zh')}用户请求人工服务："
                        f"“{event.message[:200]}”",
                    },
                    {
                        "ticket_id": event.ticket_id,
                        "conversation_id": event.conversation_id,
                        "channel": event.channel,
                    },
                )
            ]
        case events.HandoffMessageReceived():  # live in the console, with the ticket's unread count
            return [
                Notification(
                    Role.OPERATIONS,
                    "handoff_message",
                    None,
                    event.customer_id,
                    {
                        "en": f'Ticket #{event.ticket_id}: the customer writes: "{event.text[:200]}"',
                        "zh": f"工单 #{event.ticket_id}：客户留言：“{event.text[:200]}”",
                    },
                    {
                        "ticket_id": event.ticket_id,
                        "conversation_id": event.conversation_id,
                        "text": event.text,
                    },
                )
            ]
        case events.HandoffJoined() | events.HandoffClosed() if event.customer_id:
            # The customer's chat says who is answering now; a visitor's ticket has nobody to tell.
            return [_handoff_notice(event)]
        case _:
            return []


# Rasa's input channel names, as staff call them (another keeps Rasa's name).
_CHANNELS = {
    "socketio": {"en": "web chat", "zh": "网页聊天"},
    "slack": {"en": "Slack", "zh": "Slack"},
    "dingtalk": {"en": "DingTalk", "zh": "钉钉"},
}


def _channel(name: str, language: str) -> str:
    return _CHANNELS.get(name, {}).get(language, name)


_HANDOFF_NOTICES = {
    # The chat page shows this one as its status line (the assistant has just said which ticket).
    "handoff_opened": {
        "en": "Waiting for a colleague: they will answer you here.",
        "zh": "正在等待客服同事，他们会在这里回复您。",
    },
    "handoff_joined": {
        "en": "A colleague has joined the conversation and will answer you here.",
        "zh": "客服同事已加入对话，会在这里回复您。",
    },
    "handoff_closed": {
        "en": "The conversation with our colleague is closed; the assistant is back to help you.",
        "zh": "人工对话已结束，智能助手继续为您服务。",
    },
}


_HANDOFF_NOTICE_KINDS = {
    events.HandoffRequested: "handoff_opened",
    events.HandoffJoined: "handoff_joined",
    events.HandoffClosed: "handoff_closed",
}


def _handoff_notice(
    event: events.HandoffRequested | events.HandoffJoined | events.HandoffClosed,
) -> Notification:
    kind = _HANDOFF_NOTICE_KINDS[type(event)]
    return Notification(
        Role.CUSTOMER,
        kind,
        None,
        event.customer_id,
        _HANDOFF_NOTICES[kind],
        # No staff login name: the customer sees this event, and names sign in to the API.
        {"ticket_id": event.ticket_id, "conversation_id": event.conversation_id},
    )
