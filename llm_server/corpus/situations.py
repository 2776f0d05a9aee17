"""The assistant's reply situations: for each response of domain.yml that orderbot phrases, the facts
its action really passes and several friendly phrasings per language.

The templates themselves are read from domain.yml (``templates``), never copied: the corpus learns to
rephrase exactly what the bot would send. ``written_for`` is a fingerprint of the template pair each
phrasing set was written for; when a response changes in domain.yml, tests/llm_server/test_corpus.py
fails until someone has read its phrasings again and updated the fingerprint. Responses that are kept
as plain templates (free text from the order service, lists, suggestions) are named, with the reason,
in ``orderbot_common.phrasing.KEPT_PLAIN``.

Every phrasing uses ``{fact}`` placeholders only (no other digits), and passes the action server's
reply guard against its template (tested): a model that reproduces one is never refused.
"""

# ruff: noqa: E501 (one phrasing per line reads better than wrapped strings)

from __future__ import annotations

import functools
import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from orderbot_common.phrasing import LANGUAGES

from llm_server.corpus import facts as f

Facts = dict[str, str]
DOMAIN_FILE = Path(__file__).resolve().parents[2] / "domain.yml"


@functools.cache
def templates(domain_file: Path = DOMAIN_FILE) -> dict[str, dict[str, str]]:
    """Each text response of domain.yml in each language: {"utter_x": {"en": ..., "zh": ...}}."""
    domain = yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}
    found: dict[str, dict[str, str]] = {}
    for name, variants in (domain.get("responses") or {}).items():
        for variant in variants or []:
            conditions = [
                c.get("value") for c in variant.get("condition") or [] if c.get("name") == "language"
            ]
            for language in conditions or LANGUAGES:
                if variant.get("text") and language not in found.setdefault(name, {}):
                    found[name][language] = variant["text"]
    return found


