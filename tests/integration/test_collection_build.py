"""The README's install path: build the collection, install the tarball, and Ansible finds its modules and roles.

Also keeps the tarball clean: no local caches, virtualenvs or the pinned CLI binary ride along.
"""
import os
import subprocess
import sys
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def _run(argv, env=None, **kwargs):
    env = dict(env or os.environ, ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_CONFIG", None)  # the installed copy, not this checkout's collections_path
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, check=False,
                          **kwargs)


def test_built_tarball_installs_and_documents_itself(tmp_path):
    built = _run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", ROOT, "--output-path", str(tmp_path),
                  "--force"], cwd=str(tmp_path))
    assert built.returncode == 0, built.stdout
    tarball = tmp_path / "hotdash-supabase-0.1.0.tar.gz"
    with tarfile.open(str(tarball)) as archive:
        names = archive.getnames()
    leaked = [n for n in names if n.split("/")[0] in (".ansible", ".venv", ".build", ".demo", "artifacts")
              or "node_modules" in n or "__pycache__" in n]
    assert not leaked, leaked[:5]
    assert "plugins/modules/migration_apply.py" in names and "roles/preflight/meta/argument_specs.yml" in names

    target = tmp_path / "collections"
    # --force: a copy of hotdash.supabase in ~/.ansible/collections (ansible-lint puts one there) would otherwise
    # make the install a no-op ("already installed") and leave the target empty.
    installed = _run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", str(tarball), "-p", str(target),
                      "--force"], cwd=str(tmp_path))
    assert installed.returncode == 0, installed.stdout
    env_path = dict(ANSIBLE_COLLECTIONS_PATH=str(target))
    doc = _run([os.path.join(BIN, "ansible-doc"), "hotdash.supabase.migration_apply"], cwd=str(tmp_path),
               env=dict(os.environ, ANSIBLE_NOCOLOR="1", **env_path))
    assert doc.returncode == 0 and "MODULE hotdash.supabase.migration_apply" in doc.stdout, doc.stdout[:2000]
    assert str(target) in doc.stdout.splitlines()[0]  # the installed copy answered
    role_doc = _run([os.path.join(BIN, "ansible-doc"), "-t", "role", "hotdash.supabase.preflight"], cwd=str(tmp_path),
                    env=dict(os.environ, ANSIBLE_NOCOLOR="1", **env_path))
    assert role_doc.returncode == 0 and "supabase_preflight_backup_max_age_hours" in role_doc.stdout
