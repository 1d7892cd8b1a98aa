# vidstore: `make run` brings up the whole local stack and serves the API; `make test` runs everything.
SHELL := /bin/bash
PY := .venv/bin/python
STACK := stack

.PHONY: install up run stop test lint flush clean vitess-up vitess-down loadtest bench

install:
	@bash $(STACK)/install.sh

up: install
	@bash $(STACK)/mariadb-up.sh
	@bash $(STACK)/redis-up.sh
	@bash $(STACK)/storage-up.sh
	@bash $(STACK)/schema-apply.sh vidstore

# `make run VITESS=1`: the same API and flusher on the local Vitess cluster instead of plain MariaDB.
ifeq ($(VITESS),1)
export VIDSTORE_BACKEND := vitess
endif

vitess-up: up
	@bash $(STACK)/vitess/cluster-up.sh

vitess-down:
	@bash $(STACK)/vitess/cluster-down.sh

run: up $(if $(filter 1,$(VITESS)),vitess-up)
	@bash $(STACK)/app-run.sh

stop:
	@bash $(STACK)/app-down.sh
	@bash $(STACK)/vitess/cluster-down.sh
	@bash $(STACK)/storage-down.sh
	@bash $(STACK)/redis-down.sh
	@bash $(STACK)/mariadb-down.sh

flush:
	@bash $(STACK)/cli.sh flush --once

# After `make run`: locust against the local API (SHAPE=steady|ramp|spike USERS=20 LOAD_SECONDS=60).
loadtest:
	@bash $(STACK)/loadtest.sh

# After `make run` (and `make vitess-up` for the vtgate rows): the side-by-side benchmark.
bench:
	@bash $(STACK)/bench.sh

# The capacity plan (capacity/, from the JSON `make bench` wrote): `make capacity [ARGS="--dau 1e9"]`.
# Open-loop runs with vegeta, an API process of their own on the stack's backend (VITESS=1 for vtgate):
# `make spike [ARGS="--rate 50"]`, `make model-check` (the model's rates driven for real).
.PHONY: capacity spike model-check
capacity:
	@bash $(STACK)/cli.sh capacity $(ARGS)

spike:
	@bash $(STACK)/openloop.sh spike $(ARGS)

model-check:
	@bash $(STACK)/openloop.sh model-check $(ARGS)

lint: install
	.venv/bin/ruff check api sharding loadtest tests
	.venv/bin/ruff format --check api sharding loadtest tests
	.venv/bin/ruff check capacity && .venv/bin/ruff format --check capacity  # the capacity model (issue 18)
	.venv/bin/mypy

test: up lint vitess-up
	@bash $(STACK)/test.sh $(PYTEST_ARGS)

clean: stop
	rm -rf .data
