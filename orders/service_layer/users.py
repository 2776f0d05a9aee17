"""Staff users, their passwords, the staff directory of chat platforms, and customer identification."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from orders.clock import utcnow
from orders.domain.access import Actor, Role, Source
from orders.domain.erp_record import InvalidRecord, normalise_email
from orders.service_layer.unit_of_work import SqlAlchemyUnitOfWork

PLATFORMS = ("slack", "dingtalk")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# scrypt: memory-hard, in the standard library; parameters stored with each hash so they can grow.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


class UserError(ValueError):
    """A user could not be added or linked; the message says why."""


class UserExists(UserError):
    """A user of that name exists already."""


class UnknownUser(UserError):
    """No user of that name."""


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(candidate.hex(), digest)


_DUMMY_HASH = hash_password(secrets.token_hex(8))  # equalises timing for unknown user names


def add_user(
    uow: SqlAlchemyUnitOfWork, username: str, password: str, role: Role, display_name: str = ""
) -> None:
    if not _USERNAME.match(username):
        raise UserError(
            "A user name is 2-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit."
        )
    if role is Role.CUSTOMER:
        raise UserError("Customers sign in with an order number, not as users.")
    if len(password) < 8:
        raise UserError("A password has at least 8 characters.")
    with uow:
        if uow.users.get(username):
            raise UserExists(f"User {username} already exists.")
        uow.users.add(
            username=username,
            password_hash=hash_password(password),
            role=role.value,
            display_name=display_name or username,
            active=True,
            created_at=utcnow(),
        )
        uow.commit()


def authenticate(uow: SqlAlchemyUnitOfWork, username: str, password: str, source: Source) -> Actor | None:
    with uow:
        user = uow.users.get(username)
    if user is None:
        verify_password(password, _DUMMY_HASH)
        return None
    if not user["active"] or not verify_password(password, user["password_hash"]):
        return None
    return Actor(user["username"], Role(user["role"]), source)


def link_platform_user(
    uow: SqlAlchemyUnitOfWork, platform: str, platform_user_id: str, username: str
) -> None:
    if platform not in PLATFORMS:
        raise UserError(f"Unknown platform {platform!r}: use one of {', '.join(PLATFORMS)}.")
    if not platform_user_id.strip() or len(platform_user_id) > 128:
        raise UserError("A platform user id is 1-128 characters.")
    with uow:
        if uow.users.get(username) is None:
            raise UnknownUser(f"No user {username}: add it first with `orderbot users add`.")
        uow.users.link(platform, platform_user_id.strip(), username)
        uow.commit()


def staff_for_platform_user(uow: SqlAlchemyUnitOfWork, platform: str, platform_user_id: str) -> Actor | None:
    with uow:
        user = uow.users.by_platform_id(platform, platform_user_id)
    if user is None or not user["active"]:
        return None
    return Actor(user["username"], Role(user["role"]), Source.CHAT)


def _phone_digits(text: str) -> str:
    digits = re.sub(r"\D", "", text or "")
    return digits[-11:] if len(digits) >= 11 else digits


def identify_customer(
    uow: SqlAlchemyUnitOfWork, order_id: str, email: str | None, phone: str | None
) -> str | None:
    """The customer id of ``order_id`` when ``email`` or ``phone`` is the one on that order, else None."""
    with uow:
        order = uow.orders.get((order_id or "").strip().upper())
        if order is None:
            return None
        customer_id, order_email, order_phone = order.customer_id, order.email, order.phone
    if email:
        try:
            given = normalise_email(email)
        except InvalidRecord:
            return None
        if order_email and hmac.compare_digest(given, order_email):
            return customer_id
    if phone:
        given_digits = _phone_digits(phone)
        if (
            order_phone
            and len(given_digits) >= 6
            and hmac.compare_digest(given_digits, _phone_digits(order_phone))
        ):
            return customer_id
    return None
