"""The customer's actions: where is an order, its invoice, confirm it, cancel it.

Each resolves the order number and the caller's token (from the chat page, or from proof typed in the
chat), calls the order service with that token, and replies in the user's language.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

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

logger = logging.getLogger(__name__)
PENDING_SLOT = "pending_change"
REQUESTED_SLOT = "requested_action"


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

    @phrased
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        order_id = requested_order_id(tracker)
        if order_id is None:
            dispatcher.utter_message(response="utter_ask_order_id")
            return [SlotSet(REQUESTED_SLOT, self.name())]
        client = OrderServiceClient.from_env()
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


class ActionOrderStatus(CustomerOrderAction):
    def name(self) -> str:
        return "action_order_status"

    async def act(self, dispatcher, tracker, client, token, order_id):
        order = await client.get_order(order_id, token)
        status = order["status_label"][language(tracker)]
        dispatcher.utter_message(response="utter_order_status", order_id=order["order_id"], status=status)
        return []


class ActionRequestInvoice(CustomerOrderAction):
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
        base = client.base_url
        dispatcher.utter_message(
            response="utter_invoice",
            order_id=invoice["order_id"],
            invoice_number=invoice["number"],
            amount=money(invoice["amount"], invoice["currency"]),
            url=f"{base}{invoice['pdf_url']}",
        )
        return []


class ActionConfirmOrder(CustomerOrderAction):
    def name(self) -> str:
        return "action_confirm_order"

    async def act(self, dispatcher, tracker, client, token, order_id):
        order = await client.transition(order_id, "confirm", token)
        dispatcher.utter_message(response="utter_order_confirmed", order_id=order["order_id"])
        return []


class ActionCancelOrder(CustomerOrderAction):
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
