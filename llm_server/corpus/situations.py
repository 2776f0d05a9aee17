"""The assistant's reply situations: which facts each carries, the plain template the bot sends today
(domain.yml responses and actions/), and several friendly phrasings per language.

Phrasings use ``{fact}`` placeholders only: no other digits, so "every fact and no other number" holds.
"""

# ruff: noqa: E501 (one phrasing per line reads better than wrapped strings)

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from llm_server.corpus import facts as f

Facts = dict[str, str]


@dataclass(frozen=True)
class Situation:
    name: str
    audience: str  # "customer" or "staff"
    draw: Callable[[random.Random, str], Facts]  # (rng, language) -> facts, in their natural order
    template: dict[str, str]
    phrasings: dict[str, tuple[str, ...]]


def _order(rng: random.Random, language: str) -> Facts:
    return {"order_id": f.order_id(rng)}


def _status(states: tuple[str, ...], next_step: bool = False) -> Callable[[random.Random, str], Facts]:
    def draw(rng: random.Random, language: str) -> Facts:
        label, step = f.STATES[rng.choice(states)][language]
        facts = {"order_id": f.order_id(rng), "status": label}
        if next_step:
            facts["next_step"] = step
        return facts

    return draw


def _shipped(rng: random.Random, language: str) -> Facts:
    return {
        "order_id": f.order_id(rng),
        "status": f.STATES["shipped"][language][0],
        "carrier": (carrier := f.carrier_name(rng, language)),
        "tracking_number": f.tracking_number(rng, f.canonical_carrier(carrier)),
    }


def _invoice(rng: random.Random, language: str) -> Facts:
    order = f.order_id(rng)
    return {
        "order_id": order,
        "invoice_number": f.invoice_number(rng),
        "amount": f.amount(rng),
        "currency": rng.choice(f.CURRENCIES),
        "url": f.invoice_url(rng, order),
    }


def _payment_due(rng: random.Random, language: str) -> Facts:
    return {
        "order_id": f.order_id(rng),
        "amount": f.amount(rng),
        "currency": rng.choice(f.CURRENCIES),
        "due_date": f.day(rng),
    }


def _ticket(rng: random.Random, language: str) -> Facts:
    return {"ticket": str(rng.randint(1, 99999))}


def _ship(rng: random.Random, language: str) -> Facts:
    carrier = f.carrier_name(rng, language)
    return {
        "order_id": f.order_id(rng),
        "carrier": carrier,
        "tracking_number": f.tracking_number(rng, f.canonical_carrier(carrier)),
    }


def _shipment_done(rng: random.Random, language: str) -> Facts:
    facts = _ship(rng, language)
    facts["freight"] = f.amount(rng, 8.0, 500.0)
    facts["currency"] = rng.choice(f.CURRENCIES)
    return facts


def _date(rng: random.Random, language: str) -> Facts:
    return {"date": f.day(rng)}


def _settled(rng: random.Random, language: str) -> Facts:
    return {
        "date": f.day(rng),
        "count": f.count(rng),
        "currency": rng.choice(f.CURRENCIES),
        "amount": f.amount(rng, 100.0, 999999.0),
        "freight": f.amount(rng, 8.0, 9999.0),
    }


def _imported(rng: random.Random, language: str) -> Facts:
    def small() -> str:
        return str(rng.choice((0, 0, rng.randint(1, 20), rng.randint(1, 500))))

    return {
        "source": rng.choice(f.SOURCES),
        "inserted": small(),
        "updated": small(),
        "unchanged": small(),
        "quarantined": small(),
    }


def _list_status(rng: random.Random, language: str) -> Facts:
    return {"count": f.count(rng), "status": f.STATES[rng.choice(tuple(f.STATES))][language][0]}


def _list_date(rng: random.Random, language: str) -> Facts:
    return {"count": f.count(rng), "date": f.day(rng)}


