#!/bin/sh
# Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d): the order
# service's database and Rasa's tracker database, each with its own role. The passwords come from the
# environment (docker-compose.yml, from .env); nothing secret is in this file.
set -eu

: "${ORDERBOT_DB_PASSWORD:?ORDERBOT_DB_PASSWORD must be set}"
: "${RASA_DB_PASSWORD:?RASA_DB_PASSWORD must be set}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v orderbot_password="$ORDERBOT_DB_PASSWORD" -v rasa_password="$RASA_DB_PASSWORD" <<'SQL'
CREATE ROLE orderbot LOGIN PASSWORD :'orderbot_password';
CREATE DATABASE orderbot OWNER orderbot;
CREATE ROLE rasa LOGIN PASSWORD :'rasa_password';
CREATE DATABASE rasa OWNER rasa;
SQL
