from datetime import datetime, timezone
from decimal import Decimal

import pytest

from orders.domain.access import (
    IMPORT_ROLES,
    SETTLEMENT_ROLES,
    Actor,
    NotPermitted,
    Role,
    Source,
    can_see,
    capabilities,
    check_permitted,
    check_staff,
)
from orders.domain.model import Action, Order, OrderStatus

NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)


def order(status=OrderStatus.PENDING_CONFIRMATION) -> Order:
    return Order("SO-1", "C-1", "n", Decimal("1"), "CNY", NOW, NOW, status=status)


def customer(cid="C-1") -> Actor:
    return Actor(f"customer:{cid}", Role.CUSTOMER, Source.REST, cid)


def test_customers_see_only_their_own_orders():
    assert can_see(customer("C-1"), order())
    assert not can_see(customer("C-2"), order())
    assert not can_see(Actor("x", Role.CUSTOMER, Source.REST, None), order())
    assert can_see(Actor("w", Role.WAREHOUSE, Source.REST), order())


def test_customers_confirm_or_cancel_only_while_pending():
    check_permitted(customer(), order(), Action.CONFIRM)
    check_permitted(customer(), order(), Action.CANCEL)
    with pytest.raises(NotPermitted):
        check_permitted(customer(), order(OrderStatus.CONFIRMED), Action.CANCEL)
    with pytest.raises(NotPermitted):
        check_permitted(customer(), order(), Action.PAY)


@pytest.mark.parametrize(
    ("role", "action", "allowed"),
    [
        (Role.WAREHOUSE, Action.STOCK_IN, True),
        (Role.WAREHOUSE, Action.SHIP, True),
        (Role.WAREHOUSE, Action.PAY, False),
        (Role.WAREHOUSE, Action.CONFIRM, False),
        (Role.FINANCE, Action.PAY, True),
        (Role.FINANCE, Action.SHIP, False),
        (Role.OPERATIONS, Action.CANCEL, True),
    ],
)
def test_staff_roles(role, action, allowed):
    who = Actor("s", role, Source.REST)
    if allowed:
        check_permitted(who, order(), action)
    else:
        with pytest.raises(NotPermitted):
            check_permitted(who, order(), action)


def test_staff_only_operations():
    check_staff(Actor("f", Role.FINANCE, Source.REST), Role.FINANCE)
    with pytest.raises(NotPermitted):
        check_staff(Actor("w", Role.WAREHOUSE, Source.REST), Role.FINANCE)
    with pytest.raises(NotPermitted):
        check_staff(customer())


def test_capabilities_follow_the_rules_the_service_enforces():
    assert capabilities(Role.CUSTOMER) == {"confirm", "cancel"}
    assert capabilities(Role.FINANCE) == {"pay", "settle", "list_orders"}
    assert "settle" not in capabilities(Role.WAREHOUSE) and "import" not in capabilities(Role.FINANCE)
    assert {"settle", "import", "ship", "confirm", "handoffs"} <= capabilities(Role.OPERATIONS)
    assert "handoffs" not in capabilities(Role.WAREHOUSE) | capabilities(Role.FINANCE)
    for role in Role:  # what a role may ask for is what check_staff lets it do
        for request, roles in (("settle", SETTLEMENT_ROLES), ("import", IMPORT_ROLES)):
            allowed = role is not Role.CUSTOMER and (role is Role.OPERATIONS or role in roles)
            assert (request in capabilities(role)) == allowed
            if allowed:
                check_staff(Actor("x", role, Source.REST), *roles)
            else:
                with pytest.raises(NotPermitted):
                    check_staff(Actor("x", role, Source.REST, "C-1"), *roles)
