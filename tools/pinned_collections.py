#!/usr/bin/env python
"""Install the collections this repository's tooling pins, taken from the ``ansible`` package on PyPI (no Galaxy).

Each file in REQUIREMENTS is an ansible-galaxy requirements file (``collections: [{name, version}]``), so a
machine that reaches Galaxy installs the same versions with ``ansible-galaxy collection install -r FILE``:
  awx/requirements.yml                    awx.awx, which awx/configure.yml drives AWX with (make test checks it)
  extensions/molecule/requirements.yml    containers.podman, for the Molecule scenarios' container platform
The ``ansible`` package ships both (awx.awx up to its version 13, removed in 14). ansible 12.3.0 carries awx.awx
24.6.1 and containers.podman 1.18.0 and needs ansible-core ~=2.19.5 and Python >= 3.11, like this collection's
own pins (ansible 13 needs Python 3.12 and ansible-core 2.20). One ``pip download --no-deps`` of its wheel, and
only the pinned collections' trees are extracted, into a collections path of their own
(``.build/pinned-collections``, listed in ansible.cfg): nothing is installed into the virtualenv, so the
collection's ansible-core pin is untouched.

  python tools/pinned_collections.py install [DEST]       # a no-op when every pinned version is already there
  python tools/pinned_collections.py version NAME [DEST]  # the installed version of NAME, or nothing
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQUIREMENTS = [os.path.join(ROOT, "awx", "requirements.yml"),
                os.path.join(ROOT, "extensions", "molecule", "requirements.yml")]
DEFAULT_DEST = os.path.join(ROOT, ".build", "pinned-collections")
# The PyPI package whose wheel carries the versions the requirements files pin.
PACKAGE = "ansible==12.3.0"


def pinned_versions(paths=None):
    """{name: version} from the requirements files; a collection pinned twice must be pinned alike."""
    pins = {}
    for path in paths or REQUIREMENTS:
        with open(path) as handle:
            data = yaml.safe_load(handle) or {}
        entries = data.get("collections") if isinstance(data, dict) else None
        if not entries:
            raise SystemExit("%s pins no collection (collections: [{name: NS.NAME, version: X.Y.Z}])" % path)
        for entry in entries:
            if not isinstance(entry, dict) or not entry.get("name") or not entry.get("version"):
                raise SystemExit("%s: %r is not {name: NS.NAME, version: X.Y.Z}" % (path, entry))
            name, version = entry["name"], str(entry["version"])
            if pins.get(name, version) != version:
                raise SystemExit("%s pins %s %s, another requirements file %s" % (path, name, version, pins[name]))
            pins[name] = version
    return pins


def _prefix(name):
    return "ansible_collections/%s/" % name.replace(".", "/")


def installed_version(dest, name):
    manifest = os.path.join(dest, _prefix(name), "MANIFEST.json")
    if not os.path.isfile(manifest):
        return None
    with open(manifest) as handle:
        return json.load(handle)["collection_info"]["version"]


def install(dest, pins):
    """Download the package's wheel once, extract each pinned collection into ``dest``, check its version."""
    work = tempfile.mkdtemp(prefix="hotdash-collections-")
    try:
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                               "--no-deps", "--only-binary=:all:", "--dest", work, PACKAGE],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        wheels = [name for name in os.listdir(work) if name.endswith(".whl")]
        if proc.returncode != 0 or not wheels:
            raise SystemExit("pip download %s failed: %s" % (PACKAGE, proc.stdout.strip()[-500:]))
        staging = os.path.join(work, "tree")
        with zipfile.ZipFile(os.path.join(work, wheels[0])) as wheel:
            names = wheel.namelist()
            for name in sorted(pins):
                members = [member for member in names if member.startswith(_prefix(name))]
                if not members:
                    raise SystemExit("%s does not ship %s; pin an ansible release that does" % (PACKAGE, name))
                wheel.extractall(staging, members)
        for name, version in sorted(pins.items()):
            found = installed_version(staging, name)
            if found != version:
                raise SystemExit("%s ships %s %s, but it is pinned at %s; change one of them"
                                 % (PACKAGE, name, found, version))
        for name in sorted(pins):
            target = os.path.join(dest, _prefix(name))
            shutil.rmtree(target, ignore_errors=True)
            os.makedirs(os.path.dirname(target.rstrip("/")), exist_ok=True)
            shutil.move(os.path.join(staging, _prefix(name)), target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_install = sub.add_parser("install")
    p_install.add_argument("dest", nargs="?", default=DEFAULT_DEST)
    p_version = sub.add_parser("version")
    p_version.add_argument("name")
    p_version.add_argument("dest", nargs="?", default=DEFAULT_DEST)
    args = parser.parse_args(argv)
    dest = os.path.abspath(args.dest)
    if args.command == "version":
        print(installed_version(dest, args.name) or "")
        return
    pins = pinned_versions()
    missing = {name: version for name, version in pins.items() if installed_version(dest, name) != version}
    if missing:
        print("setup: installing %s (from the %s wheel) into %s"
              % (", ".join("%s %s" % item for item in sorted(missing.items())), PACKAGE, dest))
        install(dest, missing)


if __name__ == "__main__":
    main()
