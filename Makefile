# vidstore: `make run` brings up the whole local stack and serves the API; `make test` runs everything.
SHELL := /bin/bash
PY := .venv/bin/python
STACK := stack

.PHONY: install up run stop test lint flush clean

install:
	@bash $(STACK)/install.sh

up: install
	@bash $(STACK)/mariadb-up.sh
	@bash $(STACK)/redis-up.sh
	@bash $(STACK)/schema-apply.sh vidstore

run: up
	@bash $(STACK)/app-run.sh

stop:
	@bash $(STACK)/app-down.sh
	@bash $(STACK)/redis-down.sh
	@bash $(STACK)/mariadb-down.sh

flush:
	@bash $(STACK)/cli.sh flush --once

lint: install
	.venv/bin/ruff check api sharding loadtest tests
	.venv/bin/ruff format --check api sharding loadtest tests
	.venv/bin/mypy

test: up lint
	@bash $(STACK)/schema-apply.sh vidstore_test
	@source $(STACK)/env.sh && \
	  VIDSTORE_DATABASE_URL="$${VIDSTORE_DATABASE_URL%/*}/vidstore_test" \
	  VIDSTORE_REDIS_URL="$${VIDSTORE_REDIS_URL%/*}/1" \
	  .venv/bin/pytest $(PYTEST_ARGS)

clean: stop
	rm -rf .data
