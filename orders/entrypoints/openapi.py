"""Validated routes and the OpenAPI document, both from the same pydantic models.

``ApiSpec.operation`` registers a Flask view, validates its query string and JSON body with pydantic
(a client's mistake is a 400 in the API's error shape, never a 500), and records the operation for
``/api/v1/openapi.json``. A resource's module declares its routes on an ``ApiRoutes`` at import time;
``create_app`` registers them on the app and in its ``ApiSpec``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

from flask import Flask, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

MAX_JSON_BYTES = 1 << 20


class RequestInvalid(Exception):
    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.details = details or []


def _problems(error: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in item["loc"]) or None, "problem": item["msg"]}
        for item in error.errors(include_url=False, include_context=False, include_input=False)
    ]


MAX_JSON_DEPTH = 32
# Control characters never belong in an API's text (PostgreSQL refuses NUL outright); tab, line feed
# and carriage return are ordinary whitespace in a message.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(value: str, where: str) -> str:
    """``value`` unchanged, or a 400 naming ``where`` when it holds a control character."""
    found = _CONTROL.search(value)
    if found:
        raise RequestInvalid(f"The {where} contains a control character (U+{ord(found.group()):04X}).")
    return value


def _check_json_depth(raw: bytes) -> None:
    """Refuse nesting deeper than MAX_JSON_DEPTH before any parser recurses into it."""
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise RequestInvalid(f"The request body is nested deeper than {MAX_JSON_DEPTH} levels.")
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1


def _check_json_text(value: Any, where: str = "request body") -> None:
    if isinstance(value, str):
        check_text(value, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, where)
            _check_json_text(item, where)
    elif isinstance(value, list):
        for item in value:
            _check_json_text(item, where)


def parse_query(model: type[BaseModel]) -> BaseModel:
    args = request.args.to_dict()
    for name, value in args.items():
        check_text(name, "query string")
        check_text(value, f"query parameter {name[:40]!r}")
    try:
        return model.model_validate(args)
    except ValidationError as error:
        raise RequestInvalid("The query string is invalid.", _problems(error)) from None


def parse_body(model: type[BaseModel]) -> BaseModel:
    if request.content_length and request.content_length > MAX_JSON_BYTES:
        raise RequestInvalid("The request body is too large (at most 1 MiB of JSON).")
    raw = request.get_data(cache=True)
    if len(raw) > MAX_JSON_BYTES:
        raise RequestInvalid("The request body is too large (at most 1 MiB of JSON).")
    _check_json_depth(raw)
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise RequestInvalid("The request body is not valid JSON.") from None
    _check_json_text(data)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise RequestInvalid("The request body is invalid.", _problems(error)) from None


class ApiSpec:
    def __init__(self, title: str, version: str, description: str) -> None:
        self.info = {"title": title, "version": version, "description": description}
        self.paths: dict[str, dict[str, Any]] = {}
        self.models: set[type[BaseModel]] = set()

    def operation(
        self,
        app: Flask,
        rule: str,
        method: str,
        *,
        summary: str,
        tag: str,
        responses: dict[int, tuple[str, type[BaseModel] | str | None]],
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        auth: bool = True,
        headers: tuple[tuple[str, str], ...] = (),
        raw_body: dict[str, Any] | None = None,
        documented_models: tuple[type[BaseModel], ...] = (),
    ) -> Callable:
        def register(view: Callable) -> Callable:
            @functools.wraps(view)
            def validated(**path_args: Any):
                if query is not None:
                    path_args["query"] = parse_query(query)
                if body is not None:
                    path_args["body"] = parse_body(body)
                return view(**path_args)

            app.add_url_rule(
                rule, endpoint=f"{view.__name__}_{method}", view_func=validated, methods=[method]
            )
            self._document(rule, method, view, summary, tag, responses, query, body, auth, headers)
            if raw_body is not None:  # a body the view parses itself (e.g. JSON or a multipart upload)
                self.paths[re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)][method.lower()]["requestBody"] = (
                    raw_body
                )
            self.models.update(documented_models)
            return validated

        return register

    def _document(self, rule, method, view, summary, tag, responses, query, body, auth, headers) -> None:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
            for name in re.findall(r"<(?:\w+:)?(\w+)>", rule)
        ]
        if query is not None:
            schema = query.model_json_schema()
            for name, prop in schema.get("properties", {}).items():
                prop = {k: v for k, v in prop.items() if k != "title"}
                parameters.append(
                    {
                        "name": name,
                        "in": "query",
                        "required": name in schema.get("required", []),
                        "schema": prop,
                    }
                )
        for name, description in headers:
            parameters.append(
                {
                    "name": name,
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 128},
                    "description": description,
                }
            )
        operation: dict[str, Any] = {
            "operationId": view.__name__,
            "summary": summary,
            "tags": [tag],
            "parameters": parameters,
            "responses": {},
        }
        if auth:
            operation["security"] = [{"bearer": []}]
        if body is not None:
            self.models.add(body)
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{body.__name__}"}}
                },
            }
        for status, (description, model) in responses.items():
            entry: dict[str, Any] = {"description": description}
            if isinstance(model, type) and issubclass(model, BaseModel):
                self.models.add(model)
                entry["content"] = {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
                }
            elif isinstance(model, str):
                entry["content"] = {model: {"schema": {"type": "string", "format": "binary"}}}
            operation["responses"][str(status)] = entry
        self.paths.setdefault(path, {})[method.lower()] = operation

    def document(self) -> dict[str, Any]:
        models = sorted(self.models, key=lambda m: m.__name__)
        _, schemas = models_json_schema(
            [(m, "validation") for m in models], ref_template="#/components/schemas/{model}"
        )
        return {
            "openapi": "3.1.0",
            "info": self.info,
            "servers": [{"url": "/"}],
            "paths": self.paths,
            "components": {
                "schemas": schemas.get("$defs", {}),
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            },
        }


class ApiRoutes:
    """The routes of one resource, declared where they are written and registered by ``create_app``.
    Documented ones go through ``ApiSpec.operation``; ``undocumented`` ones (the OpenAPI document
    itself) only become URL rules."""

    def __init__(self) -> None:
        self._operations: list[tuple[str, str, dict[str, Any], Callable]] = []
        self._undocumented: list[tuple[str, str, Callable]] = []

    def operation(self, rule: str, method: str, **documentation: Any) -> Callable:
        def declare(view: Callable) -> Callable:
            self._operations.append((rule, method, documentation, view))
            return view

        return declare

    def undocumented(self, rule: str, method: str) -> Callable:
        def declare(view: Callable) -> Callable:
            self._undocumented.append((rule, method, view))
            return view

        return declare

    def register(self, app: Flask, spec: ApiSpec) -> None:
        for rule, method, documentation, view in self._operations:
            spec.operation(app, rule, method, **documentation)(view)
        for rule, method, view in self._undocumented:
            app.add_url_rule(rule, endpoint=view.__name__, view_func=view, methods=[method])
