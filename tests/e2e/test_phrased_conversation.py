"""Whole conversations with replies phrased by the default model, one per role and language: each reply
must say what happened (its state and action words, its facts) and nothing else, however it is worded.

The words below are the test's own reading of each situation, independent of the reply guard.
"""

from __future__ import annotations

import re
import uuid

import pytest

from orders.adapters.rasa_conversations import RasaConversations
from orders.domain.labels import STATUS_LABELS
from tests.e2e.test_conversation import rest_chat, sign_in, staff_token

STATE_LABELS = {
    language: {status.value: labels[language] for status, labels in STATUS_LABELS.items()}
    for language in ("en", "zh")
}
# What no reply may mention unless it is the reply's subject: states, other actions and things.
EN_WORDS = ("confirm", "cancel", "invoice", "ticket", "settle", "ship", "stock", "import", "refund", "done")
ZH_WORDS = ("确认", "取消", "发票", "工单", "结算", "发货", "入库", "导入", "退款", "已完成", "成功")


def says(reply: str, facts: list[str], words: list[str], language: str, may: tuple[str, ...] = ()) -> None:
    """``reply`` states every fact exactly once and every word, and no domain word beyond ``words``
    (and those it ``may`` say)."""
    assert "{" not in reply and "}" not in reply, reply
    for fact in facts:
        rest = reply
        for longer in (f for f in facts if fact in f and f != fact):  # SO-1005 is in its invoice URL too
            rest = rest.replace(longer, " ")
        assert rest.count(fact) == 1, f"{fact!r} not exactly once in {reply!r}"
    lowered = reply.lower()
    for word in words:
        assert word.lower() in lowered, f"{word!r} missing from {reply!r}"
    stripped = lowered
    for fact in facts:
        stripped = stripped.replace(fact.lower(), " ")
    vocabulary = ZH_WORDS if language == "zh" else EN_WORDS
    allowed = " ".join([*words, *may]).lower()
    extra = [w for w in vocabulary if w in stripped and w not in allowed]
    assert not extra, f"{reply!r} also says {extra}"
    if language == "zh":
        assert re.search(r"[\u4e00-\u9fff]", reply), reply
        assert not re.search(r"\b[a-z]{3,}\b", stripped), f"English words in {reply!r}"
    else:
        assert not re.search(r"[\u4e00-\u9fff]", stripped), f"Chinese in {reply!r}"
    whole = reply.rstrip(")）").rstrip()[-1] in ".!?。！？" or reply.endswith(tuple(facts))
    assert whole, f"cut off: {reply!r}"


def one(replies: list[str]) -> str:
    assert len(replies) == 1, replies
    return replies[0]


def test_a_chinese_customer_asks_about_a_shipped_order_and_confirms_another(phrased_stack):
    token = sign_in(phrased_stack, "SO-1001", "zhang.wei@example.cn")  # owns SO-1001 and SO-1019
    sender = f"zh-{uuid.uuid4().hex}"

    reply = one(rest_chat(phrased_stack, "我的订单SO-1019到哪了", token, sender))
    says(reply, ["SO-1019", STATE_LABELS["zh"]["shipped"]], ["发货"], "zh")

    reply = one(rest_chat(phrased_stack, "订单SO-1001的发票", token, sender))  # not confirmed yet
    says(reply, ["SO-1001"], ["发票", "确认", "开具"], "zh")
    assert "没" in reply or "未" in reply, reply

    reply = one(rest_chat(phrased_stack, "确认订单SO-1001", token, sender))
    says(reply, ["SO-1001"], ["确认", "发票", "开具"], "zh", may=("已完成",))
    assert "没" not in reply and "未" not in reply, reply

    reply = one(rest_chat(phrased_stack, "我要转人工", token, sender))
    assert re.search(r"#\d+", reply) and "人工" in reply, reply
    says(reply, [re.search(r"#\d+", reply).group()], ["人工", "工单"], "zh")


