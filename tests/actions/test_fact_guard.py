"""The reply guard against the ways a model gets a reply wrong: facts, meaning, language, form.

The first table quotes replies that users really saw (issue 17); each must be refused, for the reason
given. The last table holds faithful paraphrases in both languages: each must pass.
"""

# ruff: noqa: E501 (a table row per reply reads better than wrapped strings)

from __future__ import annotations

import pytest

from actions.fact_guard import REASONS, check

FACTS = {
    "order_id": "SO-1001",
    "amount": "CNY 129.00",
    "carrier": "顺丰",
    "tracking_number": "SF1234567890",
    "date": "2026-11-30",
}
TEMPLATE = "订单 SO-1001（CNY 129.00）已由顺丰发出，运单号 SF1234567890，预计 2026-11-30 送达。"

ASK_ORDER_EN = "Which order do you mean? Please give me the order number, like SO-1001."
ASK_ORDER_ZH = "请问是哪个订单？请提供订单号，例如 SO-1001。"
NOTHING_TO_CONFIRM_EN = "There is nothing waiting for your confirmation. What would you like to do?"
NOTHING_TO_CONFIRM_ZH = "目前没有需要您确认的操作。请问需要什么帮助？"
STAFF_ONLY_EN = "Sorry, only signed-in staff can do that."


def handoff(lang: str, ticket: str) -> str:
    if lang == "zh":
        return f"已为您转接人工（工单 #{ticket}），同事会尽快联系您。"
    return f"I have passed your request to our staff (ticket #{ticket}); a colleague will get back to you."


SEEN_BY_USERS = [
    # (reply, facts, template, reason)
    ("I found {order_id} is {status}.", {}, ASK_ORDER_EN, "placeholder"),
    ("您的邮箱或手机号 {order_id} 不一步：查一旦结算后将无法恢复您。", {}, ASK_ORDER_ZH, "placeholder"),
    ("A colleague will get back to ship order #3 is #3.", {"ticket": "3"}, handoff("en", "3"), "fact_count"),
    ("已提交工单 #11 #11，我们的同事会尽快回。", {"ticket": "11"}, handoff("zh", "11"), "fact_count"),
    ("Done: I found {count} order(s) are {status}.", {}, NOTHING_TO_CONFIRM_EN, "placeholder"),
    (
        "好的，订单 SO-1001 已为您确认，发票哦。",
        {"order_id": "SO-1001"},
        "订单 SO-1001 已入库，等待发货。",
        "domain_word",
    ),
    (
        "好的，订单 SO-1001 已入库，发票已取消。",
        {"order_id": "SO-1001"},
        "订单 SO-1001 已入库，等待发货。",
        "domain_word",
    ),
    (
        "I opened ticket {count} for you want me to ship order(s) are {status}.",
        {},
        STAFF_ONLY_EN,
        "placeholder",
    ),
    (
        "Invoice INV-2026-000060 {currency} CNY 1293.61: http://127.0.0.1:8080/api/v1/orders/SO-1001/invoice.pdf",
        {
            "order_id": "SO-1001",
            "invoice_number": "INV-2026-000060",
            "amount": "CNY 1293.61",
            "url": "http://127.0.0.1:8080/api/v1/orders/SO-1001/invoice.pdf",
        },
        "The invoice INV-2026-000060 of order SO-1001 (CNY 1293.61) is here: "
        "http://127.0.0.1:8080/api/v1/orders/SO-1001/invoice.pdf",
        "placeholder",
    ),
    (
        "Please confirm: cancel order SO-1001? A cancelled.",
        {"order_id": "SO-1001"},
        "Do you really want to cancel order SO-1001? This cannot be undone.",
        "domain_word",
    ),
    ("订单共找到了。", {}, NOTHING_TO_CONFIRM_ZH, "domain_word"),
    (
        "I checked order SO-1001 is stocked in and awaiting shipment.",
        {"order_id": "SO-1001", "status": "stocked in and awaiting shipment"},
        "Order SO-1001 is stocked in and awaiting shipment.",
        "domain_word",
    ),
]

