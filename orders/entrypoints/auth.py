"""Bearer tokens (JWT, PyJWT) for staff and customers, and the caller's identity on each request."""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import jwt

from orders.clock import utcnow
from orders.domain.access import Actor, Role, Source

ISSUER = "orderbot"
ALGORITHM = "HS256"


class Unauthenticated(Exception):
    """No valid bearer token: 401."""


class TokenSigner:
    def __init__(self, secret: str, ttl: timedelta, service_token: str | None) -> None:
        if len(secret) < 32:
            raise ValueError("ORDERBOT_JWT_SECRET must be at least 32 characters")
        self.secret = secret
        self.ttl = ttl
        self.service_token = service_token

    @classmethod
    def from_settings(
        cls, jwt_secret: str | None, var_dir: Path, ttl_minutes: int, service_token: str | None
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
        return cls(jwt_secret, timedelta(minutes=ttl_minutes), service_token or None)

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

    def is_service(self, authorization: str | None) -> bool:
        """The action server's shared credential, which may exchange a verified chat user id for a token."""
        if not self.service_token or not authorization or not authorization.startswith("Bearer "):
            return False
        return hmac.compare_digest(authorization.removeprefix("Bearer ").strip(), self.service_token)
