#!/usr/bin/env bash
# ansible-test sanity in its own virtual environments (--venv). ansible-test bootstraps pip in them with a
# script it downloads from a host this network cannot reach; tools/get_pip_shim.py does the same with
# ensurepip + PyPI, placed where ansible-test looks for its cached copy. The collection must sit at
# .../ansible_collections/<ns>/<name> as a real directory: copy the files git knows about there.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=~/.ansible/test/cache
mkdir -p "$cache"
for v in $(grep -rhoE "pip==[0-9.]+" "$(.venv/bin/python -c 'import ansible_test,os;print(os.path.dirname(ansible_test.__file__))')" | sort -u | cut -d= -f3) 24.2; do
  cp tools/get_pip_shim.py "$cache/get_pip_${v//./_}.py"
done
mkdir -p .build
work=$(mktemp -d "$root/.build/sanity.XXXXXX")   # private copy: several runs may go on at once
trap 'rm -rf "$work"' EXIT
dest=$work/ansible_collections/hotdash/supabase
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents {} "$dest/"
cd "$dest"
git init -q . && git add -A
export PATH="$root/.venv/bin:$PATH"
ansible-test sanity --venv --python 3.11 --color no "$@"