OUR_OWN_BROKEN = [
    # the wrong language, either way
    ("Order SO-1001 当前状态：已发货。", {"order_id": "SO-1001"}, "Order SO-1001 is shipped.", "language"),
    ("订单 SO-1001 is shipped now。", {"order_id": "SO-1001"}, "订单 SO-1001 当前状态：已发货。", "language"),
    # cut off at max_tokens, with or without the server saying so
    ("Your order SO-1001 is currently", {"order_id": "SO-1001"}, "Order SO-1001 is shipped.", "cut_off"),
    ("您的订单 SO-1001 目前状态为", {"order_id": "SO-1001"}, "订单 SO-1001 当前状态：已发货。", "cut_off"),
    # another state, another action, a thing the template does not name
    ("Order SO-1001 is confirmed.", {"order_id": "SO-1001"}, "Order SO-1001 is cancelled.", "domain_word"),
    ("订单 SO-1001 已发货。", {"order_id": "SO-1001"}, "订单 SO-1001 已取消。", "domain_word"),
    (
        "Order SO-1001 is cancelled; its invoice is void.",
        {"order_id": "SO-1001"},
        "Order SO-1001 is cancelled.",
        "domain_word",
    ),
    ("订单 SO-1001 已取消，工单已关闭。", {"order_id": "SO-1001"}, "订单 SO-1001 已取消。", "domain_word"),
    # a negation added or dropped
    (
        "Order SO-1001 can be cancelled.",
        {"order_id": "SO-1001"},
        "Order SO-1001 cannot be cancelled.",
        "negation",
    ),
    ("订单 SO-1001 未取消。", {"order_id": "SO-1001"}, "订单 SO-1001 已取消。", "negation"),
    # a claim that something was done
    (
        "I have cancelled order SO-1001.",
        {"order_id": "SO-1001", "status": "cancelled"},
        "Order SO-1001 is cancelled.",
        "claims_done",
    ),
    (
        "搞定啦！订单 SO-1001 当前状态：已发货。",
        {"order_id": "SO-1001", "status": "已发货"},
        "订单 SO-1001 当前状态：已发货。",
        "claims_done",
    ),
    # placeholders and names of facts left, chat-template tokens
    ("Order order_id is shipped.", {"order_id": "SO-1001"}, "Order SO-1001 is shipped.", "placeholder"),
    (
        "Order SO-1001 is shipped via tracking_number.",
        {"order_id": "SO-1001"},
        "Order SO-1001 is shipped.",
        "placeholder",
    ),
    (
        "<|assistant|>Order SO-1001 is shipped.",
        {"order_id": "SO-1001"},
        "Order SO-1001 is shipped.",
        "placeholder",
    ),
    # a fact twice, a phrase twice
    (
        "Order SO-1001, SO-1001 is shipped.",
        {"order_id": "SO-1001"},
        "Order SO-1001 is shipped.",
        "fact_count",
    ),
    (
        "Order Order SO-1001 is waiting for your confirmation.",
        {"order_id": "SO-1001", "status": "waiting for your confirmation"},
        "Order SO-1001 is waiting for your confirmation.",
        "repeated",
    ),
    (
        "订单订单 SO-1001 已入库，等待发货。",
        {"order_id": "SO-1001"},
        "订单 SO-1001 已入库，等待发货。",
        "repeated",
    ),
    (
        "您的订单您的订单 SO-1001 已入库，等待发货。",
        {"order_id": "SO-1001"},
        "订单 SO-1001 已入库，等待发货。",
        "repeated",
    ),
    # a state or an action of the template left out
    (
        "SO-1001.",
        {"order_id": "SO-1001"},
        "Order SO-1001 is stocked in and now awaits shipment.",
        "missing_word",
    ),
    (
        "Order SO-1001 with FedEx (784512345678).",
        {"order_id": "SO-1001", "carrier": "FedEx", "tracking_number": "784512345678"},
        "Order SO-1001 is shipped with FedEx (784512345678).",
        "missing_word",
    ),
    ("订单 SO-1001，等待发货。", {"order_id": "SO-1001"}, "订单 SO-1001 已入库，等待发货。", "missing_word"),
    # brackets that do not pair up: a sentence put together from two
    (
        "Invoice INV-2026-000001 of order SO-1001, amount CNY 9.00): http://h/i.pdf",
        {
            "invoice_number": "INV-2026-000001",
            "order_id": "SO-1001",
            "amount": "CNY 9.00",
            "url": "http://h/i.pdf",
        },
        "The invoice INV-2026-000001 of order SO-1001 (CNY 9.00) is here: http://h/i.pdf",
        "brackets",
    ),
    (
        "订单 SO-1001 已发货（UPS，运单号 1Z0000000000000000，运费 CNY 9.00。",
        {
            "order_id": "SO-1001",
            "carrier": "UPS",
            "tracking_number": "1Z0000000000000000",
            "freight": "CNY 9.00",
        },
        "订单 SO-1001 已由 UPS 发货（运单号 1Z0000000000000000），运费 CNY 9.00。",
        "brackets",
    ),
    # far longer than anything the template says
    (
        "Order SO-1001 is cancelled, and I really hope you have a wonderful day full of sunshine, joy, laughter and lovely surprises wherever you go.",
        {"order_id": "SO-1001"},
        "Order SO-1001 is cancelled.",
        "length",
    ),
]

