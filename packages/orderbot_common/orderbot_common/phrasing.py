"""The phrasing contract between the action server and orderbot's own small model: one definition.

The action server asks for a reply through the OpenAI chat API with two messages:

    [{"role": "system", "content": SYSTEM_PROMPT[language]},
     {"role": "user", "content": user_message(language, facts, template)}]

``facts`` is an ordered mapping of fact name (see ``FACT_NAMES``) to its exact string value, and
``template`` is the plain reply the bot would send otherwise, facts already in it. The user message
reads, line by line (facts in the given order, values verbatim)::

    language: zh
    facts:
    - order_id: SO-1001
    - status: 已发货
    template: 订单 SO-1001 当前状态：已发货。

The assistant's answer is a friendly rephrasing in that language that contains every fact value exactly
as given and no other number or id-like token. Greedy decoding (temperature 0) is the intended use.

orderbot's own small model writes each fact as a ``{name}`` placeholder instead of copying its value
(copying long numbers reliably is beyond a model trained in minutes on a CPU): the client passes every
answer through ``fill_facts`` before its fact guard. An answer with the values written out (any larger
model behind the same API) goes through ``fill_facts`` unchanged.

Standard library only: the action server (Python 3.10), the LLM server, the benchmark and the
training corpus all import it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

LANGUAGES = ("en", "zh")

# Short on purpose: the default model is tiny and reads this prompt on every request.
SYSTEM_PROMPT: dict[str, str] = {
    "en": "Rephrase the reply in friendly English; keep every fact exactly.",
    "zh": "用友好的中文改写回复，事实原样保留。",
}

# Responses that carry facts and are still sent as plain templates, and why. Replies without facts are
# never phrased (nothing would hold a model to their meaning). Every other response that carries facts
# is phrased, and orderbot's corpus (llm_server/corpus/situations.py) has phrasings for it: tested.
KEPT_PLAIN: dict[str, str] = {
    "utter_change_refused": "the reason is free text from the order service",
    "utter_invalid_slot": "the problem is free text from the order service",
    "utter_order_list": "a list of orders: long, and exact line by line",
    "utter_no_orders": "the filter is composed text",
    "utter_ask_import_source": "a list of configured sources",
    "utter_suggest": "suggestions with buttons, composed from intent names",
    "utter_order_shipped": "a parcel's carrier, tracking number and date: read off and copied by people",
    "utter_tracking_link": "a link, exact to the character",
    "utter_no_parcel_details": "says plainly what is missing, with a button to a person",
}

# The fact names the default model was trained on; other names work only as far as the model generalises.
FACT_NAMES = (
    "order_id",
    "status",
    "next_step",
    "amount",
    "currency",
    "due_date",
    "date",
    "carrier",
    "tracking_number",
    "invoice_number",
    "freight",
    "count",
    "url",
    "ticket",
    "source",
    "inserted",
    "updated",
    "unchanged",
    "quarantined",
    "totals",
)


def user_message(language: str, facts: Mapping[str, str], template: str) -> str:
    """The user turn for ``language`` ("en" or "zh"), the ordered ``facts`` and the plain ``template``."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    lines = [f"language: {language}", "facts:"]
    lines += [f"- {name}: {_one_line(value)}" for name, value in facts.items()]
    lines.append(f"template: {_one_line(template)}")
    return "\n".join(lines)


def messages(language: str, facts: Mapping[str, str], template: str) -> list[dict[str, str]]:
    """The whole chat request body's ``messages`` for one reply."""
    return [
        {"role": "system", "content": SYSTEM_PROMPT[language]},
        {"role": "user", "content": user_message(language, facts, template)},
    ]


def _one_line(text: str) -> str:
    # One fact per line: a newline inside a value would read as the next fact.
    return " ".join(str(text).split("\n"))


# A fact's place in a domain.yml template (and in the default model's answers): {order_id}.
PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")


def placeholders(text: str) -> list[str]:
    """The fact names of ``text``'s placeholders, in order, repeats included."""
    return PLACEHOLDER.findall(text)


def fill_facts(answer: str, facts: Mapping[str, str]) -> str:
    """``answer`` with every ``{name}`` placeholder of a fact replaced by its exact value. Placeholders
    of unknown names stay, so the fact guard sees (and refuses) them."""
    for name, value in facts.items():
        answer = answer.replace("{" + name + "}", value)
    return answer
