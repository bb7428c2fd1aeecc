#!/usr/bin/env bash
# The full suite `make test` runs: unit, integration (real PostgreSQL + real Supabase CLI),
# Molecule scenarios of every role, ansible-test sanity and ansible-lint.
set -euo pipefail
cd "$(dirname "$0")/.."
workers=${PYTEST_WORKERS:-2}
echo "== unit + integration tests (pytest, $workers workers)"
.venv/bin/pytest -q -n "$workers" tests/unit tests/integration
echo "== molecule scenarios"
bash scripts/molecule.sh
echo "== ansible-test sanity"
bash scripts/sanity.sh
echo "== ansible-lint --profile production"
.venv/bin/ansible-lint -q --profile production
