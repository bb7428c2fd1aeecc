#!/usr/bin/env bash
# `make demo`: the runbook end to end on two throwaway local databases standing for staging and production.
#   1. start a throwaway PostgreSQL cluster under .demo/ with two Supabase-shaped databases
#   2. "production has been running": apply the example's migrations up to 20251015090000 and load the seed in both
#   3. status.yml, apply_staging.yml, apply_production.yml against inventories/local, approvals passed as
#      variables (headless: no prompt, no stdin); production's backup is a pg_dump taken by preflight, and the
#      02:00-04:00 UTC window is waived with a recorded reason unless the demo happens to run inside it
#      while tools/demo_workload.py plays the dashboard's traffic against both databases
#   4. print where the reports are and stop the cluster (the artifacts stay in artifacts/data/)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$ROOT/tools/supabase-cli/node_modules/.bin:$PATH"
export ANSIBLE_CONFIG="$ROOT/ansible.cfg" ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-0} ANSIBLE_NOCOLOR=${ANSIBLE_NOCOLOR:-1}
export SUPABASE_CLI="$ROOT/tools/supabase-cli/node_modules/.bin/supabase"
export SUPABASE_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
DEMO_DIR=${HOTDASH_DEMO_DIR:-$ROOT/.demo}
export HOTDASH_DEMO_CLUSTER="$DEMO_DIR/cluster.json"
export HOTDASH_ARTIFACTS_DIR=${HOTDASH_ARTIFACTS_DIR:-$ROOT/artifacts/data}
PY="$ROOT/.venv/bin/python"
BASELINE=20251015090000
PLAYBOOK=("$ROOT/.venv/bin/ansible-playbook" -i "$ROOT/inventories/local")

step() { printf '\n==== %s\n' "$*"; }

stop_cluster() {
  if [ -n "${WORKLOAD_PID:-}" ]; then kill "$WORKLOAD_PID" 2>/dev/null || true; wait "$WORKLOAD_PID" 2>/dev/null || true; fi
  if [ -f "$DEMO_DIR/pg/cluster.json" ]; then
    "$PY" tools/throwaway_pg.py stop "$DEMO_DIR/pg" || true
  fi
  rm -f "$DEMO_DIR/cluster.json"
}
trap stop_cluster EXIT

step "1/5 start a throwaway PostgreSQL cluster with two Supabase-shaped databases ($DEMO_DIR)"
stop_cluster
mkdir -p "$DEMO_DIR"
"$PY" tools/throwaway_pg.py start "$DEMO_DIR/pg" --shape-db hotdash_staging --shape-db hotdash_production \
  > "$DEMO_DIR/cluster.json.tmp"
chmod 600 "$DEMO_DIR/cluster.json.tmp"
mv "$DEMO_DIR/cluster.json.tmp" "$DEMO_DIR/cluster.json"

step "2/5 production has been running: migrations up to $BASELINE and the seed in both databases"
# This stands in for the history both databases had before the demo, so it is applied as the fixture it is
# (environment local), not as a production release: that one is step 5, through its approval gate.
"$ROOT/.venv/bin/ansible" databases -i "$ROOT/inventories/local" -m hotdash.supabase.migration_apply \
  -a "db_url={{ supabase_db_url }} project_dir={{ supabase_project_dir }} target_version=$BASELINE environment=local log_path={{ supabase_artifacts_dir | dirname }}/demo_baseline_{{ inventory_hostname }}.log" \
  </dev/null | awk '/ => \{/ {host=$1; state=$3} /"(summary|msg)":/ {sub(/^ *"(summary|msg)": /, ""); print host ": " state " " $0}'
for db in hotdash_staging hotdash_production; do
  "$PY" - "$DEMO_DIR/cluster.json" "$db" "$ROOT/examples/hotdash/supabase/seed.sql" <<'PYEOF'
import json, sys
sys.path.insert(0, "tools")
import throwaway_pg
info = json.load(open(sys.argv[1]))
throwaway_pg.psql(info, sys.argv[2], file=sys.argv[3])
print("%s: seed loaded" % sys.argv[2])
PYEOF
done

# The dashboard keeps working during the run (RPC calls, reads, application logs at a 0.2 % error rate),
# so the monitor phase watches real traffic.
urls=$("$PY" -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["databases"].values()))' "$DEMO_DIR/cluster.json")
# shellcheck disable=SC2086
"$PY" tools/demo_workload.py --seconds 900 $urls 2>>"$DEMO_DIR/workload.log" &
WORKLOAD_PID=$!

step "3/5 status: where every database stands"
"${PLAYBOOK[@]}" playbooks/status.yml </dev/null

# Approvals as variables, the headless path AWX and CI use (no prompt; stdin is not a terminal).
approval=(-e supabase_approval_mode=headless -e "supabase_approval_approver=${HOTDASH_DEMO_APPROVER:-demo-manager}"
          -e "supabase_approval_ticket=${HOTDASH_DEMO_TICKET:-DEMO-1}"
          -e "supabase_approval_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)")

step "4/5 apply to staging: preflight, approval, apply, verify, monitor, rollback exercise"
"${PLAYBOOK[@]}" playbooks/apply_staging.yml "${approval[@]}" </dev/null

step "5/5 apply to production: promotion gate, pg_dump backup, window, approval, apply, verify, monitor"
hour=$(date -u +%H)
window=()
if [ "$hour" != 02 ] && [ "$hour" != 03 ]; then
  # Recorded in the preflight report as WAIVED with this reason; never a silent skip.
  window=(-e '{"supabase_preflight_window_override_reason": "demo on throwaway local databases, run outside the 02:00-04:00 UTC window on purpose"}')
fi
# The runbook's checklist about people, acknowledged by the demo approver (inventories/local/group_vars/production.yml).
notified=$(date -u -d '-25 hours' +%Y-%m-%dT%H:%M:%SZ)
checklist=(-e "{\"supabase_approval_acknowledgements\": {\"devops_notified_at\": \"$notified\", \"incident_commander\": \"demo-oncall\", \"monitoring_dashboards_open\": true, \"rollback_criteria_approved\": true}}")
"${PLAYBOOK[@]}" playbooks/apply_production.yml "${approval[@]}" "${checklist[@]}" "${window[@]}" </dev/null

step "done"
# Run directories are named <env>_<UTC timestamp>: the last in sort order is the newest.
# Only directories: apply logs (<env>_migration_apply_<time>.log) sit beside them.
newest_run() { printf '%s\n' "$HOTDASH_ARTIFACTS_DIR"/"$1"_*/ | sort | tail -n 1 | sed 's|/$||'; }
latest=$(newest_run production)
echo "Staging report:    $(newest_run staging)/index.md"
echo "Production report: ${latest}/index.md"
echo "Stopping the demo cluster (artifacts are kept)."
