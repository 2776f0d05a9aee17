"""schemathesis drives the API from its own OpenAPI document: no request may get a 5xx."""

import schemathesis
from hypothesis import HealthCheck, given, settings

from orders.entrypoints.http import dependencies


def test_no_server_errors(fuzz_app):
    app = fuzz_app
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
