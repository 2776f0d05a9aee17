"""Request and response models of the REST API: they validate input and generate the OpenAPI document."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Text64 = Field(min_length=1, max_length=64)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class TokenRequest(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class CustomerTokenRequest(Strict):
    order_id: str = Text64
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=32)

    @model_validator(mode="after")
    def _one_proof(self) -> CustomerTokenRequest:
        if not (self.email or self.phone):
            raise ValueError("give the e-mail address or the phone number on the order")
        return self


class StaffLinkTokenRequest(Strict):
    platform: Literal["slack", "dingtalk"]
    platform_user_id: str = Field(min_length=1, max_length=128)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    role: str
    subject: str


class MeOut(BaseModel):
    subject: str
    role: str
    customer_id: str | None
    may: list[str] = Field(
        description="what this role may ask for: order actions, settle, import, list_orders"
    )


class Labels(BaseModel):
    en: str
    zh: str


class OrderOut(BaseModel):
    order_id: str
    customer_id: str
    customer_name: str
    status: str
    status_label: Labels
    payment_status: str
    payment_label: Labels
    allowed_actions: list[str]
    amount: str
    currency: str
    freight: str | None
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None
    due_date: date | None
    shipped_at: datetime | None
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None = Field(None, description="the carrier's tracking page, where it has one")
    version: int


class OrderPage(BaseModel):
    items: list[OrderOut]
    total: int
    page: int
    page_size: int


OrderState = Literal[
    "pending_confirmation", "confirmed", "awaiting_shipment", "shipped", "settled", "cancelled"
]


class OrderListQuery(Strict):
    status: OrderState | None = None
    customer_id: str | None = Field(default=None, max_length=64)
    created_from: datetime | None = None
    created_to: datetime | None = None
    q: str | None = Field(default=None, max_length=100, description="search order number or customer name")
    sort: Literal["created_at", "updated_at", "paid_at"] = "created_at"
    order: Literal["asc", "desc"] = "desc"
    page: int = Field(default=1, ge=1, le=100000)
    page_size: int = Field(default=20, ge=1, le=200)


class TransitionRequest(Strict):
    action: Literal["confirm", "cancel", "stock_in", "ship", "pay"]
    reason: str | None = Field(default=None, max_length=500)


class ShipmentRequest(Strict):
    carrier: str = Text64
    tracking_number: str = Text64


class InvoiceOut(BaseModel):
    number: str
    order_id: str
    customer_name: str
    amount: str
    currency: str
    issued_at: datetime
    pdf_url: str = Field(description="the PDF, for a request with the bearer token")
    pdf_link: str = Field(
        description="the PDF for the caller alone, without a header (a browser opens it), until "
        "pdf_link_expires_at (ORDERBOT_INVOICE_LINK_TTL_SECONDS after this answer)"
    )
    pdf_link_expires_at: datetime


class InvoicePdfQuery(Strict):
    link_token: str | None = Field(
        default=None,
        max_length=2048,
        description="the signed token of an invoice link (pdf_link): opens this invoice's PDF for whom "
        "it was issued to, in place of the bearer token, until it expires",
    )


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    order_id: str | None
    actor: str
    actor_role: str
    source: str
    action: str
    from_value: str | None
    to_value: str | None
    reason: str | None
    details: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntryOut]


class AuditQuery(Strict):
    after: int = Field(default=0, ge=0, le=2**53)
    limit: int = Field(default=100, ge=1, le=1000)


class NotificationOut(BaseModel):
    id: int
    created_at: datetime
    recipient_role: str
    customer_id: str | None
    order_id: str | None
    event_type: str
    message: Labels
    data: dict[str, Any]


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    last_id: int


class NotificationsQuery(Strict):
    after: int = Field(default=0, ge=0, le=2**53)
    limit: int = Field(default=100, ge=1, le=500)


class SettlementRequest(Strict):
    date: date


class SettlementReportOut(BaseModel):
    settlement_day: str
    run_id: int
    orders: int
    settled: list[str]
    skipped: list[str]
    totals: dict[str, dict[str, str]]


class SettlementsQuery(Strict):
    date: date


class SettlementOut(BaseModel):
    order_id: str
    run_id: int
    settlement_day: date
    amount_due: str
    freight: str
    currency: str
    created_at: datetime


class SettlementList(BaseModel):
    items: list[SettlementOut]


class ImportSourceRequest(Strict):
    source: str = Field(min_length=1, max_length=100)


class RowProblemOut(BaseModel):
    row: int
    reason: str


class ImportReportOut(BaseModel):
    import_id: int | None
    source: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    problems: list[RowProblemOut]
    stored_through_row: int = Field(
        description="every row of the source up to this one (its line, in a CSV file) is stored"
    )
    stopped: str | None = Field(None, description="why the import stopped before the end, if it did")


class SourceList(BaseModel):
    items: list[str]


class CarrierOut(BaseModel):
    name: str
    aliases: list[str]
    tracking_pattern: str | None
    tracking_example: str | None


class CarrierList(BaseModel):
    items: list[CarrierOut]


class HandoffIn(Strict):
    conversation_id: str = Field(min_length=1, max_length=128)
    channel: str = Field(min_length=1, max_length=32)
    message: str = Field(default="", max_length=2000)
    language: Literal["en", "zh"] = "en"


class HandoffOut(BaseModel):
    id: int
    conversation_id: str
    channel: str
    customer_id: str | None
    language: str
    message: str
    status: str
    created_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    joined_at: datetime | None = None  # when the first staff member took the ticket
    joined_by: str | None = None
    unread: int = 0  # what the customer wrote during the handoff that no staff member has read


class HandoffClosedOut(HandoffOut):
    bot_resumed: bool  # whether the assistant answers that conversation again (Rasa took the resume)


class HandoffList(BaseModel):
    items: list[HandoffOut]


class HandoffQuery(Strict):
    status: Literal["open", "closed"] | None = None
    limit: int = Field(default=50, ge=1, le=500)


class UserIn(Strict):
    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=8, max_length=256)
    role: Literal["warehouse", "finance", "operations"]
    display_name: str | None = Field(default=None, max_length=200)


class UserOut(BaseModel):
    username: str
    role: str
    display_name: str
    active: bool


class UserList(BaseModel):
    items: list[UserOut]


class LinkIn(Strict):
    platform: Literal["slack", "dingtalk"]
    platform_user_id: str = Field(min_length=1, max_length=128)


class Health(BaseModel):
    status: str
    service: str


# --- handoffs: the conversation and the staff answer (the console) ------------------------------------


class ConversationMessageOut(BaseModel):
    speaker: Literal["customer", "bot", "staff"]
    text: str
    at: datetime
    by: str | None = None  # the staff user who answered


class HandoffConversationOut(BaseModel):
    ticket_id: int
    available: bool  # the assistant's side could be read and may be shown
    withheld: bool  # it could be read, but is not the ticket's customer's conversation
    items: list[ConversationMessageOut]


class HandoffMessageIn(Strict):
    message: str = Field(min_length=1, max_length=2000)


class HandoffMessageOut(BaseModel):
    id: int
    ticket_id: int
    at: datetime
    text: str


class ChatHistoryQuery(Strict):
    conversation_id: str = Field(min_length=1, max_length=128)


class ChatButtonOut(BaseModel):
    title: str
    payload: str


class ChatMessageOut(BaseModel):
    speaker: Literal["customer", "bot"]
    text: str
    at: datetime
    buttons: list[ChatButtonOut] = []


class ChatHandoffOut(BaseModel):
    ticket_id: int
    joined: bool  # a staff member has taken the ticket


class ChatHistoryOut(BaseModel):
    conversation_id: str
    available: bool  # the assistant's side could be read (else the lists are empty; the chat goes on)
    messages: list[ChatMessageOut]  # oldest first
    notifications: list[NotificationOut]  # what the hub pushed to the customer meanwhile, oldest first
    last_event_id: int | None  # the newest of them: the page's hub goes on after it
    handoff: ChatHandoffOut | None  # the conversation's open ticket, if any


class HandoffReplyIn(Strict):
    message: str = Field(min_length=1, max_length=2000)


class HandoffReplyOut(BaseModel):
    ticket_id: int
    customer_id: str
    message: str


# --- statistics for the console's charts ----------------------------------------------------------------

MAX_STATS_DAYS = 366


class ImportStatsQuery(Strict):
    days: int = Field(default=30, ge=1, le=MAX_STATS_DAYS)


class SettlementStatsQuery(Strict):
    days: int = Field(default=30, ge=1, le=MAX_STATS_DAYS)


class LatencyStatsQuery(Strict):
    days: int = Field(default=7, ge=1, le=MAX_STATS_DAYS)


class ConversationStatsQuery(Strict):
    days: int = Field(default=14, ge=1, le=MAX_STATS_DAYS)


class StateCountOut(BaseModel):
    status: str
    label: Labels
    count: int


class StateCountList(BaseModel):
    items: list[StateCountOut]


class ImportDayOut(BaseModel):
    day: date
    imports: int
    rows: int
    quarantined: int


class ImportDayList(BaseModel):
    items: list[ImportDayOut]


class SettlementDayOut(BaseModel):
    day: date
    orders: int
    amount_due: dict[str, str]  # currency -> amount


class SettlementDayList(BaseModel):
    items: list[SettlementDayOut]


class LatencyBucketOut(BaseModel):
    label: str
    count: int


class NotificationLatencyOut(BaseModel):
    buckets: list[LatencyBucketOut]
    dispatched: int
    pending: int
    p50_s: float | None
    p95_s: float | None
    max_s: float | None


class IntentCountOut(BaseModel):
    intent: str
    count: int


class ConversationDayOut(BaseModel):
    day: date
    turns: int
    fallbacks: int
    fallback_rate: float
    top_intents: list[IntentCountOut]


class ConversationDayList(BaseModel):
    items: list[ConversationDayOut]
