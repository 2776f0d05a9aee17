"""Small pieces of replies that depend on the language: refusal reasons, money, lists."""

from __future__ import annotations

import logging
from typing import Any

from orderbot_common.waits import wait_in_words
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.order_client import NotAuthenticated, OrderNotFound, OrderServiceUnavailable, Refused

logger = logging.getLogger(__name__)

# The order service explains refusals in English; these say the same in Chinese, by error code.
_REFUSALS_ZH = {
    "illegal_transition": "订单当前状态不允许该操作。",
    "forbidden": "您没有权限执行该操作。",
    "unknown_carrier": "未知的快递公司。",
    "invalid_tracking_number": "运单号格式与该快递公司不符。",
    "shipment_missing": "请先录入快递公司和运单号。",
    "concurrent_update": "订单刚被其他人修改，请重试。",
    "version_mismatch": "订单已被修改，请重试。",
    "invalid_request": "请求无效。",
    "unknown_source": "没有这个数据源。",
    "unreadable_source": "数据源无法读取。",
    "day_not_over": "该日期尚未结束，只能结算已经结束的日期（昨天或更早）。",
    "import_stopped": "导入中途停止，已导入的部分已保存；请再次导入以完成。",
}


# Each request in words: the first fallback's suggestions, and a refusal of a request the role may not make.
INTENT_WORDS = {
    "order_status": {"en": "ask where an order is", "zh": "查询订单进度"},
    "request_invoice": {"en": "get an invoice", "zh": "获取发票"},
    "confirm_order": {"en": "confirm an order", "zh": "确认订单"},
    "cancel_order": {"en": "cancel an order", "zh": "取消订单"},
    "bot_capabilities": {"en": "hear what I can do", "zh": "了解我能做什么"},
    "human_handoff": {"en": "talk to a person", "zh": "转人工"},
    "stock_in": {"en": "mark goods stocked in", "zh": "登记入库"},
    "ship_order": {"en": "record a shipment", "zh": "录入发货"},
    "settle_payments": {"en": "run the settlement", "zh": "执行结算"},
    "list_orders": {"en": "list orders", "zh": "查看订单列表"},
    "import_orders": {"en": "import orders", "zh": "导入订单"},
}


def language(tracker: Tracker) -> str:
    return "zh" if tracker.get_slot("language") == "zh" else "en"


def refusal(code: str, message: str, lang: str, details: dict[str, Any] | None = None) -> str:
    if lang == "zh":
        return _REFUSALS_ZH.get(code, "操作被拒绝。")
    return message or "the order service refused it."


def too_many_attempts(seconds: int, lang: str) -> str:
    """Why a proof of identity was not even checked, with the wait in words."""
    if lang == "zh":
        return f"验证失败次数过多，请 {wait_in_words(seconds, 'zh')}后再试。"
    return f"too many failed attempts to prove who you are. Please try again in {wait_in_words(seconds)}."


def money(amount: str, currency: str) -> str:
    return f"{currency} {amount}"


def reply_to_staff_failure(
    dispatcher: CollectingDispatcher, tracker: Tracker, problem: Exception, order_id: str | None
) -> None:
    """The reply to a staff request the order service did not carry out."""
    match problem:
        case NotAuthenticated():
            dispatcher.utter_message(response="utter_staff_only")
        case OrderNotFound():
            dispatcher.utter_message(response="utter_order_not_found", order_id=order_id)
        case Refused(code="forbidden"):
            dispatcher.utter_message(response="utter_staff_only")
        case Refused():
            dispatcher.utter_message(
                response="utter_change_refused", reason=refusal(problem.code, str(problem), language(tracker))
            )
        case OrderServiceUnavailable():
            logger.warning("order service unavailable: %s", problem)
            dispatcher.utter_message(response="utter_order_service_unavailable")
        case _:
            raise problem
