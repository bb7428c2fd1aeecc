#!/usr/bin/env bash
# Run the Molecule scenarios under extensions/molecule/ (all of them, or the ones named). Each scenario's shared
# create/destroy starts and stops its own PostgreSQL on the platform HOTDASH_MOLECULE_PLATFORM names
# (extensions/molecule/README.md, "Platforms"):
#   auto       the default: `container` where podman can run the image's container, `local` elsewhere
#   container  PostgreSQL in a podman container (HOTDASH_MOLECULE_IMAGE; default the image make setup builds)
#   local      a throwaway PostgreSQL cluster on this machine (the delegated path)
# It prints which platform it chose and why. On `container`, a full run also runs the platform scenario
# (`default`) on `local`, so the delegated path is exercised on every run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$root/.venv/bin:$root/tools/supabase-cli/node_modules/.bin:$PATH"
export ANSIBLE_CONFIG="$root/ansible.cfg" ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1
export SUPABASE_CLI="$root/tools/supabase-cli/node_modules/.bin/supabase"
# Molecule keeps a scenario's working files (and so its cluster or container) under
# $ANSIBLE_HOME/tmp/molecule.<hash of "extensions">.<scenario>, a path every checkout shares by default: keep
# them in this checkout, so two checkouts can run the same scenario at the same time.
export ANSIBLE_HOME="$root/.build/ansible-home"

platform=${HOTDASH_MOLECULE_PLATFORM:-auto}
case "$platform" in
  container | local) reason="HOTDASH_MOLECULE_PLATFORM=$platform" ;;
  auto)
    verdict=$(mktemp)
    trap 'rm -f "$verdict" "$verdict.log"' EXIT
    if ansible-playbook extensions/molecule/shared/probe.yml -e "hotdash_molecule_probe_file=$verdict" >"$verdict.log" 2>&1; then
      platform=$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["platform"])' "$verdict")
      reason=$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["reason"])' "$verdict")
    else
      platform=local
      reason="the container probe failed: $(grep -m1 -E 'ERROR|fatal' "$verdict.log" || tail -n 1 "$verdict.log")"
    fi
    ;;
  *)
    echo "molecule: HOTDASH_MOLECULE_PLATFORM=$platform is not a platform: use auto, container or local" >&2
    exit 2
    ;;
esac
export HOTDASH_MOLECULE_PLATFORM=$platform
if [ "$platform" = container ]; then
  echo "molecule: platform container: PostgreSQL in podman (image ${HOTDASH_MOLECULE_IMAGE:-localhost/hotdash/supabase-postgres:15}); $reason"
else
  echo "molecule: platform local: throwaway PostgreSQL clusters on this machine (delegated); $reason"
fi

cd extensions
# Scenarios run HOTDASH_MOLECULE_JOBS at a time (default 2): each has its own PostgreSQL (its own container on its own
# published port, or its own throwaway cluster) and its own ephemeral directory, and a scenario is mostly Ansible
# waiting on one core. Each scenario's output is printed whole when it ends, so the log reads as if run one by one.
jobs=${HOTDASH_MOLECULE_JOBS:-2}
case "$jobs" in '' | *[!0-9]* | 0) echo "molecule: HOTDASH_MOLECULE_JOBS=$jobs is not a positive number" >&2; exit 2 ;; esac
run_scenarios() {
  local logs failed
  logs=$(mktemp -d)
  # shellcheck disable=SC2016 # expanded by the inner shell
  printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c '
    if molecule test -s "$1" >"$2/$1.log" 2>&1; then outcome=passed; else outcome=FAILED; touch "$2/$1.failed"; fi
    flock "$2/print.lock" bash -c "cat \"\$1\"; echo \"molecule: scenario \$2 \$3\"" _ "$2/$1.log" "$1" "$outcome"
  ' _ {} "$logs"
  failed=$(cd "$logs" && find . -name '*.failed' | sed 's|^./||; s|.failed$||' | sort | paste -sd' ')
  rm -rf "$logs"
  if [ -n "$failed" ]; then
    echo "molecule: FAILED: $failed" >&2
    return 1
  fi
}

if [ "$#" -gt 0 ]; then
  run_scenarios "$@"
  echo "molecule: ran on $platform: $*"
else
  scenarios=$(printf '%s\n' molecule/*/molecule.yml | cut -d/ -f2 | paste -sd' ')
  # The longest first, so the last ones to start are short and both jobs end together.
  # shellcheck disable=SC2086 # a list of names without spaces
  ordered=$(printf '%s\n' $scenarios | awk '{ print ($1 == "playbook_apply_staging" ? 0 : ($1 == "default" ? 2 : 1)) " " $1 }' | sort -k1,1n -k2 | cut -d' ' -f2)
  # shellcheck disable=SC2086
  run_scenarios $ordered
  echo "molecule: executed $(echo "$scenarios" | wc -w) scenarios, $jobs at a time"
  if [ "$platform" = container ]; then
    echo "molecule: the delegated path: scenario default on platform local"
    HOTDASH_MOLECULE_PLATFORM=local molecule test -s default
    echo "molecule: ran on container: $scenarios; on local: default"
  else
    echo "molecule: ran on local: $scenarios"
  fi
fi
