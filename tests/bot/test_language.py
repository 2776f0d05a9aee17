import pytest
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.language import LanguageDetector, detect_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where is my order SO-1001?", "en"),
        ("我的订单到哪了", "zh"),
        ("我的 order SO-1001 到哪了", "zh"),
        ("where is my 订单 SO-1001", "en"),
        ("SO-1001", None),
        # a tracking number typed on its own, in a Chinese or an English conversation
        ("SF9876543210987", None),
        ("JDVA12345678901", None),
        ("EA123456789CN", None),
        ("1Z999AA10123456784", None),
        ("运单号 SF9876543210987", "zh"),
        ("tracking number SF9876543210987", "en"),
        ("12345 !!", None),
        ("", None),
        ("你好", "zh"),
        ("hi", "en"),
    ],
)
def test_detect_language(text, expected):
    assert detect_language(text) == expected


def test_the_language_becomes_an_entity_only_when_the_text_tells():
    detector = LanguageDetector()
    chinese, code_only = Message({TEXT: "查一下订单"}), Message({TEXT: "SO-1001"})
    detector.process([chinese, code_only])
    assert [e["value"] for e in chinese.get(ENTITIES) if e["entity"] == "language"] == ["zh"]
    assert not code_only.get(ENTITIES)
