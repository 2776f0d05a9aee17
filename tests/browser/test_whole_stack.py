"""The pages against the whole stack as `make run` starts it: the widget talks to Rasa over socket.io, the
order service (gunicorn) pushes notifications through its hub."""

from __future__ import annotations

import time

from tests.browser.conftest import screenshot_path
from tests.browser.pages import customer_signs_in, open_order, staff_signs_in

REPLY_WITHIN_MS = 30_000


def bot_replies(page) -> list[str]:
    return page.eval_on_selector_all(
        "#messages li.msg-bot .msg-text", "nodes => nodes.map(n => n.textContent)"
    )


def ask(page, text: str) -> str:
    """Type ``text`` in the widget and return the bot's next reply."""
    page.wait_for_selector(
        "#bot-status:has-text('online'), #bot-status:has-text('在线')", timeout=REPLY_WITHIN_MS
    )
    before = len(bot_replies(page))
    page.fill("#composer-text", text)
    page.press("#composer-text", "Enter")
    page.wait_for_function(
        f"() => document.querySelectorAll('#messages li.msg-bot').length > {before}", timeout=REPLY_WITHIN_MS
    )
    return bot_replies(page)[before]


def test_a_customer_asks_the_bot_where_the_order_is(stack_staff, person):
    customer = person("zh-CN")
    base = stack_staff.urls()["orders"]
    customer_signs_in(customer.page, base, "SO-1001", "zhang.wei@example.cn")
    reply = ask(customer.page, "SO-1001 到哪了")
    assert "SO-1001" in reply and "待确认" in reply, reply
    reply = ask(customer.page, "Where is my order SO-1019?")
    assert "SO-1019" in reply and "shipped" in reply, reply
    customer.page.screenshot(path=screenshot_path("chat-widget-conversation.png"))
    assert not customer.errors, customer.errors


def test_the_bot_tells_a_customer_nothing_of_another_customers_order(stack_staff, person):
    customer = person()
    customer_signs_in(customer.page, stack_staff.urls()["orders"], "SO-1003", "li.na@example.cn")
    for question in ("SO-1001 到哪了", "Where is SO-1001?"):
        reply = ask(customer.page, question)
        assert "待确认" not in reply and "waiting for your confirmation" not in reply, reply
        assert "张伟" not in reply and "1280" not in reply, reply
    assert not customer.errors, customer.errors


def test_a_shipment_reaches_the_widget_within_2_seconds(stack_staff, person):
    base = stack_staff.urls()["orders"]
    customer, staff = person(), person()
    customer_signs_in(customer.page, base, "SO-1008", "james.wilson@example.com")
    staff_signs_in(staff.page, base, "wang")
    open_order(staff.page, "SO-1008")
    staff.page.select_option("form[data-action=record_shipment] select[name=carrier]", "ZTO Express")
    staff.page.fill("form[data-action=record_shipment] input[name=tracking_number]", "731234567890")
    staff.page.click("form[data-action=record_shipment] button[type=submit]")
    staff.page.wait_for_selector("#order-detail .notice")

    clicked = time.monotonic()
    staff.page.click("#order-detail button[data-action=ship]")
    customer.page.wait_for_selector("#messages li.msg-notice:has-text('SO-1008')", timeout=2000)
    waited = time.monotonic() - clicked
    assert waited <= 2.0, f"the notification took {waited:.2f} s"
    assert not customer.errors and not staff.errors, customer.errors + staff.errors


def test_a_person_answers_a_handoff_in_the_customers_widget(stack_staff, person):
    base = stack_staff.urls()["orders"]
    customer, staff = person("zh-CN"), person()
    customer_signs_in(customer.page, base, "SO-1007", "liu.yang@example.cn")
    reply = ask(customer.page, "我要转人工")
    assert "#" in reply, reply  # the bot names the ticket it opened

    staff_signs_in(staff.page, base, "mei")
    staff.page.click("[data-tab=handoffs]")
    ticket = staff.page.wait_for_selector("li.handoff:has-text('C-007') button")
    ticket.click()
    transcript = staff.page.wait_for_selector("#handoff-detail .transcript li.msg-user")
    assert "我要转人工" in transcript.inner_text()  # read from Rasa's tracker store
    staff.page.fill("#handoff-detail textarea", "您好，我是客服小梅，请问有什么可以帮您？")
    staff.page.click("#handoff-detail form button[type=submit]")
    answer = customer.page.wait_for_selector("#messages li.msg-staff", timeout=3000)
    assert "客服小梅" in answer.inner_text()
    customer.page.screenshot(path=screenshot_path("chat-widget-handoff-answer.png"))
    staff.page.screenshot(path=screenshot_path("console-handoff.png"), full_page=True)
    assert not customer.errors and not staff.errors, customer.errors + staff.errors
