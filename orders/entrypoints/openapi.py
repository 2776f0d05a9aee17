"""Validated routes and the OpenAPI document, both from the same pydantic models.

``ApiSpec.operation`` registers a Flask view, validates its query string and JSON body with pydantic
(a client's mistake is a 400 in the API's error shape, never a 500), and records the operation for
``/api/v1/openapi.json``. A resource's module declares its routes on an ``ApiRoutes`` at import time;
``create_app`` registers them on the app and in its ``ApiSpec``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from flask import Flask, request
from orderbot_common import untrusted_json
from orderbot_common.text import describe, forbidden_character
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


def check_text(value: str, where: str) -> str:
    """``value`` unchanged, or a 400 naming ``where`` when it holds a character no text may hold."""
    found = forbidden_character(value)
    if found:
        raise RequestInvalid(f"The {where} contains {describe(found)} ({found}).")
    return value


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
    try:
        data = untrusted_json.load(
            raw, max_bytes=MAX_JSON_BYTES, max_depth=MAX_JSON_DEPTH, what="The request body"
        )
    except untrusted_json.UntrustedJson as problem:
        raise RequestInvalid(str(problem)) from None
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
