"""The staff console as a support tool (issue 21): the order detail opens in view, destructive actions
ask first, the tabs follow the role, staff wording for states and the audit trail in both languages,
sorting by a column's header, dates in the chosen language's format, and the real update time.

These tests cancel, confirm and stock in orders and close tickets: they run against an order service of
their own (``order_service`` below, the browser tests' one made afresh for this module), so that the
other modules' tests find the sample orders as they expect them.
"""

from __future__ import annotations

import re
import socket
import time
from datetime import datetime, timezone
from urllib.parse import urlparse

import pytest
import requests

from orders.domain.access import Role
from tests.browser.conftest import STAFF, screenshot_path, serving_samples
from tests.browser.pages import customer_asks_for_a_person, open_order, staff_signs_in
from tests.browser.test_pages import assert_clean

VIEWPORT = {"width": 1400, "height": 1000}


@pytest.fixture(scope="module")
def order_service(tmp_path_factory):
    """The order service over the sample orders plus the staff users, with the hub: this module's own
    (it cancels and changes orders)."""
    with serving_samples(tmp_path_factory.mktemp("console")) as server:
        yield server


def api(order_service, path: str, role: Role = Role.OPERATIONS, **params):
    headers = {"Authorization": f"Bearer {order_service.token(role.value, role)}"}
    answer = requests.get(f"{order_service.url}{path}", params=params, headers=headers, timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()


def board_ids(page) -> list[str]:
    return page.eval_on_selector_all("tr[data-order-id]", "rows => rows.map(r => r.dataset.orderId)")


def wait_for_board(page, expected: list[str]) -> None:
    page.wait_for_function(
        "ids => JSON.stringify([...document.querySelectorAll('tr[data-order-id]')]"
        ".map(r => r.dataset.orderId)) === JSON.stringify(ids)",
        arg=expected,
        timeout=5_000,
    )


def visible_tabs(page) -> list[str]:
    return page.eval_on_selector_all(
        "[role=tablist] [role=tab]", "tabs => tabs.filter(t => !t.hidden).map(t => t.dataset.tab)"
    )


# --- 1. the detail opens in view --------------------------------------------------------------------


def test_the_order_detail_opens_in_a_side_panel_in_view(order_service, person):
    staff = person()
    page = staff.page
    staff_signs_in(page, order_service.url, "mei")
    page.wait_for_selector("tr[data-order-id]")
    last = page.locator("tr[data-order-id]").last  # the bottom of the board, below the window's fold
    order_id = last.get_attribute("data-order-id")
    last.scroll_into_view_if_needed()
    last.click()
    page.wait_for_selector(f"#order-detail h2:has-text('{order_id}')")

    box = page.locator("#order-detail").bounding_box()
    assert box["x"] >= 0 and box["y"] >= 0, box
    assert box["x"] + box["width"] <= VIEWPORT["width"] + 1, box
    assert box["y"] + box["height"] <= VIEWPORT["height"] + 1, box
    topbar = page.locator(".topbar").bounding_box()
    assert box["y"] == pytest.approx(topbar["height"], abs=1)  # below the top bar, to the bottom
    assert box["height"] >= VIEWPORT["height"] - topbar["height"] - 1
    heading = page.evaluate(
        "() => { const r = document.querySelector('#order-detail h2').getBoundingClientRect();"
        " return [r.top, r.bottom]; }"
    )
    assert 0 <= heading[0] < heading[1] <= VIEWPORT["height"], heading
    # Focus went into the panel; the board beside it is not covered (a wide window).
    assert page.evaluate("document.activeElement.closest('#order-detail') !== null")
    board = page.locator("#board").bounding_box()
    assert board["x"] + board["width"] <= box["x"] + 1, (board, box)
    page.screenshot(path=screenshot_path("console-detail-panel.png"))

    # Esc closes it, and the focus goes back to the row it was opened from.
    page.keyboard.press("Escape")
    page.wait_for_selector("#order-detail", state="hidden")
    assert page.evaluate("document.activeElement.dataset.orderId") == order_id

    # By keyboard: Enter on a row opens it, the close button closes it.
    page.focus("tr[data-order-id] >> nth=0")
    first = board_ids(page)[0]
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#order-detail h2:has-text('{first}')")
    page.click("#order-detail .close-panel")
    page.wait_for_selector("#order-detail", state="hidden")
    assert page.evaluate("document.activeElement.dataset.orderId") == first
    assert_clean(staff)


# --- 2. destructive actions ask first -----------------------------------------------------------------


def order_status(order_service, order_id: str) -> str:
    return api(order_service, f"/api/v1/orders/{order_id}")["status"]


def test_cancel_order_asks_first_and_only_a_confirmation_cancels(order_service, person):
    staff = person()
    page = staff.page
    staff_signs_in(page, order_service.url, "mei")
    open_order(page, "SO-1007")  # confirmed: operations may cancel it
    assert order_status(order_service, "SO-1007") == "confirmed"

    page.click("#order-detail button[data-action=cancel]")
    dialog = page.wait_for_selector("dialog[data-dialog=cancel][open]")
    assert page.evaluate("document.querySelector('dialog[open]').matches(':modal')")
    title = page.evaluate(
        "() => document.getElementById(document.querySelector('dialog[open]')"
        ".getAttribute('aria-labelledby')).textContent"
    )
    assert title == "Cancel order SO-1007?"
    assert "cannot be reopened" in dialog.inner_text()
    page.screenshot(path=screenshot_path("console-cancel-confirm.png"))
    time.sleep(0.3)
    assert order_status(order_service, "SO-1007") == "confirmed"  # nothing happened on the first click

    page.click("dialog[open] [data-choice=dismiss]")
    page.wait_for_selector("dialog", state="detached")
    assert page.evaluate("document.activeElement.dataset.action") == "cancel"  # focus back where it was
    page.click("#order-detail button[data-action=cancel]")
    page.wait_for_selector("dialog[open]")
    page.keyboard.press("Escape")  # Esc dismisses the dialog, not the panel
    page.wait_for_selector("dialog", state="detached")
    assert page.is_visible("#order-detail")
    time.sleep(0.3)
    assert order_status(order_service, "SO-1007") == "confirmed"

    page.click("#order-detail button[data-action=cancel]")
    page.fill("dialog[open] textarea[name=reason]", "the customer called to cancel")
    page.click("dialog[open] [data-choice=confirm]")
    page.wait_for_selector("#order-detail .notice")
    assert order_status(order_service, "SO-1007") == "cancelled"
    audit = api(order_service, "/api/v1/orders/SO-1007/audit")["items"]
    assert any(e["action"] == "cancel" and e["reason"] == "the customer called to cancel" for e in audit)
    assert "Cancelled" in page.inner_text("#order-detail dl")
    assert_clean(staff)


def test_closing_a_ticket_asks_first(order_service, person):
    customer_token = order_service.token("customer:C-012", Role.CUSTOMER, "C-012")
    ticket = customer_asks_for_a_person(order_service.url, customer_token, "console-close", "help")
    staff = person()
    page = staff.page
    staff_signs_in(page, order_service.url, "mei")
    page.click("[data-tab=handoffs]")
    page.click(f"li[data-ticket-id='{ticket['id']}'] button")
    page.click("#handoff-detail [data-action=close-ticket]")
    page.wait_for_selector("dialog[data-dialog=close-ticket][open]")
    page.screenshot(path=screenshot_path("console-close-ticket-confirm.png"))
    page.click("dialog[open] [data-choice=dismiss]")
    page.wait_for_selector("dialog", state="detached")
    open_ids = [t["id"] for t in api(order_service, "/api/v1/handoffs", status="open")["items"]]
    assert ticket["id"] in open_ids

    page.click("#handoff-detail [data-action=close-ticket]")
    page.click("dialog[open] [data-choice=confirm]")
    page.wait_for_selector("#handoff-detail", state="hidden")
    open_ids = [t["id"] for t in api(order_service, "/api/v1/handoffs", status="open")["items"]]
    assert ticket["id"] not in open_ids
    assert_clean(staff, expected=("404",))  # a server without the join route yet answers 404


def test_a_list_older_than_a_live_message_does_not_take_its_unread_count_back(order_service, person):
    """A reload of the ticket list that left the server before a customer's message arrives after it:
    the live count stands (the console asks again), it does not drop back to the older answer."""
    token = order_service.token("customer:C-013", Role.CUSTOMER, "C-013")
    ticket = customer_asks_for_a_person(order_service.url, token, "console-race", "a person please")
    staff = person()
    page = staff.page
    staff_signs_in(page, order_service.url, "mei")  # on the Orders tab: the ticket is not in view
    row = f"li[data-ticket-id='{ticket['id']}']"
    page.wait_for_selector(row, state="attached")

    held = []  # the list as the server gave it, kept back until the message has been counted

    def hold(route):
        if held:
            route.continue_()  # the console's next ask goes through
        else:
            held.append((route, route.fetch()))

    page.route("**/api/v1/handoffs?status=open", hold)
    other = order_service.token("customer:C-016", Role.CUSTOMER, "C-016")
    customer_asks_for_a_person(order_service.url, other, "console-race-2", "me too")  # the list reloads
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the new ticket did not make the console reload its list"
    sent = requests.post(
        f"{order_service.url}/api/v1/handoffs/{ticket['id']}/messages",
        json={"message": "still there?"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert sent.status_code == 201, sent.text
    page.wait_for_selector(f"{row} .badge[data-unread='1']", state="attached", timeout=2000)

    route, older = held[0]
    route.fulfill(response=older)  # the answer from before the message, arriving after it
    page.wait_for_timeout(1000)
    assert page.locator(f"{row} .badge[data-unread='1']").count() == 1  # still counted, not taken back
    assert_clean(staff)


# --- 3. tabs and actions follow the role --------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "tabs"),
    [
        ("wang", ["orders", "charts"]),
        ("fang", ["orders", "charts"]),
        ("mei", ["orders", "handoffs", "import", "charts"]),
    ],
)
def test_the_tabs_follow_the_role(order_service, person, user, tabs):
    staff = person()
    page = staff.page
    staff_signs_in(page, order_service.url, user)
    assert visible_tabs(page) == tabs
    for tab in ("handoffs", "import"):
        present = page.query_selector(f"#tab-{tab}") is not None
        assert present == (tab in tabs), (user, tab)
    if "handoffs" not in tabs:  # nor does the console ask for what the role may not read
        assert not [url for url in staff.urls if "/api/v1/handoffs" in url]
    page.screenshot(path=screenshot_path(f"console-{STAFF[user].value}-tabs.png"))

    # An ARIA tab list: one tab stop, arrows move and show, each panel labelled by its tab.
    page.focus("[role=tab][aria-selected=true]")
    page.keyboard.press("ArrowRight")
    selected = page.eval_on_selector("[role=tab][aria-selected=true]", "tab => tab.dataset.tab")
    assert selected == tabs[1]
    assert page.evaluate("document.activeElement.dataset.tab") == tabs[1]
    assert page.is_visible(f"#tab-{tabs[1]}") and page.is_hidden("#tab-orders")
    assert page.get_attribute(f"#tab-{tabs[1]}", "aria-labelledby") == f"tab-button-{tabs[1]}"
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.dataset.tab") == tabs[-1]
    page.keyboard.press("Home")
    assert page.evaluate("document.activeElement.dataset.tab") == "orders"
    tab_stops = page.eval_on_selector_all("[role=tab]", "tabs => tabs.filter(t => t.tabIndex === 0).length")
    assert tab_stops == 1
    assert_clean(staff)


def test_the_detail_offers_only_the_roles_actions(order_service, person):
    warehouse, finance = person(), person()
    staff_signs_in(warehouse.page, order_service.url, "wang")
    staff_signs_in(finance.page, order_service.url, "fang")
    order = "SO-1008"  # awaiting shipment, paid: the warehouse records and ships, finance has nothing
    open_order(warehouse.page, order)
    open_order(finance.page, order)
    actions = "nodes => nodes.map(n => n.dataset.action).sort()"
    assert warehouse.page.eval_on_selector_all("#order-detail [data-action]", actions) == [
        "record_shipment",
        "ship",
    ]
    assert finance.page.eval_on_selector_all("#order-detail [data-action]", actions) == []
    assert_clean(warehouse, finance)


def raw_upload_answer(order_service, token: str, extra_headers: str = "") -> str:
    """POST a multipart upload that declares 100 MB and sends 64 KiB of it; what the server answers."""
    address = urlparse(order_service.url)
    boundary = "orderbot-boundary"
    head = (
        f"POST /api/v1/imports HTTP/1.1\r\nHost: {address.netloc}\r\n"
        f"Authorization: Bearer {token}\r\n{extra_headers}"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {100 * 1024 * 1024}\r\n\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\norder_id,customer_id\r\n"
    ).encode()
    with socket.create_connection((address.hostname, address.port), timeout=5) as connection:
        connection.sendall(head + b"x" * 65536)  # the rest of the body never comes
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = connection.recv(65536)  # a server that waited for the body would time out here
            if not chunk:
                break
            answer += chunk
    return answer.decode("utf-8", "replace")


@pytest.mark.parametrize("user", ["wang", "fang"])
def test_the_import_endpoint_refuses_a_role_before_reading_the_upload(order_service, user):
    """Refused on the headers alone: the 403 comes back while almost all of the upload is unsent (a
    server reading the body first would wait for the missing 100 MB and time out), with or without an
    Idempotency-Key."""
    token = order_service.token(user, STAFF[user])
    for extra in ("", f"Idempotency-Key: refused-{user}\r\n"):
        started = time.monotonic()
        answer = raw_upload_answer(order_service, token, extra)
        assert answer.startswith("HTTP/1.1 403"), answer[:300]
        assert '"code":"forbidden"' in answer.replace(" ", ""), answer
        assert time.monotonic() - started < 3
    # Through an ordinary client too: a 403 with the API's error shape.
    refused = requests.post(
        f"{order_service.url}/api/v1/imports",
        files={"file": ("small.csv", b"order_id\n")},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"


# --- 4. staff wording -------------------------------------------------------------------------------


def test_states_and_the_audit_trail_in_staff_words_in_both_languages(order_service, person):
    # The customer confirms their own order (in the chat, say): the audit trail says so in words.
    customer = order_service.token("customer:C-005", Role.CUSTOMER, "C-005")
    confirmed = requests.post(
        f"{order_service.url}/api/v1/orders/SO-1005/transitions",
        json={"action": "confirm"},
        headers={"Authorization": f"Bearer {customer}"},
        timeout=5,
    )
    assert confirmed.status_code == 200, confirmed.text

    staff = person()
    page = staff.page
    staff_signs_in(page, order_service.url, "mei")
    open_order(page, "SO-1001")  # still waiting for the customer
    facts = page.inner_text("#order-detail dl")
    assert "Awaiting customer confirmation" in facts
    assert "waiting for your confirmation" not in page.inner_text("body")
    assert page.inner_text("tr[data-order-id='SO-1001'] td[data-status]") == "Awaiting customer confirmation"

    open_order(page, "SO-1005")
    row = page.locator("#order-detail tr[data-audit-action=confirm]")
    assert row.locator(".audit-what").inner_text() == "Confirmed by the customer"
    assert row.locator(".audit-change").inner_text() == (
        "Awaiting customer confirmation → Confirmed, awaiting stock-in"
    )
    assert "customer:C-005 (customer, console or API)" in row.inner_text()
    invoice = page.locator("#order-detail tr[data-audit-action=issue_invoice] .audit-what")
    assert invoice.inner_text() == "Invoice issued"
    audit = page.inner_text("#order-detail table.audit")
    assert not re.search(r"pending_confirmation|issue_invoice|\bconfirmed\b →", audit), audit

    page.click("[data-language=zh]")
    page.wait_for_function(
        "() => document.querySelector('#order-detail .audit-what')?.textContent.includes('客户')"
    )
    row = page.locator("#order-detail tr[data-audit-action=confirm]")
    assert row.locator(".audit-what").inner_text() == "客户已确认"
    assert row.locator(".audit-change").inner_text() == "待客户确认 → 已确认，待入库"
    assert "已确认，待入库" in page.inner_text("#order-detail dl")
    assert page.locator("#order-detail tr[data-audit-action=issue_invoice] .audit-what").inner_text() == (
        "已开具发票"
    )
    page.wait_for_function(
        "() => document.querySelector(\"tr[data-order-id='SO-1005'] td[data-status]\")"
        "?.textContent === '已确认，待入库'"
    )
    page.screenshot(path=screenshot_path("console-zh.png"))
    assert_clean(staff)


# --- 5. sorting by a column's header -----------------------------------------------------------------


def test_a_click_on_a_header_sorts_by_it_and_keeps_the_filters(order_service, person):
    staff = person()
    page = staff.page
    staff_signs_in(page, order_service.url, "mei")
    page.wait_for_selector("tr[data-order-id]")
    header = "#board th[data-sort=updated_at]"
    assert page.get_attribute(header, "aria-sort") is None
    assert page.get_attribute("#board th[data-sort=created_at]", "aria-sort") == "descending"

    page.click(f"{header} button")
    expected = [
        o["order_id"] for o in api(order_service, "/api/v1/orders", sort="updated_at", order="desc")["items"]
    ]
    wait_for_board(page, expected)
    assert page.get_attribute(header, "aria-sort") == "descending"
    assert page.inner_text(f"{header} .sort-arrow") == "▼"
    assert page.get_attribute("#board th[data-sort=created_at]", "aria-sort") is None

    page.click(f"{header} button")  # again: the other way
    expected = [
        o["order_id"] for o in api(order_service, "/api/v1/orders", sort="updated_at", order="asc")["items"]
    ]
    wait_for_board(page, expected)
    assert page.get_attribute(header, "aria-sort") == "ascending"
    assert page.inner_text(f"{header} .sort-arrow") == "▲"
    assert page.eval_on_selector("#board-filters select[name=sort]", "s => s.value") == "updated_at"

    # With a filter: the header sorts what the filter keeps.
    page.select_option("#filter-status", "shipped")
    page.click("#board-filters button[type=submit]")
    page.click("#board th[data-sort=paid_at] button")
    expected = [
        o["order_id"]
        for o in api(order_service, "/api/v1/orders", status="shipped", sort="paid_at", order="desc")["items"]
    ]
    wait_for_board(page, expected)
    assert expected and page.get_attribute("#board th[data-sort=paid_at]", "aria-sort") == "descending"
    statuses = page.eval_on_selector_all(
        "#board-rows td[data-status]", "cells => cells.map(c => c.dataset.status)"
    )
    assert set(statuses) == {"shipped"}
    page.screenshot(path=screenshot_path("console-sorted.png"))
    assert_clean(staff)


# --- 6. dates in the chosen language's format --------------------------------------------------------

EN_DATE = re.compile(
    r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4}, \d{1,2}:\d{2}\s[AP]M$"
)
ZH_DATE = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}$")


def created_cells(page) -> list[str]:
    return page.eval_on_selector_all(
        "#board-rows tr[data-order-id] td:nth-child(6)", "cells => cells.map(c => c.textContent)"
    )


def test_dates_follow_the_chosen_language(order_service, person):
    staff = person()
    page = staff.page
    staff_signs_in(page, order_service.url, "mei")
    page.wait_for_selector("tr[data-order-id]")
    cells = created_cells(page)
    assert cells and all(EN_DATE.match(cell) for cell in cells), cells
    page.click("[data-language=zh]")  # no reload: the board redraws its dates
    page.wait_for_function(
        "() => /年/.test(document.querySelector('#board-rows td:nth-child(6)').textContent)"
    )
    cells = created_cells(page)
    assert all(ZH_DATE.match(cell) for cell in cells), cells
    feed_times = page.eval_on_selector_all("#feed time", "times => times.map(t => t.textContent)")
    assert all(ZH_DATE.match(text) for text in feed_times), feed_times
    page.click("[data-language=en]")
    page.wait_for_function(
        "() => !/年/.test(document.querySelector('#board-rows td:nth-child(6)').textContent)"
    )
    assert all(EN_DATE.match(cell) for cell in created_cells(page))
    assert_clean(staff)


# --- 7. the real update time ---------------------------------------------------------------------------


def test_updated_is_when_the_order_last_changed_not_the_import(order_service, person):
    # Untouched since the import: its update time is the ERP's (2026-11-06 09:10 in Shanghai).
    untouched = api(order_service, "/api/v1/orders/SO-1004")
    assert untouched["updated_at"] == "2026-11-06T01:10:00+00:00"
    # Changed today: its update time is that change's.
    before = datetime.now(timezone.utc)
    warehouse = order_service.token("wang", Role.WAREHOUSE)
    stocked = requests.post(
        f"{order_service.url}/api/v1/orders/SO-1016/transitions",
        json={"action": "stock_in"},
        headers={"Authorization": f"Bearer {warehouse}"},
        timeout=5,
    )
    assert stocked.status_code == 200, stocked.text
    changed = datetime.fromisoformat(stocked.json()["updated_at"])
    assert changed >= before.replace(microsecond=0)

    staff = person()
    page = staff.page
    staff_signs_in(page, order_service.url, "mei")
    page.wait_for_selector("tr[data-order-id]")
    page.fill("#board-filters input[name=q]", "SO-10")  # the sample orders
    page.click("#board-filters button[type=submit]")
    page.click("#board th[data-sort=updated_at] button")
    page.wait_for_selector("#board th[data-sort=updated_at][aria-sort=descending]")
    wait_for_board(
        page,
        [o["order_id"] for o in api(order_service, "/api/v1/orders", q="SO-10", sort="updated_at")["items"]],
    )
    updated = page.eval_on_selector_all(
        "#board-rows tr[data-order-id] td:nth-child(7)",
        "cells => Object.fromEntries(cells.map(c => [c.parentElement.dataset.orderId, c.textContent]))",
    )
    today = page.evaluate(
        "iso => new Intl.DateTimeFormat('en-US', {dateStyle: 'medium'}).format(new Date(iso))",
        stocked.json()["updated_at"],
    )
    assert updated["SO-1016"].startswith(today), updated
    assert updated["SO-1004"].startswith("Nov 6, 2026"), updated
    # Orders no test changes show each its own ERP time, none the time of the import.
    untouched = {o: updated[o] for o in ("SO-1001", "SO-1004", "SO-1006", "SO-1009", "SO-1014", "SO-1019")}
    assert len(set(untouched.values())) == len(untouched), untouched
    assert not any(text.startswith(today) for text in untouched.values()), untouched
    page.screenshot(path=screenshot_path("console-updated.png"))
    assert_clean(staff)
