"""The customer's actions: where is an order, its invoice, confirm it, cancel it.

Each resolves the order number and the caller's token (from the chat page, or from proof typed in the
chat), calls the order service with that token, and replies in the user's language.
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.identity import TOKEN_SLOT, contact_in, user_token
from actions.order_client import (
    NotAuthenticated,
    OrderNotFound,
    OrderServiceClient,
    OrderServiceUnavailable,
    Refused,
    TooManyAttempts,
)
from actions.order_ids import requested_order_id
from actions.phrasing import phrased
from actions.replies import language, money, refusal, too_many_attempts
from actions.rights import sender_rights

logger = logging.getLogger(__name__)
PENDING_SLOT = "pending_change"
REQUESTED_SLOT = "requested_action"
# A customer's orders that are still under way, and those that have (or once had) an invoice.
OPEN_STATES = frozenset({"pending_confirmation", "confirmed", "awaiting_shipment", "shipped"})
INVOICED_STATES = frozenset({"confirmed", "awaiting_shipment", "shipped", "settled"})
OWN_ORDERS_READ = 50  # the newest of a customer's orders looked at
OWN_ORDERS_OFFERED = 3  # buttons offered when several fit


class CustomerOrderAction(Action, ABC):  # abstract: rasa-sdk registers only concrete actions
    """Find the order and the caller, then ``act``; every failure gets a clear reply."""

    @abstractmethod
    async def act(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        client: OrderServiceClient,
        token: str,
        order_id: str,
    ) -> list[dict[str, Any]]:
        """Do the work once the caller's token is known; return the events to apply."""

    # Asked without an order number by a signed-in customer: the request is about their own orders in
    # these states (newest first); ``intent`` is what a button picking one of them sends.
    intent = "order_status"
    own_states = OPEN_STATES
    none_of_yours = "utter_no_open_orders"

    @phrased
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        client = OrderServiceClient.from_env()
        order_id = requested_order_id(tracker)
        if order_id is None:
            try:
                order_id, asked = await self._one_of_yours(dispatcher, tracker, client)
            except OrderServiceUnavailable as problem:
                logger.warning("order service unavailable: %s", problem)
                dispatcher.utter_message(response="utter_order_service_unavailable")
                return []
            if asked:
                return [SlotSet(REQUESTED_SLOT, self.name())]
            if order_id is None:
                return [SlotSet(REQUESTED_SLOT, None)]
        events: list[dict[str, Any]] = [SlotSet("order_id", order_id)]
        try:
            token = user_token(tracker)
            if token is None:
                email, phone = contact_in(tracker.latest_message.get("text"))
                if not (email or phone):
                    dispatcher.utter_message(response="utter_ask_verification", order_id=order_id)
                    return [*events, SlotSet(REQUESTED_SLOT, self.name())]
                try:
                    token = await client.customer_token(order_id, email, phone, tracker.sender_id)
                except (NotAuthenticated, OrderNotFound):
                    dispatcher.utter_message(response="utter_verification_failed", order_id=order_id)
                    return [*events, SlotSet(REQUESTED_SLOT, self.name())]
                except TooManyAttempts as throttled:  # the request stays pending: prove it again later
                    reason = too_many_attempts(throttled.retry_after, language(tracker))
                    dispatcher.utter_message(response="utter_change_refused", reason=reason)
                    return [*events, SlotSet(REQUESTED_SLOT, self.name())]
                events.append(SlotSet(TOKEN_SLOT, token))
            events += await self.act(dispatcher, tracker, client, token, order_id)
        except NotAuthenticated:  # an expired or forged token: prove again
            dispatcher.utter_message(response="utter_ask_verification", order_id=order_id)
            return [
                SlotSet(TOKEN_SLOT, None),
                SlotSet("order_id", order_id),
                SlotSet(REQUESTED_SLOT, self.name()),
            ]
        except OrderNotFound:  # unknown, or another customer's: the same answer
            dispatcher.utter_message(response="utter_order_not_found", order_id=order_id)
            return [*events[1:], SlotSet("order_id", None), SlotSet(REQUESTED_SLOT, None)]
        except Refused as refused:
            dispatcher.utter_message(
                response="utter_change_refused", reason=refusal(refused.code, str(refused), language(tracker))
            )
        except OrderServiceUnavailable as problem:
            logger.warning("order service unavailable: %s", problem)
            dispatcher.utter_message(response="utter_order_service_unavailable")
        return [*events, SlotSet(REQUESTED_SLOT, None)]

    async def _one_of_yours(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, client: OrderServiceClient
    ) -> tuple[str | None, bool]:
        """The order a customer means when they name none: their only one in ``own_states``, or a
        question with a button for each of the newest (then asked=True), or a reply that there is none
        (None, False). Anyone else is asked for the number."""
        if (await sender_rights(tracker, client)).role != "customer":
            dispatcher.utter_message(response="utter_ask_order_id")
            return None, True
        page = await client.list_orders(
            user_token(tracker), page_size=OWN_ORDERS_READ, sort="created_at", order="desc"
        )
        yours = [order for order in page["items"] if order["status"] in self.own_states]
        if len(yours) == 1:
            return yours[0]["order_id"], False
        if not yours:
            dispatcher.utter_message(response=self.none_of_yours)
            return None, False
        lang = language(tracker)
        buttons = [
            {
                "title": f"{o['order_id']} · {o['status_label'][lang]} · {money(o['amount'], o['currency'])}",
                "payload": f'/{self.intent}{{"order_id": "{o["order_id"]}"}}',
            }
            for o in yours[:OWN_ORDERS_OFFERED]
        ]
        dispatcher.utter_message(response="utter_pick_order", buttons=buttons)
        return None, True


