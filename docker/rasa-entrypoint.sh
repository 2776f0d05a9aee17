#!/bin/sh
# Entry point of the orderbot/rasa image (docker/rasa.Dockerfile): one image, two programs.
#   rasa     the Rasa server (both replicas), endpoints from endpoints.yml (bot/endpoints.py picks
#            PostgreSQL, Redis and RabbitMQ from the RASA_TRACKER_*, RASA_LOCK_*, RASA_BROKER_* variables)
#   actions  the action server (actions/server.py: rasa-sdk plus /metrics)
#   anything else is run as it is (e.g. `rasa data validate`, `sh`).
set -eu

command="${1:-rasa}"
[ "$#" -gt 0 ] && shift

case "$command" in
  rasa)
    : "${RASA_AUTH_TOKEN:?RASA_AUTH_TOKEN must be set: an empty token would leave Rasa's HTTP API open}"
    exec rasa run \
      --model "${RASA_MODEL:-/app/models/orderbot.tar.gz}" \
      --interface 0.0.0.0 \
      --port "${RASA_PORT:-5005}" \
      --credentials "${RASA_CREDENTIALS:-credentials.yml}" \
      --endpoints "${RASA_ENDPOINTS:-endpoints.yml}" \
      --enable-api \
      --auth-token "$RASA_AUTH_TOKEN" \
      "$@"
    ;;
  actions)
    SANIC_HOST="${SANIC_HOST:-0.0.0.0}" exec python -m actions.server "$@"
    ;;
  *)
    exec "$command" "$@"
    ;;
esac