def fingerprint(template: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Situation:
    name: str  # the domain.yml response
    audience: str  # "customer" or "staff"
    draw: Callable[[random.Random, str], Facts]  # (rng, language) -> facts, as the action passes them
    phrasings: dict[str, tuple[str, ...]]
    written_for: str  # fingerprint() of the template pair these phrasings were written for

    @property
    def template(self) -> dict[str, str]:
        return templates()[self.name]


def _order(rng: random.Random, language: str) -> Facts:
    return {"order_id": f.order_id(rng)}


def _order_status(rng: random.Random, language: str) -> Facts:
    return {"order_id": f.order_id(rng), "status": f.status(rng, language)}


def _invoice(rng: random.Random, language: str) -> Facts:
    order = f.order_id(rng)
    return {
        "order_id": order,
        "invoice_number": f.invoice_number(rng),
        "amount": f.money(rng),
        "url": f.invoice_url(rng, order),
    }


def _shipment(rng: random.Random, language: str) -> Facts:
    carrier = f.carrier_name(rng, language)
    return {
        "order_id": f.order_id(rng),
        "carrier": carrier,
        "tracking_number": f.tracking_number(rng, f.canonical_carrier(carrier)),
    }


def _shipped(rng: random.Random, language: str) -> Facts:
    # The order service answers with the carrier's canonical name.
    carrier = rng.choice(tuple(f.CARRIERS))
    return {
        "order_id": f.order_id(rng),
        "carrier": carrier,
        "tracking_number": f.tracking_number(rng, carrier),
        "freight": f.money(rng, 8.0, 500.0),
    }


def _date(rng: random.Random, language: str) -> Facts:
    return {"date": f.day(rng)}


def _settled(rng: random.Random, language: str) -> Facts:
    count = f.count(rng) if rng.random() < 0.9 else "0"
    currencies = sorted(set(rng.choices(f.CURRENCIES, k=rng.randint(1, 2))))
    # As action_affirm writes them: "CNY 1234.00 (+56.00); USD ..." (nothing when nothing was settled)
    totals = "; ".join(
        f"{c} {f.amount(rng, 100.0, 999999.0)} (+{f.amount(rng, 8.0, 9999.0)})" for c in currencies
    )
    return {"date": f.day(rng), "count": count, "totals": totals if count != "0" else ""}


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


def _ticket(rng: random.Random, language: str) -> Facts:
    return {"ticket": str(rng.randint(1, 99999))}


SITUATIONS: tuple[Situation, ...] = (
    Situation(
        "utter_order_status",
        "customer",
        _order_status,
        {
            "en": (
                "Your order {order_id} is {status}.",
                "Order {order_id} is currently {status}.",
                "Thanks for your patience! Order {order_id} is {status} at the moment.",
                "Here is the latest on order {order_id}: it is {status}.",
            ),
            "zh": (
                "您的订单 {order_id} 目前状态为：{status}。",
                "订单 {order_id} 的最新状态是：{status}。",
                "您好，订单 {order_id} 现在的状态：{status}。",
                "订单 {order_id} 目前的状态是{status}。",
            ),
        },
        "ff34a24613",
    ),
    Situation(
        "utter_order_not_found",
        "customer",
        _order,
        {
            "en": (
                "Sorry, I could not find order {order_id}. Could you check the number and try again?",
                "I cannot find any order {order_id}. Please check the number and try again.",
                "I'm sorry, there is no order {order_id} that I can find. Please check the number.",
            ),
            "zh": (
                "抱歉，没有找到订单 {order_id}，请核对订单号后重试。",
                "没有找到订单 {order_id}，麻烦您核对一下订单号再试。",
                "抱歉，订单 {order_id} 没有找到，请您核对订单号后再试。",
            ),
        },
        "f00f625e34",
    ),
    Situation(
        "utter_ask_verification",
        "customer",
        _order,
        {
            "en": (
                "To keep your orders private, please send me the order number {order_id} together with the e-mail address or phone number on the order.",
                "To keep your orders private, please send the order number {order_id} along with the e-mail address or phone number on the order.",
            ),
            "zh": (
                "为了保护您的隐私，请发送订单号 {order_id} 和下单时留的邮箱或手机号。",
                "请发送订单号 {order_id} 以及下单时留的邮箱或手机号，以保护您的隐私。",
            ),
        },
        "6d780b70ed",
    ),
    Situation(
        "utter_verification_failed",
        "customer",
        _order,
        {
            "en": (
                "Sorry, that e-mail address or phone number does not match order {order_id}. Please check it and try again.",
                "The e-mail address or phone number you gave does not match order {order_id}; please check and try again.",
                "I'm afraid that e-mail address or phone number does not match order {order_id}. Please check and try again.",
            ),
            "zh": (
                "抱歉，该邮箱或手机号与订单 {order_id} 不符，请核对后重试。",
                "您提供的邮箱或手机号与订单 {order_id} 不符，请核对后再试。",
                "邮箱或手机号和订单 {order_id} 对不上，请核对后重试。",
            ),
        },
        "b17044f3a6",
    ),
    Situation(
        "utter_invoice",
        "customer",
        _invoice,
        {
            "en": (
                "Here is the invoice {invoice_number} of order {order_id} ({amount}): {url}",
                "Your invoice {invoice_number} for order {order_id} comes to {amount}. You can download it here: {url}",
                "Sure! The invoice of order {order_id} is {invoice_number} ({amount}): {url}",
            ),
            "zh": (
                "这是订单 {order_id} 的发票 {invoice_number}（金额 {amount}）：{url}",
                "您好，订单 {order_id} 的发票号是 {invoice_number}，金额 {amount}，请点击下载：{url}",
            ),
        },
        "36f02e34e0",
    ),
    Situation(
        "utter_no_invoice_yet",
        "customer",
        _order,
        {
            "en": (
                "There is no invoice for order {order_id} yet; it is issued once the order is confirmed.",
                "Order {order_id} has no invoice yet. It will be issued as soon as the order is confirmed.",
                "Sorry, order {order_id} has no invoice yet: it is issued when the order is confirmed.",
            ),
            "zh": (
                "订单 {order_id} 暂时还没有发票，订单确认后会自动开具。",
                "抱歉，订单 {order_id} 目前还没有发票，订单确认后会自动开具。",
                "订单 {order_id} 还没有发票哦，确认订单后会自动开具。",
            ),
        },
        "909c50568e",
    ),
    Situation(
        "utter_order_confirmed",
        "customer",
        _order,
        {
            "en": (
                "Done! Order {order_id} is now confirmed, and its invoice has been issued.",
                "Order {order_id} is confirmed and its invoice has been issued.",
                "Thank you, order {order_id} is confirmed; its invoice has been issued as well.",
            ),
            "zh": (
                "好的，订单 {order_id} 已确认，发票也已开具。",
                "订单 {order_id} 已确认完成，发票已开具。",
                "感谢确认！订单 {order_id} 已确认，发票已经开具。",
            ),
        },
        "c603d6b056",
    ),
    Situation(
        "utter_ask_cancel",
        "customer",
        _order,
        {
            "en": (
                "Are you sure you want to cancel order {order_id}? This cannot be undone.",
                "Shall I cancel order {order_id}? Please note it cannot be undone.",
                "Should I really cancel order {order_id}? Note that this cannot be undone.",
            ),
            "zh": (
                "您确定要取消订单 {order_id} 吗？取消后将无法恢复。",
                "确定取消订单 {order_id} 吗？取消后无法恢复哦。",
                "是否确定取消订单 {order_id}？取消后无法恢复。",
            ),
        },
        "0419c3cd2b",
    ),
    Situation(
        "utter_order_cancelled",
        "customer",
        _order,
        {
            "en": (
                "Order {order_id} has been cancelled.",
                "Your order {order_id} is now cancelled.",
                "All right, order {order_id} is cancelled.",
            ),
            "zh": (
                "订单 {order_id} 已经取消。",
                "好的，订单 {order_id} 已取消。",
                "您的订单 {order_id} 已取消。",
            ),
        },
        "2e9535057a",
    ),
    Situation(
        "utter_handoff_opened",
        "customer",
        _ticket,
        {
            "en": (
                "I have passed your request on to our staff (ticket #{ticket}); a colleague will get back to you soon.",
                "I have passed your request to our staff as ticket #{ticket}. A colleague will get back to you shortly.",
                "Your request has been passed to our staff (ticket #{ticket}), and a colleague will get back to you.",
            ),
            "zh": (
                "已为您转接人工（工单 #{ticket}），请稍候，同事会尽快联系您。",
                "您的请求已转接人工，工单号是 #{ticket}，同事会尽快联系您。",
            ),
        },
        "26f3378f2e",
    ),
    Situation(
        "utter_stocked_in",
        "staff",
        _order,
        {
            "en": (
                "Order {order_id} is stocked in and awaiting shipment now.",
                "Got it: order {order_id} is stocked in and awaits shipment.",
                "Order {order_id} is stocked in; it now awaits shipment.",
            ),
            "zh": (
                "订单 {order_id} 已入库，正在等待发货。",
                "好的，订单 {order_id} 已入库，等待发货。",
                "订单 {order_id} 入库了，现在等待发货。",
            ),
        },
        "8462649ba6",
    ),
    Situation(
        "utter_ask_ship",
        "staff",
        _shipment,
        {
            "en": (
                "Shall I ship order {order_id} with {carrier}, tracking number {tracking_number}? The customer will be told.",
                "Ready to ship? Order {order_id} goes with {carrier}, tracking number {tracking_number}, and the customer will be told.",
            ),
            "zh": (
                "确认用 {carrier} 发货订单 {order_id} 吗？运单号 {tracking_number}，客户会收到通知。",
                "请确认：订单 {order_id} 由 {carrier} 发货，运单号 {tracking_number}，可以发货吗？客户会收到通知。",
            ),
        },
        "56c48b20ad",
    ),
    Situation(
        "utter_shipped",
        "staff",
        _shipped,
        {
            "en": (
                "Order {order_id} is now shipped with {carrier} ({tracking_number}); the freight is {freight}.",
                "Shipped: order {order_id} with {carrier} ({tracking_number}), freight {freight}.",
                "Order {order_id} is shipped via {carrier} ({tracking_number}); freight comes to {freight}.",
            ),
            "zh": (
                "订单 {order_id} 已通过 {carrier} 发货，运单号 {tracking_number}，运费 {freight}。",
                "好的，订单 {order_id} 已由 {carrier} 发货，运单号 {tracking_number}，运费为 {freight}。",
            ),
        },
        "a148bda37f",
    ),
    Situation(
        "utter_ask_settle",
        "staff",
        _date,
        {
            "en": (
                "Shall I run the settlement of unpaid orders for {date}? Settled orders cannot be reopened.",
                "Run the settlement of unpaid orders for {date} now? Note that settled orders cannot be reopened.",
            ),
            "zh": (
                "请确认是否执行 {date} 的未付款订单结算？结算后无法撤回。",
                "确认执行 {date} 未付款订单的结算吗？结算后将无法撤回。",
            ),
        },
        "6589eb42a0",
    ),
    Situation(
        "utter_settled",
        "staff",
        _settled,
        {
            "en": (
                "Settlement for {date} is finished: {count} order(s) settled. {totals}",
                "The settlement for {date} settled {count} order(s). {totals}",
            ),
            "zh": (
                "{date} 结算完成，共 {count} 个订单已结算。{totals}",
                "{date} 的结算完成了：{count} 个订单已结算。{totals}",
            ),
        },
        "e3cafba523",
    ),
    Situation(
        "utter_imported",
        "staff",
        _imported,
        {
            "en": (
                "Import from {source} finished: {inserted} new, {updated} updated, {unchanged} unchanged and {quarantined} quarantined.",
                "Imported from {source}: {inserted} new, {updated} updated, {unchanged} unchanged, {quarantined} quarantined.",
                "The import from {source} gave {inserted} new, {updated} updated, {unchanged} unchanged and {quarantined} quarantined.",
            ),
            "zh": (
                "{source} 导入结果：新增 {inserted}，更新 {updated}，未变 {unchanged}，隔离 {quarantined}。",
                "已从 {source} 导入：新增 {inserted} 条，更新 {updated} 条，未变 {unchanged} 条，隔离 {quarantined} 条。",
            ),
        },
        "a65752bf1d",
    ),
)
