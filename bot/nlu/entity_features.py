"""Tell the intent classifier which kinds of entity a message names, and which of them together.

"SO-2044 中通 731234567898" records a shipment, while "中通 731234567898" or "SO-1006 li.na@example.cn"
answers the bot's question (inform): the same entities, told apart only by which of them come
together. A linear classifier over bags of words and regex matches adds up what each entity says on
its own and cannot see that; this featurizer gives it one sentence feature per configured entity
type (present or not) and one per pair of them (both present).

It reads the message's entities: in training the annotated ones, in use the ones the regex
extractor found, so it has to come after the extractors in the pipeline.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

DEFAULT_ENTITIES = ["order_id", "carrier", "tracking_number"]


def entity_combinations(found: set[str], types: list[str], weight: float = 1.0) -> list[float]:
    """One value per type (``weight`` if found, else 0), then one per pair of types, in order."""
    single = [weight if t in found else 0.0 for t in types]
    pairs = [weight if a in found and b in found else 0.0 for a, b in combinations(types, 2)]
    return single + pairs


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class EntityCombinationFeaturizer(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # The features are 0 or `weight`: at 1 the classifier's regularisation keeps them too weak
        # next to thousands of word and n-gram counts.
        return {"entities": DEFAULT_ENTITIES, "weight": 2.0}

    def __init__(self, config: dict[str, Any], name: str) -> None:
        config = {**self.get_default_config(), **config}
        self.types = list(config["entities"])
        self.weight = float(config["weight"])
        self._name = name

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EntityCombinationFeaturizer:
        return cls(config, execution_context.node_name)

    def _featurize(self, message: Message) -> None:
        if not message.get(TEXT):
            return
        found = {e.get("entity") for e in message.get(ENTITIES) or []}
        values = np.array([entity_combinations(found, self.types, self.weight)], dtype=np.float32)
        message.add_features(Features(values, FEATURE_TYPE_SENTENCE, TEXT, self._name))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._featurize(example)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._featurize(message)
        return messages
