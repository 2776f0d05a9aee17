"""The scheduler: one background thread runs every active sequence together (continuous batching).

Requests wait in a bounded queue. Between two decode steps the thread admits as many as the batch
has room for: each is prefilled alone, gets its first token (time to first token), and joins the
shared KV cache (see `batch`). Every step then advances all rows at once; a row leaves as soon as it
hits EOS, a stop string, max_tokens, or its client went away, without waiting for the others.

The HTTP side lives on an asyncio loop: it submits a `Sequence` and reads its events; the thread hands
events over with one `call_soon_threadsafe` per loop per step, not one per token.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass

import torch

from llm_server.batch import DecodeBatch, PrefilledSequence, check_cache_layers, new_cache
from llm_server.loading import LoadedModel
from llm_server.metrics import ServerMetrics
from llm_server.sampling import Sampler, SamplingParams, next_tokens
from llm_server.text import OutputText, fast_decoder

log = logging.getLogger(__name__)


class QueueFullError(Exception):
    """As many requests are waiting as the queue holds."""


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Finished:
    reason: str  # "stop" or "length", as OpenAI names them
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Failed:
    message: str


Event = TextDelta | Finished | Failed


class Sequence:
    """One request's generation, shared by the HTTP handler (reads events) and the scheduler (writes them)."""

    def __init__(self, prompt_ids: list[int], params: SamplingParams, engine: Engine) -> None:
        self.prompt_ids = prompt_ids
        self.params = params
        self.sampler = Sampler(params, engine.device)
        self.output = OutputText(engine.decode, params.stop)
        self.completion_tokens = 0
        self.arrived = time.perf_counter()
        # Set from the event loop, read by the scheduler thread; a plain flag is enough under the GIL.
        self.cancelled = False
        self.loop = asyncio.get_running_loop()
        self._events: asyncio.Queue[Event] = asyncio.Queue()

    def cancel(self) -> None:
        """The client is gone: the scheduler drops the sequence at its next step."""
        self.cancelled = True

    async def events(self) -> AsyncIterator[list[Event]]:
        """Events in arrival order, grouped as they piled up (so a slow reader gets fewer, larger chunks)."""
        while True:
            events = [await self._events.get()]
            while not self._events.empty():
                events.append(self._events.get_nowait())
            yield events
            if isinstance(events[-1], Finished | Failed):
                return

    def pending(self) -> list[Event]:
        """The events that came since the last read, without waiting."""
        events = []
        while not self._events.empty():
            events.append(self._events.get_nowait())
        return events

    def deliver(self, event: Event) -> None:
        self._events.put_nowait(event)


