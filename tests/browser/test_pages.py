"""The chat page and the staff console in Chromium, against the order service (with its hub) alone."""

from __future__ import annotations

import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import requests

from tests.browser.conftest import XSS_NAME, screenshot_path
from tests.browser.pages import (
    customer_asks_for_a_person,
    customer_signs_in,
    open_order,
    staff_signs_in,
    stored_token,
)

NOTICE_WITHIN_S = 2.0
# Here the order service runs alone: the widget's socket.io connection to the assistant must fail.
NO_ASSISTANT = re.compile(r"WebSocket connection to 'ws://[^']+/socket\.io/")


def assert_clean(*people, expected: tuple[str, ...] = ()) -> None:
    """No JavaScript error, no CSP violation, no failed request on any page of the test, except the
    failed connection to the absent assistant and the HTTP statuses in ``expected`` (like "422")."""
    problems = [
        error
        for person in people
        for error in person.errors
        if not NO_ASSISTANT.search(error) and not any(f"status of {status} " in error for status in expected)
    ]
    assert not problems, problems


def test_staff_ship_and_the_customer_widget_shows_it_within_2_seconds(order_service, person):
    customer, staff, finance = person(), person(), person()
    customer_signs_in(customer.page, order_service.url, "SO-1018", "noah.brown@example.com")
    staff_signs_in(staff.page, order_service.url, "wang")
    staff_signs_in(finance.page, order_service.url, "fang")  # finance watches its own feed
    open_order(staff.page, "SO-1018")

    staff.page.select_option("form[data-action=record_shipment] select[name=carrier]", "SF Express")
    staff.page.fill("form[data-action=record_shipment] input[name=tracking_number]", "SF1234567890123")
    staff.page.click("form[data-action=record_shipment] button[type=submit]")
    staff.page.wait_for_selector("#order-detail .notice")
    assert "SF Express SF1234567890123" in staff.page.inner_text("#order-detail dl")
    # The warehouse's own feed shows the shipment change (rule 4) live.
    staff.page.wait_for_selector("#feed li.feed-shipment_changed, #feed li:has-text('SO-1018')", timeout=5000)

    clicked = time.monotonic()
    staff.page.click("#order-detail button[data-action=ship]")
    customer.page.wait_for_selector(
        "#messages li.msg-notice:has-text('SO-1018')", timeout=NOTICE_WITHIN_S * 1000
    )
    waited = time.monotonic() - clicked
    assert waited <= NOTICE_WITHIN_S, f"the notification took {waited:.2f} s"
    notice = customer.page.inner_text("#messages li.msg-notice")
    assert "SO-1018" in notice and "shipped" in notice.lower()
    # The same shipment reaches finance as it happens (rule 6: the freight), in finance's console.
    finance.page.wait_for_selector("#feed li:has-text('SO-1018')", timeout=NOTICE_WITHIN_S * 1000)
    assert "freight" in finance.page.inner_text("#feed").lower()
    # ... and finance's order board, loaded before the shipment, shows the new state by itself.
    finance.page.wait_for_selector(
        "tr[data-order-id='SO-1018'] td[data-status=shipped]", timeout=NOTICE_WITHIN_S * 1000
    )
    finance.page.screenshot(path=screenshot_path("console-finance-feed.png"), full_page=True)
    staff.page.wait_for_selector("#order-detail td:has-text('ship')")  # the audit trail has the shipment
    customer.page.screenshot(path=screenshot_path("chat-widget-notification.png"))
    staff.page.screenshot(path=screenshot_path("console-order-detail.png"), full_page=True)
    assert_clean(customer, staff, finance)


