"""Bearer tokens (JWT, PyJWT) for staff and customers, and the caller's identity on each request; and
the signed, short-lived links that open one invoice's PDF without a header (a browser's address bar)."""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jwt

from orders.clock import utcnow
from orders.domain.access import Actor, Role, Source

ISSUER = "orderbot"
ALGORITHM = "HS256"
# The audience of an invoice link: a bearer token has none, so neither is taken for the other.
INVOICE_LINK_AUDIENCE = "orderbot:invoice-pdf"
DEFAULT_INVOICE_LINK_TTL = timedelta(minutes=10)
INVALID_LINK = "This invoice link is not valid or has expired: ask for the invoice again."


class Unauthenticated(Exception):
    """No valid bearer token: 401."""


@dataclass(frozen=True)
class InvoiceLink:
    """A signed link's token (the ``link_token`` query parameter of the PDF route) and its expiry."""

    token: str
    expires_at: datetime


class TokenSigner:
    def __init__(
        self,
        secret: str,
        ttl: timedelta,
        service_token: str | None,
        invoice_link_ttl: timedelta = DEFAULT_INVOICE_LINK_TTL,
    ) -> None:
        if len(secret) < 32:
            raise ValueError("ORDERBOT_JWT_SECRET must be at least 32 characters")
        self.secret = secret
        self.ttl = ttl
        self.service_token = service_token
        self.invoice_link_ttl = invoice_link_ttl

    @classmethod
    def from_settings(
        cls,
        jwt_secret: str | None,
        var_dir: Path,
        ttl_minutes: int,
        service_token: str | None,
        invoice_link_seconds: float = DEFAULT_INVOICE_LINK_TTL.total_seconds(),
    ) -> TokenSigner:
        """Use the configured secret; the embedded default keeps a generated one in var/ (mode 0600)."""
        if not jwt_secret:
            path = var_dir / "jwt_secret"
            if not path.exists():
                var_dir.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(48))
            jwt_secret = path.read_text().strip()
        return cls(
            jwt_secret,
            timedelta(minutes=ttl_minutes),
            service_token or None,
            timedelta(seconds=invoice_link_seconds),
        )

    def issue(self, actor: Actor) -> str:
        now = utcnow()
        claims = {
            "iss": ISSUER,
            "sub": actor.name,
            "role": actor.role.value,
            "src": actor.source.value,
            "iat": now,
            "exp": now + self.ttl,
        }
        if actor.customer_id is not None:
            claims["cid"] = actor.customer_id
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def actor(self, authorization: str | None, source: Source = Source.REST) -> Actor:
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthenticated("Sign in: send 'Authorization: Bearer <token>'.")
        claims = self._claims(authorization.removeprefix("Bearer ").strip())
        try:
            role = Role(claims["role"])
        except ValueError:
            raise Unauthenticated("The token is invalid or has expired: sign in again.") from None
        customer_id = claims.get("cid")
        if role is Role.CUSTOMER and not customer_id:
            raise Unauthenticated("The token is invalid or has expired: sign in again.")
        token_source = claims.get("src")
        if token_source in (Source.CHAT.value,):
            source = Source.CHAT
        return Actor(claims["sub"], role, source, customer_id)

    def customer_of(self, token: str) -> str | None:
        """The customer a token of ours was issued to, valid or since expired (a conversation's old
        messages carry old tokens); None for a staff token or one we did not sign."""
        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM], issuer=ISSUER, options={"verify_exp": False}
            )
        except jwt.PyJWTError:
            return None
        customer_id = claims.get("cid")
        return (
            customer_id
            if claims.get("role") == Role.CUSTOMER.value and isinstance(customer_id, str)
            else None
        )

    def owns(self, tokens: Iterable[str], customer_id: str | None) -> bool:
        """Whether a conversation holding ``tokens`` is ``customer_id``'s: one of them was issued to
        that customer and none to another. A visitor's (None) holds no customer's token."""
        speakers = {self.customer_of(token) for token in tokens} - {None}
        return speakers == {customer_id} if customer_id else not speakers

    def expires_at(self, token: str) -> float:
        """When a valid ``token`` stops being valid (seconds since the epoch), for connections that
        outlive one request (the hub closes them then)."""
        return float(self._claims(token)["exp"])

    def _claims(self, token: str) -> dict:
        try:
            return jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "role"]},
            )
        except jwt.PyJWTError:
            raise Unauthenticated("The token is invalid or has expired: sign in again.") from None

    def invoice_link(self, actor: Actor, order_id: str, invoice_number: str) -> InvoiceLink:
        """A link token that opens the PDF of invoice ``invoice_number`` of order ``order_id`` for
        ``actor`` alone (whoever holds it is taken for ``actor``, on that one route and invoice),
        until ``invoice_link_ttl`` from now."""
        now = utcnow()
        expires_at = (now + self.invoice_link_ttl).replace(microsecond=0)  # as the token holds it
        claims = {
            "iss": ISSUER,
            "aud": INVOICE_LINK_AUDIENCE,
            "sub": actor.name,
            "role": actor.role.value,
            "oid": order_id,
            "inv": invoice_number,
            "iat": now,
            "exp": expires_at,
        }
        if actor.customer_id is not None:
            claims["cid"] = actor.customer_id
        return InvoiceLink(jwt.encode(claims, self.secret, algorithm=ALGORITHM), expires_at)

    def invoice_link_holder(self, token: str, order_id: str) -> tuple[Actor, str]:
        """Whom a valid link token for order ``order_id`` was issued to, and the invoice number it
        opens; Unauthenticated for a token that is not such a link, is for another order, or has
        expired (by the service's clock, ``utcnow``)."""
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                audience=INVOICE_LINK_AUDIENCE,
                # expiry is checked below by the service's one clock (utcnow), not PyJWT's own
                options={"require": ["exp", "iat", "sub", "role", "aud", "oid", "inv"], "verify_exp": False},
            )
            role = Role(claims["role"])
        except (jwt.PyJWTError, ValueError):
            raise Unauthenticated(INVALID_LINK) from None
        customer_id = claims.get("cid")
        if (
            not isinstance(claims["exp"], int | float)
            or claims["exp"] <= utcnow().timestamp()
            or claims["oid"] != order_id
            or not isinstance(claims["inv"], str)
            or not isinstance(claims["sub"], str)
            or (role is Role.CUSTOMER and not isinstance(customer_id, str))
        ):
            raise Unauthenticated(INVALID_LINK)
        return Actor(claims["sub"], role, Source.REST, customer_id), claims["inv"]

    def is_service(self, authorization: str | None) -> bool:
        """The action server's shared credential, which may exchange a verified chat user id for a token."""
        if not self.service_token or not authorization or not authorization.startswith("Bearer "):
            return False
        return hmac.compare_digest(authorization.removeprefix("Bearer ").strip(), self.service_token)
