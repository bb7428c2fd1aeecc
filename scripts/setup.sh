#!/usr/bin/env bash
# Install what `make demo` and `make test` need, on a fresh Debian/Ubuntu machine; a no-op when done.
#   - PostgreSQL server binaries (+ pgTAP, plpgsql_check) and PgBouncer (the tests' real pooler) via apt, only where missing
#   - Node.js/npm via apt only where missing, then the pinned Supabase CLI into tools/supabase-cli/
#   - a virtualenv at .venv/ with the pinned Python dependencies (requirements.txt)
#   - the collections pinned in awx/requirements.yml (awx.awx, for checking awx/configure.yml) and
#     extensions/molecule/requirements.yml (containers.podman) at .build/pinned-collections
#   - the collection linked at .build/collections/ansible_collections/hotdash/supabase
#   - as root: podman, runc and debootstrap via apt where missing, and the PostgreSQL image of Molecule's
#     container platform (tools/postgres_image/build.sh; rebuilt only when its recipe changes)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

newest_pg_bin() { printf '%s\n' /usr/lib/postgresql/*/bin | grep -v '[*]' | sort -V | tail -n 1; }
pg_bin=$(newest_pg_bin || true)
if ! command -v initdb >/dev/null 2>&1 && [ -z "$pg_bin" ]; then
  echo "setup: installing PostgreSQL server (apt)"
  apt_install postgresql postgresql-contrib
  pg_bin=$(newest_pg_bin)
fi
pg_major=$(basename "$(dirname "${pg_bin:-/usr/lib/postgresql/15/bin}")")
if [ ! -f "/usr/share/postgresql/${pg_major}/extension/pgtap.control" ]; then
  echo "setup: installing pgTAP for PostgreSQL ${pg_major} (apt)"
  apt_install "postgresql-${pg_major}-pgtap"
fi
# supabase db lint needs the plpgsql_check extension in the server it lints (the shadow database's cluster).
if [ ! -f "/usr/share/postgresql/${pg_major}/extension/plpgsql_check.control" ]; then
  echo "setup: installing plpgsql_check for PostgreSQL ${pg_major} (apt)"
  apt_install "postgresql-${pg_major}-plpgsql-check"
fi
for tool in psql pg_dump pg_restore; do
  command -v "$tool" >/dev/null 2>&1 || { echo "setup: installing PostgreSQL client (apt)"; apt_install postgresql-client; break; }
done
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing Node.js and npm (apt)"
  apt_install nodejs npm
fi
command -v runuser >/dev/null 2>&1 || apt_install util-linux
# The pooler tests run a real PgBouncer (Supabase's dedicated pooler) in front of the throwaway clusters.
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || { echo "setup: installing PgBouncer (apt)"; apt_install pgbouncer; }
# PostgreSQL refuses to run as root: as root, the throwaway clusters run as the `postgres` system user, which
# Debian's postgresql package creates; create it when the server binaries came from elsewhere.
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  echo "setup: creating the postgres system user"
  useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi
# Molecule's container platform (extensions/molecule/README.md): podman with runc (the default crun fails as root on
# hosts with hybrid cgroups) and debootstrap, which builds the PostgreSQL image from Debian's packages (no registry
# needed). As root only: the image goes to root's podman storage. HOTDASH_MOLECULE_PLATFORM=local skips all this.
build_image=""
if [ "$(id -u)" = 0 ] && [ "${HOTDASH_MOLECULE_PLATFORM:-auto}" != local ]; then
  build_image=1
  command -v podman >/dev/null 2>&1 || { echo "setup: installing podman (apt)"; apt_install podman; }
  command -v runc >/dev/null 2>&1 || { echo "setup: installing runc (apt)"; apt_install runc; }
  command -v debootstrap >/dev/null 2>&1 || { echo "setup: installing debootstrap (apt)"; apt_install debootstrap; }
  [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || apt_install debian-archive-keyring
fi
# ansible-test sanity's shellcheck test is skipped (not failed) without it: make test wants it to run.
command -v shellcheck >/dev/null 2>&1 || { echo "setup: installing shellcheck (apt)"; apt_install shellcheck; }

# Python: venv + pinned requirements, reinstalled only when requirements.txt changes.
PY=${PYTHON:-python3}
if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "setup: installing python3-venv (apt)"
  apt_install python3-venv python3-pip
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
req_hash=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat .venv/.requirements.sha256 2>/dev/null)" != "$req_hash" ]; then
  echo "setup: installing Python dependencies into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c 'import ansible, psycopg2, pglast, ansible_runner, jmespath, pytest' 
  echo "$req_hash" > .venv/.requirements.sha256
fi

# awx.awx and containers.podman (pinned in awx/requirements.yml, extensions/molecule/requirements.yml) in a
# collections path of their own, taken from the ansible package on PyPI; nothing is installed into .venv.
.venv/bin/python tools/pinned_collections.py install .build/pinned-collections

# Supabase CLI, pinned in tools/supabase-cli/package.json (+ lock); the npm package ships the binary.
cli_hash=$(cat tools/supabase-cli/package.json tools/supabase-cli/package-lock.json | sha256sum | cut -d' ' -f1)
if [ ! -x tools/supabase-cli/node_modules/.bin/supabase ] || [ "$(cat tools/supabase-cli/.installed.sha256 2>/dev/null)" != "$cli_hash" ]; then
  echo "setup: installing the pinned Supabase CLI (npm)"
  (cd tools/supabase-cli && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$cli_hash" > tools/supabase-cli/.installed.sha256
fi
tools/supabase-cli/node_modules/.bin/supabase --version >/dev/null

# The collection, where ansible finds it (ansible.cfg points collections_path here).
mkdir -p .build/collections/ansible_collections/hotdash
ln -sfn "$ROOT" .build/collections/ansible_collections/hotdash/supabase

# The image last: it needs the network longest (about 40 s of Debian packages) and only the container platform uses it.
if [ -n "$build_image" ]; then
  bash tools/postgres_image/build.sh
fi
