"""What the sender may ask for, checked before anything is asked and used to choose what is offered.

The order service decides (``GET /api/v1/me`` lists what a token's role ``may`` do); the assistant only
maps its intents onto those names, so no role rule is written twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from rasa_sdk import Tracker

from actions.identity import user_token
from actions.order_client import NotAuthenticated, OrderServiceClient

# The capability (as /me names it) each intent needs; intents not listed are open to everyone.
INTENT_NEEDS = {
    "confirm_order": "confirm",
    "cancel_order": "cancel",
    "stock_in": "stock_in",
    "ship_order": "ship",
    "settle_payments": "settle",
    "list_orders": "list_orders",
    "import_orders": "import",
}
STAFF_INTENTS = frozenset({"stock_in", "ship_order", "settle_payments", "list_orders", "import_orders"})
# A sender without a token is a visitor: asked for an order's e-mail or phone, they act as its customer.
VISITOR_MAY = frozenset({"confirm", "cancel"})


@dataclass(frozen=True)
class Rights:
    role: str | None  # None: a visitor (no token, or one the order service no longer accepts)
    may: frozenset[str]

    @property
    def is_staff(self) -> bool:
        return self.role not in (None, "customer")

    def may_ask(self, intent: str) -> bool:
        if intent in STAFF_INTENTS and not self.is_staff:
            return False
        need = INTENT_NEEDS.get(intent)
        return need is None or need in self.may


VISITOR = Rights(None, VISITOR_MAY)


async def sender_rights(tracker: Tracker, client: OrderServiceClient) -> Rights:
    """The sender's rights as the order service states them (OrderServiceUnavailable propagates)."""
    token = user_token(tracker)
    if token is None:
        return VISITOR
    try:
        me = await client.me(token)
    except NotAuthenticated:
        return VISITOR
    return Rights(me["role"], frozenset(me.get("may", ())))