def test_an_english_customer_gets_the_status_and_invoice_and_cancels_an_order(phrased_stack):
    li_na = sign_in(phrased_stack, "SO-1003", "li.na@example.cn")
    sender = f"en-{uuid.uuid4().hex}"
    reply = one(rest_chat(phrased_stack, "Where is my order SO-1003?", li_na, sender))
    says(reply, ["SO-1003", STATE_LABELS["en"]["awaiting_shipment"]], ["stock", "ship"], "en")

    wang_fang = sign_in(phrased_stack, "SO-1005", "wang.fang@example.cn")  # SO-1005 waits for her
    sender = f"en-{uuid.uuid4().hex}"
    reply = one(rest_chat(phrased_stack, "please confirm my order SO-1005", wang_fang, sender))
    says(reply, ["SO-1005"], ["confirm", "invoice", "issued"], "en", may=("done",))
    reply = one(rest_chat(phrased_stack, "Can I have the invoice for SO-1005?", wang_fang, sender))
    number = re.search(r"INV-\d{4}-\d{6}", reply)
    url = re.search(r"https?://\S+invoice\.pdf\?link_token=[\w.-]+", reply)  # the signed link, whole
    assert number and url, reply
    says(reply, ["SO-1005", number.group(), "CNY 2150.75", url.group()], ["invoice"], "en")

    sun_yue = sign_in(phrased_stack, "SO-1020", "sun.yue@example.cn")
    sender = f"en-{uuid.uuid4().hex}"
    asked = one(rest_chat(phrased_stack, "I want to cancel order SO-1020", sun_yue, sender))
    says(asked, ["SO-1020"], ["cancel", "undone"], "en")
    assert "?" in asked and "not" in asked, asked
    done = one(rest_chat(phrased_stack, "yes", sun_yue, sender))
    says(done, ["SO-1020"], ["cancel"], "en")
    assert "not" not in done.lower(), done

    # The console's transcript (read from Rasa's tracker) shows what the customer really saw.
    conversations = RasaConversations(phrased_stack.urls()["rasa"], phrased_stack.env["RASA_AUTH_TOKEN"])
    transcript = conversations.transcript(sender)
    assert [m["text"] for m in transcript.messages if m["speaker"] == "bot"] == [asked, done]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_warehouse_clerk_stocks_in_and_ships(phrased_stack, language):
    token = staff_token(phrased_stack, f"clerk-{language}", "warehouse")
    sender = f"staff-{uuid.uuid4().hex}"
    order, number = ("SO-1012", "SF1234567890123") if language == "en" else ("SO-1016", "SF9876543210987")
    if language == "zh":
        reply = one(rest_chat(phrased_stack, f"订单{order}已入库", token, sender))
        says(reply, [order], ["入库", "发货"], "zh")
    else:
        reply = one(rest_chat(phrased_stack, f"{order} is stocked in", token, sender))
        says(reply, [order], ["stock", "ship"], "en")

    rest_chat(phrased_stack, f"ship {order}" if language == "en" else f"发货 {order}", token, sender)
    rest_chat(phrased_stack, "SF Express" if language == "en" else "顺丰", token, sender)
    asked = one(rest_chat(phrased_stack, number, token, sender))
    carrier = "SF Express" if language == "en" or "SF Express" in asked else "顺丰"
    words = ["ship", "told"] if language == "en" else ["发货", "通知", "运单号"]
    says(asked, [order, number, carrier], words, language, may=("确认",))
    assert "?" in asked or "？" in asked, asked

    shipped = one(rest_chat(phrased_stack, "yes" if language == "en" else "是的", token, sender))
    freight = re.search(r"CNY \d+\.\d\d", shipped)
    assert freight, shipped
    words = ["ship", "freight"] if language == "en" else ["发货", "运费"]
    says(shipped, [order, "SF Express", number, freight.group()], words, language)
