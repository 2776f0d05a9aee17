"""orderbot's LLM server: any local Hugging Face causal LM behind the OpenAI HTTP API.

Run it with `python -m llm_server`. The pieces: `config` (environment), `loading` (model, tokenizer,
prompt rendering), `engine` (the continuous-batching scheduler thread), `batch` (the shared KV cache),
`sampling`, `text` (incremental detokenizing, stop strings), `schemas` (request validation),
`api` (FastAPI routes, server-sent events), `errors` (OpenAI error shape) and `metrics` (Prometheus).
"""
