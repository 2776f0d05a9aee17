"""action_order_status: where is an order, in the customer's language, for that customer only."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.identity import TOKEN_SLOT, contact_in, customer_token
from actions.order_client import NotAuthenticated, OrderNotFound, OrderServiceClient, OrderServiceUnavailable
from actions.order_ids import normalise_order_id

logger = logging.getLogger(__name__)


def requested_order_id(tracker: Tracker) -> str | None:
    """The order the user means: named in this message, else the one the conversation is about."""
    for candidate in (
        next(tracker.get_latest_entity_values("order_id"), None),
        tracker.latest_message.get("text"),
        tracker.get_slot("order_id"),
    ):
        order_id = normalise_order_id(candidate)
        if order_id:
            return order_id
    return None


class ActionOrderStatus(Action):
    def name(self) -> str:
        return "action_order_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        order_id = requested_order_id(tracker)
        if order_id is None:
            dispatcher.utter_message(response="utter_ask_order_id")
            return []
        client = OrderServiceClient.from_env()
        events: list[dict[str, Any]] = []
        try:
            token = customer_token(tracker)
            if token is None:
                email, phone = contact_in(tracker.latest_message.get("text"))
                if not (email or phone):
                    dispatcher.utter_message(response="utter_ask_verification", order_id=order_id)
                    return [SlotSet("order_id", order_id)]
                try:
                    token = await client.customer_token(order_id, email, phone)
                except (NotAuthenticated, OrderNotFound):
                    dispatcher.utter_message(response="utter_verification_failed", order_id=order_id)
                    return [SlotSet("order_id", order_id)]
                events.append(SlotSet(TOKEN_SLOT, token))
            order = await client.get_order(order_id, token)
        except NotAuthenticated:  # an expired or forged token: prove again
            dispatcher.utter_message(response="utter_ask_verification", order_id=order_id)
            return [SlotSet(TOKEN_SLOT, None), SlotSet("order_id", order_id)]
        except OrderNotFound:  # unknown, or another customer's: the same answer
            dispatcher.utter_message(response="utter_order_not_found", order_id=order_id)
            return [*events, SlotSet("order_id", None)]
        except OrderServiceUnavailable as problem:
            logger.warning("order service unavailable: %s", problem)
            dispatcher.utter_message(response="utter_order_service_unavailable")
            return events
        language = tracker.get_slot("language") or "en"
        status = order["status_label"].get(language) or order["status_label"]["en"]
        dispatcher.utter_message(response="utter_order_status", order_id=order["order_id"], status=status)
        return [*events, SlotSet("order_id", order["order_id"])]
