"""Asking the LLM server for one reply's wording, and deciding whether it may be sent.

``Phraser.phrase`` sends the language, the facts and the template through the OpenAI chat API and
returns the wording only when the reply guard (``fact_guard.check``) passes; otherwise None, and the
template is sent. Free of rasa-sdk, so the benchmarks measure the very path the action server takes.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

import openai
from orderbot_common.phrasing import fill_facts
from orderbot_common.phrasing import messages as chat_messages
from prometheus_client import Counter, Histogram

from actions import fact_guard

logger = logging.getLogger(__name__)

PHRASING = Counter(
    "orderbot_phrasing_total",
    "Replies offered to the LLM, by outcome (phrased, guard_rejected, timeout, error, skipped, too_long).",
    ["outcome"],
)
REJECTED = Counter(
    "orderbot_phrasing_rejected_total",
    "Phrasings the reply guard refused (the template was sent), by reason.",
    ["reason"],
)
for _reason in fact_guard.REASONS:  # every reason shows in /metrics from the start, at 0
    REJECTED.labels(_reason)
PHRASING_SECONDS = Histogram("orderbot_phrasing_seconds", "Time spent asking the LLM for one reply.")


class Phraser:
    def __init__(
        self,
        client: openai.AsyncOpenAI | None,
        model: str,
        timeout_s: float,
        max_tokens: int,
        max_prompt_chars: int = 1200,
    ) -> None:
        self.client = client
        self.model = model
        self.timeout_s = timeout_s
        self.max_tokens = max_tokens
        # The default model reads 512 tokens; a longer prompt would only be refused by the server.
        self.max_prompt_chars = max_prompt_chars

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Phraser:
        env = os.environ if environ is None else environ
        timeout_s = float(env.get("LLM_TIMEOUT", "1.5"))
        client = None
        if env.get("LLM_PHRASING", "on").lower() not in ("off", "0", "false", "no"):
            client = openai.AsyncOpenAI(
                base_url=env.get("LLM_BASE_URL", "http://127.0.0.1:8000/v1"),
                api_key=env.get("LLM_API_KEY", "not-needed-locally"),
                timeout=timeout_s,
                max_retries=0,  # a retry would only add to the customer's wait: the template is ready
            )
        return cls(
            client,
            env.get("LLM_MODEL", "orderbot-phraser"),
            timeout_s,
            int(env.get("LLM_MAX_TOKENS", "96")),
            int(env.get("LLM_MAX_PROMPT_CHARS", "1200")),
        )

    async def phrase(self, lang: str, facts: dict[str, str], template: str) -> str | None:
        """The phrased reply, or None when the template must be sent (and why is counted)."""
        return (await self.attempt(lang, facts, template)).reply

    async def attempt(self, lang: str, facts: dict[str, str], template: str) -> Attempt:
        """Ask the model and judge its answer: what ``phrase`` does, with the answer and the verdict."""
        if self.client is None:
            return Attempt.outcome("skipped")
        prompt = chat_messages(lang, facts, template)
        if sum(len(message["content"]) for message in prompt) > self.max_prompt_chars:
            return Attempt.outcome("too_long")
        try:
            with PHRASING_SECONDS.time():
                completion = await asyncio.wait_for(
                    self.client.chat.completions.create(
                        model=self.model, messages=prompt, temperature=0, max_tokens=self.max_tokens
                    ),
                    self.timeout_s,
                )
        except (asyncio.TimeoutError, openai.APITimeoutError):
            return Attempt.outcome("timeout")
        except openai.OpenAIError as problem:
            logger.warning("LLM server error, sending the template: %s", problem)
            return Attempt.outcome("error")
        choice = completion.choices[0] if completion.choices else None
        answer = (choice.message.content or "").strip() if choice else ""
        # orderbot's own model writes {fact} placeholders; a larger model writes the values (unchanged).
        answer = fill_facts(answer, facts).strip()
        verdict = fact_guard.check(
            answer, facts, template, language=lang, finish_reason=choice.finish_reason if choice else None
        )
        if not verdict.passed:
            logger.info("reply guard refused %r (%s: %s)", answer, verdict.reason, verdict.detail)
            REJECTED.labels(verdict.reason).inc()
            return Attempt.outcome("guard_rejected", answer, verdict)
        return Attempt.outcome("phrased", answer, verdict)


@dataclass(frozen=True)
class Attempt:
    outcome: str  # one of PHRASING's outcomes
    answer: str = ""  # the model's answer, facts filled in
    verdict: fact_guard.Verdict | None = None

    @property
    def reply(self) -> str | None:
        """What to send instead of the template, if anything."""
        return self.answer if self.outcome == "phrased" else None

    @classmethod
    def outcome(cls, outcome: str, answer: str = "", verdict: fact_guard.Verdict | None = None) -> Attempt:
        PHRASING.labels(outcome).inc()
        return cls(outcome, answer, verdict)
