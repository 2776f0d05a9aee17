"""The turns between requests: yes and no to a pending change, answers to our questions, misunderstandings."""

from __future__ import annotations

import logging
import os
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.customer import (
    PENDING_SLOT,
    REQUESTED_SLOT,
    ActionCancelOrder,
    ActionConfirmOrder,
    ActionOrderStatus,
    ActionRequestInvoice,
)
from actions.identity import metadata_token, user_token
from actions.order_client import (
    NotAuthenticated,
    OrderNotFound,
    OrderServiceClient,
    OrderServiceUnavailable,
    Refused,
)
from actions.order_ids import requested_order_id
from actions.phrasing import phrased
from actions.replies import INTENT_WORDS, language, money, reply_to_staff_failure
from actions.rights import VISITOR, sender_rights

logger = logging.getLogger(__name__)
RESUMABLE = {
    a().name(): a for a in (ActionOrderStatus, ActionRequestInvoice, ActionConfirmOrder, ActionCancelOrder)
}


class ActionAffirm(Action):
    """The user said yes: carry out the change waiting for it (cancel, ship or settle)."""

    def name(self) -> str:
        return "action_affirm"

    @phrased
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]):
        pending = tracker.get_slot(PENDING_SLOT)
        token = user_token(tracker)
        if not pending or token is None:
            dispatcher.utter_message(response="utter_nothing_to_confirm")
            return [SlotSet(PENDING_SLOT, None)]
        kind, _, argument = pending.partition(" ")
        client = OrderServiceClient.from_env()
        try:
            if kind == "cancel":
                order = await client.transition(argument, "cancel", token, reason="cancelled in chat")
                dispatcher.utter_message(response="utter_order_cancelled", order_id=order["order_id"])
            elif kind == "ship":
                order_id, _, shipment = argument.partition(" ")
                carrier, _, number = shipment.partition("|")
                await client.record_shipment(order_id, carrier, number, token)
                order = await client.transition(order_id, "ship", token)
                dispatcher.utter_message(
                    response="utter_shipped",
                    order_id=order_id,
                    carrier=order["carrier"],
                    tracking_number=order["tracking_number"],
                    freight=money(order["freight"], order["currency"]),
                )
            elif kind == "settle":
                report = await client.settle(argument, token)
                totals = "; ".join(
                    f"{c} {t['amount_due']} (+{t['freight']})" for c, t in report["totals"].items()
                )
                dispatcher.utter_message(
                    response="utter_settled", date=argument, count=report["orders"], totals=totals
                )
        except (NotAuthenticated, OrderNotFound, Refused, OrderServiceUnavailable) as problem:
            reply_to_staff_failure(dispatcher, tracker, problem, argument.split(" ")[0])
            if isinstance(problem, OrderServiceUnavailable):
                return []  # keep the pending change: "yes" again retries it
        return [SlotSet(PENDING_SLOT, None), SlotSet("carrier", None), SlotSet("tracking_number", None)]


class ActionDeny(Action):
    """The user said no: nothing changes, and nothing waits any more."""

    def name(self) -> str:
        return "action_deny"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]):
        dispatcher.utter_message(response="utter_nothing_changed")
        return [
            SlotSet(PENDING_SLOT, None),
            SlotSet(REQUESTED_SLOT, None),
            SlotSet("carrier", None),
            SlotSet("tracking_number", None),
        ]


class ActionInform(Action):
    """The user answered a question (an order number, an e-mail, a phone): resume what they asked for."""

    def name(self) -> str:
        return "action_inform"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]):
        requested = RESUMABLE.get(tracker.get_slot(REQUESTED_SLOT) or "")
        if requested is None and requested_order_id(tracker):
            requested = ActionOrderStatus  # an order number on its own: the user wants to know about it
        if requested is None:
            dispatcher.utter_message(response="utter_default")
            return []
        return await requested().run(dispatcher, tracker, domain)


class ActionFallback(Action):
    """Two stages: first suggest what the user may have meant, after a second miss offer a person."""

    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]):
        misses = 0
        for event in reversed(tracker.events):
            if event.get("event") != "user":
                continue
            if (event.get("parse_data") or {}).get("intent", {}).get("name") != "nlu_fallback":
                break
            misses += 1
        lang = language(tracker)
        if misses >= 2:
            dispatcher.utter_message(response="utter_offer_human")
            return []
        ranking = tracker.latest_message.get("intent_ranking") or []
        try:  # offer only what this sender may do: a customer never sees a staff action
            rights = await sender_rights(tracker, OrderServiceClient.from_env())
        except OrderServiceUnavailable:
            rights = VISITOR
        offered = [r["name"] for r in ranking if r.get("name") in INTENT_WORDS]
        likely = [name for name in offered if rights.may_ask(name)][:2]
        if not likely:
            dispatcher.utter_message(response="utter_default")
            return []
        options = (" / " if lang == "en" else "，").join(INTENT_WORDS[name][lang] for name in likely)
        buttons = [{"title": INTENT_WORDS[name][lang], "payload": f"/{name}"} for name in likely]
        dispatcher.utter_message(response="utter_suggest", options=options, buttons=buttons)
        return []


class ActionHumanHandoff(Action):
    """Open a handoff ticket in the order service, which tells operations; say which ticket it is."""

    def name(self) -> str:
        return "action_human_handoff"

    @phrased
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]):
        client = OrderServiceClient.from_env()
        token = user_token(tracker) or os.environ.get("ORDERBOT_SERVICE_TOKEN")
        body = {
            "conversation_id": tracker.sender_id[:128],
            "channel": (tracker.get_latest_input_channel() or "unknown")[:32],
            "message": (tracker.latest_message.get("text") or "")[:2000],
            "language": language(tracker),
        }
        try:
            ticket = await client.request("POST", "/api/v1/handoffs", token, json=body)
        except (NotAuthenticated, Refused, OrderServiceUnavailable) as problem:
            logger.warning("handoff not opened: %s", problem)
            dispatcher.utter_message(response="utter_handoff_failed")
            return []
        dispatcher.utter_message(response="utter_handoff_opened", ticket=ticket["id"])
        if ticket.get("customer_id") and metadata_token(tracker):
            # A page that signed the customer in (the token rides in the message metadata) receives
            # staff answers through the hub: the bot stays quiet until staff close the ticket, which
            # resumes the conversation. Anyone else (a visitor, a customer who proved who they are
            # by typing, staff) gets no answer in this chat, so the bot goes on serving them.
            return [ConversationPaused()]
        return []
