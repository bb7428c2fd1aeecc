# hotdash.supabase — the two commands a new user runs: `make demo` and `make test`.
# Both run `make setup` first, which installs what they need (apt only where missing) and is a no-op when done.
SHELL := /bin/bash
ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
export PATH := $(VENV)/bin:$(ROOT)/tools/supabase-cli/node_modules/.bin:$(PATH)
export ANSIBLE_CONFIG := $(ROOT)/ansible.cfg
export SUPABASE_CLI := $(ROOT)/tools/supabase-cli/node_modules/.bin/supabase
export PYTHONDONTWRITEBYTECODE := 1
PYTEST_WORKERS ?= 2

.PHONY: setup test demo unit integration molecule sanity lint bench bench-live bench-fleet clean

setup:
	@bash scripts/setup.sh

test: setup
	@bash scripts/test.sh

unit: setup
	$(VENV)/bin/pytest -q tests/unit

integration: setup
	$(VENV)/bin/pytest -q -n $(PYTEST_WORKERS) tests/integration

molecule: setup
	@bash scripts/molecule.sh

sanity: setup
	@bash scripts/sanity.sh

lint: setup
	$(VENV)/bin/ansible-lint --profile production

demo: setup
	@bash scripts/demo.sh

bench: setup
	$(VENV)/bin/python benchmarks/run.py

bench-live: setup
	$(VENV)/bin/python benchmarks/live_traffic.py

bench-fleet: setup
	$(VENV)/bin/python benchmarks/fleet.py

clean:
	rm -rf .build artifacts tests/output .demo
