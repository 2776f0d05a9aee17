"""The custom NLU components of bot/nlu: entity scoping and the unknown-words fallback."""

from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT, TEXT_TOKENS
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.entity_scope import DEFAULT_SCOPES, scope_entities
from bot.nlu.unknown_words import UnknownWordsFallback, _one_edit_apart


def entity(name, start, end, value="x"):
    return {"entity": name, "start": start, "end": end, "value": value}


def test_filters_are_kept_only_for_the_intents_that_use_them():
    found = [entity("order_id", 0, 7), entity("order_state", 8, 15), entity("date", 16, 21)]
    assert [e["entity"] for e in scope_entities(found, "order_status", DEFAULT_SCOPES)] == ["order_id"]
    assert [e["entity"] for e in scope_entities(found, "list_orders", DEFAULT_SCOPES)] == [
        "order_id",
        "order_state",
        "date",
    ]
    assert [e["entity"] for e in scope_entities(found, "settle_payments", DEFAULT_SCOPES)] == [
        "order_id",
        "date",
    ]


def test_overlapping_matches_of_one_type_keep_the_longest():
    found = [entity("carrier", 0, 2), entity("carrier", 0, 4), entity("language", 0, 0)]
    kept = scope_entities(found, "inform", DEFAULT_SCOPES)
    assert [(e["entity"], e["start"], e["end"]) for e in kept] == [("language", 0, 0), ("carrier", 0, 4)]


def test_one_edit_apart():
    assert _one_edit_apart("thnks", "thanks")
    assert _one_edit_apart("thansk", "thanks")
    assert not _one_edit_apart("blargh", "large")


def message(words, entities=()):
    tokens, offset = [], 0
    for word in words:
        tokens.append(Token(word, offset))
        offset += len(word) + 1
    return Message(
        {
            TEXT: " ".join(words),
            TEXT_TOKENS: tokens,
            ENTITIES: list(entities),
            INTENT: {"name": "affirm", "confidence": 0.9},
        }
    )


def test_a_message_of_unknown_words_loses_its_confidence():
    guard = UnknownWordsFallback(
        {"min_fuzzy_length": 4}, None, None, ["where", "is", "my", "order", "好吧", "嗯"]
    )
    babble, typo, particles, known, code = (
        message(["blargh", "foo"]),
        message(["wher", "is", "my", "ordr"]),
        message(["啊", "吧", "啊", "吧"]),
        message(["嗯"]),
        message(["SO", "1001"], [entity("order_id", 0, 7)]),
    )
    guard.process([babble, typo, particles, known, code])
    assert babble.get(INTENT)["confidence"] == 0.0
    assert particles.get(INTENT)["confidence"] == 0.0
    assert typo.get(INTENT)["confidence"] == 0.9
    assert known.get(INTENT)["confidence"] == 0.9
    assert code.get(INTENT)["confidence"] == 0.9
