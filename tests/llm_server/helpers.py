"""What the tests compare the server against, and how they read its metrics."""

from __future__ import annotations

import time

import httpx2 as httpx
import torch
from prometheus_client.parser import text_string_to_metric_families

from llm_server.loading import LoadedModel


def greedy_reference(loaded: LoadedModel, prompt_ids: list[int], max_new_tokens: int) -> str:
    """Plain, unbatched `model.generate`: what every batched greedy answer must equal."""
    input_ids = torch.tensor([prompt_ids])
    with torch.inference_mode():
        output = loaded.model.generate(
            input_ids,
            attention_mask=torch.ones_like(input_ids),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=loaded.tokenizer.eos_token_id,
        )
    return loaded.tokenizer.decode(output[0, input_ids.shape[1] :], skip_special_tokens=True)


def metric(base_url: str, name: str, **labels: str) -> float:
    """The value of one sample of /metrics (0 when it is absent)."""
    text = httpx.get(f"{base_url}/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def wait_until(condition, timeout: float = 10.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
