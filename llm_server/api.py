"""The OpenAI-compatible HTTP API: /v1/models, /v1/completions, /v1/chat/completions (plain JSON or
server-sent events ending with `data: [DONE]`), plus /health and /metrics.

Context policy: a prompt plus max_tokens beyond the model's context length is refused with 400
(code context_length_exceeded), as OpenAI does; without max_tokens, completions default to 16 tokens
and chat completions to whatever room the context has left.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any, TypeVar

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError

from llm_server.config import Settings
from llm_server.engine import Engine, Failed, Finished, QueueFullError, Sequence, TextDelta
from llm_server.errors import APIError, from_validation_errors, install_error_handlers, invalid_request
from llm_server.loading import LoadedModel
from llm_server.metrics import CONTENT_TYPE_LATEST, ServerMetrics
from llm_server.sampling import SamplingParams
from llm_server.schemas import ChatCompletionRequest, CompletionRequest

RequestBody = TypeVar("RequestBody", CompletionRequest, ChatCompletionRequest)
COMPLETION_DEFAULT_MAX_TOKENS = 16  # OpenAI's default for /v1/completions
RETRY_AFTER_SECONDS = "1"
KNOWN_ENDPOINTS = frozenset({"/health", "/metrics", "/v1/models", "/v1/completions", "/v1/chat/completions"})


def create_app(settings: Settings, loaded: LoadedModel) -> FastAPI:
    metrics = ServerMetrics()
    engine = Engine(loaded, metrics, max_batch=settings.max_batch, max_queue=settings.max_queue)
    created = int(time.time())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        engine.start()
        try:
            yield
        finally:
            engine.stop()

    app = FastAPI(title="orderbot LLM server", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.engine = engine
    app.state.metrics = metrics
    install_error_handlers(app)
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics)

    def model_card() -> dict[str, Any]:
        return {"id": settings.model_name, "object": "model", "created": created, "owned_by": "orderbot"}

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "model": settings.model_name,
            "active": engine.active,
            "waiting": engine.waiting,
        }

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [model_card()]}

    @app.get("/v1/models/{model_id:path}")
    async def retrieve_model(model_id: str) -> dict[str, Any]:
        if model_id != settings.model_name:
            raise APIError(
                404, f"The model `{model_id}` does not exist", type="not_found_error", code="model_not_found"
            )
        return model_card()

    @app.post("/v1/completions")
    async def completions(request: Request) -> Response:
        body = await parse_body(request, CompletionRequest, settings)
        prompt_ids = completion_prompt_ids(body, loaded)
        params = sampling_params(
            body, body.max_tokens, len(prompt_ids), loaded, default_max_tokens=COMPLETION_DEFAULT_MAX_TOKENS
        )
        sequence = submit(engine, prompt_ids, params)
        response_id, now = f"cmpl-{uuid.uuid4().hex}", int(time.time())

        def choice(text: str, finish_reason: str | None) -> dict[str, Any]:
            return {"index": 0, "text": text, "logprobs": None, "finish_reason": finish_reason}

        def envelope(choices: list[dict[str, Any]]) -> dict[str, Any]:
            return {
                "id": response_id,
                "object": "text_completion",
                "created": now,
                "model": settings.model_name,
                "choices": choices,
            }

        if body.stream:
            return event_stream(
                sequence,
                first=None,
                chunk=lambda text, reason: envelope([choice(text, reason)]),
                usage_chunk=lambda usage: envelope([]) | {"usage": usage},
                include_usage=bool(body.stream_options and body.stream_options.include_usage),
                request=request,
                interval_s=settings.stream_interval_ms / 1000,
            )
        text, finished = await collect(request, sequence)
        return JSONResponse(envelope([choice(text, finished.reason)]) | {"usage": usage_of(finished)})

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        body = await parse_body(request, ChatCompletionRequest, settings)
        messages = [{"role": m.role, "content": m.text()} for m in body.messages]
        prompt_ids = loaded.chat_prompt_ids(messages)
        requested = body.max_completion_tokens or body.max_tokens
        params = sampling_params(body, requested, len(prompt_ids), loaded, default_max_tokens=None)
        sequence = submit(engine, prompt_ids, params)
        response_id, now = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

        def envelope(kind: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
            return {
                "id": response_id,
                "object": kind,
                "created": now,
                "model": settings.model_name,
                "choices": choices,
            }

        def delta_chunk(delta: dict[str, Any], reason: str | None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
            return envelope("chat.completion.chunk", [choice])

        if body.stream:
            return event_stream(
                sequence,
                first=delta_chunk({"role": "assistant", "content": ""}, None),
                chunk=lambda text, reason: delta_chunk({"content": text} if text else {}, reason),
                usage_chunk=lambda usage: envelope("chat.completion.chunk", []) | {"usage": usage},
                include_usage=bool(body.stream_options and body.stream_options.include_usage),
                request=request,
                interval_s=settings.stream_interval_ms / 1000,
            )
        text, finished = await collect(request, sequence)
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "logprobs": None,
            "finish_reason": finished.reason,
        }
        return JSONResponse(envelope("chat.completion", [choice]) | {"usage": usage_of(finished)})

    return app


async def parse_body(request: Request, schema: type[RequestBody], settings: Settings) -> RequestBody:
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise invalid_request(
            "We could not parse the JSON body of your request: it must be a JSON object "
            "(send Content-Type: application/json)."
        ) from None
    if not isinstance(data, dict):
        raise invalid_request("The request body must be a JSON object.")
    try:
        body = schema.model_validate(data)
    except ValidationError as exc:
        raise from_validation_errors(exc.errors()) from None
    body.refuse_unsupported()
    if body.model != settings.model_name:
        raise invalid_request(
            f"The model `{body.model}` does not exist; this server serves `{settings.model_name}`.",
            param="model",
            code="model_not_found",
        )
    return body


def completion_prompt_ids(body: CompletionRequest, loaded: LoadedModel) -> list[int]:
    prompt = body.prompt
    if isinstance(prompt, list) and prompt and isinstance(prompt[0], int):
        vocabulary = loaded.model.config.vocab_size
        if any(not 0 <= token < vocabulary for token in prompt):
            raise invalid_request(f"prompt token ids must lie in [0, {vocabulary})", param="prompt")
        return list(prompt)
    text = prompt[0] if isinstance(prompt, list) else prompt
    ids = loaded.completion_prompt_ids(text)
    if not ids:
        raise invalid_request("prompt must not be empty", param="prompt")
    return ids


def sampling_params(
    body: CompletionRequest | ChatCompletionRequest,
    requested_max_tokens: int | None,
    prompt_tokens: int,
    loaded: LoadedModel,
    default_max_tokens: int | None,
) -> SamplingParams:
    limit = loaded.context_length
    room = limit - prompt_tokens
    if room < 1:
        raise invalid_request(
            f"This model's maximum context length is {limit} tokens, and the prompt alone has "
            f"{prompt_tokens}. Please shorten the prompt.",
            param="messages" if isinstance(body, ChatCompletionRequest) else "prompt",
            code="context_length_exceeded",
        )
    if requested_max_tokens is None:
        max_tokens = min(room, default_max_tokens or room)
    elif requested_max_tokens > room:
        raise invalid_request(
            f"This model's maximum context length is {limit} tokens. However, you requested "
            f"{prompt_tokens + requested_max_tokens} tokens ({prompt_tokens} in the prompt, "
            f"{requested_max_tokens} for the completion). Please reduce the prompt or max_tokens.",
            param="max_tokens",
            code="context_length_exceeded",
        )
    else:
        max_tokens = requested_max_tokens
    return SamplingParams(
        max_tokens=max_tokens,
        temperature=1.0 if body.temperature is None else body.temperature,
        top_p=1.0 if body.top_p is None else body.top_p,
        stop=body.stop_strings(),
        seed=body.seed,
        ignore_eos=body.ignore_eos,
    )


def submit(engine: Engine, prompt_ids: list[int], params: SamplingParams) -> Sequence:
    try:
        return engine.submit(prompt_ids, params)
    except QueueFullError:
        raise APIError(
            429,
            f"The server is busy: {engine.max_queue} requests are already waiting. Retry shortly.",
            type="rate_limit_error",
            code="queue_full",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        ) from None


def usage_of(finished: Finished) -> dict[str, int]:
    return {
        "prompt_tokens": finished.prompt_tokens,
        "completion_tokens": finished.completion_tokens,
        "total_tokens": finished.prompt_tokens + finished.completion_tokens,
    }


def generation_failed(failed: Failed) -> APIError:
    return APIError(500, failed.message, type="server_error")


async def collect(request: Request, sequence: Sequence) -> tuple[str, Finished]:
    """The whole text of a non-streamed request; cancels the sequence if the client hangs up first."""

    async def read_all() -> tuple[str, Finished]:
        parts: list[str] = []
        async for events in sequence.events():
            for event in events:
                if isinstance(event, TextDelta):
                    parts.append(event.text)
                elif isinstance(event, Finished):
                    return "".join(parts), event
                elif isinstance(event, Failed):
                    raise generation_failed(event)
        raise RuntimeError("event stream ended without a finish")

    reading = asyncio.ensure_future(read_all())
    hang_up = asyncio.ensure_future(wait_for_disconnect(request))
    try:
        await asyncio.wait({reading, hang_up}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hang_up.cancel()
        if not reading.done():
            sequence.cancel()
            reading.cancel()
    with suppress(asyncio.CancelledError):
        await hang_up
    if reading.cancelled():
        # Nobody reads this response; the status only shows up in the metrics.
        raise APIError(499, "client closed the request", type="client_closed_request")
    return reading.result()


async def wait_for_disconnect(request: Request) -> None:
    """Returns when the client closes the connection (the body was read already, so only that can come)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def event_stream(
    sequence: Sequence,
    *,
    first: dict[str, Any] | None,
    chunk,
    usage_chunk,
    include_usage: bool,
    request: Request,
    interval_s: float = 0.0,
) -> StreamingResponse:
    """Server-sent events in OpenAI's chunk format, at most one per ``interval_s`` (what the sequence
    generated meanwhile goes in one chunk; the first token and the end go at once). Starlette cancels
    this generator when the client disconnects; `finally` then stops the sequence."""

    async def events() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        sent_at: float | None = None
        try:
            if first is not None:
                yield sse(first)
            async for batch in sequence.events():
                if sent_at is not None and not isinstance(batch[-1], Finished | Failed):
                    wait = sent_at + interval_s - loop.time()
                    if wait > 0:
                        await asyncio.sleep(wait)  # let more tokens pile up behind this one
                        batch = batch + sequence.pending()
                sent_at = loop.time()
                text = "".join(event.text for event in batch if isinstance(event, TextDelta))
                last = batch[-1]
                if isinstance(last, Failed):
                    yield sse(generation_failed(last).body())
                    return
                if isinstance(last, Finished):
                    yield sse(chunk(text, last.reason))
                    if include_usage:
                        yield sse(usage_chunk(usage_of(last)))
                    yield "data: [DONE]\n\n"
                    return
                if text:
                    yield sse(chunk(text, None))
        finally:
            sequence.cancel()

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


class RequestMetricsMiddleware:
    """Counts responses by endpoint and status (unknown paths pooled as "other" to bound the labels)."""

    def __init__(self, app, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in KNOWN_ENDPOINTS:
            endpoint = path
        elif path.startswith("/v1/models/"):
            endpoint = "/v1/models/{model}"
        else:
            endpoint = "other"

        async def counting_send(message) -> None:
            if message["type"] == "http.response.start":
                self.metrics.requests.labels(endpoint, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counting_send)
