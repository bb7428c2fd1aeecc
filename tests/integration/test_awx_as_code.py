"""AWX as code, checked against the real awx.awx collection and the real ansible-builder (no AWX server needed).

- awx/configure.yml passes ``ansible-playbook --syntax-check`` with awx.awx 24.6.1 (awx/requirements.yml;
  make setup puts it in .build/pinned-collections), and a misspelled module does not.
- Every task's arguments pass the awx.awx modules' own argument specs (ansible-lint's ``args`` rule runs each
  module's AnsibleModule on the task's arguments); an unknown option or a value outside ``choices`` is named.
- ``ansible-builder create`` generates the execution environment's build context from
  execution-environment.yml, and the image gets the versions this checkout is tested with.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
AWX_COLLECTIONS = os.path.join(ROOT, ".build", "pinned-collections")


def _run(argv, cwd, env=None, merge=True):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", NO_COLOR="1", **(env or {}))
    return subprocess.run(argv, cwd=str(cwd), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT if merge else subprocess.PIPE, text=True, check=False,
                          stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def awx_collection():
    """The pinned awx.awx, installed by make setup; the suite fails (not skips) without it."""
    manifest = os.path.join(AWX_COLLECTIONS, "ansible_collections", "awx", "awx", "MANIFEST.json")
    if not os.path.isfile(manifest):
        pytest.fail("awx.awx is not installed in %s: run make setup" % AWX_COLLECTIONS)
    with open(manifest) as handle:
        version = json.load(handle)["collection_info"]["version"]
    with open(os.path.join(ROOT, "awx", "requirements.yml")) as handle:
        assert re.search(r"version:\s*%s\b" % re.escape(version), handle.read()), \
            "installed awx.awx %s is not the version awx/requirements.yml pins: run make setup" % version
    return AWX_COLLECTIONS


def _awx_copy(tmp_path, broken_edits=()):
    """awx/ copied into a scratch project, plus broken.yml: configure.yml with ``broken_edits`` applied."""
    shutil.copytree(os.path.join(ROOT, "awx"), str(tmp_path / "awx"))
    text = (tmp_path / "awx" / "configure.yml").read_text()
    for old, new in broken_edits:
        assert old in text, "configure.yml no longer contains %r; update this test's deliberate mistake" % old
        text = text.replace(old, new, 1)
    (tmp_path / "awx" / "broken.yml").write_text(text)
    return tmp_path


def test_configure_passes_the_syntax_check_against_awx_awx(awx_collection, tmp_path):
    _awx_copy(tmp_path, [("awx.awx.job_template:", "awx.awx.job_templates:")])
    env = dict(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    good = _run([os.path.join(BIN, "ansible-playbook"), "--syntax-check", "awx/configure.yml"], ROOT, env)
    assert good.returncode == 0, good.stdout
    broken = _run([os.path.join(BIN, "ansible-playbook"), "--syntax-check", str(tmp_path / "awx" / "broken.yml")],
                  ROOT, env)
    assert broken.returncode != 0
    assert "couldn't resolve module/action 'awx.awx.job_templates'" in broken.stdout, broken.stdout


def test_configure_matches_the_awx_modules_argument_specs(awx_collection, tmp_path):
    project = _awx_copy(tmp_path, [("scm_branch: main", "scm_branh: main"), ("pull: missing", "pull: sometimes")])
    # The args rule is experimental (a warning by default): here every finding fails.
    (project / ".ansible-lint").write_text("---\nenable_list:\n  - args\nwarn_list: []\n")
    linted = _run([os.path.join(BIN, "ansible-lint"), "--offline", "-f", "json", "awx/configure.yml", "awx/broken.yml"],
                  project, dict(ANSIBLE_COLLECTIONS_PATH=awx_collection), merge=False)
    assert linted.stdout.strip().startswith("["), linted.stdout + linted.stderr
    findings = json.loads(linted.stdout)
    by_file = {}
    for finding in findings:
        by_file.setdefault(finding["location"]["path"], []).append((finding["check_name"], finding["description"]))
    assert "awx/configure.yml" not in by_file, by_file.get("awx/configure.yml")
    broken = by_file["awx/broken.yml"]
    assert ("args[module]", "value of pull must be one of: always, missing, never, got: sometimes") in broken
    assert any(name == "args[module]" and "Unsupported parameters for (basic.py) module: scm_branh." in text
               for name, text in broken), broken
    assert linted.returncode != 0


def _pins(path):
    pins = {}
    with open(path) as handle:
        for line in handle:
            match = re.match(r"^\s*-?\s*([A-Za-z0-9_.-]+)==([^\s#]+)", line)
            if match:
                pins[match.group(1).lower()] = match.group(2)
    return pins


def test_execution_environment_build_context_generates(tmp_path):
    """ansible-builder create writes the Containerfile and context, with the versions make test uses."""
    shutil.copy(os.path.join(ROOT, "execution-environment.yml"), str(tmp_path))
    shutil.copy(os.path.join(ROOT, "bindep.txt"), str(tmp_path))
    built = _run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", ROOT, "--output-path",
                  str(tmp_path / ".build" / "dist")], tmp_path, dict(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg")))
    assert built.returncode == 0, built.stdout
    created = _run([os.path.join(BIN, "ansible-builder"), "create", "-f", "execution-environment.yml",
                    "-c", str(tmp_path / "context")], tmp_path)
    assert created.returncode == 0, created.stdout
    context = tmp_path / "context"
    containerfile = (context / "Containerfile").read_text()
    assert (context / "_build" / "collections" / "hotdash-supabase-0.1.0.tar.gz").is_file()
    assert "ansible-galaxy collection install /tmp/collections/hotdash-supabase-*.tar.gz" in containerfile

    tested = _pins(os.path.join(ROOT, "requirements.txt"))
    in_image = _pins(str(context / "_build" / "requirements.txt"))
    refs = re.search(r'ARG ANSIBLE_INSTALL_REFS="([^"]*)"', containerfile).group(1)
    in_image.update(ref.lower().split("==", 1) for ref in refs.split())
    assert set(in_image) >= {"ansible-core", "ansible-runner", "psycopg2-binary", "pglast", "squawk-cli"}
    differing = dict((name, (version, tested.get(name))) for name, version in in_image.items()
                     if tested.get(name) != version)
    assert not differing, "the execution environment pins other versions than make test uses: %s" % differing
    with open(os.path.join(ROOT, "tools", "supabase-cli", "package.json")) as handle:
        cli_pin = json.load(handle)["dependencies"]["supabase"]
    assert "npm install --global supabase@%s" % cli_pin in containerfile
    assert "postgresql-client" in (context / "_build" / "bindep.txt").read_text()
