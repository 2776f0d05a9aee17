"""Signed invoice links: the PDF opened as a browser opens a link (no Authorization header), by the
caller the link was made for, for that one invoice, until it expires; refused otherwise.

The ``api`` orders: SO-1 (C-100, pending), SO-2 (C-100, imported awaiting shipment: its invoice was
issued on import), SO-3 (C-200, pending)."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from orders.clock import utcnow
from orders.domain.access import Actor, Role, Source
from orders.entrypoints import auth
from orders.entrypoints.http import dependencies
from tests.orders.conftest import LiveServer, settings_for
from tests.orders.entrypoints.conftest import load, row


def invoice_of(server, order_id: str, session: requests.Session) -> dict:
    response = session.get(f"{server.url}/api/v1/orders/{order_id}/invoice", timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def opened(server, link: str) -> requests.Response:
    """``link`` opened without any header, as a browser's address bar opens it."""
    return requests.get(f"{server.url}{link}", timeout=5)


def link_token(link: str) -> str:
    return parse_qs(urlsplit(link).query)["link_token"][0]


def assert_refused(response: requests.Response, status: int = 401) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert "code" in response.json()["error"] and b"%PDF" not in response.content


def test_the_customer_opens_the_link_without_a_header(api):
    before = utcnow()
    invoice = invoice_of(api, "SO-2", api.as_("customer", customer_id="C-100"))
    assert invoice["pdf_link"].startswith("/api/v1/orders/SO-2/invoice.pdf?link_token=")
    expires_at = datetime.fromisoformat(invoice["pdf_link_expires_at"])
    assert before + timedelta(seconds=599) <= expires_at <= utcnow() + timedelta(seconds=601)

    pdf = opened(api, invoice["pdf_link"])
    assert pdf.status_code == 200
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"] == f'inline; filename="{invoice["number"]}.pdf"'
    assert "no-store" in pdf.headers["Cache-Control"] and pdf.headers["Referrer-Policy"] == "no-referrer"
    # Without the link nor a token: the 401 a link replaces.
    assert_refused(opened(api, invoice["pdf_url"]))


def test_finance_and_operations_open_their_links_and_the_warehouse_gets_none(api):
    for role in ("finance", "operations"):
        invoice = invoice_of(api, "SO-2", api.as_(role))
        assert opened(api, invoice["pdf_link"]).content.startswith(b"%PDF")
    warehouse = api.as_("warehouse").get(f"{api.url}/api/v1/orders/SO-2/invoice", timeout=5)
    assert warehouse.status_code == 403 and "pdf_link" not in warehouse.text


def test_a_link_opens_its_own_invoice_only(api):
    operations = api.as_("operations")
    for order_id in ("SO-1", "SO-3"):
        confirmed = operations.post(
            f"{api.url}/api/v1/orders/{order_id}/transitions", json={"action": "confirm"}, timeout=5
        )
        assert confirmed.status_code == 200
    own = invoice_of(api, "SO-2", api.as_("customer", customer_id="C-100"))["pdf_link"]
    others = invoice_of(api, "SO-3", api.as_("customer", customer_id="C-200"))["pdf_link"]
    assert opened(api, others).status_code == 200

    # The order number in the address changed: to the same customer's other order, to another's.
    assert_refused(opened(api, own.replace("/SO-2/", "/SO-1/")))
    assert_refused(opened(api, others.replace("/SO-3/", "/SO-2/")))
    assert_refused(opened(api, others.replace("/SO-3/", "/SO-404/")))  # unknown: the same answer
    # Tampered with: a claim rewritten (the order, to match the address), the signature changed, none.
    header, claims, signature = link_token(own).split(".")
    rewritten = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    rewritten["oid"] = "SO-1"
    forged = base64.urlsafe_b64encode(json.dumps(rewritten).encode()).decode().rstrip("=")
    assert_refused(opened(api, f"/api/v1/orders/SO-1/invoice.pdf?link_token={header}.{forged}.{signature}"))
    assert_refused(opened(api, f"/api/v1/orders/SO-2/invoice.pdf?link_token={header}.{claims}.x{signature}"))
    assert_refused(opened(api, "/api/v1/orders/SO-2/invoice.pdf?link_token=not-a-link"))
    assert_refused(opened(api, "/api/v1/orders/SO-2/invoice.pdf?link_token="))


