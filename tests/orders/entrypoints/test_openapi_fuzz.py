"""schemathesis drives the API from its own OpenAPI document: no request may get a 5xx."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from orders.adapters import database
from orders.entrypoints.flask_app import create_app
from orders.entrypoints.http import dependencies
from orders.service_layer.setup import import_from
from tests.orders.conftest import SHANGHAI, postgres_database, settings_for


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app(request, tmp_path_factory):
    from orders.config import PROJECT_ROOT

    tmp = tmp_path_factory.mktemp("fuzz")
    # PostgreSQL: skipped, saying why, when it cannot be reached
    urls = iter([f"sqlite:///{tmp / 'fuzz.db'}"]) if request.param == "sqlite" else postgres_database()
    url = next(urls)
    database.upgrade(url)
    engine = database.make_engine(url)
    import_from(engine, PROJECT_ROOT / "data" / "samples" / "erp_orders.csv", SHANGHAI)
    yield create_app(engine, settings_for(url, tmp))
    engine.dispose()
    next(urls, None)  # drops the PostgreSQL database


def test_no_server_errors(app):
    from orders.domain.access import Actor, Role, Source

    token = dependencies.of(app).signer.issue(Actor("fuzzer", Role.OPERATIONS, Source.REST))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    calls: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 26  # every documented operation
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case):
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            calls.append(response.status_code)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}"
                )

        call()
    assert not failures, "\n".join(failures[:10])
    assert len(calls) > 10 * len(operations)
    assert any(200 <= status < 300 for status in calls) and any(400 <= status < 500 for status in calls)
