"""Human words for workflow states, in the two languages orderbot speaks.

They live in the domain so that every reply, page and notification names a state the same way.
"""

from __future__ import annotations

from orders.domain.model import OrderStatus, PaymentStatus

LANGUAGES = ("en", "zh")

STATUS_LABELS: dict[OrderStatus, dict[str, str]] = {
    OrderStatus.PENDING_CONFIRMATION: {"en": "waiting for your confirmation", "zh": "待确认"},
    OrderStatus.CONFIRMED: {
        "en": "confirmed, waiting for the goods to be stocked in",
        "zh": "已确认，等待入库",
    },
    OrderStatus.AWAITING_SHIPMENT: {"en": "stocked in and awaiting shipment", "zh": "已入库，等待发货"},
    OrderStatus.SHIPPED: {"en": "shipped", "zh": "已发货"},
    OrderStatus.SETTLED: {"en": "settled", "zh": "已结算"},
    OrderStatus.CANCELLED: {"en": "cancelled", "zh": "已取消"},
}

PAYMENT_LABELS: dict[PaymentStatus, dict[str, str]] = {
    PaymentStatus.UNPAID: {"en": "unpaid", "zh": "未付款"},
    PaymentStatus.PAID: {"en": "paid", "zh": "已付款"},
}
