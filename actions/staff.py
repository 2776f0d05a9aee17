"""Staff actions: stock-in, the shipment form, settlement, order lists, imports.

Staff are whoever the order service says a token belongs to (a staff JWT in the chat page's metadata,
or one the Slack/DingTalk channel obtained for a verified sender); without a token nothing is done.
"""

from __future__ import annotations

import logging
import os
import re
from abc import ABC, abstractmethod
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.customer import PENDING_SLOT
from actions.identity import user_token
from actions.order_client import (
    NotAuthenticated,
    OrderNotFound,
    OrderServiceClient,
    OrderServiceUnavailable,
    Refused,
)
from actions.order_ids import entity_order_id, requested_order_id
from actions.phrasing import phrased
from actions.replies import INTENT_WORDS, language, money, refusal, reply_to_staff_failure
from actions.rights import sender_rights
from orders.domain.labels import STATUS_LABELS
from orders.domain.model import OrderStatus

logger = logging.getLogger(__name__)
_ZH_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_STATES = {status.value for status in OrderStatus}
_CUSTOMER_ID = re.compile(r"(?<![A-Za-z0-9])C-\d{1,10}(?![0-9])", re.IGNORECASE)
LIST_LIMIT = 10
_CODE = re.compile(r"[0-9A-Za-z-]{6,}")  # a run that may be a code, when a sentence is not one


def local_today() -> date:
    return datetime.now(ZoneInfo(os.environ.get("ORDERBOT_TIMEZONE", "Asia/Shanghai"))).date()


def parse_day(value: str | None) -> date | None:
    """'today', 'yesterday', 2026-11-30, 2026/11/30, 2026年11月30日 -> a date."""
    if not value:
        return None
    text = value.strip().lower()
    if text in ("today", "今天", "今日"):
        return local_today()
    if text in ("yesterday", "昨天", "昨日"):
        return local_today() - timedelta(days=1)
    match = _ZH_DATE.fullmatch(text)
    if match:
        text = "-".join(match.groups())
    try:
        y, m, d = (int(part) for part in text.replace("/", "-").split("-"))
        return date(y, m, d)
    except ValueError:
        return None


class StaffAction(Action, ABC):  # abstract: rasa-sdk registers only concrete actions
    """Runs ``act`` with the caller's token once the order service says the caller may make this request
    (``intent``), before anything is asked; every failure gets a clear reply."""

    intent: str  # the request this action serves, as actions.rights names what it needs

    @abstractmethod
    async def act(self, dispatcher, tracker, client: OrderServiceClient, token: str) -> list[dict[str, Any]]:
        """Do the work once the caller's token is known; return the events to apply."""

    @phrased
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]):
        client = OrderServiceClient.from_env()
        try:
            rights = await sender_rights(tracker, client)
            if not rights.is_staff:
                dispatcher.utter_message(response="utter_staff_only")
                return []
            if not rights.may_ask(self.intent):
                lang = language(tracker)
                what = INTENT_WORDS[self.intent][lang]
                reason = refusal("forbidden", f"the {rights.role} role may not {what}.", lang)
                dispatcher.utter_message(response="utter_change_refused", reason=reason)
                return []
            return await self.act(dispatcher, tracker, client, user_token(tracker))
        except (NotAuthenticated, OrderNotFound, Refused, OrderServiceUnavailable) as problem:
            reply_to_staff_failure(dispatcher, tracker, problem, requested_order_id(tracker))
        return []


class ActionStockIn(StaffAction):
    intent = "stock_in"

    def name(self) -> str:
        return "action_stock_in"

    async def act(self, dispatcher, tracker, client, token):
        order_id = requested_order_id(tracker)
        if order_id is None:
            dispatcher.utter_message(response="utter_ask_order_id_staff")
            return []
        order = await client.transition(order_id, "stock_in", token)
        dispatcher.utter_message(response="utter_stocked_in", order_id=order["order_id"])
        return [SlotSet("order_id", order["order_id"])]


class ValidateShipmentForm(FormValidationAction):
    """Each slot of the shipment form is checked as it is given: the order number's form, the carrier
    against the order service's carriers, the tracking number against that carrier's format."""

    def name(self) -> str:
        return "validate_shipment_form"

    async def required_slots(self, domain_slots, dispatcher, tracker: Tracker, domain: DomainDict):
        """Nothing to ask of a sender who may not record shipments: the form ends at once and
        action_ship_order says why (rights are checked before anything is asked)."""
        try:
            rights = await sender_rights(tracker, OrderServiceClient.from_env())
        except OrderServiceUnavailable:
            return domain_slots  # action_ship_order will say the service is unavailable
        return domain_slots if rights.may_ask("ship_order") else []

    async def validate_order_id(self, value: Any, dispatcher, tracker: Tracker, domain: DomainDict):
        order_id = entity_order_id(str(value)) if value else None
        if order_id is None:
            dispatcher.utter_message(response="utter_ask_order_id_staff")
        return {"order_id": order_id}

    async def validate_carrier(self, value: Any, dispatcher, tracker: Tracker, domain: DomainDict):
        try:
            await OrderServiceClient.from_env().check_shipment(str(value), "")
        except Refused as refused:
            if refused.code == "unknown_carrier":
                dispatcher.utter_message(
                    response="utter_invalid_slot",
                    problem=refusal(refused.code, str(refused), language(tracker)),
                )
                return {"carrier": None}
        except OrderServiceUnavailable:
            dispatcher.utter_message(response="utter_order_service_unavailable")
            return {"carrier": None}
        return {"carrier": str(value)}

    async def validate_tracking_number(self, value: Any, dispatcher, tracker: Tracker, domain: DomainDict):
        carrier = tracker.get_slot("carrier")
        if not carrier:
            return {"tracking_number": str(value)}
        # The whole answer, or the code in it ("it's 78912345678901"): the first the carrier accepts.
        text = str(value).strip()
        codes = [code for code in _CODE.findall(text) if code != text and any(c.isdigit() for c in code)]
        candidates = [text, *codes]
        client = OrderServiceClient.from_env()
        first_refusal = None
        for candidate in candidates:
            try:
                checked = await client.check_shipment(carrier, candidate)
            except Refused as refused:
                first_refusal = first_refusal or refused
                continue
            except OrderServiceUnavailable:
                dispatcher.utter_message(response="utter_order_service_unavailable")
                return {"tracking_number": None}
            return {"carrier": checked["carrier"], "tracking_number": checked["tracking_number"]}
        problem = refusal(first_refusal.code, str(first_refusal), language(tracker))
        dispatcher.utter_message(response="utter_invalid_slot", problem=problem)
        return {"tracking_number": None}


