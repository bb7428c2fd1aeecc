#!/usr/bin/env bash
# Run every Molecule scenario under extensions/molecule/ (delegated driver; each scenario's
# create/destroy starts and stops its own throwaway PostgreSQL cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PWD/tools/supabase-cli/node_modules/.bin:$PATH"
export ANSIBLE_CONFIG="$PWD/ansible.cfg" ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1
export SUPABASE_CLI="$PWD/tools/supabase-cli/node_modules/.bin/supabase"
cd extensions
if [ "$#" -gt 0 ]; then
  for scenario in "$@"; do molecule test -s "$scenario"; done
else
  molecule test --all
fi
