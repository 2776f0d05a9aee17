"""The running batch: one KV cache shared by every active sequence, left-padded to a common length.

A sequence is prefilled alone (no padding, so its numbers are those of an unbatched run), then joins
the batch between decode steps: the shorter side is left-padded with masked slots and the caches are
concatenated along the batch dimension. Finished sequences leave by row selection, and padding columns
no remaining row needs are trimmed. Both happen only when membership changes, never on a plain step.

Written against transformers' `DynamicCache`, whose `DynamicLayer`s hold `keys`/`values` tensors of
shape [batch, heads, length, head_dim] (GPT-2, Llama, Qwen2, Mistral without sliding window...).
Each sequence carries its own position ids, so padding never shifts a position embedding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer


class UnsupportedCacheError(RuntimeError):
    """The model's cache is not made of plain full-attention layers, which this batch cannot merge."""


@dataclass
class PrefilledSequence:
    """A sequence's prompt cache (batch of one) and the first token it generated from it."""

    cache: DynamicCache
    prompt_length: int
    first_token: int


def new_cache(config) -> DynamicCache:
    return DynamicCache(config=config)


def check_cache_layers(cache: DynamicCache) -> None:
    for layer in cache.layers:
        if type(layer) is not DynamicLayer:
            raise UnsupportedCacheError(
                f"the model's cache uses {type(layer).__name__} layers; continuous batching here needs "
                "plain full-attention DynamicLayer layers"
            )


class DecodeBatch:
    def __init__(self, device: torch.device) -> None:
        self._device = device
        self._clear()

    def _clear(self) -> None:
        device = self._device
        self._cache: DynamicCache | None = None
        self._attention_mask = torch.zeros((0, 0), dtype=torch.long, device=device)
        self._positions = torch.zeros(0, dtype=torch.long, device=device)  # of each row's next input token
        self._next_input = torch.zeros(0, dtype=torch.long, device=device)

    @property
    def size(self) -> int:
        return self._next_input.shape[0]

    @property
    def kv_length(self) -> int:
        return self._attention_mask.shape[1]

    def join(self, joining: list[PrefilledSequence]) -> None:
        """Append the sequences as new rows at the end, in order."""
        if not joining:
            return
        for entry in joining:
            check_cache_layers(entry.cache)
        length = max([self.kv_length] + [entry.prompt_length for entry in joining])
        # (cache, its length) of the running rows, then of each newcomer
        parts = [] if self._cache is None else [(self._cache, self.kv_length)]
        parts += [(entry.cache, entry.prompt_length) for entry in joining]
        merged = parts[0][0]
        for index, layer in enumerate(merged.layers):
            layer.keys = torch.cat([_left_pad(c.layers[index].keys, length - n) for c, n in parts])
            layer.values = torch.cat([_left_pad(c.layers[index].values, length - n) for c, n in parts])
        self._cache = merged

        long = {"dtype": torch.long, "device": self._device}
        masks = [F.pad(self._attention_mask, (length - self.kv_length, 0))]
        for entry in joining:
            ones = torch.ones((1, entry.prompt_length), **long)
            masks.append(F.pad(ones, (length - entry.prompt_length, 0)))
        self._attention_mask = torch.cat(masks)
        new_positions = torch.tensor([e.prompt_length for e in joining], **long)
        self._positions = torch.cat([self._positions, new_positions])
        new_inputs = torch.tensor([e.first_token for e in joining], **long)
        self._next_input = torch.cat([self._next_input, new_inputs])

    def step(self, model) -> torch.Tensor:
        """Feed every row its pending token; returns the next-token logits [rows, vocab]."""
        rows = self.size
        self._attention_mask = torch.cat(
            [self._attention_mask, torch.ones((rows, 1), dtype=torch.long, device=self._device)], dim=1
        )
        output = model(
            input_ids=self._next_input[:, None],
            attention_mask=self._attention_mask,
            position_ids=self._positions[:, None],
            cache=self._cache,
            use_cache=True,
        )
        self._positions += 1
        return output.logits[:, -1, :]

    def set_next_input(self, tokens: torch.Tensor) -> None:
        self._next_input = tokens

    def keep(self, rows: list[int]) -> None:
        """Keep only these rows (in this order) and drop padding columns that no kept row needs."""
        if len(rows) == self.size:
            return
        if not rows:
            self._clear()
            return
        index = torch.tensor(rows, dtype=torch.long, device=self._device)
        mask = self._attention_mask.index_select(0, index)
        # Rows are left-padded, so the first column any row uses is where the useful cache starts.
        start = int(mask.any(dim=0).to(torch.int8).argmax())
        self._attention_mask = mask[:, start:]
        for layer in self._cache.layers:
            layer.keys = layer.keys.index_select(0, index)[:, :, start:]
            layer.values = layer.values.index_select(0, index)[:, :, start:]
        self._positions = self._positions.index_select(0, index)
        self._next_input = self._next_input.index_select(0, index)


def _left_pad(states: torch.Tensor, padding: int) -> torch.Tensor:
    """Left-pad [batch, heads, length, head_dim] states along the length with zeros (masked slots)."""
    return F.pad(states, (0, 0, padding, 0)) if padding else states
