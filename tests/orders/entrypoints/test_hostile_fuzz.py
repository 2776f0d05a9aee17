"""Property-based fuzzing of every documented operation with hostile text, on SQLite and PostgreSQL.

schemathesis (test_openapi_fuzz.py) explores what the schema allows; this suite puts what attackers
send into every place a request carries text — path parameters, query parameters, the headers the API
reads, every JSON body field, the body's shape and depth, an uploaded file's cells — with a string
strategy of NUL and other control characters, lone surrogates, right-to-left and zero-width marks,
10 kB strings and deep nesting. No answer may be a 5xx.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.domain.access import Actor, Role, Source
from orders.entrypoints.http import dependencies

EXAMPLES_PER_OPERATION = 50

SPECIALS = [
    "\x00",
    "\x01",
    "\x1b[31m",
    "\x7f",
    "\ud800",
    "\udfff",
    "\u202e",  # right-to-left override
    "\u200f",  # right-to-left mark
    "\u200b",  # zero-width space
    "\ufeff",
    "\uffff",
    "'; DROP TABLE orders; --",
    "%00",
    "../../etc/passwd",
    "SO-1001",
    "C-100",
    "",
]
hostile_text = st.one_of(
    st.lists(st.one_of(st.characters(exclude_categories=()), st.sampled_from(SPECIALS)), max_size=12).map(
        "".join
    ),
    st.sampled_from(SPECIALS),
    st.builds(lambda s, n: s * n, st.sampled_from(["x", "订", "\u202e", "\x00", "\ud800"]), st.just(10_000)),
    st.builds(
        lambda a, b: a + b, st.sampled_from(["SO-1001", "C-100", "2026-11-30"]), st.sampled_from(SPECIALS)
    ),
)
# A value where a JSON body holds one: text mostly, and what a schema does not expect.
hostile_value = st.one_of(
    hostile_text,
    hostile_text,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.none(),
    st.booleans(),
    st.lists(hostile_text, max_size=3),
    st.dictionaries(hostile_text, hostile_text, max_size=2),
)
deep_json = st.builds(lambda n, opener: opener * n, st.integers(30, 100_000), st.sampled_from(["[", '{"a":']))


def _url_part(text: str) -> str:
    # A lone surrogate cannot be UTF-8: it travels as the bytes a careless client would send.
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def _properties(document: dict, content: dict) -> list[str]:
    schema = content.get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return sorted(schema.get("properties", {}))


def _operations(app) -> list[tuple[str, str, dict]]:
    document = app.test_client().get("/api/v1/openapi.json").json
    return [
        (method.upper(), path, {**operation, "_document": document})
        for path, methods in sorted(document["paths"].items())
        for method, operation in sorted(methods.items())
    ]


def _file_cells(rows: list[list[str]]) -> bytes:
    header = "order_id,customer_id,customer_name,amount,created_at\n"
    text = header + "".join(",".join(row) + "\n" for row in rows)
    return text.encode("utf-8", "surrogatepass")


def _fuzz(
    client, method: str, template: str, operation: dict, tokens, cases: Counter, failures: list
) -> None:
    """Run EXAMPLES_PER_OPERATION hostile requests against one operation."""
    parameters = operation.get("parameters", [])
    content = operation.get("requestBody", {}).get("content", {})
    fields = _properties(operation["_document"], content)
    takes_json = "application/json" in content
    takes_file = "multipart/form-data" in content

    @given(
        path_values=st.fixed_dictionaries({p["name"]: hostile_text for p in parameters if p["in"] == "path"}),
        query=st.dictionaries(
            st.sampled_from([p["name"] for p in parameters if p["in"] == "query"] or ["q"]) | hostile_text,
            hostile_text,
            max_size=3,
        ),
        headers=st.fixed_dictionaries(
            {},
            optional={p["name"]: hostile_text for p in parameters if p["in"] == "header"},
        ),
        body=st.one_of(
            st.fixed_dictionaries({}, optional={name: hostile_value for name in fields}),
            st.dictionaries(hostile_text, hostile_value, max_size=3),
            deep_json,
            hostile_value,
        ),
        file_rows=st.lists(st.lists(hostile_text, min_size=1, max_size=6), min_size=1, max_size=5),
        token=st.sampled_from(tokens),
    )
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def call(path_values, query, headers, body, file_rows, token):
        path = template
        for name, value in path_values.items():
            path = path.replace("{" + name + "}", _url_part(value))
        if query:
            path += "?" + "&".join(f"{_url_part(k)}={_url_part(v)}" for k, v in query.items())
        sent_headers = {"Authorization": f"Bearer {token}"}
        for name, value in headers.items():
            # Headers travel as latin-1: what cannot be is sent as its UTF-8 bytes, as a raw client would.
            sent_headers[name] = value.encode("utf-8", "surrogatepass").decode("latin-1")
        arguments: dict = {"headers": sent_headers}
        if takes_file and file_rows and len(file_rows) % 2:
            arguments["data"] = {"file": (io.BytesIO(_file_cells(file_rows)), "fuzz.csv")}
            arguments["content_type"] = "multipart/form-data"
        elif takes_json or method in ("POST", "PUT"):
            raw = body if isinstance(body, str) and body[:1] in "[{" else json.dumps(body)
            arguments["data"] = raw
            arguments["content_type"] = "application/json"
        try:
            response = client.open(path, method=method, **arguments)
        except UnicodeError as problem:  # the test client itself cannot send it: not a request
            cases["unsendable"] += 1
            assert "surrogates not allowed" in str(problem) or "codec" in str(problem)
            return
        except ValueError as problem:  # a line break in a header: no HTTP client can send that either
            cases["unsendable"] += 1
            assert "newline" in str(problem)
            return
        cases[f"{method} {template}"] += 1
        if response.status_code >= 500:
            failures.append(f"{method} {path[:120]!r}: {response.status_code} {response.get_data()[:200]!r}")

    call()


def test_hostile_text_anywhere_never_gets_a_5xx(fuzz_app):
    app = fuzz_app
    signer = dependencies.of(app).signer
    tokens = [
        signer.issue(Actor("fuzzer", Role.OPERATIONS, Source.REST)),
        signer.issue(Actor("customer:C-100", Role.CUSTOMER, Source.REST, "C-100")),
    ]
    client = app.test_client()
    failures: list[str] = []
    cases: Counter[str] = Counter()
    operations = _operations(app)
    assert len(operations) >= 30  # every documented operation

    for method, template, operation in operations:
        _fuzz(client, method, template, operation, tokens, cases, failures)

    assert not failures, "\n".join(failures[:10])
    per_operation = [cases[f"{m} {t}"] for m, t, _ in operations]
    assert min(per_operation) >= EXAMPLES_PER_OPERATION // 2, cases  # each operation really exercised
    print(f"\nhostile fuzz: {len(operations)} operations, {sum(per_operation)} requests: {dict(cases)}")


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
def test_nesting_is_refused_on_every_json_operation(fuzz_app, depth):
    token = dependencies.of(fuzz_app).signer.issue(Actor("fuzzer", Role.OPERATIONS, Source.REST))
    client = fuzz_app.test_client()
    for method, template, operation in _operations(fuzz_app):
        if "application/json" not in operation.get("requestBody", {}).get("content", {}):
            continue
        path = (
            template.replace("{order_id}", "SO-1001").replace("{ticket_id}", "1").replace("{username}", "x")
        )
        response = client.open(
            path,
            method=method,
            data="[" * depth,
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code in (400, 403, 404), (method, template, response.status_code)
