# vidstore: `make run` brings up the whole local stack and serves the API; `make test` runs everything.
SHELL := /bin/bash
PY := .venv/bin/python
STACK := stack

.PHONY: install up run stop status test lint flush clean vitess-up vitess-down loadtest bench monitoring-up monitoring-down reshard move-lookup

install:
	@bash $(STACK)/install.sh

up: install
	@bash $(STACK)/mariadb-up.sh
	@bash $(STACK)/redis-up.sh
	@bash $(STACK)/storage-up.sh
	@bash $(STACK)/dba.sh --backend mariadb --database vidstore apply

# `make run VITESS=1`: the same API and flusher on the local Vitess cluster instead of plain MariaDB.
ifeq ($(VITESS),1)
export VIDSTORE_BACKEND := vitess
endif

vitess-up: up
	@bash $(STACK)/vitess/cluster-up.sh

# Live resharding, under traffic: `make reshard KEYSPACE=vidstore TO=-40,40-80,80-c0,c0-`
# (ARGS=--dry-run, --reverse or --abort). Rerun after an interruption: it carries on.
reshard:
	@bash $(STACK)/vitess/reshard.sh $(KEYSPACE) --to=$(TO) $(ARGS)

# MoveTables video_lookup from vidstore_lookup into the sharded vidstore_idx (make vitess-up does it
# for a cluster made before the lookup was sharded).
move-lookup:
	@bash $(STACK)/vitess/reshard.sh vidstore_idx --move-tables video_lookup $(ARGS)

vitess-down:
	@bash $(STACK)/vitess/cluster-down.sh

# Prometheus, Alertmanager and the exporters (stack/monitoring/; dashboards at :15950/consoles/index.html).
monitoring-up: install
	@bash $(STACK)/monitoring/monitoring-up.sh

monitoring-down:
	@bash $(STACK)/monitoring/monitoring-down.sh

run: up $(if $(filter 1,$(VITESS)),vitess-up) monitoring-up
	@bash $(STACK)/app-run.sh

stop:
	@bash $(STACK)/app-down.sh
	@bash $(STACK)/monitoring/monitoring-down.sh
	@bash $(STACK)/vitess/cluster-down.sh
	@bash $(STACK)/storage-down.sh
	@bash $(STACK)/redis-down.sh
	@bash $(STACK)/mariadb-down.sh
	@bash $(STACK)/supervisor-down.sh

# What runs: the supervised processes (state, pid, uptime) and the Vitess cluster's.
status:
	@bash $(STACK)/status.sh

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
	.venv/bin/ruff check api sharding capacity loadtest tests stack/monitoring
	.venv/bin/ruff format --check api sharding capacity loadtest tests stack/monitoring
	.venv/bin/mypy
	.venv/bin/lint-imports

test: up lint vitess-up monitoring-up
	@bash $(STACK)/test.sh $(PYTEST_ARGS)

clean: stop
	rm -rf .data
