"""Request bodies of the OpenAI API as far as this server implements them.

Unknown fields are ignored, as vLLM does, so clients that send more keep working; fields that ask
for something not implemented (n > 1, logprobs, echo, best_of > 1, tools) are refused with 400.
`ignore_eos` is vLLM's extension (send it through the client's `extra_body`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from llm_server.errors import invalid_request


class StreamOptions(BaseModel):
    include_usage: bool = False


class _GenerationRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    n: int | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    ignore_eos: bool = False

    @field_validator("n")
    @classmethod
    def _one_choice(cls, value: int | None) -> int | None:
        if value not in (None, 1):
            raise ValueError("only n=1 is supported")
        return value

    @field_validator("stop")
    @classmethod
    def _few_stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 16:
            raise ValueError("at most 16 stop strings")
        return value

    def stop_strings(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)

    def refuse_unsupported(self) -> None:
        """Checked after parsing; subclasses add their own unsupported fields."""


class CompletionRequest(_GenerationRequest):
    prompt: str | list[int] | list[str]
    echo: bool | None = False
    logprobs: int | None = None
    best_of: int | None = None
    suffix: str | None = None

    def refuse_unsupported(self) -> None:
        if isinstance(self.prompt, list) and not self.prompt:
            raise invalid_request("prompt must not be empty", param="prompt")
        if isinstance(self.prompt, list) and isinstance(self.prompt[0], str) and len(self.prompt) != 1:
            raise invalid_request("only one prompt per request is supported", param="prompt")
        for name, value, default in (("echo", self.echo, False), ("logprobs", self.logprobs, None)):
            if value not in (default, None):
                raise invalid_request(f"{name} is not supported", param=name)
        if self.best_of not in (None, 1):
            raise invalid_request("only best_of=1 is supported", param="best_of")
        if self.suffix:
            raise invalid_request("suffix is not supported", param="suffix")


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class ChatCompletionRequest(_GenerationRequest):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    logprobs: bool | None = False
    tools: list[dict] | None = None

    def refuse_unsupported(self) -> None:
        if self.logprobs:
            raise invalid_request("logprobs is not supported", param="logprobs")
        if self.tools:
            raise invalid_request("tools are not supported", param="tools")
