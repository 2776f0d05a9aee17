"""Settings of the LLM server, read from the environment once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_PATH = REPO_ROOT / "models" / "llm"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    model_path: Path = DEFAULT_MODEL_PATH
    model_name: str = "orderbot-phraser"
    max_batch: int = 32
    # Requests waiting to join the batch; one more is refused with 429 and Retry-After.
    max_queue: int = 256
    # Torch intra-op threads on the CPU; None: every core but one (see cpu_threads).
    torch_threads: int | None = None
    # A stream sends what its sequence generated at most this often (the first token at once): every
    # server-sent event costs the HTTP side and the client a JSON chunk, a write and a parse, which
    # per token of 16 streams is as much CPU as the model; 10 ms is too short for a reader to see.
    # 0 sends every token as it comes.
    stream_interval_ms: int = 10

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        def integer(name: str, default: int, minimum: int) -> int:
            raw = environ.get(name, "").strip()
            if not raw:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise ValueError(f"{name} must be an integer, got {raw!r}") from None
            if value < minimum:
                raise ValueError(f"{name} must be at least {minimum}, got {value}")
            return value

        threads = environ.get("LLM_TORCH_THREADS", "").strip()
        return cls(
            host=environ.get("LLM_HOST", cls.host),
            port=integer("LLM_PORT", cls.port, 0),
            model_path=Path(environ.get("LLM_MODEL_PATH") or DEFAULT_MODEL_PATH),
            model_name=environ.get("LLM_MODEL_NAME") or cls.model_name,
            max_batch=integer("LLM_MAX_BATCH", cls.max_batch, 1),
            max_queue=integer("LLM_MAX_QUEUE", cls.max_queue, 0),
            torch_threads=integer("LLM_TORCH_THREADS", 0, 1) if threads else None,
            stream_interval_ms=integer("LLM_STREAM_INTERVAL_MS", cls.stream_interval_ms, 0),
        )


def cpu_threads() -> int:
    """Torch threads for generating on the CPU: every core this process may use but one, which the
    HTTP event loop needs. On two cores that is one thread, and it is also faster: for small models a
    decode step is many small operations, which a second thread only slows down (measured: 3,591
    tokens/s with one thread, 1,890 with two, 16 sequences of orderbot's default model)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)