class ActionShipOrder(StaffAction):
    intent = "ship_order"

    """After the shipment form: ask for a yes before the customer is told (action_affirm ships)."""

    def name(self) -> str:
        return "action_ship_order"

    async def act(self, dispatcher, tracker, client, token):
        order_id, carrier, number = (tracker.get_slot(s) for s in ("order_id", "carrier", "tracking_number"))
        order = await client.get_order(order_id, token)
        if "record_shipment" not in order["allowed_actions"]:
            dispatcher.utter_message(
                response="utter_change_refused",
                reason=refusal(
                    "illegal_transition",
                    f"order {order_id} is {order['status_label']['en']}, not awaiting shipment.",
                    language(tracker),
                ),
            )
            return [SlotSet("carrier", None), SlotSet("tracking_number", None)]
        dispatcher.utter_message(
            response="utter_ask_ship", order_id=order_id, carrier=carrier, tracking_number=number
        )
        return [SlotSet(PENDING_SLOT, f"ship {order_id} {carrier}|{number}")]


class ActionSettlePayments(StaffAction):
    intent = "settle_payments"

    def name(self) -> str:
        return "action_settle_payments"

    async def act(self, dispatcher, tracker, client, token):
        # Without a day named, the last one that has ended: the order service settles no later day.
        day = parse_day(next(tracker.get_latest_entity_values("date"), None)) or local_today() - timedelta(
            days=1
        )
        dispatcher.utter_message(response="utter_ask_settle", date=day.isoformat())
        return [SlotSet(PENDING_SLOT, f"settle {day.isoformat()}")]


class ActionListOrders(StaffAction):
    intent = "list_orders"

    def name(self) -> str:
        return "action_list_orders"

    async def act(self, dispatcher, tracker, client, token):
        lang = language(tracker)
        state = next(tracker.get_latest_entity_values("order_state"), None)
        day = parse_day(next(tracker.get_latest_entity_values("date"), None))
        customer = _CUSTOMER_ID.search(tracker.latest_message.get("text") or "")
        params: dict[str, Any] = {"page_size": LIST_LIMIT, "sort": "created_at", "order": "desc"}
        filters = []
        if state:
            params["status"] = state
            # The state as every page and reply names it, in the user's language (not its code).
            labels = STATUS_LABELS.get(OrderStatus(state)) if state in _STATES else None
            filters.append(labels[lang] if labels else state.replace("_", " "))
        if day:
            params["created_from"] = f"{day.isoformat()}T00:00:00"
            params["created_to"] = f"{(day + timedelta(days=1)).isoformat()}T00:00:00"
            filters.append(day.isoformat())
        if customer:
            params["customer_id"] = customer.group(0).upper()
            filters.append(params["customer_id"])
        page = await client.list_orders(token, **params)
        described = (
            (f" ({', '.join(filters)})" if lang == "en" else f"（{'，'.join(filters)}）") if filters else ""
        )
        if not page["items"]:
            dispatcher.utter_message(response="utter_no_orders", filter=described)
            return []
        lines = "\n".join(
            f"{o['order_id']} · {o['customer_name']} · {money(o['amount'], o['currency'])} · "
            f"{o['status_label'][lang]}"
            for o in page["items"]
        )
        if page["total"] > len(page["items"]):
            lines += f"\n… (+{page['total'] - len(page['items'])})"
        dispatcher.utter_message(
            response="utter_order_list", total=page["total"], filter=described, lines=lines
        )
        return []


class ActionImportOrders(StaffAction):
    intent = "import_orders"

    def name(self) -> str:
        return "action_import_orders"

    async def act(self, dispatcher, tracker, client, token):
        sources = await client.import_sources(token)
        text = (tracker.latest_message.get("text") or "").lower()
        named = [s for s in sources if s.lower() in text]
        if len(named) != 1 and len(sources) != 1:
            dispatcher.utter_message(response="utter_ask_import_source", sources=", ".join(sources) or "-")
            return []
        source = named[0] if named else sources[0]
        report = await client.import_source(source, token)
        dispatcher.utter_message(
            response="utter_imported",
            source=source,
            **{k: report[k] for k in ("inserted", "updated", "unchanged", "quarantined")},
        )
        return []