def test_a_valid_link_never_shows_another_customers_order(api):
    """Even a link we signed, if it named another customer's order, would find nothing: what its
    holder may see is checked as for any request (404, never 403)."""
    signer = dependencies.of(api.app).signer
    number = invoice_of(api, "SO-2", api.as_("operations"))["number"]
    stranger = Actor("C-200", Role.CUSTOMER, Source.REST, "C-200")
    token = signer.invoice_link(stranger, "SO-2", number).token
    response = opened(api, f"/api/v1/orders/SO-2/invoice.pdf?link_token={token}")
    assert_refused(response, 404)
    assert response.json()["error"]["code"] == "order_not_found"
    # a link for the right order and holder that names another invoice number
    owner = Actor("C-100", Role.CUSTOMER, Source.REST, "C-100")
    other_number = signer.invoice_link(owner, "SO-2", "INV-2026-999999").token
    assert_refused(opened(api, f"/api/v1/orders/SO-2/invoice.pdf?link_token={other_number}"))


def test_an_expired_link_is_refused(engine, database_url, tmp_path, monkeypatch):
    settings = settings_for(database_url, tmp_path, ORDERBOT_INVOICE_LINK_TTL_SECONDS="30")
    server = LiveServer(engine, settings)
    try:
        load(engine, tmp_path, row("SO-2", "confirmed"))
        invoice = invoice_of(server, "SO-2", server.as_("customer", customer_id="C-100"))
        expires_at = datetime.fromisoformat(invoice["pdf_link_expires_at"])
        assert expires_at - utcnow() <= timedelta(seconds=30)

        # The service's one clock moved on: still open a second before expiry, refused from then on.
        monkeypatch.setattr(auth, "utcnow", lambda: expires_at - timedelta(seconds=1))
        assert opened(server, invoice["pdf_link"]).status_code == 200
        monkeypatch.setattr(auth, "utcnow", lambda: expires_at)
        assert_refused(opened(server, invoice["pdf_link"]))
        monkeypatch.setattr(auth, "utcnow", lambda: expires_at + timedelta(days=1))
        response = opened(server, invoice["pdf_link"])
        assert_refused(response)
        assert "expired" in response.json()["error"]["message"]
    finally:
        server.close()


def test_a_link_is_no_bearer_token_and_a_bearer_token_no_link(api):
    customer = api.as_("customer", customer_id="C-100")
    link = invoice_of(api, "SO-2", customer)["pdf_link"]
    as_bearer = {"Authorization": f"Bearer {link_token(link)}"}
    for path in ("/api/v1/orders/SO-2", "/api/v1/orders/SO-2/invoice", "/api/v1/orders/SO-2/invoice.pdf"):
        assert_refused(requests.get(f"{api.url}{path}", headers=as_bearer, timeout=5))
    bearer_token = customer.headers["Authorization"].removeprefix("Bearer ")
    assert_refused(opened(api, f"/api/v1/orders/SO-2/invoice.pdf?link_token={bearer_token}"))
    # and a link's token is no proof of a customer for a conversation
    assert dependencies.of(api.app).signer.customer_of(link_token(link)) is None


def test_a_link_token_with_a_control_character_is_a_400(api):
    response = opened(api, "/api/v1/orders/SO-2/invoice.pdf?link_token=a%00b")
    assert_refused(response, 400)
    assert response.json()["error"]["code"] == "invalid_request"


def test_the_link_parameter_is_documented(api):
    document = requests.get(f"{api.url}/api/v1/openapi.json", timeout=5).json()
    parameters = document["paths"]["/api/v1/orders/{order_id}/invoice.pdf"]["get"]["parameters"]
    link_parameter = next(p for p in parameters if p["name"] == "link_token")
    assert link_parameter["in"] == "query" and not link_parameter["required"]
    assert {"pdf_link", "pdf_link_expires_at"} <= set(
        document["components"]["schemas"]["InvoiceOut"]["required"]
    )


@pytest.mark.parametrize("seconds", ["0", "-5", "soon"])
def test_the_link_lifetime_must_be_a_positive_number_of_seconds(seconds, tmp_path):
    with pytest.raises(ValueError, match="ORDERBOT_INVOICE_LINK_TTL_SECONDS"):
        settings_for(f"sqlite:///{tmp_path / 'x.db'}", tmp_path, ORDERBOT_INVOICE_LINK_TTL_SECONDS=seconds)
