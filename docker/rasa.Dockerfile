# syntax=docker/dockerfile:1
# orderbot's Python 3.10 image (rasa 3.6 needs Python <= 3.10): the Rasa server (both replicas) and
# the action server, from requirements/rasa.txt. docker-compose.yml runs it as `rasa` or `actions`
# (docker/rasa-entrypoint.sh).
#
#   docker build -f docker/rasa.Dockerfile -t orderbot/rasa .
#   docker build -f docker/rasa.Dockerfile --build-arg MODEL_SOURCE=copy -t orderbot/rasa .
#
# MODEL_SOURCE=train (default) trains the model in the build, as `make model` does;
# MODEL_SOURCE=copy takes models/orderbot.tar.gz from the build context (trained by `make model`).
# No secret is baked in: every setting comes from the environment at run time.
ARG MODEL_SOURCE=train

# --- dependencies: a virtual environment from the exact pins --------------------------------------
FROM python:3.10.19-slim-bookworm AS deps
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# A compiler for the few pinned packages published as source only (jieba and friends); this stage
# is not shipped. Debian's versions move with the pinned base image.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements/rasa.txt /tmp/requirements/rasa.txt
RUN pip install --no-cache-dir -r /tmp/requirements/rasa.txt
# What both images share with each other (the phrasing contract, JSON logs), installed as a package.
COPY packages/orderbot_common /tmp/orderbot_common
RUN pip install --no-cache-dir --no-deps /tmp/orderbot_common

# --- the Rasa model: trained here ... --------------------------------------------------------------
FROM deps AS model-train
WORKDIR /build
ENV PYTHONPATH=/build \
    TF_CPP_MIN_LOG_LEVEL=2 \
    RASA_TELEMETRY_ENABLED=false
COPY config.yml domain.yml ./
COPY data/nlu data/nlu
COPY data/rules data/rules
COPY bot bot
RUN rasa train --data data/nlu data/rules --config config.yml --domain domain.yml \
        --out models --fixed-model-name orderbot

# --- ... or copied from the build context ---------------------------------------------------------
FROM scratch AS model-copy
COPY models/orderbot.tar.gz /build/models/orderbot.tar.gz

# One of the two stages above (hadolint takes the name for an untagged image).
# hadolint ignore=DL3006
FROM model-${MODEL_SOURCE} AS model

# --- the runtime image -----------------------------------------------------------------------------
FROM python:3.10.19-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/orderbot \
    MPLCONFIGDIR=/tmp/matplotlib \
    TF_CPP_MIN_LOG_LEVEL=2 \
    RASA_TELEMETRY_ENABLED=false \
    RASA_MODEL=/app/models/orderbot.tar.gz \
    RASA_PORT=5005 \
    ACTIONS_PORT=5055 \
    HEALTHCHECK_URL=http://127.0.0.1:5005/
RUN groupadd --system --gid 10001 orderbot \
    && useradd --system --uid 10001 --gid orderbot --create-home --home-dir /home/orderbot \
        --shell /usr/sbin/nologin orderbot
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
COPY domain.yml config.yml credentials.yml endpoints.yml ./
COPY actions actions
COPY bot bot
# The action server's reply guard reads the domain's words from domain.yml, the state labels
# (orders/domain, standard library only) and the carriers.
COPY orders/__init__.py orders/
COPY orders/domain orders/domain
COPY config/carriers.yml config/
COPY docker/healthcheck.py docker/rasa-entrypoint.sh docker/
COPY --from=model /build/models/orderbot.tar.gz models/orderbot.tar.gz
# Numeric, so that a runtime (Kubernetes runAsNonRoot too) can tell it is not root.
USER 10001:10001
# Rasa (REST, socket.io, Slack, DingTalk, HTTP API) and the action server.
EXPOSE 5005 5055
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]
ENTRYPOINT ["sh", "/app/docker/rasa-entrypoint.sh"]
CMD ["rasa"]
