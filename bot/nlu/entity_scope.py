"""Keep filter entities only where they are filters, and drop overlapping regex matches.

The regular expressions find "shipped", "已入库" or "today" wherever they occur, but `order_state`
and `date` mean something only to the staff commands that take them as filters or as the day to
work on (list orders, settle, import). "has my order shipped?", "mark SO-1001 as shipped" or
"what's the weather today" carry no filter; extracting one there would be noise in the slots and
in the evaluation. This component runs after the intent classifier and removes such entities when
the message's intent does not use them. It also keeps only the longest of overlapping matches of
one entity type ("邮政EMS" is one carrier, not "邮政" and "EMS").
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

# entity -> the intents that use it; an entity not named here is kept everywhere.
DEFAULT_SCOPES: dict[str, list[str]] = {
    "order_state": ["list_orders"],
    "date": ["list_orders", "settle_payments", "import_orders"],
}


def _overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


def scope_entities(entities: list[dict[str, Any]], intent: str | None, scopes: dict[str, list[str]]):
    """The entities worth keeping for a message of ``intent``."""
    kept = [e for e in entities if e.get("entity") not in scopes or intent in scopes[e["entity"]]]
    # Longest first, so a shorter match inside a longer one of the same type is dropped.
    result: list[dict[str, Any]] = []
    for entity in sorted(kept, key=lambda e: e.get("end", 0) - e.get("start", 0), reverse=True):
        spanned = entity.get("end", 0) > entity.get("start", 0)
        if spanned and any(
            other["entity"] == entity["entity"] and _overlaps(other, entity)
            for other in result
            if other.get("end", 0) > other.get("start", 0)
        ):
            continue
        result.append(entity)
    return sorted(result, key=lambda e: (e.get("start", 0), e.get("end", 0)))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class EntityScope(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"scopes": DEFAULT_SCOPES}

    def __init__(self, config: dict[str, Any]) -> None:
        self.scopes = dict(config.get("scopes") or DEFAULT_SCOPES)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EntityScope:
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entities = message.get(ENTITIES) or []
            if not entities:
                continue
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            message.set(ENTITIES, scope_entities(entities, intent, self.scopes), add_to_output=True)
        return messages
