"""Staff users and their linked chat-platform ids."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from orders.adapters.orm import (
    staff_links,
    users,
)
from orders.adapters.repositories.rows import as_dict


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, username: str) -> dict[str, Any] | None:
        row = self.session.execute(select(users).where(users.c.username == username)).first()
        return as_dict(row) if row else None

    def add(self, **user: Any) -> None:
        self.session.execute(insert(users).values(**user))

    def list(self) -> list[dict[str, Any]]:
        return [as_dict(r) for r in self.session.execute(select(users).order_by(users.c.username))]

    def link(self, platform: str, platform_user_id: str, username: str) -> None:
        self.session.execute(
            staff_links.delete().where(
                staff_links.c.platform == platform, staff_links.c.platform_user_id == platform_user_id
            )
        )
        self.session.execute(
            insert(staff_links).values(
                platform=platform, platform_user_id=platform_user_id, username=username
            )
        )

    def by_platform_id(self, platform: str, platform_user_id: str) -> dict[str, Any] | None:
        row = self.session.execute(
            select(users)
            .join(staff_links, staff_links.c.username == users.c.username)
            .where(staff_links.c.platform == platform, staff_links.c.platform_user_id == platform_user_id)
        ).first()
        return as_dict(row) if row else None