PARAPHRASES = [
    (
        "Your order SO-1001 is currently shipped.",
        {"order_id": "SO-1001", "status": "shipped"},
        "Order SO-1001 is shipped.",
    ),
    (
        "您的订单 SO-1001 目前状态为：已发货。",
        {"order_id": "SO-1001", "status": "已发货"},
        "订单 SO-1001 当前状态：已发货。",
    ),
    (
        "Sorry, I could not find order SO-9. Could you check the number and try again?",
        {"order_id": "SO-9"},
        "I could not find an order SO-9. Please check the number and try again.",
    ),
    (
        "抱歉，没有找到订单 SO-9，请核对订单号后重试。",
        {"order_id": "SO-9"},
        "没有找到订单 SO-9，请核对订单号后再试。",
    ),
    (
        "I have passed your request on to our staff (ticket #3); a colleague will get back to you soon.",
        {"ticket": "3"},
        handoff("en", "3"),
    ),
    ("已为您转接人工，工单号 #11，同事会尽快联系您。", {"ticket": "11"}, handoff("zh", "11")),
    (
        "Here is the invoice INV-2026-000060 of order SO-1001 (CNY 1293.61): "
        "http://127.0.0.1:8080/api/v1/orders/SO-1001/invoice.pdf",
        {
            "invoice_number": "INV-2026-000060",
            "order_id": "SO-1001",
            "amount": "CNY 1293.61",
            "url": "http://127.0.0.1:8080/api/v1/orders/SO-1001/invoice.pdf",
        },
        "The invoice INV-2026-000060 of order SO-1001 (CNY 1293.61) is here: "
        "http://127.0.0.1:8080/api/v1/orders/SO-1001/invoice.pdf",
    ),
    ("订单 SO-1001 已经入库，正在等待发货。", {"order_id": "SO-1001"}, "订单 SO-1001 已入库，等待发货。"),
    (
        "Import from erp_csv: 3 new, 3 updated, 0 unchanged and 12 quarantined.",
        {"source": "erp_csv", "inserted": "3", "updated": "3", "unchanged": "0", "quarantined": "12"},
        "Import from erp_csv: 3 new, 3 updated, 0 unchanged, 12 quarantined.",
    ),
]


@pytest.mark.parametrize(("reply", "facts", "template", "reason"), SEEN_BY_USERS + OUR_OWN_BROKEN)
def test_a_broken_reply_is_refused_for_its_reason(reply, facts, template, reason):
    verdict = check(reply, facts, template)
    assert not verdict.passed
    assert verdict.reason == reason, verdict.detail
    assert verdict.reason in REASONS


