#!/usr/bin/env python
"""Install the awx.awx collection that awx/configure.yml uses, so `make test` checks it against the real modules.

Galaxy is not needed: the ``ansible`` package on PyPI ships awx.awx up to its version 13 (removed in 14).
ansible 12.3.0 carries awx.awx 24.6.1 and needs ansible-core ~=2.19.5 and Python >= 3.11, like this
collection's own pins (ansible 13 also carries 24.6.1 but needs Python 3.12 and ansible-core 2.20). Only the
awx.awx tree is taken from the wheel (``pip download --no-deps``), into its own collections path
(``.build/awx-collections``, listed in ansible.cfg): nothing is installed into the virtualenv, so the
collection's ansible-core pin is untouched.

  python tools/awx_collection.py install [DEST]     # a no-op when the pinned version is already there
  python tools/awx_collection.py version [DEST]     # the installed version, or nothing
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQUIREMENTS = os.path.join(ROOT, "awx", "requirements.yml")
DEFAULT_DEST = os.path.join(ROOT, ".build", "awx-collections")
# The PyPI package whose wheel carries the awx.awx version pinned in awx/requirements.yml.
PACKAGE = "ansible==12.3.0"
PREFIX = "ansible_collections/awx/awx/"


def pinned_version(path=REQUIREMENTS):
    """The awx.awx version in awx/requirements.yml (ansible-galaxy's format)."""
    with open(path) as handle:
        text = handle.read()
    match = re.search(r"name:\s*awx\.awx\s*\n\s*version:\s*['\"]?([0-9][0-9A-Za-z.+-]*)", text)
    if not match:
        raise SystemExit("%s does not pin awx.awx (name: awx.awx / version: X.Y.Z)" % path)
    return match.group(1)


def installed_version(dest):
    manifest = os.path.join(dest, PREFIX, "MANIFEST.json")
    if not os.path.isfile(manifest):
        return None
    with open(manifest) as handle:
        return json.load(handle)["collection_info"]["version"]


def install(dest, version):
    """Download the package's wheel, extract awx.awx into ``dest``, and check it is ``version``."""
    work = tempfile.mkdtemp(prefix="hotdash-awx-")
    try:
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                               "--no-deps", "--only-binary=:all:", "--dest", work, PACKAGE],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        wheels = [name for name in os.listdir(work) if name.endswith(".whl")]
        if proc.returncode != 0 or not wheels:
            raise SystemExit("pip download %s failed: %s" % (PACKAGE, proc.stdout.strip()[-500:]))
        staging = os.path.join(work, "tree")
        with zipfile.ZipFile(os.path.join(work, wheels[0])) as wheel:
            members = [name for name in wheel.namelist() if name.startswith(PREFIX)]
            if not members:
                raise SystemExit("%s no longer ships awx.awx; pin an ansible release up to 13" % PACKAGE)
            wheel.extractall(staging, members)
        found = installed_version(staging)
        if found != version:
            raise SystemExit("%s ships awx.awx %s, but awx/requirements.yml pins %s; change one of them"
                             % (PACKAGE, found, version))
        target = os.path.join(dest, PREFIX)
        shutil.rmtree(target, ignore_errors=True)
        os.makedirs(os.path.dirname(target.rstrip("/")), exist_ok=True)
        shutil.move(os.path.join(staging, PREFIX), target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["install", "version"])
    parser.add_argument("dest", nargs="?", default=DEFAULT_DEST)
    args = parser.parse_args(argv)
    dest = os.path.abspath(args.dest)
    if args.command == "version":
        print(installed_version(dest) or "")
        return
    wanted = pinned_version()
    if installed_version(dest) != wanted:
        print("setup: installing awx.awx %s (from the %s wheel) into %s" % (wanted, PACKAGE, dest))
        install(dest, wanted)


if __name__ == "__main__":
    main()
