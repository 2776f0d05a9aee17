"""The chat page against the whole stack: the conversation comes back after a reload or in a new tab
(never another customer's), the assistant's typing shows, and what is written while Rasa is stopped
is delivered once it is back."""

from __future__ import annotations

import re
import time

import requests

from tests.browser.conftest import PASSWORD, screenshot_path
from tests.browser.pages import customer_signs_in, staff_signs_in
from tests.browser.test_whole_stack import REPLY_WITHIN_MS, ask

# Counts what appeared in the message list, so that a typing indicator seen for a moment is not missed.
WATCH_TYPING = """() => {
  window.__typingSeen = 0;
  new MutationObserver((changes) => {
    for (const change of changes)
      for (const node of change.addedNodes)
        if (node.classList && node.classList.contains("msg-typing")) window.__typingSeen += 1;
  }).observe(document.getElementById("messages"), { childList: true });
}"""


def say(page, text: str) -> None:
    page.fill("#composer-text", text)
    page.press("#composer-text", "Enter")


def transcript(page) -> list[tuple[str, str]]:
    """(kind, text) of every message on the page, top to bottom."""
    return page.eval_on_selector_all(
        "#messages li.msg:not(.msg-typing)",
        "nodes => nodes.map(n => [n.dataset.kind, n.querySelector('.msg-text').textContent])",
    )


def conversation_of(page) -> str | None:
    """The conversation id the chat page keeps for its signed-in customer."""
    subject = page.evaluate("JSON.parse(localStorage.getItem('orderbot.customer')).subject")
    return page.evaluate(f"localStorage.getItem('orderbot.conversation.{subject}')")


def staff_token(base: str, username: str = "mei") -> str:
    response = requests.post(
        f"{base}/api/v1/auth/token", json={"username": username, "password": PASSWORD}, timeout=10
    )
    response.raise_for_status()
    return response.json()["access_token"]


def test_a_reload_and_a_new_tab_bring_the_conversation_back(stack_staff, person):
    base = stack_staff.urls()["orders"]
    customer = person()
    page = customer.page
    customer_signs_in(page, base, "SO-1012", "ava.johnson@example.com")
    page.evaluate(WATCH_TYPING)
    reply = ask(page, "Where is my order SO-1012?")
    assert "SO-1012" in reply, reply
    assert page.evaluate("window.__typingSeen") >= 1  # "the assistant is typing" while it answered
    assert page.get_attribute("#messages li.msg-user .msg-state", "data-state") in ("sent", None)
    stock_in = requests.post(
        f"{base}/api/v1/orders/SO-1012/transitions",
        json={"action": "stock_in"},
        headers={"Authorization": f"Bearer {staff_token(base, 'wang')}"},
        timeout=10,
    )
    assert stock_in.status_code == 200, stock_in.text
    page.wait_for_selector("#messages li.msg-notice:has-text('SO-1012')", timeout=5000)
    before = transcript(page)
    assert [kind for kind, _ in before] == ["bot", "user", "bot", "notice"], before
    # Every message says when (a timestamp) and who (a speaker label, read out by screen readers).
    assert page.locator("#messages li.msg time.msg-time").count() == len(before)
    assert page.locator("#messages li.msg .msg-label").count() == len(before)

    page.reload()
    page.wait_for_function(f"() => document.querySelectorAll('#messages li.msg').length >= {len(before)}")
    assert transcript(page) == before  # the same talk, in order, the notice once
    page.screenshot(path=screenshot_path("chat-restored-after-reload.png"))

    tab = customer.context.new_page()  # a new tab of the same browser: still signed in
    tab.goto(f"{base}/")
    tab.wait_for_selector("#conversation:not([hidden])")
    tab.wait_for_function(f"() => document.querySelectorAll('#messages li.msg').length >= {len(before)}")
    assert transcript(tab) == before
    # ... and the conversation goes on there.
    reply = ask(tab, "Where is my order SO-1012?")
    assert "SO-1012" in reply, reply
    tab.screenshot(path=screenshot_path("chat-restored-in-new-tab.png"))
    assert not customer.errors, customer.errors


