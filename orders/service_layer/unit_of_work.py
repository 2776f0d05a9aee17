"""Unit of work: one database transaction, committed explicitly or rolled back."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from orders.adapters.orm import start_mappers
from orders.adapters.repository import SqlAlchemyOrderRepository


class SqlAlchemyUnitOfWork:
    def __init__(self, engine: Engine) -> None:
        start_mappers()
        self._session_factory = sessionmaker(bind=engine, expire_on_commit=False)

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        self.session: Session = self._session_factory()
        self.orders = SqlAlchemyOrderRepository(self.session)
        return self

    def __exit__(self, *exc_info) -> None:
        self.session.rollback()  # no-op after commit; undoes everything otherwise
        self.session.close()

    def commit(self) -> None:
        self.session.commit()
