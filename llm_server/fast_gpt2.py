"""A lean forward pass for GPT-2-family models, on the weights transformers loaded.

For a small model a decode step is a few dozen tiny matrix products, and transformers' own forward
spends several times their cost in Python around them (module calls, config lookups, building a 4-D
mask per step). This forward runs the same operations (layer norm, fused QKV projection, scaled
dot-product attention, tanh-GELU MLP, tied LM head) straight on the model's tensors and keeps the
key/value states in the same `DynamicCache` layers, so the scheduler and the batch code see no
difference. It returns the logits of the last position only: that is all the scheduler samples
from. `tests/llm_server/test_fast_gpt2.py` holds it to transformers' logits, prefill and batched
decode with left padding alike.

Only plain GPT-2 configurations take this path (`supports`); anything else (another architecture,
cross-attention, upcast-and-reorder attention, another activation) runs through transformers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

_TANH_GELUS = ("gelu_new", "gelu_pytorch_tanh", "gelu_fast")


@dataclass
class Output:
    logits: torch.Tensor  # [batch, 1, vocab]: the last position's


def supports(model: torch.nn.Module) -> bool:
    config = model.config
    return (
        getattr(config, "model_type", None) == "gpt2"
        and type(model).__name__ == "GPT2LMHeadModel"
        and config.activation_function in _TANH_GELUS
        and not getattr(config, "add_cross_attention", False)
        and not getattr(config, "reorder_and_upcast_attn", False)
    )


class FastGPT2:
    """Callable like the model for what the engine passes: input_ids, attention_mask (1 = real token,
    over the cache and the new tokens), position_ids, cache."""

    def __init__(self, model: torch.nn.Module) -> None:
        if not supports(model):
            raise ValueError("not a plain GPT-2 model")
        self.config = model.config
        transformer = model.transformer
        self._wte = transformer.wte.weight
        self._wpe = transformer.wpe.weight
        self._lm_head = model.lm_head.weight
        self._ln_f = (transformer.ln_f.weight, transformer.ln_f.bias)
        self._eps = model.config.layer_norm_epsilon
        self._heads = model.config.n_head
        self._width = model.config.n_embd
        head_dim = self._width // self._heads
        self._layers = []
        for index, block in enumerate(transformer.h):
            scale = 1.0 / math.sqrt(head_dim) if model.config.scale_attn_weights else 1.0
            if model.config.scale_attn_by_inverse_layer_idx:
                scale /= index + 1
            self._layers.append(
                (
                    (block.ln_1.weight, block.ln_1.bias),
                    (block.attn.c_attn.weight, block.attn.c_attn.bias),
                    (block.attn.c_proj.weight, block.attn.c_proj.bias),
                    (block.ln_2.weight, block.ln_2.bias),
                    (block.mlp.c_fc.weight, block.mlp.c_fc.bias),
                    (block.mlp.c_proj.weight, block.mlp.c_proj.bias),
                    scale,
                )
            )

    def __call__(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        cache=None,
        use_cache: bool = True,
    ) -> Output:
        batch, length = input_ids.shape
        past = cache.get_seq_length() if cache is not None else 0
        if position_ids is None:
            position_ids = torch.arange(past, past + length, device=input_ids.device).expand(batch, length)
        hidden = F.embedding(input_ids, self._wte) + F.embedding(position_ids, self._wpe)
        mask = _attention_mask(attention_mask, batch, length, past, hidden.device)
        width, heads, eps = self._width, self._heads, self._eps
        for index, (ln_1, c_attn, c_proj, ln_2, c_fc, mlp_proj, scale) in enumerate(self._layers):
            normed = F.layer_norm(hidden, (width,), ln_1[0], ln_1[1], eps)
            qkv = torch.addmm(c_attn[1], normed.view(-1, width), c_attn[0])
            query, key, value = qkv.view(batch, length, 3, heads, width // heads).permute(2, 0, 3, 1, 4)
            if cache is not None:
                key, value = cache.layers[index].update(key, value)
            if mask is None:  # one unpadded sequence: plain causal attention
                causal = length > 1
                attended = F.scaled_dot_product_attention(query, key, value, is_causal=causal, scale=scale)
            else:
                attended = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=scale)
            attended = attended.transpose(1, 2).reshape(batch * length, width)
            hidden = hidden + torch.addmm(c_proj[1], attended, c_proj[0]).view(batch, length, width)
            normed = F.layer_norm(hidden, (width,), ln_2[0], ln_2[1], eps)
            inner = F.gelu(torch.addmm(c_fc[1], normed.view(-1, width), c_fc[0]), approximate="tanh")
            hidden = hidden + torch.addmm(mlp_proj[1], inner, mlp_proj[0]).view(batch, length, width)
        last = F.layer_norm(hidden[:, -1:, :], (width,), self._ln_f[0], self._ln_f[1], eps)
        return Output(logits=F.linear(last, self._lm_head))


def _attention_mask(
    attention_mask: torch.Tensor | None, batch: int, length: int, past: int, device: torch.device
) -> torch.Tensor | None:
    """A boolean [batch, 1, length, past + length] mask (True = attend), or None when every token of
    one sequence is real and causal attention alone is right."""
    if attention_mask is None or bool(attention_mask.all()):
        if past == 0 or length == 1:
            return None
        attention_mask = torch.ones((batch, past + length), dtype=torch.bool, device=device)
    keep = attention_mask.bool()[:, None, None, :]
    if length == 1:
        return keep
    causal = torch.ones((length, past + length), dtype=torch.bool, device=device).tril(past)
    return keep & causal
