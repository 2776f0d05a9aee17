# syntax=docker/dockerfile:1
# orderbot's Python 3.11 image, from requirements/app.txt: the order service (API, hub, web pages,
# scheduler, bridge) and the LLM server. docker-compose.yml runs it as `python -m orders serve` or
# `python -m llm_server`.
#
#   docker build -f docker/app.Dockerfile -t orderbot/app .
#   docker build -f docker/app.Dockerfile --build-arg MODEL_SOURCE=copy -t orderbot/app .
#
# MODEL_SOURCE=train (default) trains the LLM server's default model in the build, as
# `make llm-model` does (a few minutes of CPU); MODEL_SOURCE=copy takes models/llm from the build
# context. Nothing is downloaded at run time (HF_HUB_OFFLINE), and no secret is baked in.
ARG MODEL_SOURCE=train

# --- the web pages' libraries (socket.io-client, Chart.js) from web/package-lock.json ------------
FROM node:22.20.0-bookworm-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# --- dependencies: a virtual environment from the exact pins --------------------------------------
FROM python:3.11.14-slim-bookworm AS deps
# torch's CPU build (torch==2.13.0+cpu in app.txt) is on this index only; any other torch pulls CUDA.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements/app.txt /tmp/requirements/app.txt
# torch first, by its pin in app.txt and from the CPU index alone; then everything else from PyPI
# (the installed torch already satisfies its pin there).
RUN pip install --no-cache-dir --no-deps --index-url "$TORCH_INDEX_URL" \
        "$(grep -E '^torch==' /tmp/requirements/app.txt)" \
    && pip install --no-cache-dir -r /tmp/requirements/app.txt
# What both images share with each other (the phrasing contract, JSON logs), installed as a package.
COPY packages/orderbot_common /tmp/orderbot_common
RUN pip install --no-cache-dir --no-deps /tmp/orderbot_common

# --- the LLM server's default model: trained here ... ---------------------------------------------
FROM deps AS llm-model-train
WORKDIR /build
# The corpus takes its templates from domain.yml and its state labels from orders/domain; the
# tokenizer covers every Chinese character of domain.yml and data/ (llm_server.corpus).
COPY domain.yml ./
COPY data data
COPY orders/__init__.py orders/
COPY orders/domain orders/domain
COPY llm_server llm_server
RUN python -m llm_server.train --out models/llm

# --- ... or copied from the build context ---------------------------------------------------------
FROM scratch AS llm-model-copy
COPY models/llm /build/models/llm

# One of the two stages above (hadolint takes the name for an untagged image).
# hadolint ignore=DL3006
FROM llm-model-${MODEL_SOURCE} AS llm-model

# --- the runtime image -----------------------------------------------------------------------------
FROM python:3.11.14-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/orderbot \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    ORDERBOT_VAR_DIR=/var/lib/orderbot \
    LLM_MODEL_PATH=/app/models/llm \
    ORDERS_HOST=0.0.0.0 \
    ORDERS_PORT=8080 \
    LLM_HOST=0.0.0.0 \
    LLM_PORT=8000 \
    HEALTHCHECK_URL=http://127.0.0.1:8080/health
RUN groupadd --system --gid 10001 orderbot \
    && useradd --system --uid 10001 --gid orderbot --create-home --home-dir /home/orderbot \
        --shell /usr/sbin/nologin orderbot \
    && mkdir -p /var/lib/orderbot \
    && chown orderbot:orderbot /var/lib/orderbot
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
# The code runs from /app (orders.config.PROJECT_ROOT): config/, data/samples/ and web/ beside it.
COPY orders orders
COPY llm_server llm_server
COPY config config
COPY data/samples data/samples
COPY web/src web/src
COPY --from=web /web/node_modules web/node_modules
COPY docker/healthcheck.py docker/
COPY --from=llm-model /build/models/llm models/llm
# Numeric, so that a runtime (Kubernetes runAsNonRoot too) can tell it is not root.
USER 10001:10001
# The order service (API, /ws/notifications, web pages) and the LLM server.
EXPOSE 8080 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]
CMD ["python", "-m", "orders", "serve"]
