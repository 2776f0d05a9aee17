# orderbot: `make run` starts everything, `make test` tests everything. See the README.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
RASA_VENV := .venv-rasa
APP_STAMP := $(VENV)/.installed-app
RASA_STAMP := $(RASA_VENV)/.installed-rasa
# What both environments share (the phrasing contract, JSON logs): installed into each, editable.
COMMON := packages/orderbot_common
MODEL := models/orderbot.tar.gz
TRAINING_DATA := data/nlu data/rules
CARRIER_NLU := data/nlu/carriers.yml
TRAINING_FILES := $(shell find $(TRAINING_DATA) -type f 2>/dev/null) domain.yml config.yml $(wildcard bot/nlu/*.py)
RESULTS := var/test-results
# The LLM server's default model: trained here from the project's own corpus (nothing is downloaded).
LLM_MODEL := models/llm/config.json
LLM_TRAINING_FILES := $(wildcard llm_server/train.py $(COMMON)/orderbot_common/phrasing.py llm_server/corpus/* orders/domain/labels.py) domain.yml
# The web pages' npm packages (socket.io-client, Chart.js), installed from web/package-lock.json.
WEB_STAMP := web/node_modules/.package-lock.json

.PHONY: help install run run-prod test test-app test-rasa nlu-report bench soak lint model llm-model web lock clean
.DELETE_ON_ERROR:

help:
	@echo "make run     start every service (installs and trains first when needed)"
	@echo "make run-prod  the same against the local PostgreSQL, Redis and RabbitMQ, two Rasa replicas"
	@echo "make test    run every test of both environments"
	@echo "make bench   run the benchmarks"
	@echo "make soak    16 conversations against the whole stack for 5 minutes (not part of make test)"
	@echo "make lint    ruff"
	@echo "make nlu-report  5-fold NLU cross-validation into reports/ (when the data changed)"
	@echo "make model   train the Rasa model if data/, domain.yml or config.yml changed"
	@echo "make llm-model  train the LLM server's default phrasing model (a few minutes, once)"
	@echo "make lock    re-pin requirements/*.txt from requirements/*.in"

install: $(APP_STAMP) $(RASA_STAMP)

# One stamp per requirements file: nothing is reinstalled unless its pins changed.
$(APP_STAMP): requirements/app.txt pyproject.toml $(COMMON)/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' || \
		{ echo "orderbot's services need Python 3.11 or newer as '$(PYTHON)' (set PYTHON=...)."; exit 1; }
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements/app.txt
	$(VENV)/bin/python -m pip install --quiet --no-deps -e .
	$(VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e $(COMMON)
	touch $@

$(RASA_STAMP): requirements/rasa.txt $(COMMON)/pyproject.toml
	@py310=$$(devtools/find-python310.sh) || exit 1; \
		test -x $(RASA_VENV)/bin/python || $$py310 -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(RASA_VENV)/bin/python -m pip install --quiet -r requirements/rasa.txt
	$(RASA_VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e $(COMMON)
	touch $@

# Carrier names and tracking-number formats: the NLU's copy is generated from config/carriers.yml.
$(CARRIER_NLU): config/carriers.yml devtools/carrier_patterns.py | $(APP_STAMP)
	$(VENV)/bin/python -m devtools.carrier_patterns write

# Rasa's own fingerprinting still costs a TensorFlow start-up; make's timestamps cost nothing.
$(MODEL): $(TRAINING_FILES) $(CARRIER_NLU) | $(RASA_STAMP)
	mkdir -p models
	TF_CPP_MIN_LOG_LEVEL=2 $(RASA_VENV)/bin/rasa train --data $(TRAINING_DATA) --config config.yml \
		--domain domain.yml --out models --fixed-model-name orderbot
	touch $@

model: $(MODEL)

# Trains into a temporary folder and renames it into place, so an interrupted run leaves no half model.
$(LLM_MODEL): $(LLM_TRAINING_FILES) | $(APP_STAMP)
	$(VENV)/bin/python -m llm_server.train --out models/llm
	touch $@

llm-model: $(LLM_MODEL)

$(WEB_STAMP): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "the web pages need Node.js and npm (e.g. apt-get install nodejs npm)"; exit 1; }
	npm ci --prefix web --no-audit --no-fund
	touch $@

web: $(WEB_STAMP)

run: install $(MODEL) $(LLM_MODEL) $(WEB_STAMP)
	@$(VENV)/bin/python -m devtools.stack

# The production layout on this machine (devtools/stack.py, profile prod): two Rasa replicas and two
# order-service processes sharing the local PostgreSQL, Redis and RabbitMQ (see the README).
run-prod: install $(MODEL) $(LLM_MODEL) $(WEB_STAMP)
	@ORDERBOT_PROFILE=prod $(VENV)/bin/python -m devtools.stack

test: install $(MODEL) $(LLM_MODEL) $(WEB_STAMP)
	@rm -rf $(RESULTS); mkdir -p $(RESULTS)
	@status=0; \
	$(MAKE) --no-print-directory nlu-report || status=1; \
	$(MAKE) --no-print-directory test-rasa || status=1; \
	$(MAKE) --no-print-directory test-app || status=1; \
	$(VENV)/bin/python -m devtools.test_summary $(RESULTS)/*.xml || status=1; \
	exit $$status

# The Rasa environment: the action server and the code that runs inside Rasa.
test-rasa: $(RASA_STAMP) $(APP_STAMP) $(MODEL)
	$(RASA_VENV)/bin/python -m pytest -p no:cacheprovider tests/actions tests/bot --junitxml=$(RESULTS)/rasa.xml

# 5-fold NLU cross-validation into reports/nlu_cross_validation.md, rerun only when the data changed
# (the report records a fingerprint of it, comments aside); fails under macro F1 0.95 for intents or
# entities. Part of `make test`: a clean clone whose report matches its data only checks the scores.
nlu-report: $(RASA_STAMP) $(APP_STAMP) $(CARRIER_NLU)
	@$(VENV)/bin/python -m devtools.nlu_report check || { rc=$$?; [ $$rc -eq 3 ] || exit $$rc; \
		rm -rf var/nlu-cv && TF_CPP_MIN_LOG_LEVEL=2 $(RASA_VENV)/bin/rasa test nlu --nlu data/nlu --config config.yml \
			--cross-validation --folds 5 --out var/nlu-cv && \
		$(VENV)/bin/python -m devtools.nlu_report write var/nlu-cv; }

# The application environment: the order service, the tooling and the end-to-end tests.
test-app: $(APP_STAMP) $(MODEL) $(LLM_MODEL) $(WEB_STAMP)
	$(VENV)/bin/python -m pytest -p no:cacheprovider tests/orders tests/llm_server tests/devtools tests/deploy tests/e2e tests/browser --junitxml=$(RESULTS)/app.xml

bench: install $(LLM_MODEL)
	$(VENV)/bin/python -m benchmarks

# 16 concurrent conversations for 5 minutes (SOAK_SECONDS, SOAK_CONVERSATIONS; ORDERBOT_PROFILE=prod
# for the production layout): 0 errors and under 10 % RSS growth of every process after warm-up.
soak: install $(MODEL) $(LLM_MODEL) $(WEB_STAMP)
	$(VENV)/bin/python -m devtools.soak

lint: $(APP_STAMP) $(WEB_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	web/node_modules/.bin/prettier --config web/.prettierrc.json --check "web/src/**/*.{js,css}"

lock:
	$(VENV)/bin/python -m pip freeze --exclude-editable | sed '1i # Frozen from app.in by `make lock`; exact pins for a reproducible .venv (Python 3.11).' > requirements/app.txt
	$(RASA_VENV)/bin/python -m pip freeze --exclude-editable | sed '1i # Frozen from rasa.in by `make lock`; exact pins for .venv-rasa (Python 3.10, rasa 3.6.21).' > requirements/rasa.txt

clean:
	rm -rf $(VENV) $(RASA_VENV) models var .rasa .pytest_cache
