"""Tell the intent classifier how much of a message's vocabulary each intent's examples share.

Bags of words and character n-grams weigh each word on its own; a message about something the
assistant does not do ("what is a black hole", "帮我P张图") is then scored by the few familiar words
it has ("what", "你", "帮我"), often as bot_capabilities or greet. This featurizer adds sentence
features that look at the message as a whole:

- the share of its words that no in-scope example (of any intent but out_of_scope) uses, and
  whether it has such a word at all: mostly new words point to out_of_scope;
- for each intent, the share of its words that the examples of that intent use.

A training example would always find its own words, so each one is measured as if it were new: a
word of its own counts only when another example uses it too (leave one out). The classifier thus
learns how often a message of an intent brings words its other examples never used (a typo, a rare
paraphrase), and does not take every new word for out of scope.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, TEXT, TEXT_TOKENS
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.model_files import load_json, save_json
from bot.nlu.unknown_words import _words, content_words

FILE = "vocabulary.json"


def message_words(message: Message) -> list[str]:
    """The message's words with a letter in them (not numbers), particles aside, lower case."""
    return content_words(_words(message.get(TEXT_TOKENS) or []))


def overlap(
    words: list[str],
    frequencies: dict[str, dict[str, int]],
    intents: list[str],
    out_of_scope: str,
    own_intent: str | None = None,
) -> list[float]:
    """[share of words new to every in-scope intent, 1.0 if any is, share known to each intent...].

    ``frequencies[intent][word]`` counts the examples of ``intent`` that use ``word``; with
    ``own_intent`` the message is one of those examples and does not count for itself.
    """
    if not words:
        return [0.0] * (2 + len(intents))
    unique = set(words)

    def uses(intent: str, word: str) -> int:
        return frequencies.get(intent, {}).get(word, 0) - (intent == own_intent and word in unique)

    in_scope = [i for i in intents if i != out_of_scope]
    new = [w for w in words if not any(uses(i, w) > 0 for i in in_scope)]
    shares = [sum(uses(i, w) > 0 for w in words) / len(words) for i in intents]
    return [len(new) / len(words), 1.0 if new else 0.0, *shares]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class VocabularyFeaturizer(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"out_of_scope_intent": "out_of_scope"}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        name: str,
        frequencies: dict[str, dict[str, int]] | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self._name = name
        self.frequencies = dict(frequencies or {})
        self.intents = sorted(self.frequencies)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> VocabularyFeaturizer:
        return cls(config, model_storage, resource, execution_context.node_name)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> VocabularyFeaturizer:
        frequencies = load_json(model_storage, resource, FILE, {})
        return cls(config, model_storage, resource, execution_context.node_name, frequencies)

    def train(self, training_data: TrainingData) -> Resource:
        counts: dict[str, Counter[str]] = {}
        for example in training_data.intent_examples:
            counts.setdefault(example.get(INTENT), Counter()).update(set(message_words(example)))
        self.frequencies = {intent: dict(sorted(c.items())) for intent, c in sorted(counts.items())}
        self.intents = sorted(self.frequencies)
        save_json(self._storage, self._resource, FILE, self.frequencies)
        return self._resource

    def _add(self, message: Message, own_intent: str | None) -> None:
        values = overlap(
            message_words(message),
            self.frequencies,
            self.intents,
            self._config["out_of_scope_intent"],
            own_intent,
        )
        features = np.array([values], dtype=np.float32)
        message.add_features(Features(features, FEATURE_TYPE_SENTENCE, TEXT, self._name))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            if example.get(TEXT):
                self._add(example, example.get(INTENT))
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if message.get(TEXT):
                self._add(message, None)
        return messages