def _no_orders(rng: random.Random, language: str) -> Facts:
    return {"status": f.STATES[rng.choice(tuple(f.STATES))][language][0]}


ALL_STATES = tuple(f.STATES)

SITUATIONS: tuple[Situation, ...] = (
    Situation(
        "order_status",
        "customer",
        _status(ALL_STATES),
        {"en": "Order {order_id} is {status}.", "zh": "订单 {order_id} 当前状态：{status}。"},
        {
            "en": (
                "Order {order_id} is {status} at the moment.",
                "I checked order {order_id} for you: it is {status}.",
                "Your order {order_id} is currently {status}.",
                "Thanks for waiting! Order {order_id} is {status} right now.",
                "Here is the latest on order {order_id}: it is {status}.",
            ),
            "zh": (
                "您的订单 {order_id} 目前状态为：{status}。",
                "帮您查到了，订单 {order_id} 当前{status}。",
                "订单 {order_id} 的最新状态是：{status}。",
                "您好，订单 {order_id} 现在的状态：{status}。",
                "已为您查询，订单 {order_id}：{status}。",
            ),
        },
    ),
    Situation(
        "order_status_next_step",
        "customer",
        _status(ALL_STATES, next_step=True),
        {
            "en": "Order {order_id} is {status}. Next: {next_step}.",
            "zh": "订单 {order_id} 当前状态：{status}。下一步：{next_step}。",
        },
        {
            "en": (
                "Order {order_id} is {status}. Next, {next_step}.",
                "Your order {order_id} is {status}; next step: {next_step}.",
                "I checked order {order_id}: it is {status}. What happens next: {next_step}.",
                "Order {order_id} is currently {status}. Next step: {next_step}.",
            ),
            "zh": (
                "您的订单 {order_id} 目前{status}。下一步：{next_step}。",
                "订单 {order_id} 的状态是{status}，接下来：{next_step}。",
                "帮您查到了：订单 {order_id} {status}。{next_step}。",
                "订单 {order_id} 当前为{status}，下一步：{next_step}。",
            ),
        },
    ),
    Situation(
        "order_shipped_tracking",
        "customer",
        _shipped,
        {
            "en": "Order {order_id} is {status} with {carrier}, tracking number {tracking_number}.",
            "zh": "订单 {order_id} {status}，承运商{carrier}，运单号 {tracking_number}。",
        },
        {
            "en": (
                "Good news: order {order_id} is {status} with {carrier}. Your tracking number is "
                "{tracking_number}.",
                "Your order {order_id} is {status}! It travels with {carrier}, tracking number "
                "{tracking_number}.",
                "Order {order_id} is {status} via {carrier}; you can track it with {tracking_number}.",
                "{carrier} is delivering your order {order_id}, which is {status}. Tracking number: "
                "{tracking_number}.",
            ),
            "zh": (
                "好消息！订单 {order_id} {status}，由{carrier}承运，运单号 {tracking_number}。",
                "您的订单 {order_id} {status}，快递公司：{carrier}，运单号：{tracking_number}。",
                "订单 {order_id} 已通过{carrier}寄出（{status}），可用运单号 {tracking_number} 查询物流。",
                "您的包裹由{carrier}配送，运单号 {tracking_number}，订单 {order_id} 当前{status}。",
            ),
        },
    ),
    Situation(
        "invoice",
        "customer",
        _invoice,
        {
            "en": "The invoice {invoice_number} of order {order_id} ({currency} {amount}) is here: {url}",
            "zh": "订单 {order_id} 的发票 {invoice_number}（{currency} {amount}）：{url}",
        },
        {
            "en": (
                "Here is the invoice {invoice_number} for order {order_id}, amount {currency} {amount}: {url}",
                "Your invoice {invoice_number} ({currency} {amount}) for order {order_id} is ready: {url}",
                "Invoice {invoice_number} for your order {order_id} comes to {currency} {amount}. "
                "Download it here: {url}",
                "Sure! The invoice of order {order_id} is {invoice_number}, amount {currency} {amount}: {url}",
            ),
            "zh": (
                "您的订单 {order_id} 的发票 {invoice_number} 已开具，金额 {currency} {amount}，下载地址：{url}",
                "这是订单 {order_id} 的发票 {invoice_number}（金额 {currency} {amount}），请点击查看：{url}",
                "发票 {invoice_number} 对应订单 {order_id}，金额为 {currency} {amount}。下载链接：{url}",
                "好的，订单 {order_id} 的发票号是 {invoice_number}，金额 {currency} {amount}，可在此下载：{url}",
            ),
        },
    ),
    Situation(
        "payment_due",
        "customer",
        _payment_due,
        {
            "en": "Order {order_id}: {currency} {amount} is due by {due_date}.",
            "zh": "订单 {order_id}：应付 {currency} {amount}，截止日期 {due_date}。",
        },
        {
            "en": (
                "A friendly reminder: {currency} {amount} for order {order_id} is due by {due_date}.",
                "Order {order_id} has {currency} {amount} to pay, due on {due_date}.",
                "Please pay {currency} {amount} for order {order_id} by {due_date}.",
                "The payment of {currency} {amount} for order {order_id} is due by {due_date}.",
            ),
            "zh": (
                "温馨提示：订单 {order_id} 需支付 {currency} {amount}，请在 {due_date} 前付款。",
                "订单 {order_id} 的应付金额为 {currency} {amount}，付款截止日期 {due_date}。",
                "请于 {due_date} 前支付订单 {order_id} 的 {currency} {amount}。",
                "订单 {order_id} 待付 {currency} {amount}，到期日 {due_date}。",
            ),
        },
    ),
    Situation(
        "no_invoice_yet",
        "customer",
        _order,
        {
            "en": "Order {order_id} has no invoice yet: it is issued when the order is confirmed.",
            "zh": "订单 {order_id} 还没有发票：订单确认后会自动开具。",
        },
        {
            "en": (
                "There is no invoice for order {order_id} yet; it will be issued as soon as the order is "
                "confirmed.",
                "Order {order_id} does not have an invoice yet. Once it is confirmed, the invoice is issued "
                "automatically.",
                "Sorry, order {order_id} has no invoice so far: we issue it when the order is confirmed.",
                "The invoice of order {order_id} is not ready yet, it comes with the confirmation of the order.",
            ),
            "zh": (
                "订单 {order_id} 暂时还没有发票，确认订单后系统会自动开具。",
                "抱歉，订单 {order_id} 目前没有发票，订单确认后即可开具。",
                "订单 {order_id} 的发票尚未开具，待订单确认后会自动生成。",
                "您的订单 {order_id} 还没有发票哦，确认订单后就会开具。",
            ),
        },
    ),
    Situation(
        "order_confirmed",
        "customer",
        _order,
        {
            "en": "Done: order {order_id} is confirmed and its invoice has been issued.",
            "zh": "已完成：订单 {order_id} 已确认，发票已开具。",
        },
        {
            "en": (
                "All set! Order {order_id} is confirmed and the invoice has been issued.",
                "Thank you, order {order_id} is now confirmed; its invoice is issued.",
                "Order {order_id} is confirmed, and we have issued its invoice.",
                "Done: I confirmed order {order_id} and the invoice is ready.",
            ),
            "zh": (
                "好的，订单 {order_id} 已确认，发票也已开具。",
                "已为您确认订单 {order_id}，发票已经开好。",
                "订单 {order_id} 确认成功，发票已开具。",
                "感谢确认！订单 {order_id} 已确认，发票已生成。",
            ),
        },
    ),
    Situation(
        "ask_cancel",
        "customer",
        _order,
        {
            "en": "Do you really want to cancel order {order_id}? This cannot be undone.",
            "zh": "确定要取消订单 {order_id} 吗？取消后无法恢复。",
        },
        {
            "en": (
                "Are you sure you want to cancel order {order_id}? Once cancelled, it cannot be restored.",
                "Just to check: shall I cancel order {order_id}? This cannot be undone.",
                "Do you want me to cancel order {order_id}? Please note it cannot be undone.",
                "Please confirm: cancel order {order_id}? A cancelled order cannot be restored.",
            ),
            "zh": (
                "您确定要取消订单 {order_id} 吗？取消后将无法恢复。",
                "请确认是否取消订单 {order_id}？此操作无法撤销。",
                "确认取消订单 {order_id} 吗？订单取消后不能恢复哦。",
                "是否要取消订单 {order_id}？取消后无法找回。",
            ),
        },
    ),
    Situation(
        "order_cancelled",
        "customer",
        _order,
        {"en": "Order {order_id} is cancelled.", "zh": "订单 {order_id} 已取消。"},
        {
            "en": (
                "Order {order_id} has been cancelled.",
                "Done, I cancelled order {order_id} for you.",
                "Your order {order_id} is now cancelled.",
                "Order {order_id} is cancelled as you asked.",
            ),
            "zh": (
                "订单 {order_id} 已为您取消。",
                "好的，订单 {order_id} 已经取消。",
                "已取消订单 {order_id}。",
                "您的订单 {order_id} 已成功取消。",
            ),
        },
    ),
    Situation(
        "cancel_refused",
        "customer",
        _status(("awaiting_shipment", "shipped", "settled", "cancelled")),
        {
            "en": "I could not do that: order {order_id} is {status} and can no longer be cancelled.",
            "zh": "无法完成该操作：订单 {order_id} 当前状态为{status}，不能再取消。",
        },
        {
            "en": (
                "Sorry, order {order_id} is {status}, so it can no longer be cancelled.",
                "I'm afraid I cannot cancel order {order_id}: it is already {status}.",
                "Order {order_id} is {status} and cannot be cancelled any more.",
                "Unfortunately order {order_id} can no longer be cancelled because it is {status}.",
            ),
            "zh": (
                "抱歉，订单 {order_id} 当前为{status}，已无法取消。",
                "订单 {order_id} 的状态是{status}，不能再取消了。",
                "很遗憾，订单 {order_id} 无法取消，因为它当前{status}。",
                "无法取消订单 {order_id}：当前状态为{status}。",
            ),
        },
    ),
    Situation(
        "order_not_found",
        "customer",
        _order,
        {
            "en": "I could not find an order {order_id}. Please check the number and try again.",
            "zh": "没有找到订单 {order_id}，请核对订单号后再试。",
        },
        {
            "en": (
                "Sorry, I could not find order {order_id}. Could you check the number and try again?",
                "There is no order {order_id} that I can see. Please double-check the order number.",
                "I found no order {order_id}. Please check the number and send it again.",
                "Hmm, order {order_id} does not show up for me. Please verify the order number.",
            ),
            "zh": (
                "抱歉，没有查到订单 {order_id}，请核对订单号后重试。",
                "未找到订单 {order_id}，请确认订单号是否正确。",
                "系统中没有订单 {order_id}，麻烦您检查一下订单号再试。",
                "查不到订单 {order_id}，请核实订单号后再发给我。",
            ),
        },
    ),
    Situation(
        "ask_verification",
        "customer",
        _order,
        {
            "en": "To keep your orders private, please send the order number {order_id} together with the "
            "e-mail address or phone number on the order.",
            "zh": "为保护您的隐私，请发送订单号 {order_id} 以及下单时留的邮箱或手机号。",
        },
        {
            "en": (
                "For your privacy, please send me the order number {order_id} together with the e-mail or "
                "phone number used for the order.",
                "To protect your data, I need the order number {order_id} plus the e-mail address or phone "
                "number on the order.",
                "Please reply with {order_id} and the e-mail or phone number you ordered with, so I know it "
                "is you.",
                "Before I share details of order {order_id}, please send the order number with the e-mail "
                "or phone on the order.",
            ),
            "zh": (
                "为了保护您的隐私，请发送订单号 {order_id} 和下单时使用的邮箱或手机号。",
                "请提供订单号 {order_id} 以及下单邮箱或手机号，以便核实您的身份。",
                "查询订单 {order_id} 前需要验证身份，请发送订单号和下单时留的邮箱或手机号。",
                "麻烦您发送订单号 {order_id}，并附上下单时的邮箱或手机号。",
            ),
        },
    ),
    Situation(
        "verification_failed",
        "customer",
        _order,
        {
            "en": "That e-mail address or phone number does not match order {order_id}. Please check and "
            "try again.",
            "zh": "该邮箱或手机号与订单 {order_id} 不符，请核对后重试。",
        },
        {
            "en": (
                "Sorry, that e-mail or phone number does not match order {order_id}. Please check it and "
                "try again.",
                "The contact you sent does not belong to order {order_id}. Could you check and try again?",
                "I could not verify you for order {order_id}: the e-mail or phone does not match.",
                "That does not match the e-mail or phone on order {order_id}. Please try again.",
            ),
            "zh": (
                "抱歉，该邮箱或手机号与订单 {order_id} 不匹配，请核对后再试。",
                "您提供的联系方式与订单 {order_id} 不符，请检查后重新发送。",
                "验证未通过：邮箱或手机号与订单 {order_id} 不一致。",
                "订单 {order_id} 的邮箱或手机号不是这个，请核对后重试。",
            ),
        },
    ),
    Situation(
        "handoff_opened",
        "customer",
        _ticket,
        {
            "en": "I have passed your request to our staff (ticket #{ticket}); a colleague will get back to you.",
            "zh": "已为您转接人工（工单 #{ticket}），同事会尽快联系您。",
        },
        {
            "en": (
                "I have handed your request to our team (ticket #{ticket}). A colleague will contact you soon.",
                "A colleague will get back to you shortly; your ticket number is #{ticket}.",
                "Your request is with our staff now, ticket #{ticket}. Someone will reply soon.",
                "I opened ticket #{ticket} for you, and a colleague will be in touch.",
            ),
            "zh": (
                "已为您转接人工客服，工单号 #{ticket}，同事会尽快联系您。",
                "好的，已创建工单 #{ticket}，稍后会有同事与您联系。",
                "您的问题已转给人工处理（工单 #{ticket}），请稍候。",
                "已提交工单 #{ticket}，我们的同事会尽快回复您。",
            ),
        },
    ),
    Situation(
        "stocked_in",
        "staff",
        _order,
        {
            "en": "Order {order_id} is stocked in and now awaits shipment.",
            "zh": "订单 {order_id} 已入库，等待发货。",
        },
        {
            "en": (
                "Done: order {order_id} is stocked in and waiting for shipment.",
                "Order {order_id} is now in stock and ready to ship.",
                "I marked order {order_id} as stocked in; it awaits shipment.",
                "Stock-in recorded for order {order_id}, which now awaits shipment.",
            ),
            "zh": (
                "已登记入库：订单 {order_id} 等待发货。",
                "订单 {order_id} 已完成入库，可以安排发货了。",
                "好的，订单 {order_id} 已入库，等待发货。",
                "入库成功，订单 {order_id} 现在等待发货。",
            ),
        },
    ),
    Situation(
        "ask_ship",
        "staff",
        _ship,
        {
            "en": "Ship order {order_id} with {carrier}, tracking number {tracking_number}? The customer "
            "will be told.",
            "zh": "确认用 {carrier} 发货订单 {order_id}，运单号 {tracking_number}？客户会收到通知。",
        },
        {
            "en": (
                "Shall I ship order {order_id} with {carrier}, tracking number {tracking_number}? The "
                "customer will be notified.",
                "Please confirm: order {order_id} goes with {carrier} under tracking number "
                "{tracking_number}. The customer gets a notice.",
                "Ready to ship order {order_id} via {carrier} ({tracking_number}). Go ahead? The customer "
                "will be told.",
                "Ship {order_id} with {carrier} and tracking number {tracking_number}? I will notify the "
                "customer.",
            ),
            "zh": (
                "确定用{carrier}发出订单 {order_id} 吗？运单号 {tracking_number}，客户会收到通知。",
                "请确认：订单 {order_id} 由{carrier}发货，运单号 {tracking_number}。确认后将通知客户。",
                "订单 {order_id} 将通过{carrier}发货（运单号 {tracking_number}），是否确认？",
                "要用{carrier}发货订单 {order_id} 吗？运单号是 {tracking_number}，客户会收到通知。",
            ),
        },
    ),
    Situation(
        "shipment_recorded",
        "staff",
        _shipment_done,
        {
            "en": "Order {order_id} is shipped with {carrier} ({tracking_number}); freight {currency} {freight}.",
            "zh": "订单 {order_id} 已由 {carrier} 发货（运单号 {tracking_number}），运费 {currency} {freight}。",
        },
        {
            "en": (
                "Shipment recorded: order {order_id} went out with {carrier}, tracking number "
                "{tracking_number}, freight {currency} {freight}.",
                "Order {order_id} is on its way with {carrier} ({tracking_number}). Freight comes to "
                "{currency} {freight}.",
                "Done! {carrier} ships order {order_id} under {tracking_number}; the freight is {currency} "
                "{freight}.",
                "Order {order_id} shipped via {carrier}, tracking {tracking_number}, freight {currency} "
                "{freight}. The customer has been told.",
            ),
            "zh": (
                "发货已登记：订单 {order_id} 由{carrier}承运，运单号 {tracking_number}，运费 {currency} {freight}。",
                "订单 {order_id} 已通过{carrier}发出，运单号 {tracking_number}，运费为 {currency} {freight}。",
                "好的，订单 {order_id} 已发货（{carrier}，运单号 {tracking_number}），运费 {currency} {freight}。",
                "订单 {order_id} 发货完成，快递：{carrier}，运单号：{tracking_number}，运费：{currency} {freight}。",
            ),
        },
    ),
    Situation(
        "ask_settle",
        "staff",
        _date,
        {
            "en": "Run the settlement of unpaid orders for {date}? Settled orders cannot be reopened.",
            "zh": "确认执行 {date} 的未付款订单结算？结算后无法撤回。",
        },
        {
            "en": (
                "Shall I settle the unpaid orders of {date}? Settled orders cannot be reopened.",
                "Please confirm the settlement for {date}. Once settled, orders cannot be reopened.",
                "Run the settlement for {date} now? This cannot be undone.",
                "Do you want to settle all unpaid orders for {date}? Settlement is final.",
            ),
            "zh": (
                "是否执行 {date} 的未付款订单结算？结算后不能撤回。",
                "请确认：现在结算 {date} 的未付款订单吗？此操作无法撤销。",
                "要对 {date} 的未付款订单进行结算吗？结算后无法恢复。",
                "确认结算 {date} 的订单？一旦结算将无法撤回。",
            ),
        },
    ),
    Situation(
        "settled",
        "staff",
        _settled,
        {
            "en": "Settlement for {date}: {count} order(s) settled. {currency} {amount} (+{freight})",
            "zh": "{date} 结算完成：{count} 个订单已结算。{currency} {amount} (+{freight})",
        },
        {
            "en": (
                "Settlement for {date} is done: {count} order(s) settled, {currency} {amount} due plus "
                "{freight} freight.",
                "I settled {count} order(s) for {date}. Total due: {currency} {amount}, freight {freight}.",
                "Done! {date} is settled with {count} order(s): {currency} {amount} due, freight {freight}.",
                "The settlement of {date} covered {count} order(s); amount due {currency} {amount} and "
                "freight {freight}.",
            ),
            "zh": (
                "{date} 的结算已完成，共结算 {count} 个订单，应收 {currency} {amount}，运费 {freight}。",
                "结算完成：{date} 共 {count} 个订单，应收金额 {currency} {amount}，另有运费 {freight}。",
                "已完成 {date} 的结算，{count} 个订单，应收 {currency} {amount}（运费 {freight}）。",
                "{date} 共结算 {count} 个订单，合计应收 {currency} {amount}，运费 {freight}。",
            ),
        },
    ),
    Situation(
        "imported",
        "staff",
        _imported,
        {
            "en": "Import from {source}: {inserted} new, {updated} updated, {unchanged} unchanged, "
            "{quarantined} quarantined.",
            "zh": "从 {source} 导入：新增 {inserted}，更新 {updated}，未变 {unchanged}，隔离 {quarantined}。",
        },
        {
            "en": (
                "Import from {source} finished: {inserted} new orders, {updated} updated, {unchanged} "
                "unchanged and {quarantined} quarantined.",
                "Done importing {source}. New: {inserted}, updated: {updated}, unchanged: {unchanged}, "
                "quarantined: {quarantined}.",
                "The {source} import added {inserted} orders, updated {updated}, left {unchanged} unchanged "
                "and quarantined {quarantined}.",
                "{source}: {inserted} new, {updated} updated, {unchanged} unchanged, {quarantined} "
                "quarantined. Import complete.",
            ),
            "zh": (
                "{source} 导入完成：新增 {inserted} 个，更新 {updated} 个，未变 {unchanged} 个，隔离 {quarantined} 个。",
                "已从 {source} 导入订单，新增 {inserted}，更新 {updated}，未变化 {unchanged}，隔离 {quarantined}。",
                "导入结果（{source}）：新增 {inserted}，更新 {updated}，不变 {unchanged}，隔离 {quarantined}。",
                "从 {source} 导入完毕，其中新增 {inserted} 条，更新 {updated} 条，未变 {unchanged} 条，"
                "隔离 {quarantined} 条。",
            ),
        },
    ),
    Situation(
        "order_list_by_status",
        "staff",
        _list_status,
        {"en": "{count} order(s) ({status}).", "zh": "共 {count} 个订单（{status}）。"},
        {
            "en": (
                "I found {count} order(s) that are {status}.",
                "There are {count} order(s) with status {status}.",
                "{count} order(s) are {status} right now; here is the list.",
                "Here are the {count} order(s) that are {status}.",
            ),
            "zh": (
                "共找到 {count} 个订单，状态为{status}。",
                "当前状态为{status}的订单共有 {count} 个。",
                "查到 {count} 个订单，状态：{status}。",
                "以下是 {count} 个{status}的订单。",
            ),
        },
    ),
    Situation(
        "order_list_by_date",
        "staff",
        _list_date,
        {"en": "{count} order(s) ({date}).", "zh": "共 {count} 个订单（{date}）。"},
        {
            "en": (
                "I found {count} order(s) created on {date}.",
                "There are {count} order(s) from {date}.",
                "{date} has {count} new order(s); here they are.",
                "Here are the {count} order(s) placed on {date}.",
            ),
            "zh": (
                "{date} 共有 {count} 个订单。",
                "找到 {date} 创建的订单 {count} 个。",
                "以下是 {date} 的 {count} 个订单。",
                "{date} 新建订单共 {count} 个。",
            ),
        },
    ),
    Situation(
        "no_orders",
        "staff",
        _no_orders,
        {"en": "No orders ({status}).", "zh": "没有订单（{status}）。"},
        {
            "en": (
                "There are no orders that are {status}.",
                "I found no orders with status {status}.",
                "Nothing to show: no order is {status} right now.",
                "No order is currently {status}.",
            ),
            "zh": (
                "目前没有{status}的订单。",
                "没有找到状态为{status}的订单。",
                "暂无{status}的订单。",
                "查询结果为空：没有{status}的订单。",
            ),
        },
    ),
)
