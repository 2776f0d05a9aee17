"""The invoice as a PDF document (reportlab), with Chinese text in reportlab's built-in CJK font."""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

_FONT = "STSong-Light"  # ships with reportlab: no font file to download or install
pdfmetrics.registerFont(UnicodeCIDFont(_FONT))


def render_invoice(invoice: dict[str, Any], order: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)  # invariant: same bytes for the same invoice
    pdf.setTitle(f"Invoice {invoice['number']}")
    pdf.setAuthor("orderbot")
    width, height = A4
    y = height - 30 * mm
    pdf.setFont(_FONT, 20)
    pdf.drawString(20 * mm, y, "发票 Invoice")
    pdf.setFont(_FONT, 11)
    lines = [
        ("发票号 Invoice number", invoice["number"]),
        ("开票日期 Issued", invoice["issued_at"].date().isoformat()),
        ("订单号 Order", invoice["order_id"]),
        ("客户 Customer", f"{invoice['customer_name']} ({invoice['customer_id']})"),
        ("金额 Amount", f"{invoice['currency']} {invoice['amount']:.2f}"),
        ("付款状态 Payment", order["payment_status"]),
        ("到期日 Due", order["due_date"].isoformat() if order.get("due_date") else "-"),
    ]
    y -= 15 * mm
    for label, value in lines:
        pdf.drawString(20 * mm, y, label)
        pdf.drawString(75 * mm, y, str(value))
        y -= 8 * mm
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
