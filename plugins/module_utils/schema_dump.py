# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A database's schema as ``pg_dump -s`` writes it, one entry per object, and how to restore entries one by one.

- :func:`dump_schema` runs ``pg_dump --schema-only --format=custom`` on a database (read-only, in its own
  snapshot; ``--lock-wait-timeout`` so it never queues behind a long lock; the password through PGPASSWORD).
- :func:`read_entries` turns the archive into :class:`DumpEntry` items: pg_restore's plain output carries a
  header per archive entry (``-- Name: t p; Type: POLICY; Schema: public; Owner: postgres``), which names the
  object, its type and schema exactly as pg_dump does, followed by the entry's SQL.
- :func:`restore_entries` runs entries into another database one at a time, each as one implicit
  transaction, and returns those that failed (an extension the other server lacks, a role it does not have)
  instead of stopping at the first: the caller decides what an incomplete copy means.
- :meth:`DumpEntry.normalised` is what two schemas are compared by: the entry's statements without
  ownership (``ALTER ... OWNER TO``) and session settings, trailing white space and blank lines dropped.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re
import shutil
from collections import namedtuple

try:
    import psycopg2
except ImportError:  # pragma: no cover - modules report missing_required_lib
    psycopg2 = None

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import SupabaseError
from ansible_collections.hotdash.supabase.plugins.module_utils.pg_errors import error_line
from ansible_collections.hotdash.supabase.plugins.module_utils.process import last_line, run_process
from ansible_collections.hotdash.supabase.plugins.module_utils.statements import split_statements

# Schemas the Supabase platform and its extensions own (the CLI's own list of internal schemas), plus this
# collection's audit schema: never the project's objects, so not compared as drift unless asked for.
MANAGED_SCHEMAS = (
    "information_schema", "pg_catalog", "pg_toast", "_analytics", "_realtime", "_supavisor", "auth", "extensions",
    "pgbouncer", "realtime", "storage", "supabase_functions", "supabase_migrations", "cron", "dbdev", "graphql",
    "graphql_public", "net", "pgmq", "pgsodium", "pgsodium_masks", "pgtle", "repack", "tiger", "tiger_data",
    "topology", "vault", "hotdash_audit",
)
MANAGED_PATTERNS = ("pg_*", "timescaledb_*", "_timescaledb_*")
# Not copied into a shadow: schemas of Supabase services and extensions that migrations do not build on and
# that a local server cannot recreate (their extensions are not installed there). auth, storage, extensions and
# the history schema are copied: migrations refer to auth.users, storage.buckets and extension functions.
SHADOW_EXCLUDED_SCHEMAS = (
    "_analytics", "_realtime", "_supavisor", "realtime", "supabase_functions", "pgbouncer", "graphql",
    "graphql_public", "net", "pgsodium", "pgsodium_masks", "vault", "pgtle", "dbdev", "repack", "cron", "pgmq",
    "tiger", "tiger_data", "topology", "timescaledb_*", "_timescaledb_*",
)

_HEADER = re.compile(r"^--\n-- (?:Data for )?Name: (?P<name>.*?); Type: (?P<type>[A-Z][A-Z ]*?); "
                     r"Schema: (?P<schema>[^;\n]*); Owner: (?P<owner>[^\n]*)\n--\n", re.MULTILINE)
# pg_dump 15.14+ brackets its output with psql meta-commands that a server does not understand.
_META = re.compile(r"^\\(?:un)?restrict \S+[ \t]*$", re.MULTILINE)
_FOOTER = re.compile(r"^--\n-- PostgreSQL database dump complete\n--\n", re.MULTILINE)
_OWNER = re.compile(r"^ALTER [A-Z ]+ [^\n]* OWNER TO \S+$")
_SESSION = re.compile(r"^(SET |SELECT pg_catalog\.set_config\()")
_INSTALL = "install the PostgreSQL client tools (make setup does) or set pg_bin_dir"


class SchemaDumpError(SupabaseError):
    """pg_dump or pg_restore failed, or is missing or too old for the server."""


# Entries about another object (pg_dump tags them "<KIND> <name>"), labelled like the SQL that makes them.
_ON_OBJECT = {"ACL": "GRANTS ON", "COMMENT": "COMMENT ON", "SECURITY LABEL": "SECURITY LABEL ON"}


class DumpEntry(namedtuple("DumpEntry", ["type", "schema", "name", "owner", "sql"])):
    """One archive entry: ``type`` (TABLE, POLICY, ACL ...), ``schema`` ('' for database-level), ``name``, SQL."""

    __slots__ = ()

    @property
    def scope(self):
        """The schema the entry belongs to: its own schema, the schema it creates or grants on, else ''."""
        if self.schema:
            return self.schema
        if self.type == "SCHEMA":
            return self.name
        if self.type in ("ACL", "COMMENT") and self.name.startswith("SCHEMA "):
            return self.name[len("SCHEMA "):]
        return ""

    @property
    def key(self):
        return (self.type, self.scope, self.name)

    def label(self):
        """How a person finds it: ``POLICY public.t p``, ``GRANTS ON TABLE public.t``, ``COMMENT ON FUNCTION
        public.f()``, ``DEFAULT PRIVILEGES FOR TABLES IN SCHEMA public``, ``SCHEMA analytics``."""
        if self.type in _ON_OBJECT:
            kind, _sep, rest = self.name.partition(" ")
            target = "%s %s.%s" % (kind, self.schema, rest) if self.schema and rest else self.name
            return "%s %s" % (_ON_OBJECT[self.type], target)
        if self.type == "DEFAULT ACL":
            return "%s IN SCHEMA %s" % (self.name, self.schema) if self.schema else self.name
        if self.schema:
            return "%s %s.%s" % (self.type, self.schema, self.name)
        return "%s %s" % (self.type, self.name)

    def statements(self):
        return split_statements(self.sql)

    def normalised(self):
        """The entry's statements without ownership and session settings, as compared between two schemas."""
        kept = []
        for statement in self.statements():
            if _OWNER.match(statement) or _SESSION.match(statement):
                continue
            lines = [line.rstrip() for line in statement.splitlines()]
            kept.append("\n".join(line for line in lines if line))
        return "\n".join(kept)


