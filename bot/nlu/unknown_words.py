"""Send a message made only of words the model never saw to the fallback.

The intent classifier always picks some intent, often confidently, even for "blargh foo" or
"啊吧啊吧" (which would otherwise read as a "yes" to a pending cancellation). This component learns
the words of the training examples and, when none of the words of a message is known (nor one
typo away from a known word), sets the intent confidence to zero so that the FallbackClassifier
after it answers `nlu_fallback`. Messages with an extracted entity (an order number, a tracking
number, ...) and messages without any word (digits, emoji) are left alone.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT_TOKENS
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.model_files import load_json, save_json

# Chinese modal particles: they carry no meaning of their own ("啊吧啊吧" is babble).
PARTICLES = frozenset("啊吧呀呢哦喔啦嘛哇呃额哎唉噢")
_WORD = re.compile(r"[^\W\d_]", re.UNICODE)  # a token with at least one letter (Latin or CJK)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
FILE = "vocabulary.json"


def _words(tokens: list[Any]) -> list[str]:
    return [t.text.lower() for t in tokens if _WORD.search(t.text)]


def content_words(words: list[str]) -> list[str]:
    """``words`` without the ones made only of particles."""
    return [w for w in words if not all(ch in PARTICLES for ch in w)]


def _one_edit_apart(a: str, b: str) -> bool:
    """True when one insertion, deletion, substitution or swap of neighbours turns a into b."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class UnknownWordsFallback(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # Words at least this long count as known when one typo away from a known word.
        return {"min_fuzzy_length": 4}

    def __init__(
        self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, vocabulary=()
    ) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self.vocabulary = set(vocabulary)
        self._by_length: dict[int, list[str]] = {}
        for word in self.vocabulary:
            self._by_length.setdefault(len(word), []).append(word)
        # jieba cuts unseen Chinese differently from seen text ("回见" vs "回头见"): a Chinese word
        # counts as known when each of its characters is (babble of particles aside).
        self._characters = {ch for word in self.vocabulary for ch in _CJK.findall(word)} - PARTICLES

    @classmethod
    def create(cls, config, model_storage, resource, execution_context) -> UnknownWordsFallback:
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config, model_storage, resource, execution_context, **kwargs) -> UnknownWordsFallback:
        return cls(config, model_storage, resource, load_json(model_storage, resource, FILE, []))

    def train(self, training_data: TrainingData) -> Resource:
        vocabulary = set()
        for example in training_data.training_examples:
            vocabulary.update(_words(example.get(TEXT_TOKENS) or []))
        save_json(self._storage, self._resource, FILE, sorted(vocabulary))
        return self._resource

    def known(self, word: str) -> bool:
        if word in self.vocabulary:
            return True
        if _CJK.search(word):
            return all(ch in self._characters for ch in _CJK.findall(word))
        if len(word) < self._config.get("min_fuzzy_length", 4):
            return False
        return any(
            _one_edit_apart(word, other)
            for length in (len(word) - 1, len(word), len(word) + 1)
            for other in self._by_length.get(length, ())
        )

    def unknown(self, message: Message) -> bool:
        """True when the message has words and not one of them is known."""
        if not self.vocabulary or any(
            e.get("end", 0) > e.get("start", 0) for e in message.get(ENTITIES) or []
        ):
            return False
        words = _words(message.get(TEXT_TOKENS) or [])
        content = content_words(words)
        if not words:
            return False
        return not any(self.known(w) for w in content)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.get(INTENT)
            if not intent or not self.unknown(message):
                continue
            message.set(INTENT, {**intent, "confidence": 0.0}, add_to_output=True)
            ranking = message.get(INTENT_RANKING_KEY) or []
            message.set(INTENT_RANKING_KEY, [{**r, "confidence": 0.0} for r in ranking], add_to_output=True)
        return messages