class Engine:
    def __init__(self, loaded: LoadedModel, metrics: ServerMetrics, max_batch: int, max_queue: int) -> None:
        self.loaded = loaded
        self.device = loaded.device
        self.decode = fast_decoder(loaded.tokenizer)
        self.metrics = metrics
        self.max_batch = max_batch
        self.max_queue = max_queue
        self._waiting: deque[Sequence] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._running: list[Sequence] = []  # row i of the batch is self._running[i]
        self._batch = DecodeBatch(self.device)
        self._outbox: list[tuple[Sequence, Event]] = []
        self._thread = threading.Thread(target=self._run, name="llm-scheduler", daemon=True)

    # --- called from the event loop -------------------------------------------------------------

    def start(self) -> None:
        self._check_model_can_batch()
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=10)

    def submit(self, prompt_ids: list[int], params: SamplingParams) -> Sequence:
        sequence = Sequence(prompt_ids, params, self)
        with self._lock:
            if len(self._waiting) >= self.max_queue:
                raise QueueFullError
            self._waiting.append(sequence)
            self.metrics.queue_depth.set(len(self._waiting))
        self._wake.set()
        return sequence

    @property
    def active(self) -> int:
        return len(self._running)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    # --- the scheduler thread -----------------------------------------------------------------

    def _check_model_can_batch(self) -> None:
        """Fail at start-up, not on the first request, when the model's cache cannot be merged."""
        with torch.inference_mode():
            cache = new_cache(self.loaded.model.config)
            token = torch.zeros((1, 1), dtype=torch.long, device=self.device)
            self.loaded.forward(input_ids=token, cache=cache, use_cache=True)
            check_cache_layers(cache)

    def _run(self) -> None:
        with torch.inference_mode():
            while not self._stopping:
                try:
                    self._iterate()
                except Exception as exc:  # a failed step must not kill the thread: fail its sequences
                    log.exception("generation step failed")
                    for sequence in self._running:
                        self._emit(sequence, Failed(f"generation failed: {type(exc).__name__}"))
                    self._running = []
                    self._batch = DecodeBatch(self.device)
                self._flush()
                self.metrics.active_sequences.set(len(self._running))
                self.metrics.queue_depth.set(len(self._waiting))

    def _iterate(self) -> None:
        if not self._running and not self._waiting:
            self._wake.wait()
            self._wake.clear()
            return
        self._drop_cancelled()
        self._admit()
        if self._running:
            self._decode_step()

    def _admit(self) -> None:
        joining: list[PrefilledSequence] = []
        while len(self._running) < self.max_batch:
            with self._lock:
                if not self._waiting:
                    break
                sequence = self._waiting.popleft()
            if sequence.cancelled:
                self.metrics.finished.labels("cancelled").inc()
                continue
            prefilled = self._prefill(sequence)
            if prefilled is not None:
                joining.append(prefilled)
                self._running.append(sequence)
        self._batch.join(joining)

    def _prefill(self, sequence: Sequence) -> PrefilledSequence | None:
        """Run the prompt alone; returns what joins the batch, or None when the first token ended it."""
        cache = new_cache(self.loaded.model.config)
        input_ids = torch.tensor([sequence.prompt_ids], dtype=torch.long, device=self.device)
        logits = self.loaded.forward(input_ids=input_ids, cache=cache, use_cache=True).logits[:, -1, :]
        token = int(next_tokens(logits, [sequence.sampler])[0])
        self.metrics.prompt_tokens.inc(len(sequence.prompt_ids))
        self.metrics.time_to_first_token.observe(time.perf_counter() - sequence.arrived)
        if self._accept(sequence, token):
            return None
        return PrefilledSequence(cache=cache, prompt_length=len(sequence.prompt_ids), first_token=token)

    def _decode_step(self) -> None:
        logits = self._batch.step(self.loaded.forward)
        tokens = next_tokens(logits, [sequence.sampler for sequence in self._running])
        self._batch.set_next_input(tokens)
        self.metrics.batch_size.observe(len(self._running))
        kept = [
            row
            for row, (sequence, token) in enumerate(zip(self._running, tokens.tolist(), strict=True))
            if not self._accept(sequence, token)
        ]
        self._keep_rows(kept)

    def _drop_cancelled(self) -> None:
        kept = [row for row, sequence in enumerate(self._running) if not sequence.cancelled]
        self.metrics.finished.labels("cancelled").inc(len(self._running) - len(kept))
        self._keep_rows(kept)

    def _keep_rows(self, rows: list[int]) -> None:
        if len(rows) != len(self._running):
            self._batch.keep(rows)
            self._running = [self._running[row] for row in rows]

    def _accept(self, sequence: Sequence, token: int) -> bool:
        """Record a generated token; True when the sequence is finished."""
        sequence.completion_tokens += 1
        self.metrics.generated_tokens.inc()
        params = sequence.params
        hit_eos = token in self.loaded.eos_token_ids and not params.ignore_eos
        if hit_eos or sequence.output.add_token(token):
            reason = "stop"
        elif sequence.completion_tokens >= params.max_tokens:
            reason = "length"
        else:
            reason = None
        text = sequence.output.release(final=reason is not None)
        if text:
            self._emit(sequence, TextDelta(text))
        if reason is not None:
            self.metrics.finished.labels(reason).inc()
            self._emit(sequence, Finished(reason, len(sequence.prompt_ids), sequence.completion_tokens))
            return True
        return False

    def _emit(self, sequence: Sequence, event: Event) -> None:
        self._outbox.append((sequence, event))

    def _flush(self) -> None:
        if not self._outbox:
            return
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Sequence, Event]]] = defaultdict(list)
        for sequence, event in self._outbox:
            by_loop[sequence.loop].append((sequence, event))
        self._outbox = []
        for loop, events in by_loop.items():
            with suppress(RuntimeError):  # that loop is closed: nobody is listening any more
                loop.call_soon_threadsafe(_deliver_all, events)


def _deliver_all(events: list[tuple[Sequence, Event]]) -> None:
    for sequence, event in events:
        sequence.deliver(event)