def pg_tool(name, bin_dir=None):
    """Path of a PostgreSQL client program: ``bin_dir``, else the newest Debian versioned one, else PATH."""
    if bin_dir:
        candidate = os.path.join(bin_dir, name)
        if not os.access(candidate, os.X_OK):
            raise SchemaDumpError("%s not found in %s; %s" % (name, bin_dir, _INSTALL))
        return candidate
    versioned = sorted(glob.glob("/usr/lib/postgresql/*/bin/%s" % name),
                       key=lambda path: [int(part) for part in path.split("/")[4].split(".") if part.isdigit()])
    if versioned:
        return versioned[-1]
    found = shutil.which(name)
    if not found:
        raise SchemaDumpError("%s not found on PATH; %s" % (name, _INSTALL))
    return found


def _run(argv, what, env=None, secrets=(), timeout=600):
    result = run_process(argv, what, timeout=timeout, env=env, secrets=secrets, error=SchemaDumpError, check=False,
                         install_hint=_INSTALL)
    if result.rc != 0:
        hint = ""
        if "server version mismatch" in result.stderr:
            hint = "; use pg_dump of the server's major version or newer (pg_bin_dir)"
        raise SchemaDumpError("%s exited %d: %s%s" % (what, result.rc, last_line(result.stderr or result.stdout), hint))
    return result.stdout


def dump_schema(settings, path, pg_dump="pg_dump", exclude_schemas=(), lock_wait_timeout=5.0, timeout=600):
    """``pg_dump --schema-only --format=custom`` of ``settings``' database into ``path``.

    ``lock_wait_timeout`` (seconds): pg_dump takes ACCESS SHARE locks on every table it dumps; it gives up
    instead of queueing behind a migration's ACCESS EXCLUSIVE lock.
    """
    argv = [pg_dump, "--schema-only", "--format=custom", "--no-password", "--no-subscriptions",
            "--no-security-labels", "--no-tablespaces", "--lock-wait-timeout=%d" % max(1, int(lock_wait_timeout * 1000)),
            "--file", path]
    for schema in exclude_schemas:
        argv += ["--exclude-schema", schema]
    argv += settings.libpq_args()
    env = settings.child_env(dict(os.environ, PGAPPNAME="hotdash.supabase schema dump"))
    _run(argv, "pg_dump --schema-only of %s" % settings.describe(), env=env, secrets=settings.secrets(),
         timeout=timeout)
    return path


def parse_entries(text):
    """``(preamble, [DumpEntry])`` from pg_restore's (or pg_dump's) plain SQL output."""
    headers = list(_HEADER.finditer(text))
    end_of_preamble = headers[0].start() if headers else len(text)
    preamble = "\n".join(line for line in _sql_only(text[:end_of_preamble]).splitlines()
                         if not line.startswith("--")).strip()
    entries = []
    for index, match in enumerate(headers):
        end = headers[index + 1].start() if index + 1 < len(headers) else len(text)
        schema = match.group("schema").strip()
        entries.append(DumpEntry(match.group("type").strip(), "" if schema == "-" else schema,
                                 match.group("name"), match.group("owner").strip(),
                                 _sql_only(text[match.end():end])))
    return preamble, entries


def _sql_only(text):
    """The SQL of a dump section: psql's ``\\restrict`` lines and pg_dump's own comment blocks dropped.

    Other lines are kept as they are: a function body may hold lines that start with ``--``.
    """
    text = _META.sub("", text)
    text = _FOOTER.sub("", text)
    return text.strip()


def read_entries(path, pg_restore="pg_restore", timeout=600):
    """The entries of a custom-format archive (``pg_restore -f -``), in the archive's restore order."""
    text = _run([pg_restore, "--file", "-", path], "pg_restore of %s" % os.path.basename(path), timeout=timeout)
    return parse_entries(text)


def restore_entries(conn, preamble, entries):
    """Run ``entries`` into ``conn``'s database one by one (autocommit); return ``[{entry, error}]`` of failures."""
    conn.autocommit = True
    failed = []
    with conn.cursor() as cur:
        if preamble:
            cur.execute(preamble)
        for entry in entries:
            if not entry.sql:
                continue
            try:
                cur.execute(entry.sql)
            except psycopg2.Error as exc:
                failed.append({"object": entry.label(), "type": entry.type, "schema": entry.scope,
                               "error": error_line(exc)})
    return failed


def objects_in(entries, schemas):
    """``{key: DumpEntry}`` of the entries that belong to one of ``schemas``."""
    wanted = set(schemas)
    return dict((entry.key, entry) for entry in entries if entry.scope in wanted)


def is_managed(schema):
    """True for a schema the platform or an extension owns (MANAGED_SCHEMAS and their patterns)."""
    if schema in MANAGED_SCHEMAS:
        return True
    return any(re.match(pattern.replace("*", ".*") + "$", schema) for pattern in MANAGED_PATTERNS)


def server_version(cur):
    """``(server_version_num, "15.18")`` of the connected server."""
    cur.execute("SELECT current_setting('server_version_num')::int, current_setting('server_version')")
    num, text = cur.fetchone()
    return num, text.split(" ")[0]