def test_the_console_shows_the_apis_refusals(order_service, person):
    staff = person()
    staff_signs_in(staff.page, order_service.url, "wang")
    open_order(staff.page, "SO-1001")  # pending confirmation: a warehouse user can do nothing yet
    assert (
        staff.page.inner_text("#order-detail .actions").strip()
        == "Your role can take no action on this order now."
    )

    open_order(staff.page, "SO-1013")  # awaiting shipment
    staff.page.select_option("form[data-action=record_shipment] select[name=carrier]", "SF Express")
    staff.page.fill("form[data-action=record_shipment] input[name=tracking_number]", "12345")
    staff.page.click("form[data-action=record_shipment] button[type=submit]")
    alert = staff.page.wait_for_selector("#order-detail [role=alert]:visible")
    token = stored_token(staff.page, "orderbot.staff")
    api = requests.put(
        f"{order_service.url}/api/v1/orders/SO-1013/shipment",
        json={"carrier": "SF Express", "tracking_number": "12345"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert api.status_code == 422
    assert alert.inner_text() == f"Error: {api.json()['error']['message']}"  # the API's own words
    # The order is unchanged: the warehouse may still ship it or record a valid shipment.
    actions = staff.page.eval_on_selector_all(
        "#order-detail [data-action]", "nodes => nodes.map(n => n.dataset.action)"
    )
    assert sorted(actions) == ["record_shipment", "ship"]
    assert_clean(staff, expected=("422",))


def test_the_board_filters_searches_sorts_and_pages(order_service, person):
    staff = person()
    staff_signs_in(staff.page, order_service.url, "mei")
    staff.page.wait_for_selector("tr[data-order-id]")
    staff.page.select_option("#filter-status", "cancelled")
    staff.page.click("#board-filters button[type=submit]")
    staff.page.wait_for_function(
        "() => [...document.querySelectorAll('#board-rows td[data-status]')]"
        ".every(td => td.dataset.status === 'cancelled')"
    )
    assert sorted(
        staff.page.eval_on_selector_all("tr[data-order-id]", "rows => rows.map(r => r.dataset.orderId)")
    ) == [
        "SO-1006",
        "SO-1017",
    ]
    staff.page.select_option("#filter-status", "")
    staff.page.select_option("#board-filters select[name=sort]", "paid_at")
    staff.page.select_option("#board-filters select[name=order]", "asc")
    staff.page.click("#board-filters button[type=submit]")
    staff.page.wait_for_function(
        "() => document.querySelector('#page-info').textContent.includes('Page 1 of 2')"
    )
    assert any("sort=paid_at" in url and "order=asc" in url for url in staff.urls)
    first_page = staff.page.eval_on_selector_all(
        "tr[data-order-id]", "rows => rows.map(r => r.dataset.orderId)"
    )
    assert len(first_page) == 20
    staff.page.click("#page-next")
    staff.page.wait_for_function(
        "() => document.querySelector('#page-info').textContent.includes('Page 2 of 2')"
    )
    second_page = staff.page.eval_on_selector_all(
        "tr[data-order-id]", "rows => rows.map(r => r.dataset.orderId)"
    )
    assert second_page and not set(first_page) & set(second_page)
    staff.page.screenshot(path=screenshot_path("console-board.png"), full_page=True)
    assert_clean(staff)


def test_text_from_the_data_is_never_markup(order_service, person):
    staff = person()
    staff_signs_in(staff.page, order_service.url, "mei")
    open_order(staff.page, "SO-9001")
    cell = staff.page.inner_text("tr[data-order-id='SO-9001'] td:nth-child(2)")
    assert cell == f"{XSS_NAME} (C-900)"
    assert staff.page.evaluate("window.__xss") is None
    assert staff.page.query_selector("#board img, #order-detail img") is None
    assert_clean(staff)


def test_import_by_upload_shows_progress_and_the_report(order_service, person, tmp_path):
    staff = person()
    staff_signs_in(staff.page, order_service.url, "mei")
    export = tmp_path / "erp-export.csv"
    export.write_text(
        "order_id,customer_id,customer_name,email,phone,amount,created_at,updated_at\n"
        "SO-7001,C-700,Ana,ana@example.com,13800007001,120.00,2026-11-20 09:00:00,2026-11-20 09:00:00\n"
        "SO-7002,C-701,Bo,bo@example.com,13800007002,not-money,2026-11-20 09:00:00,2026-11-20 09:00:00\n",
        encoding="utf-8",
    )
    staff.page.click("[data-tab=import]")
    staff.page.set_input_files("#import-file", str(export))
    staff.page.click("#import-form button[type=submit]")
    summary = staff.page.wait_for_selector("#import-report .import-summary")
    assert summary.inner_text() == (
        "erp-export.csv: 2 rows, 1 inserted, 0 updated, 0 unchanged, 1 quarantined."
    )
    assert staff.page.eval_on_selector("#import-progress", "bar => bar.value") == 1
    assert "Row 3" in staff.page.inner_text("#import-report .import-problems")
    assert_clean(staff)


def test_charts_render_with_data(order_service, person):
    staff = person()
    staff_signs_in(staff.page, order_service.url, "mei")
    token = stored_token(staff.page, "orderbot.staff")
    headers = {"Authorization": f"Bearer {token}"}
    confirm = requests.post(
        f"{order_service.url}/api/v1/orders/SO-1011/transitions",
        json={"action": "confirm"},
        headers=headers,
        timeout=5,
    )
    assert confirm.status_code == 200
    deadline = time.monotonic() + 10  # the hub dispatches the confirmation's notifications
    while (
        requests.get(
            f"{order_service.url}/api/v1/stats/notification-latency", headers=headers, timeout=5
        ).json()["dispatched"]
        == 0
    ):
        assert time.monotonic() < deadline, "the hub dispatched nothing"
        time.sleep(0.2)

    staff.page.click("[data-tab=charts]")
    staff.page.wait_for_function(
        "() => [...document.querySelectorAll('figure.chart')].every(f => f.dataset.state === 'drawn')",
        timeout=10_000,
    )
    staff.page.screenshot(path=screenshot_path("console-charts.png"), full_page=True)
    assert screenshot_path("console-charts.png").stat().st_size > 10_000
    # Read the pixels of each canvas: a drawn chart has many coloured (not white, not transparent) pixels.
    coloured = staff.page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('figure.chart canvas')].map(canvas => {
            const {data} = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
            let count = 0;
            for (let i = 0; i < data.length; i += 4) {
              const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
              if (a > 200 && Math.max(r, g, b) - Math.min(r, g, b) > 60) count++;
            }
            return [canvas.id, count];
        }))"""
    )
    for canvas, count in coloured.items():
        assert count > 200, f"{canvas} has only {count} coloured pixels: {coloured}"
    for name in ("by-state", "imports", "settlements", "latency", "conversations"):
        staff.page.locator(f"figure[data-chart={name}] canvas").screenshot(
            path=screenshot_path(f"chart-{name}.png")
        )
    note = staff.page.inner_text("figure[data-chart=latency] .chart-note")
    assert note.startswith("p50 ")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    note = staff.page.inner_text("figure[data-chart=conversations] .chart-note")
    assert note == f"{today}: fallback rate 25 % · top intents: order_status (2), nlu_fallback (1), greet (1)"
    assert_clean(staff)


def test_a_handoff_answer_reaches_the_customers_widget(order_service, person):
    customer, staff = person("zh-CN"), person()
    customer_signs_in(customer.page, order_service.url, "SO-1005", "137-0013-7002")  # by phone
    token = stored_token(customer.page, "orderbot.customer")
    ticket = customer_asks_for_a_person(order_service.url, token, "browser-conv", "我要找人工", "zh")
    staff_signs_in(staff.page, order_service.url, "mei")
    staff.page.click("[data-tab=handoffs]")
    staff.page.click(f"li[data-ticket-id='{ticket['id']}'] button")
    staff.page.fill("#handoff-detail textarea", "您好，我们已为您加急处理。")
    staff.page.click("#handoff-detail form button[type=submit]")
    staff.page.wait_for_selector("#handoff-detail .notice")
    reply = customer.page.wait_for_selector("#messages li.msg-staff", timeout=3000)
    assert "您好，我们已为您加急处理。" in reply.inner_text() and "客服" in reply.inner_text()
    assert_clean(customer, staff)


def test_addresses_in_messages_are_links_and_nothing_else_is_markup(order_service, person):
    customer, staff = person("zh-CN"), person()
    customer_signs_in(customer.page, order_service.url, "SO-1015", "huang.li@example.cn")
    token = stored_token(customer.page, "orderbot.customer")
    ticket = customer_asks_for_a_person(order_service.url, token, "browser-links", "单号？", "zh")
    staff_signs_in(staff.page, order_service.url, "mei")
    staff.page.click("[data-tab=handoffs]")
    staff.page.click(f"li[data-ticket-id='{ticket['id']}'] button")
    answer = "查询：https://www.ups.com/track?tracknum=1Z999AA10123456784。<b>bold</b> javascript:alert(1)"
    staff.page.fill("#handoff-detail textarea", answer)
    staff.page.click("#handoff-detail form button[type=submit]")
    reply = customer.page.wait_for_selector("#messages li.msg-staff", timeout=3000)
    links = reply.query_selector_all("a")
    assert [(a.get_attribute("href"), a.get_attribute("target"), a.get_attribute("rel")) for a in links] == [
        ("https://www.ups.com/track?tracknum=1Z999AA10123456784", "_blank", "noopener noreferrer")
    ]
    assert "<b>bold</b> javascript:alert(1)" in reply.inner_text() and reply.query_selector("b") is None
    assert_clean(customer, staff)


def test_the_page_follows_the_browser_language_and_the_switch(order_service, person):
    visitor = person("zh-CN")
    visitor.page.goto(f"{order_service.url}/")
    assert visitor.page.inner_text("#signin-form label span >> nth=0") == "订单号"
    assert visitor.page.evaluate("document.documentElement.lang") == "zh-CN"
    visitor.page.click("[data-language=en]")
    assert visitor.page.inner_text("#signin-form label span >> nth=0") == "Order number"
    visitor.page.reload()
    assert visitor.page.inner_text("#signin-form label span >> nth=0") == "Order number"  # remembered
    assert_clean(visitor)


def failed_sign_ins_until_refused(page, fill, limit: int = 10) -> str:
    """Submit the page's sign-in form with wrong credentials until it is refused for too many failures
    (5 lock for 1 s, then each doubles the wait: soon met); the error shown then."""
    for _ in range(limit):
        fill()
        with page.expect_response(lambda response: "/api/v1/auth/" in response.url) as answer:
            page.click("#signin-form button[type=submit]")
        if answer.value.status == 429:
            return page.wait_for_selector("#signin-error:visible").inner_text()
    raise AssertionError(f"no 429 after {limit} failed sign-ins")


def test_too_many_failed_sign_ins_show_the_wait_in_words(order_service, person):
    staff = person()
    staff.page.goto(f"{order_service.url}/console")

    def wrong_password():
        staff.page.fill("#signin-user", "nobody-of-the-throttle-test")
        staff.page.fill("#signin-password", "guess")

    shown = failed_sign_ins_until_refused(staff.page, wrong_password)
    assert re.fullmatch(r"Error: Too many attempts\. Try again in \d+ seconds?\.", shown), shown

    visitor = person("zh-CN")
    visitor.page.goto(f"{order_service.url}/")

    def wrong_contact():
        visitor.page.fill("#signin-order", "SO-1016")
        visitor.page.fill("#signin-contact", "guess@example.com")

    shown = failed_sign_ins_until_refused(visitor.page, wrong_contact)
    assert re.fullmatch(r"尝试次数过多，请 \d+ 秒后再试。", shown), shown
    assert_clean(staff, visitor, expected=("401", "429"))


def test_a_customer_cannot_see_another_customers_order(order_service, person):
    customer = person()
    page = customer.page
    # The sign-in itself: another customer's order number with my e-mail is refused, nothing is stored.
    page.goto(f"{order_service.url}/")
    page.fill("#signin-order", "SO-1001")
    page.fill("#signin-contact", "li.na@example.cn")
    page.click("#signin-form button[type=submit]")
    assert "do not match" in page.wait_for_selector("#signin-error:visible").inner_text()
    assert page.evaluate("localStorage.getItem('orderbot.customer')") is None

    customer_signs_in(page, order_service.url, "SO-1003", "li.na@example.cn")
    token = stored_token(page, "orderbot.customer")
    # Every route, from the page itself (same origin, its own token) and directly.
    probes = [
        ("GET", "/api/v1/orders/SO-1001"),
        ("GET", "/api/v1/orders/so-1001"),
        ("GET", "/api/v1/orders/SO-1001/audit"),
        ("GET", "/api/v1/orders/SO-1001/invoice"),
        ("GET", "/api/v1/orders/SO-1001/invoice.pdf"),
        ("POST", "/api/v1/orders/SO-1001/transitions"),
        ("PUT", "/api/v1/orders/SO-1001/shipment"),
        ("GET", "/api/v1/audit"),
        ("GET", "/api/v1/handoffs"),
        ("GET", "/api/v1/stats/orders-by-state"),
        ("GET", "/api/v1/handoffs/1/conversation"),
        ("POST", "/api/v1/handoffs/1/reply"),
    ]
    for method, path in probes:
        body = {"action": "cancel"} if path.endswith("/transitions") else {"message": "hi"}
        if method == "PUT":
            body = {"carrier": "SF Express", "tracking_number": "SF1234567890123"}
        in_page = page.evaluate(
            """async ([method, path, token, body]) => {
                const r = await fetch(path, {method, headers: {Authorization: `Bearer ${token}`,
                    'Content-Type': 'application/json'}, body: body ? JSON.stringify(body) : undefined});
                return [r.status, await r.text()];
            }""",
            [method, path, token, body if method != "GET" else None],
        )
        direct = requests.request(
            method,
            f"{order_service.url}{path}",
            json=body if method != "GET" else None,
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        for status, text in (in_page, (direct.status_code, direct.text)):
            assert status in (403, 404), (method, path, status, text)
            assert "张伟" not in text and "zhang.wei" not in text and "C-001" not in text, (path, text)

    # Lists only ever hold the caller's orders, whatever the filters say.
    for query in ("", "?customer_id=C-001", "?q=SO-1001", "?q=张伟", "?status=pending_confirmation"):
        listed = requests.get(
            f"{order_service.url}/api/v1/orders{query}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        ).json()
        assert {o["customer_id"] for o in listed["items"]} <= {"C-003"}, (query, listed)
    notifications = requests.get(
        f"{order_service.url}/api/v1/notifications?after=0",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    ).json()["items"]
    assert {n["customer_id"] for n in notifications} <= {"C-003"}

    # Live: a change to someone else's order never reaches this widget; one to my own order does.
    ops = {"Authorization": f"Bearer {order_service.token()}"}
    other = requests.post(
        f"{order_service.url}/api/v1/orders/SO-1020/transitions",
        json={"action": "confirm"},
        headers=ops,
        timeout=5,
    )
    assert other.status_code == 200
    mine = requests.post(
        f"{order_service.url}/api/v1/orders/SO-1003/transitions",
        json={"action": "pay"},
        headers=ops,
        timeout=5,
    )
    assert mine.status_code in (200, 409, 422), mine.text  # SO-1003 was paid in the ERP already
    requests.put(
        f"{order_service.url}/api/v1/orders/SO-1003/shipment",
        json={"carrier": "SF Express", "tracking_number": "SF1234567890999"},
        headers=ops,
        timeout=5,
    )
    ship = requests.post(
        f"{order_service.url}/api/v1/orders/SO-1003/transitions",
        json={"action": "ship"},
        headers=ops,
        timeout=5,
    )
    assert ship.status_code == 200, ship.text
    page.wait_for_selector("#messages li.msg-notice:has-text('SO-1003')", timeout=3000)
    assert "SO-1020" not in page.inner_text("#messages")

    # The token never travels in a URL (pages, API calls, WebSockets).
    assert token not in page.url
    assert not [url for url in customer.urls if token in url]
    assert_clean(customer, expected=("401", "403", "404"))


def test_the_widget_catches_up_on_what_happened_while_it_was_away(order_service, person):
    customer = person()
    customer_signs_in(customer.page, order_service.url, "SO-1002", "emily.carter@example.com")
    last_id = customer.page.evaluate("sessionStorage.getItem('orderbot.hub-last.customer:C-002')")
    assert last_id is not None  # remembered from the hub's "ready", before any event
    customer.page.goto("about:blank")  # the page (and its WebSocket) is gone

    ops = {"Authorization": f"Bearer {order_service.token()}"}
    stock_in = requests.post(
        f"{order_service.url}/api/v1/orders/SO-1002/transitions",
        json={"action": "stock_in"},
        headers=ops,
        timeout=5,
    )
    assert stock_in.status_code == 200, stock_in.text

    customer.page.goto(f"{order_service.url}/")  # same tab: still signed in, reconnects after last_id
    notice = customer.page.wait_for_selector("#messages li.msg-notice:has-text('SO-1002')", timeout=5000)
    assert "stocked in" in notice.inner_text()
    assert int(customer.page.evaluate("sessionStorage.getItem('orderbot.hub-last.customer:C-002')")) > int(
        last_id
    )
    assert_clean(customer)


def test_an_expired_sign_in_starts_afresh_and_the_next_customer_gets_a_conversation_of_their_own(
    order_service, person
):
    customer = person()
    page = customer.page
    customer_signs_in(page, order_service.url, "SO-1018", "noah.brown@example.com")
    subject = page.evaluate("JSON.parse(localStorage.getItem('orderbot.customer')).subject")
    page.evaluate(f"localStorage.setItem('orderbot.conversation.{subject}', 'previous-conversation')")
    page.evaluate(
        "const s = JSON.parse(localStorage.getItem('orderbot.customer'));"
        "s.expiresAt = Date.now() - 1000; localStorage.setItem('orderbot.customer', JSON.stringify(s));"
    )
    page.reload()
    page.wait_for_selector("#signin-form:not([hidden])")
    # The next person at this browser signs in: they never continue the previous customer's
    # conversation (conversations are kept per customer, and the order service gives one back only to
    # the customer it belongs to).
    customer_signs_in(page, order_service.url, "SO-1002", "emily.carter@example.com")
    assert page.evaluate("JSON.parse(localStorage.getItem('orderbot.customer')).subject") != subject
    assert not [url for url in customer.urls if "previous-conversation" in url]
    assert [m.strip() for m in page.locator("#messages li .msg-text").all_inner_texts()] == [
        "Hello! Ask me where your order is, for its invoice, or for a person."
    ]
    assert_clean(customer)
