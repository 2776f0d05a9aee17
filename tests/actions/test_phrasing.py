"""Phrasing of replies through an OpenAI-compatible server, and the template whenever it cannot be trusted.

The server here is a loopback HTTP server that answers chat completions with what each test scripts
(the real LLM server has its own tests; test_phrasing_live.py runs the path with the default model).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions.phrasing import PHRASING, REJECTED, Phraser, phrase_replies, template_and_facts
from tests.actions.conftest import tracker

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text(encoding="utf-8"))


class ScriptedLLM:
    """Answers every chat completion with ``reply`` after ``delay_s``, or with HTTP ``status``."""

    def __init__(self) -> None:
        self.reply = ""
        self.delay_s = 0.0
        self.status = 200
        self.finish_reason = "stop"
        self.requests: list[dict] = []
        script = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                script.requests.append(body)
                threading.Event().wait(script.delay_s)
                payload = (
                    {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": script.reply},
                                "finish_reason": script.finish_reason,
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                    if script.status == 200
                    else {"error": {"message": "boom", "type": "server_error", "param": None, "code": None}}
                )
                data = json.dumps(payload).encode()
                try:
                    self.send_response(script.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting, as it should

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    script = ScriptedLLM()
    thread = threading.Thread(target=script.server.serve_forever, daemon=True)
    thread.start()
    yield script
    script.server.shutdown()
    script.server.server_close()


def phraser_for(llm: ScriptedLLM, timeout_s: float = 1.5) -> Phraser:
    return Phraser.from_env({"LLM_BASE_URL": llm.url, "LLM_TIMEOUT": str(timeout_s)})


def status_reply(language: str) -> tuple[CollectingDispatcher, object]:
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(
        response="utter_order_status", order_id="SO-1001", status="已发货" if language == "zh" else "shipped"
    )
    return dispatcher, tracker("SO-1001 到哪了", language=language)


def count(outcome: str) -> float:
    return PHRASING.labels(outcome)._value.get()


def rejected(reason: str) -> float:
    return REJECTED.labels(reason)._value.get()


def test_the_template_is_rendered_in_the_users_language():
    dispatcher, zh = status_reply("zh")
    template, facts = template_and_facts(dispatcher.messages[0], zh, DOMAIN)
    assert template == "订单 SO-1001 当前状态：已发货。"
    assert facts == {"order_id": "SO-1001", "status": "已发货"}


def test_a_faithful_phrasing_replaces_the_template(llm):
    llm.reply = "您好，您的订单 SO-1001 目前状态为：已发货。"
    dispatcher, zh = status_reply("zh")
    before = count("phrased")
    asyncio.run(phrase_replies(phraser_for(llm), dispatcher, zh, DOMAIN))
    assert dispatcher.messages[0]["text"] == llm.reply
    assert dispatcher.messages[0]["response"] is None
    assert count("phrased") == before + 1
    # The model was given the language, the facts and the template.
    prompt = json.dumps(llm.requests[0]["messages"], ensure_ascii=False)
    assert "SO-1001" in prompt and "已发货" in prompt and "订单 SO-1001 当前状态：已发货。" in prompt


@pytest.mark.parametrize(
    "reply",
    [
        "您好，您的订单 SO-1002 已发货。",
        "您好，您的订单 SO-1001 已发出。",
        "订单 SO-1001 已发货，运单号 SF123456。",
        "",
    ],
)
def test_a_reply_that_changes_drops_or_invents_a_fact_is_not_sent(llm, reply):
    llm.reply = reply
    dispatcher, zh = status_reply("zh")
    before = count("guard_rejected")
    asyncio.run(phrase_replies(phraser_for(llm), dispatcher, zh, DOMAIN))
    assert dispatcher.messages[0]["text"] is None
    assert dispatcher.messages[0]["response"] == "utter_order_status"  # Rasa sends the template
    assert count("guard_rejected") == before + 1


def test_a_slow_server_leaves_the_template(llm):
    llm.reply, llm.delay_s = "Order SO-1001 is shipped!", 1.0
    dispatcher, en = status_reply("en")
    before = count("timeout")
    asyncio.run(phrase_replies(phraser_for(llm, timeout_s=0.2), dispatcher, en, DOMAIN))
    assert dispatcher.messages[0]["response"] == "utter_order_status"
    assert count("timeout") == before + 1


def test_a_server_error_leaves_the_template(llm):
    llm.status = 500
    dispatcher, en = status_reply("en")
    before = count("error")
    asyncio.run(phrase_replies(phraser_for(llm), dispatcher, en, DOMAIN))
    assert dispatcher.messages[0]["response"] == "utter_order_status"
    assert count("error") == before + 1


def test_an_unreachable_server_leaves_the_template():
    dispatcher, en = status_reply("en")
    phraser = Phraser.from_env({"LLM_BASE_URL": "http://127.0.0.1:9/v1"})
    asyncio.run(phrase_replies(phraser, dispatcher, en, DOMAIN))
    assert dispatcher.messages[0]["response"] == "utter_order_status"


def test_phrasing_off_sends_templates_without_asking(llm):
    dispatcher, en = status_reply("en")
    phraser = Phraser.from_env({"LLM_BASE_URL": llm.url, "LLM_PHRASING": "off"})
    asyncio.run(phrase_replies(phraser, dispatcher, en, DOMAIN))
    assert dispatcher.messages[0]["response"] == "utter_order_status"
    assert llm.requests == []


def test_replies_with_buttons_are_left_alone(llm):
    llm.reply = "anything"
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(text="Did you mean…", buttons=[{"title": "yes", "payload": "/affirm"}])
    asyncio.run(phrase_replies(phraser_for(llm), dispatcher, tracker("hm"), DOMAIN))
    assert dispatcher.messages[0]["text"] == "Did you mean…" and llm.requests == []


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("订单 SO-1001 当前状态：已发货，运单号 {tracking_number}。", "placeholder"),
        ("订单 SO-1001 已确认，当前状态：已发货。", "domain_word"),
        ("Order SO-1001 is 已发货.", "language"),
    ],
)
def test_each_refusal_is_counted_by_its_reason(llm, reply, reason):
    llm.reply = reply
    dispatcher, zh = status_reply("zh")
    before = rejected(reason)
    asyncio.run(phrase_replies(phraser_for(llm), dispatcher, zh, DOMAIN))
    assert dispatcher.messages[0]["response"] == "utter_order_status"
    assert rejected(reason) == before + 1


def test_a_reply_the_server_cut_at_max_tokens_is_not_sent(llm):
    llm.reply, llm.finish_reason = "Your order SO-1001 is currently shipped.", "length"
    dispatcher, en = status_reply("en")
    before = rejected("cut_off")
    asyncio.run(phrase_replies(phraser_for(llm), dispatcher, en, DOMAIN))
    assert dispatcher.messages[0]["response"] == "utter_order_status"
    assert rejected("cut_off") == before + 1


@pytest.mark.parametrize(
    ("response", "facts"),
    [
        ("utter_ask_order_id", {}),  # no facts: nothing would hold the model to its meaning
        ("utter_nothing_to_confirm", {}),
        ("utter_staff_only", {}),
        ("utter_change_refused", {"reason": "order SO-1 is shipped and can no longer be cancelled."}),
        ("utter_order_list", {"total": 2, "filter": "", "lines": "SO-1 shipped\nSO-2 settled"}),
    ],
)
def test_replies_without_facts_or_kept_plain_are_never_sent_to_the_model(llm, response, facts):
    llm.reply = "I found {order_id} is {status}."
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(response=response, **facts)
    asyncio.run(phrase_replies(phraser_for(llm), dispatcher, tracker("where is my order?"), DOMAIN))
    assert dispatcher.messages[0]["response"] == response and llm.requests == []


def test_a_prompt_too_long_for_the_model_is_not_sent(llm):
    dispatcher, en = status_reply("en")
    phraser = Phraser.from_env({"LLM_BASE_URL": llm.url, "LLM_MAX_PROMPT_CHARS": "50"})
    before = count("too_long")
    asyncio.run(phrase_replies(phraser, dispatcher, en, DOMAIN))
    assert dispatcher.messages[0]["response"] == "utter_order_status" and llm.requests == []
    assert count("too_long") == before + 1