def test_another_customers_conversation_is_never_shown(stack_staff, person):
    base = stack_staff.urls()["orders"]
    first, second = person(), person()
    customer_signs_in(first.page, base, "SO-1016", "mia.davis@example.com")
    ask(first.page, "Where is my order SO-1016?")
    theirs = conversation_of(first.page)
    assert theirs

    page = second.page
    customer_signs_in(page, base, "SO-1013", "zhao.min@example.cn")
    subject = page.evaluate("JSON.parse(localStorage.getItem('orderbot.customer')).subject")
    # The other customer's conversation id, planted where this customer's own would be kept.
    page.evaluate(f"localStorage.setItem('orderbot.conversation.{subject}', {theirs!r})")
    page.reload()
    page.wait_for_selector(
        "#bot-status:has-text('online'), #bot-status:has-text('在线')", timeout=REPLY_WITHIN_MS
    )
    texts = " ".join(text for _, text in transcript(page))
    assert "SO-1016" not in texts, texts
    assert [kind for kind, _ in transcript(page)] == ["bot"]  # the welcome only
    # The page dropped it and the assistant gave this customer a conversation of their own.
    own = conversation_of(page)
    assert own and own != theirs
    token = page.evaluate("JSON.parse(localStorage.getItem('orderbot.customer')).token")
    refused = requests.get(
        f"{base}/api/v1/me/conversation",
        params={"conversation_id": theirs},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert refused.status_code == 404 and "SO-1016" not in refused.text
    assert all("404" in error for error in second.errors), second.errors


def test_handoff_both_ways_live(stack_staff, person):
    """The customer's messages reach the console through the hub (with unread counts); the chat says
    when a colleague joins and when the assistant is back; closing asks first and shows what is unread."""
    base = stack_staff.urls()["orders"]
    customer, staff = person(), person()
    chat, console = customer.page, staff.page
    customer_signs_in(chat, base, "SO-1014", "lucas.martin@example.fr")
    staff_signs_in(console, base, "mei")
    reply = ask(chat, "I want to talk to a person")
    ticket = int(re.search(r"#(\d+)", reply).group(1))
    chat.wait_for_selector(f"#bot-status:has-text('ticket #{ticket}')")  # no longer "Assistant online"
    assert "waiting for a colleague" in chat.inner_text("#bot-status").lower()
    row = f"li[data-ticket-id='{ticket}']"
    console.wait_for_selector(row, state="attached", timeout=5000)  # the new ticket, live (tab not open)

    # Written while nobody has the ticket open: its unread count and the tab's, within 2 s.
    sent = time.monotonic()
    say(chat, "My parcel is late, can someone check?")
    console.wait_for_selector(f"{row} .badge[data-unread='1']", state="attached", timeout=2000)
    assert time.monotonic() - sent <= 2.0
    assert console.inner_text("#handoffs-unread .badge-count") == "1"
    console.click("[data-tab=handoffs]")
    console.screenshot(path=screenshot_path("console-handoff-unread.png"))
    assert chat.get_attribute("#messages li.msg-user:last-child .msg-state", "data-state") == "sent"

    # Staff open it: the customer is told a person joined; the message is in the conversation.
    console.click(f"{row} button")
    console.wait_for_selector("#handoff-detail .transcript li:has-text('My parcel is late')")
    chat.wait_for_selector("#messages li.msg-notice:has-text('colleague has joined')", timeout=3000)
    chat.wait_for_selector("#bot-status:has-text('handling')")
    # With the ticket open, the next message appears in it at once.
    sent = time.monotonic()
    say(chat, "The order is SO-1014.")
    console.wait_for_selector(
        "#handoff-detail .transcript li:has-text('The order is SO-1014.')", timeout=2000
    )
    assert time.monotonic() - sent <= 2.0
    console.fill("#handoff-detail textarea", "Thanks, I am checking with the carrier now.")
    console.click("#handoff-detail form button[type=submit]")
    chat.wait_for_selector("#messages li.msg-staff:has-text('checking with the carrier')", timeout=3000)
    chat.screenshot(path=screenshot_path("chat-handoff-joined.png"))

    # A last message arrives while the staff member looks at another tab: it is counted, and back on
    # the ticket it is in the conversation, read, before anyone can close the ticket.
    console.click("[data-tab=orders]")
    say(chat, "One more thing: can you deliver on Monday?")
    console.wait_for_selector(f"{row} .badge[data-unread='1']", state="attached", timeout=2000)
    console.click("[data-tab=handoffs]")
    console.wait_for_selector("#handoff-detail .transcript li:has-text('deliver on Monday')")
    console.wait_for_selector(f"{row} .badge", state="detached")
    console.click("#handoff-detail [data-action=close-ticket]")
    dialog = console.wait_for_selector("dialog[data-dialog=close-ticket]")
    console.screenshot(path=screenshot_path("console-handoff-close-asks-first.png"))
    dialog.wait_for_selector("button[data-choice=dismiss]").click()  # not yet: nothing is closed
    opened = requests.get(
        f"{base}/api/v1/handoffs",
        params={"status": "open"},
        headers={"Authorization": f"Bearer {staff_token(base)}"},
        timeout=10,
    ).json()["items"]
    assert ticket in [item["id"] for item in opened]
    console.click("#handoff-detail [data-action=close-ticket]")
    console.wait_for_selector("dialog[data-dialog=close-ticket] button[data-choice=confirm]").click()

    # The customer is told, and the assistant answers again.
    chat.wait_for_selector("#messages li.msg-notice:has-text('assistant is back')", timeout=3000)
    chat.wait_for_selector("#bot-status:has-text('Assistant online')")
    reply = ask(chat, "Where is my order SO-1014?")
    assert "SO-1014" in reply, reply
    chat.screenshot(path=screenshot_path("chat-handoff-closed.png"))
    assert not customer.errors and not staff.errors, customer.errors + staff.errors


def test_a_message_written_while_rasa_is_stopped_is_delivered_when_it_is_back(stack_staff, person):
    base = stack_staff.urls()["orders"]
    customer = person()
    page = customer.page
    customer_signs_in(page, base, "SO-1020", "sun.yue@example.cn")
    ask(page, "Where is my order SO-1020?")
    stack_staff.stop_process("rasa")
    try:
        page.wait_for_selector("#offline-banner:visible", timeout=15_000)
        page.fill("#composer-text", "Where is my order SO-1020?")
        page.press("#composer-text", "Enter")
        page.fill("#composer-text", "Thanks")
        page.press("#composer-text", "Enter")
        states = page.eval_on_selector_all(
            "#messages li.msg-user .msg-state", "n => n.map(s => s.dataset.state)"
        )
        assert states[-2:] == ["queued", "queued"], states
        page.screenshot(path=screenshot_path("chat-rasa-stopped.png"))
    finally:
        stack_staff.start_process("rasa", timeout_s=240)
    # Back: both are sent, in order, and the assistant answers them.
    page.wait_for_selector("#offline-banner", state="hidden", timeout=60_000)
    page.wait_for_function(
        "() => document.querySelectorAll('#messages li.msg-bot').length >= 4", timeout=REPLY_WITHIN_MS
    )
    said = transcript(page)
    users = [i for i, (kind, _) in enumerate(said) if kind == "user"]
    first, second = users[-2:]
    assert said[first][1] == "Where is my order SO-1020?" and said[second][1] == "Thanks", said
    assert second == first + 1  # both written while Rasa was away, sent in order when it returned
    assert said[second + 1][0] == "bot" and "SO-1020" in said[second + 1][1], said
    assert not page.eval_on_selector_all(
        "#messages li.msg-user .msg-state[data-state='queued']", "n => n.length"
    )
    # "Sent" shows under the latest delivered message only, not under each.
    assert page.locator("#messages .msg-state[data-state='sent']:visible").count() == 1
    page.screenshot(path=screenshot_path("chat-delivered-after-rasa-returned.png"))
