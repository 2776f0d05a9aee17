"""A trainable NLU component's learned data, kept as one JSON file in its model resource."""

from __future__ import annotations

import json
from typing import Any

from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage


def save_json(model_storage: ModelStorage, resource: Resource, name: str, data: Any) -> None:
    with model_storage.write_to(resource) as path:
        (path / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def load_json(model_storage: ModelStorage, resource: Resource, name: str, default: Any) -> Any:
    """What ``save_json`` kept, or ``default`` for a model trained without it (or unreadable)."""
    try:
        with model_storage.read_from(resource) as path:
            return json.loads((path / name).read_text(encoding="utf-8"))
    except (ValueError, FileNotFoundError):
        return default
