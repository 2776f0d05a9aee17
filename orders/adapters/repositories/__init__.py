"""Repositories: the order service's only way to read and write what it stores, one module per kind
of record. The unit of work (``service_layer.unit_of_work``) hands them out."""

from orders.adapters.repositories.audit import AuditRepository
from orders.adapters.repositories.conversation_events import ConversationEventRepository
from orders.adapters.repositories.handoffs import HandoffRepository
from orders.adapters.repositories.idempotency import IdempotencyRepository
from orders.adapters.repositories.import_rows import IMPORTED_COLUMNS, ImportedRows
from orders.adapters.repositories.imports import ImportRepository
from orders.adapters.repositories.invoices import InvoiceRepository
from orders.adapters.repositories.orders import OrderQuery, SqlAlchemyOrderRepository
from orders.adapters.repositories.outbox import OutboxRepository
from orders.adapters.repositories.settlements import SettlementRepository
from orders.adapters.repositories.users import UserRepository

__all__ = [
    "IMPORTED_COLUMNS",
    "AuditRepository",
    "ConversationEventRepository",
    "HandoffRepository",
    "IdempotencyRepository",
    "ImportRepository",
    "ImportedRows",
    "InvoiceRepository",
    "OrderQuery",
    "OutboxRepository",
    "SettlementRepository",
    "SqlAlchemyOrderRepository",
    "UserRepository",
]
