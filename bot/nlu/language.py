"""Detect whether a message is Chinese or English, as a `language` entity that fills the slot.

Rasa fills slots from entities right after each user message, before any response is rendered, so
every reply (templates and actions alike) can follow the language of the message it answers.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Order numbers, tracking numbers and similar codes (SO-1001, SF1234567890, 1Z999AA1, EA123456789CN)
# say nothing about the language: a word is a run of letters with no digit joined to it.
_LATIN_WORD = re.compile(r"(?<![A-Za-z0-9])(?![Ss][Oo][-_ ]?\d)[A-Za-z]{2,}(?![A-Za-z0-9])")


def detect_language(text: str) -> str | None:
    """'zh' when Chinese characters carry the message, 'en' for Latin words, None when neither.

    A Chinese character carries about as much as an English word, so "我的 order SO-1001 到哪了"
    is Chinese and "where is my 订单 SO-1001" is English.
    """
    chinese = len(_CJK.findall(text or ""))
    english = len(_LATIN_WORD.findall(text or ""))
    if not chinese and not english:
        return None
    return "zh" if chinese >= english else "en"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LanguageDetector(GraphComponent):
    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            language = detect_language(message.get(TEXT) or "")
            if language is None:
                continue
            entity = {
                "entity": "language",
                "value": language,
                "start": 0,
                "end": 0,
                "confidence": 1.0,
                "extractor": type(self).__name__,
            }
            message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)
        return messages
