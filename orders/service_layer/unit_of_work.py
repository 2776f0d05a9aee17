"""Unit of work: one database transaction, committed explicitly or rolled back."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from orders.adapters import repositories as repository
from orders.adapters.orm import start_mappers

_session_factories: dict[Engine, sessionmaker] = {}


class SqlAlchemyUnitOfWork:
    """Not shared between threads: make one per request or job (it is cheap)."""

    def __init__(self, engine: Engine) -> None:
        start_mappers()
        self.engine = engine
        if engine not in _session_factories:
            _session_factories[engine] = sessionmaker(bind=engine, expire_on_commit=False)
        self._session_factory = _session_factories[engine]

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        self.session: Session = self._session_factory()
        self.orders = repository.SqlAlchemyOrderRepository(self.session)
        self.audit = repository.AuditRepository(self.session)
        self.outbox = repository.OutboxRepository(self.session)
        self.invoices = repository.InvoiceRepository(self.session)
        self.settlements = repository.SettlementRepository(self.session)
        self.users = repository.UserRepository(self.session)
        self.imports = repository.ImportRepository(self.session)
        self.idempotency = repository.IdempotencyRepository(self.session)
        self.handoffs = repository.HandoffRepository(self.session)
        return self

    def __exit__(self, *exc_info) -> None:
        self.session.rollback()  # no-op after commit; undoes everything otherwise
        self.session.close()

    def commit(self) -> None:
        self.session.commit()
