"""The chat page's basics in Chromium, against the order service alone (the assistant unreachable):
the phone layout, the starter suggestions and the accessible labels in both languages, timestamps and
speakers on every message, and what is typed while the assistant cannot be reached."""

from __future__ import annotations

from tests.browser.conftest import screenshot_path
from tests.browser.pages import customer_signs_in
from tests.browser.test_pages import assert_clean

PHONE = {"width": 390, "height": 844}


def test_the_chat_fills_a_phone_screen(order_service, person):
    customer = person()
    page = customer.page
    page.set_viewport_size(PHONE)
    page.goto(f"{order_service.url}/")
    page.screenshot(path=screenshot_path("chat-phone-signin.png"))
    customer_signs_in(page, order_service.url, "SO-1018", "noah.brown@example.com")
    card = page.locator("#conversation").bounding_box()
    composer = page.locator("#composer").bounding_box()
    # The card reaches the bottom of the screen (less the page's padding), the composer is on it.
    assert PHONE["height"] - (card["y"] + card["height"]) <= 16, card
    assert composer["y"] + composer["height"] <= PHONE["height"]
    assert card["x"] >= 0 and card["x"] + card["width"] <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
    page.screenshot(path=screenshot_path("chat-phone.png"))
    assert_clean(customer)


def test_starters_labels_and_speakers_follow_the_language(order_service, person):
    customer = person("zh-CN")
    page = customer.page
    customer_signs_in(page, order_service.url, "SO-1018", "noah.brown@example.com")
    starters = page.locator("#starters button")
    assert starters.all_inner_texts() == ["我的订单到哪了？", "我要开发票", "转人工"]
    assert page.get_by_label("您的消息").count() == 1  # the message box, labelled in Chinese
    assert page.get_attribute("#message-log", "aria-label") == "对话记录"
    assert page.get_attribute("#message-log", "role") == "log"
    welcome = page.locator("#messages li").first
    assert welcome.locator(".msg-label").inner_text() == "助手"  # the speaker, for a screen reader
    assert welcome.locator("time").get_attribute("datetime")
    page.screenshot(path=screenshot_path("chat-zh.png"))

    page.click("[data-language=en]")
    assert starters.all_inner_texts() == ["Where is my order?", "I need my invoice", "Talk to a person"]
    assert page.get_by_label("Your message").count() == 1
    assert page.get_attribute("#message-log", "aria-label") == "Conversation"
    assert welcome.locator(".msg-label").inner_text() == "Assistant"
    assert_clean(customer)


def test_what_is_typed_while_the_assistant_is_unreachable_waits_with_a_banner(order_service, person):
    customer = person()
    page = customer.page
    customer_signs_in(page, order_service.url, "SO-1018", "noah.brown@example.com")
    banner = page.wait_for_selector("#offline-banner:visible", timeout=10_000)  # nobody at Rasa's port
    assert "cannot be reached" in banner.inner_text()
    page.fill("#composer-text", "Where is SO-1018?")
    page.press("#composer-text", "Enter")
    mine = page.locator("#messages li.msg-user")
    assert mine.locator(".msg-text").inner_text() == "Where is SO-1018?"
    assert mine.locator(".msg-state").get_attribute("data-state") == "queued"
    assert mine.locator(".msg-label").inner_text() == "You"
    assert mine.locator("time").count() == 1
    assert page.input_value("#composer-text") == ""
    page.screenshot(path=screenshot_path("chat-offline.png"))
    # A reload keeps it, still waiting to be sent.
    page.reload()
    page.wait_for_selector("#messages li.msg-user")
    assert page.locator("#messages li.msg-user .msg-text").all_inner_texts() == ["Where is SO-1018?"]
    assert page.get_attribute("#messages li.msg-user .msg-state", "data-state") == "queued"
    assert_clean(customer)