class ActionOrderStatus(CustomerOrderAction):
    def name(self) -> str:
        return "action_order_status"

    async def act(self, dispatcher, tracker, client, token, order_id):
        order = await client.get_order(order_id, token)
        if order["status"] == "shipped":  # where it is, who carries it, when it left: the parcel itself
            if order["tracking_number"]:
                tell_parcel(dispatcher, order)
            else:  # shipped before it came to orderbot: no parcel to tell of, and the reply says so
                dispatcher.utter_message(response="utter_no_parcel_details", order_id=order["order_id"])
            return []
        status = order["status_label"][language(tracker)]
        dispatcher.utter_message(response="utter_order_status", order_id=order["order_id"], status=status)
        return []


class ActionRequestInvoice(CustomerOrderAction):
    intent = "request_invoice"
    own_states = INVOICED_STATES
    none_of_yours = "utter_no_invoiced_orders"

    def name(self) -> str:
        return "action_request_invoice"

    async def act(self, dispatcher, tracker, client, token, order_id):
        try:
            invoice = await client.get_invoice(order_id, token)
        except Refused as refused:
            if refused.code != "invoice_not_found":
                raise
            dispatcher.utter_message(response="utter_no_invoice_yet", order_id=order_id)
            return []
        # Where the customer's browser reaches the order service (behind the public proxy in production;
        # ORDER_SERVICE_URL may be an internal name like http://orders:8080).
        base = (os.environ.get("ORDERBOT_PUBLIC_URL") or client.base_url).rstrip("/")
        dispatcher.utter_message(
            response="utter_invoice",
            order_id=invoice["order_id"],
            invoice_number=invoice["number"],
            amount=money(invoice["amount"], invoice["currency"]),
            # the caller's own signed, short-lived link: a browser opens it without the token
            url=f"{base}{invoice['pdf_link']}",
        )
        return []


class ActionConfirmOrder(CustomerOrderAction):
    intent = "confirm_order"
    own_states = frozenset({"pending_confirmation"})
    none_of_yours = "utter_no_pending_orders"

    def name(self) -> str:
        return "action_confirm_order"

    async def act(self, dispatcher, tracker, client, token, order_id):
        order = await client.transition(order_id, "confirm", token)
        dispatcher.utter_message(response="utter_order_confirmed", order_id=order["order_id"])
        return []


class ActionCancelOrder(CustomerOrderAction):
    intent = "cancel_order"
    own_states = frozenset({"pending_confirmation"})
    none_of_yours = "utter_no_pending_orders"

    """Cancelling cannot be undone: ask first, and act on the user's yes (action_affirm)."""

    def name(self) -> str:
        return "action_cancel_order"

    async def act(self, dispatcher, tracker, client, token, order_id):
        order = await client.get_order(order_id, token)  # the caller must see it before being asked
        if "cancel" not in order["allowed_actions"]:
            dispatcher.utter_message(
                response="utter_change_refused",
                reason=refusal(
                    "illegal_transition",
                    f"order {order_id} is {order['status_label']['en']} and can no longer be cancelled.",
                    language(tracker),
                ),
            )
            return []
        dispatcher.utter_message(response="utter_ask_cancel", order_id=order_id)
        return [SlotSet(PENDING_SLOT, f"cancel {order_id}")]


def tell_parcel(dispatcher: CollectingDispatcher, order: dict[str, Any]) -> None:
    """A shipped order's carrier, tracking number and shipping day, and the carrier's page for it."""
    dispatcher.utter_message(
        response="utter_order_shipped",
        order_id=order["order_id"],
        carrier=order["carrier"],
        tracking_number=order["tracking_number"],
        date=local_day(order["shipped_at"]),
    )
    if order.get("tracking_url"):
        dispatcher.utter_message(
            response="utter_tracking_link", carrier=order["carrier"], url=order["tracking_url"]
        )


def local_day(instant: str | None) -> str:
    """An ISO instant from the order service as the day it was where the business is."""
    if not instant:
        return "-"
    zone = ZoneInfo(os.environ.get("ORDERBOT_TIMEZONE", "Asia/Shanghai"))
    return datetime.fromisoformat(instant).astimezone(zone).date().isoformat()