@pytest.mark.parametrize(("reply", "facts", "template"), PARAPHRASES)
def test_a_faithful_paraphrase_passes(reply, facts, template):
    verdict = check(reply, facts, template)
    assert verdict.passed, verdict.detail


def test_the_server_saying_it_stopped_at_max_tokens_is_a_cut_off_reply():
    verdict = check(
        "Order SO-1 is shipped.", {"order_id": "SO-1"}, "Order SO-1 is shipped.", finish_reason="length"
    )
    assert verdict.reason == "cut_off"


def test_a_faithful_rephrasing_with_every_fact_passes():
    reply = "您好！您的订单 SO-1001（CNY 129.00）已由顺丰发出，运单号 SF1234567890，预计 2026-11-30 送达。"
    assert check(reply, FACTS, TEMPLATE).passed


def test_the_template_itself_passes():
    assert check(TEMPLATE, FACTS, TEMPLATE).passed


@pytest.mark.parametrize(
    "reply",
    [
        # a digit changed in the order id, the tracking number, the amount, the date
        "订单 SO-1002 已由顺丰发出，运单号 SF1234567890，CNY 129.00，2026-11-30 送达。",
        "订单 SO-1001 已由顺丰发出，运单号 SF1234567891，CNY 129.00，2026-11-30 送达。",
        "订单 SO-1001 已由顺丰发出，运单号 SF1234567890，CNY 128.00，2026-11-30 送达。",
        "订单 SO-1001 已由顺丰发出，运单号 SF1234567890，CNY 129.00，2026-11-03 送达。",
        # a dropped amount, a dropped carrier
        "订单 SO-1001 已由顺丰发出，运单号 SF1234567890，预计 2026-11-30 送达。",
        "订单 SO-1001 已发出，运单号 SF1234567890，CNY 129.00，2026-11-30 送达。",
        # an extra id, an extra number
        "订单 SO-1001 和 SO-1003 已由顺丰发出，运单号 SF1234567890，CNY 129.00，2026-11-30 送达。",
        "订单 SO-1001 已由顺丰发出，运单号 SF1234567890，CNY 129.00，2026-11-30 送达，约 3 天。",
        "订单 SO-1001 已由顺丰发出，运单号 SF1234567890，CNY 129.00，2026-11-30 送达，运费 12 元。",
        # the id with an extra digit appended contains the real one, and still is not it
        "订单 SO-10011 已由顺丰发出，运单号 SF1234567890，CNY 129.00，2026-11-30 送达。SO-1001",
        # the amount again in Chinese numerals, or in English words
        "订单 SO-1001 已由顺丰发出，运单号 SF1234567890，CNY 129.00（一百二十九元），2026-11-30 送达。",
        "订单 SO-1001 已由顺丰发出，运单号 SF1234567890，CNY 129.00，2026-11-30 送达，共三件。",
        "Order SO-1001 by 顺丰, SF1234567890, CNY 129.00, 2026-11-30, two hundred boxes.",
        # full-width digits are digits
        "订单 SO-1001 已由顺丰发出，运单号 SF1234567890，CNY 129.00，2026-11-30 送达，约５天。",
        "",
    ],
)
def test_a_changed_missing_or_invented_fact_fails(reply):
    assert not check(reply, FACTS, TEMPLATE).passed


def test_numbers_of_the_template_itself_are_allowed():
    facts = {"order_id": "SO-7"}
    template = "Order SO-7 ships within 2 days."
    assert check("Good news: order SO-7 will ship within 2 days!", facts, template).passed
    assert not check("Good news: order SO-7 will ship within 3 days!", facts, template).passed


def test_everyday_chinese_words_made_of_numerals_are_not_numbers():
    facts = {"order_id": "SO-1001"}
    reply = "十分抱歉，万一订单 SO-1001 有变化，我们一起看一下。"
    assert check(reply, facts, "十分抱歉，订单 SO-1001 如有变化我们会看一下。").passed


def test_the_reason_names_the_fact():
    verdict = check("订单 SO-1001 已发出。", {"order_id": "SO-1001", "tracking_number": "SF1"})
    assert not verdict.passed and "tracking_number" in verdict.detail
