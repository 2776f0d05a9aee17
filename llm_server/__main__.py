"""`python -m llm_server`: load the model named by the environment and serve it (see `config`)."""

from __future__ import annotations

import logging
import sys

from llm_server.config import Settings, cpu_threads


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"llm_server: {exc}", file=sys.stderr)
        return 2

    # Imported here so that a bad setting is reported without waiting for torch to load.
    import torch
    import uvicorn

    from llm_server.api import create_app
    from llm_server.loading import ModelLoadError, load_model

    torch.set_num_threads(settings.torch_threads or cpu_threads())  # on a GPU it hardly matters
    try:
        loaded = load_model(settings.model_path)
    except ModelLoadError as exc:
        print(f"llm_server: {exc}", file=sys.stderr)
        return 1
    logging.getLogger("llm_server").info(
        "serving %s from %s on %s (context %d tokens)",
        settings.model_name,
        settings.model_path,
        loaded.device,
        loaded.context_length,
    )
    app = create_app(settings, loaded)
    uvicorn.run(app, host=settings.host, port=settings.port, access_log=False, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
