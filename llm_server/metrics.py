"""Prometheus metrics of one server, in a registry of its own (several servers can share a test process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "ServerMetrics"]


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "llm_requests",
            "HTTP requests by endpoint and status",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "llm_queue_depth", "Requests waiting to join the running batch", registry=self.registry
        )
        self.active_sequences = Gauge(
            "llm_active_sequences", "Sequences in the running batch", registry=self.registry
        )
        self.batch_size = Histogram(
            "llm_batch_size",
            "Sequences sharing one decode step",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
            registry=self.registry,
        )
        self.prompt_tokens = Counter("llm_prompt_tokens", "Prompt tokens prefilled", registry=self.registry)
        self.generated_tokens = Counter("llm_generated_tokens", "Tokens generated", registry=self.registry)
        self.time_to_first_token = Histogram(
            "llm_time_to_first_token_seconds",
            "From a request's arrival to its first generated token",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.finished = Counter(
            "llm_sequences_finished",
            "Sequences that left the batch, by reason (stop, length, cancelled)",
            ["reason"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
