"""The custom NLU components of bot/nlu: entity scoping and the unknown-words fallback."""

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT, TEXT_TOKENS
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.entity_features import EntityCombinationFeaturizer, entity_combinations
from bot.nlu.entity_scope import DEFAULT_SCOPES, scope_entities
from bot.nlu.unknown_words import UnknownWordsFallback, _one_edit_apart
from bot.nlu.vocabulary import VocabularyFeaturizer, overlap


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


def test_overlap_is_the_share_of_words_other_examples_of_each_intent_use():
    frequencies = {"order_status": {"where": 3, "order": 2}, "cancel_order": {"cancel": 1, "order": 1}}
    intents = ["cancel_order", "order_status", "out_of_scope"]
    # new to every in-scope intent, any new, then per intent in the order of `intents`
    assert overlap(["where", "order"], frequencies, intents, "out_of_scope") == [0.0, 0.0, 0.5, 1.0, 0.0]
    assert overlap(["where", "is", "bitcoin"], frequencies, intents, "out_of_scope") == [
        2 / 3,
        1.0,
        0.0,
        1 / 3,
        0.0,
    ]
    # Leave one out: "cancel" only this example of cancel_order uses.
    own = overlap(["cancel", "order"], frequencies, intents, "out_of_scope", own_intent="cancel_order")
    assert own == [0.5, 1.0, 0.0, 0.5, 0.0]
    assert overlap([], frequencies, intents, "out_of_scope") == [0.0] * 5


def example(words, intent=None):
    msg = message(words)
    msg.set(INTENT, intent)
    return msg


def sentence_features(msg):
    return [round(value, 4) for value in msg.get_dense_features(TEXT)[1].features[0].tolist()]


def test_vocabulary_featurizer_leaves_each_training_example_out_and_persists(tmp_path):
    storage, resource = LocalModelStorage(tmp_path), Resource("vocabulary")
    context = ExecutionContext(GraphSchema({}), "model", "vocabulary")
    training = TrainingData(
        training_examples=[
            example(["where", "is", "my", "order"], "order_status"),
            example(["cancel", "my", "order"], "cancel_order"),
            example(["what", "is", "a", "black", "hole"], "out_of_scope"),
        ]
    )
    featurizer = VocabularyFeaturizer.create({}, storage, resource, context)
    featurizer.train(training)
    featurizer.process_training_data(training)
    status, cancel, black_hole = training.training_examples
    # features: new, any new, cancel_order, order_status, out_of_scope
    assert sentence_features(status) == [0.5, 1.0, 0.5, 0.0, 0.25]  # "where", "is" are its own
    assert sentence_features(cancel) == [0.3333, 1.0, 0.0, 0.6667, 0.0]
    assert sentence_features(black_hole) == [0.8, 1.0, 0.0, 0.2, 0.0]

    loaded = VocabularyFeaturizer.load({}, storage, resource, context)
    new, known, digits = message(["what", "is", "bitcoin"]), message(["my", "order"]), message(["1001"])
    loaded.process([new, known, digits])
    assert sentence_features(new) == [0.6667, 1.0, 0.0, 0.3333, 0.6667]
    assert sentence_features(known) == [0.0, 0.0, 1.0, 1.0, 0.0]
    assert sentence_features(digits) == [0.0, 0.0, 0.0, 0.0, 0.0]


def test_entity_combinations_name_each_type_and_each_pair():
    types = ["order_id", "carrier", "tracking_number"]
    assert entity_combinations(set(), types) == [0.0] * 6
    assert entity_combinations({"carrier", "tracking_number", "language"}, types, 2.0) == [
        0.0,
        2.0,
        2.0,
        0.0,
        0.0,
        2.0,
    ]
    featurizer = EntityCombinationFeaturizer({}, "entities")
    shipment = message(["SO", "1001", "DHL"], [entity("order_id", 0, 7), entity("carrier", 8, 11)])
    featurizer.process([shipment])
    assert sentence_features(shipment) == [2.0, 2.0, 0.0, 2.0, 0.0, 0.0]
