"""Where the Molecule scenarios' PostgreSQL runs (extensions/molecule/README.md, "Platforms").

- scripts/molecule.sh refuses an unknown HOTDASH_MOLECULE_PLATFORM in one line, before any scenario runs.
- extensions/molecule/shared/probe.yml decides between `container` and `local` and says why: podman missing, or
  a container that podman cannot start (every `make molecule` run shows the case where one ran).
- tools/throwaway_pg.py attach: a server started elsewhere is waited for, shaped like Supabase and described
  like a throwaway cluster; a wrong password or a missing PGPASSWORD is a one-line error.
- The local image (tools/postgres_image): it carries the hash of its recipe, build.sh is a no-op for it, and its
  entry point refuses to create a cluster without POSTGRES_PASSWORD.
What the image's PostgreSQL holds (Supabase shape, pg_stat_statements, pgTAP, plpgsql_check) is asserted by the
`default` Molecule scenario, on both platforms.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid

import psycopg2
import pytest

import throwaway_pg

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
IMAGE = "localhost/hotdash/supabase-postgres:15"
IMAGE_DIR = os.path.join(ROOT, "tools", "postgres_image")
PODMAN = shutil.which("podman")


def _run(argv, env=None, timeout=300):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", NO_COLOR="1",
               **(env or {}))
    return subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          check=False, stdin=subprocess.DEVNULL, timeout=timeout)


def _probe(tmp_path, env=None):
    verdict = tmp_path / "verdict.json"
    proc = _run([os.path.join(BIN, "ansible-playbook"), "extensions/molecule/shared/probe.yml",
                 "-e", "hotdash_molecule_probe_file=%s" % verdict], env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(verdict.read_text())


@pytest.fixture(scope="module")
def image():
    """The image make setup builds; skipped where podman cannot hold it (not root, podman missing)."""
    if not PODMAN or os.geteuid() != 0:
        pytest.skip("the local image is built by make setup as root with podman")
    if subprocess.run([PODMAN, "image", "exists", IMAGE], check=False).returncode != 0:
        pytest.fail("%s is not built: run make setup (tools/postgres_image/build.sh)" % IMAGE)
    return IMAGE


def test_molecule_sh_refuses_an_unknown_platform():
    proc = _run(["bash", "scripts/molecule.sh", "apply"], {"HOTDASH_MOLECULE_PLATFORM": "docker"})
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == ("molecule: HOTDASH_MOLECULE_PLATFORM=docker is not a platform: use auto, container or "
                           "local\n")


def test_probe_chooses_local_without_podman(tmp_path):
    # This machine's PATH without podman: every other program linked into one directory.
    tools = tmp_path / "bin"
    tools.mkdir()
    for directory in reversed(os.environ["PATH"].split(os.pathsep)):
        for name in os.listdir(directory) if os.path.isdir(directory) else ():
            if name != "podman" and not (tools / name).exists():
                (tools / name).symlink_to(os.path.join(directory, name))
    assert _probe(tmp_path, {"PATH": str(tools)}) == {"platform": "local", "reason": "podman is not installed"}


def test_probe_says_why_a_container_cannot_run(image, tmp_path):
    # An open-files limit no host grants: podman's runtime refuses it, as it refuses podman's defaults on some hosts.
    verdict = _probe(tmp_path, {"HOTDASH_MOLECULE_ULIMITS": "nofile=2147483647:2147483647"})
    assert verdict["platform"] == "local"
    assert verdict["reason"].startswith("podman cannot run a container here: ")
    assert "rlimit" in verdict["reason"].lower()
    assert "\n" not in verdict["reason"]


def test_image_carries_its_recipe_and_build_is_a_no_op(image):
    recipe = b"".join(open(os.path.join(IMAGE_DIR, name), "rb").read() for name in ("build.sh", "entrypoint.sh"))
    inspect = _run([PODMAN, "image", "inspect", image])
    labels = json.loads(inspect.stdout)[0]["Labels"]
    assert labels["org.hotdash.image-recipe"] == hashlib.sha256(recipe).hexdigest()[:16], \
        "the image was built from another recipe: run make setup"
    before = json.loads(inspect.stdout)[0]["Id"]
    build = _run(["bash", os.path.join(IMAGE_DIR, "build.sh")])
    assert (build.returncode, build.stdout, build.stderr) == (0, "", "")
    assert json.loads(_run([PODMAN, "image", "inspect", image]).stdout)[0]["Id"] == before


def test_image_refuses_to_initialise_without_a_password(image):
    proc = _run([PODMAN, "run", "--rm", "--runtime", "runc", "--ulimit", "nofile=10000:10000",
                 "--ulimit", "nproc=1000:1000", image, "postgres"], timeout=60)
    assert proc.returncode == 1
    assert proc.stderr == ("entrypoint: POSTGRES_PASSWORD is not set: the superuser needs a password for TCP "
                           "connections\n")


def _attach(port, password=None, extra=()):
    env = {key: value for key, value in os.environ.items() if key != "PGPASSWORD"}
    if password is not None:
        env["PGPASSWORD"] = password
    return subprocess.run([sys.executable, os.path.join(ROOT, "tools", "throwaway_pg.py"), "attach",
                           "--port", str(port)] + list(extra), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, check=False, timeout=120)


def test_attach_shapes_and_describes_a_running_server(pg_cluster):
    name = "attached_%s" % uuid.uuid4().hex[:8]
    try:
        proc = _attach(pg_cluster["port"], pg_cluster["password"], ["--shape-db", name])
        assert proc.returncode == 0, proc.stderr
        info = json.loads(proc.stdout)
        assert info["datadir"] is None
        assert (info["host"], info["port"], info["user"]) == ("127.0.0.1", pg_cluster["port"], "postgres")
        assert info["databases"] == {name: pg_cluster["url"].replace("/postgres?", "/%s?" % name)}
        with psycopg2.connect(info["databases"][name]) as conn, conn.cursor() as cur:
            cur.execute("SELECT to_regclass('auth.users') IS NOT NULL, to_regprocedure('auth.uid()') IS NOT NULL, "
                        "current_setting('search_path')")
            assert cur.fetchone() == (True, True, '"$user", public, extensions')
        conn.close()
    finally:
        throwaway_pg.psql(pg_cluster, "postgres", 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)


def test_attach_with_a_wrong_password_is_one_line_and_shapes_nothing(pg_cluster):
    name = "attached_%s" % uuid.uuid4().hex[:8]
    proc = _attach(pg_cluster["port"], "not-the-password", ["--timeout", "1", "--shape-db", name])
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == "PostgreSQL on port %d did not become ready\n" % pg_cluster["port"]
    with psycopg2.connect(pg_cluster["url"]) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,))
        assert cur.fetchone() == (0,)
    conn.close()


def test_attach_without_pgpassword_is_one_line(pg_cluster):
    proc = _attach(pg_cluster["port"])
    assert proc.returncode == 1
    assert proc.stderr == "attach: set PGPASSWORD to the superuser password of the server on port %d\n" \
        % pg_cluster["port"]
