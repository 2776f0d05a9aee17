"""Per-sequence sampling over one batch of logits: greedy rows in one argmax, the others one by one
with their own temperature, top-p and random generator (seeded when the request gave a seed)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import torch


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int
    temperature: float = 1.0  # 0 means greedy
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    ignore_eos: bool = False  # vLLM's extension; benchmarks use it to generate a fixed number of tokens

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass
class Sampler:
    params: SamplingParams
    device: torch.device
    generator: torch.Generator | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if not self.params.greedy:
            seed = self.params.seed if self.params.seed is not None else random.getrandbits(63)
            self.generator = torch.Generator(device=self.device).manual_seed(seed)

    def sample(self, logits: torch.Tensor) -> int:
        """One token from one row of logits [vocab]."""
        probabilities = torch.softmax(logits.float() / self.params.temperature, dim=-1)
        if self.params.top_p < 1.0:
            sorted_probabilities, order = torch.sort(probabilities, descending=True)
            # Keep the smallest head whose mass reaches top_p (the token crossing it included).
            outside = sorted_probabilities.cumsum(-1) - sorted_probabilities > self.params.top_p
            sorted_probabilities[outside] = 0.0
            choice = torch.multinomial(sorted_probabilities, 1, generator=self.generator)
            return int(order[choice])
        return int(torch.multinomial(probabilities, 1, generator=self.generator))


def next_tokens(logits: torch.Tensor, samplers: list[Sampler]) -> torch.Tensor:
    """The next token of every row of logits [rows, vocab], as a tensor [rows] on the logits' device."""
    tokens = logits.argmax(dim=-1)
    for row, sampler in enumerate(samplers):
        if not sampler.params.greedy:
            tokens[row] = sampler.sample(logits[row])
    return tokens
