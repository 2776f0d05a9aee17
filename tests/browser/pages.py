"""What a person does on the pages, as Playwright steps."""

from __future__ import annotations

import requests

from tests.browser.conftest import PASSWORD


def customer_signs_in(page, base_url: str, order_id: str, contact: str) -> None:
    page.goto(f"{base_url}/")
    page.fill("#signin-order", order_id)
    page.fill("#signin-contact", contact)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#conversation:not([hidden])")
    page.wait_for_selector("#hub-status:has-text('live'), #hub-status:has-text('实时')", timeout=10_000)


def staff_signs_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/console")
    page.fill("#signin-user", username)
    page.fill("#signin-password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#workspace:not([hidden])")
    page.wait_for_selector("#hub-status:has-text('live'), #hub-status:has-text('实时')", timeout=10_000)


def open_order(page, order_id: str) -> None:
    page.fill("#board-filters input[name=q]", order_id)
    page.click("#board-filters button[type=submit]")
    page.click(f"tr[data-order-id='{order_id}']")
    page.wait_for_selector(f"#order-detail h2:has-text('{order_id}')")


def stored_token(page, key: str) -> str:
    """The token a page keeps: the chat page in localStorage (shared by its tabs), the console in
    sessionStorage."""
    return page.evaluate(
        f"JSON.parse(localStorage.getItem('{key}') || sessionStorage.getItem('{key}')).token"
    )


def customer_asks_for_a_person(
    base_url: str, token: str, conversation_id: str, message: str, language: str = "en"
) -> dict:
    """Open a handoff ticket as the signed-in customer whose ``token`` it is (as the assistant does
    for them); the ticket's JSON."""
    response = requests.post(
        f"{base_url}/api/v1/handoffs",
        json={
            "conversation_id": conversation_id,
            "channel": "socketio",
            "message": message,
            "language": language,
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert response.status_code == 201, response.text
    return response.json()
