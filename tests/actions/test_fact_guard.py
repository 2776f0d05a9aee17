"""The fact guard against the ways a model gets facts wrong."""

from __future__ import annotations

import pytest

from actions.fact_guard import check

FACTS = {
    "order_id": "SO-1001",
    "amount": "CNY 129.00",
    "carrier": "顺丰",
    "tracking_number": "SF1234567890",
    "date": "2026-11-30",
}
TEMPLATE = "订单 SO-1001（CNY 129.00）已由顺丰发出，运单号 SF1234567890，预计 2026-11-30 送达。"


def test_a_faithful_rephrasing_passes():
    reply = (
        "您好！您的订单 SO-1001 已经由顺丰发出啦，运单号 SF1234567890，金额 CNY 129.00，预计 2026-11-30 到。"
    )
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
    reply = "十分抱歉，万一订单 SO-1001 有问题，请再说一遍，我们一起看一下。"
    assert check(reply, facts, "订单 SO-1001。").passed


def test_the_reason_names_the_fact():
    verdict = check("订单 SO-1001 已发出。", {"order_id": "SO-1001", "tracking_number": "SF1"})
    assert not verdict.passed and "tracking_number" in verdict.reason
