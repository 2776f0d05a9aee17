"""Who may see and do what: roles, actors, and the permission rules."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from orders.domain.errors import DomainError
from orders.domain.model import Action, Order, OrderStatus


class Role(str, enum.Enum):
    CUSTOMER = "customer"
    WAREHOUSE = "warehouse"
    FINANCE = "finance"
    OPERATIONS = "operations"


class Source(str, enum.Enum):
    """Where a change came from, as the audit trail records it."""

    CHAT = "chat"
    REST = "rest"
    IMPORT = "import"
    SCHEDULER = "scheduler"
    CLI = "cli"


@dataclass(frozen=True)
class Actor:
    name: str
    role: Role
    source: Source
    customer_id: str | None = None  # set for customers: the only orders they may see


SYSTEM_SCHEDULER = Actor("scheduler", Role.OPERATIONS, Source.SCHEDULER)

STAFF_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.WAREHOUSE: frozenset({Action.STOCK_IN, Action.RECORD_SHIPMENT, Action.SHIP}),
    Role.FINANCE: frozenset({Action.PAY, Action.SETTLE}),
    Role.OPERATIONS: frozenset(Action),
}
CUSTOMER_ACTIONS = frozenset({Action.CONFIRM, Action.CANCEL})
# Operations not about one order, and the roles besides operations that may run them.
SETTLEMENT_ROLES = (Role.FINANCE,)
IMPORT_ROLES: tuple[Role, ...] = ()
# What every staff role may ask for, beyond its order actions.
STAFF_REQUESTS = frozenset({"list_orders"})


def capabilities(role: Role) -> frozenset[str]:
    """What ``role`` may ask for, named as the API names it (the order actions, "settle", "import",
    "handoffs", "list_orders"): an assistant offers and starts only these, and checks them before
    asking anything; the console shows only these tabs."""
    if role is Role.CUSTOMER:
        return frozenset(action.value for action in CUSTOMER_ACTIONS)
    may = {action.value for action in STAFF_ACTIONS.get(role, frozenset())} | STAFF_REQUESTS
    if role is Role.OPERATIONS or role in SETTLEMENT_ROLES:
        may.add("settle")
    if role is Role.OPERATIONS or role in IMPORT_ROLES:
        may.add("import")
    if role is Role.OPERATIONS:  # handoff tickets: check_staff() with no other role
        may.add("handoffs")
    return frozenset(may)


class NotPermitted(DomainError):
    code = "forbidden"


def can_see(actor: Actor, order: Order) -> bool:
    if actor.role is Role.CUSTOMER:
        return actor.customer_id is not None and order.customer_id == actor.customer_id
    return True


def check_permitted(actor: Actor, order: Order, action: Action) -> None:
    """Raise NotPermitted unless ``actor`` may do ``action`` to ``order`` (which it can see)."""
    if actor.role is Role.CUSTOMER:
        if action not in CUSTOMER_ACTIONS:
            raise NotPermitted(f"A customer cannot {action.value.replace('_', ' ')} an order.")
        if order.status is not OrderStatus.PENDING_CONFIRMATION:
            raise NotPermitted(
                f"Order {order.order_id} is no longer pending: please ask our staff to change it."
            )
        return
    if action not in STAFF_ACTIONS.get(actor.role, frozenset()):
        raise NotPermitted(f"The {actor.role.value} role cannot {action.value.replace('_', ' ')} orders.")


def check_staff(actor: Actor, *roles: Role) -> None:
    """For operations that are not about one order (settlement runs, imports, user admin)."""
    if actor.role is not Role.OPERATIONS and actor.role not in roles:
        raise NotPermitted(f"The {actor.role.value} role may not do this.")
