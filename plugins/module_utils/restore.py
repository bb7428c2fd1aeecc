# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logical restore of the custom-format dump the preflight took (``pg_dump -Fc``), and what the dump holds.

What the dump holds is read without a database: ``pg_restore --data-only -f -`` prints each table's
``COPY ... FROM stdin;`` block, one line per row (text COPY escapes newlines inside values), so
:func:`dump_contents` counts rows per table and reads the history table's versions from that stream.

The restore itself: ``pg_restore --clean --if-exists`` limited to the application schemas and the
history schema writes the SQL, and ``psql --single-transaction -v ON_ERROR_STOP=1`` runs it after
statements that drop what those schemas hold now. The drop is needed because objects created after
the dump (the view a migration added on a table the dump restores) are unknown to ``--clean`` and make
its ``DROP TABLE`` fail; doing both in one psql transaction keeps the restore all-or-nothing, which
``pg_restore --single-transaction`` alone could not give together with the drop. Other schemas
(``auth``, ``extensions``, the audit trail ``hotdash_audit``) are left alone. Passwords go to the
child processes in ``PGPASSWORD`` only.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess
import tempfile

try:
    from psycopg2 import sql
except ImportError:  # pragma: no cover - the module reports missing_required_lib('psycopg2')
    sql = None

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import redact
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput, SupabaseError
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import brief
from ansible_collections.hotdash.supabase.plugins.module_utils.process import start_process, stderr_lines
from ansible_collections.hotdash.supabase.plugins.module_utils.history import HISTORY_QUALIFIED, HISTORY_SCHEMA

_COPY_RE = re.compile(r'^COPY ("?[^".\s]+"?|"[^"]+")\.("?[^".\s(]+"?|"[^"]+") \(.*\) FROM stdin;$')


class RestoreError(SupabaseError):
    """The dump could not be read or restored; the database is as it was (the restore is one transaction)."""


def _unquote(name):
    return name[1:-1].replace('""', '"') if name.startswith('"') and name.endswith('"') else name


def parse_copy_stream(lines):
    """``{"schema.table": rows}`` and the history versions from ``pg_restore --data-only`` text output."""
    counts = {}
    versions = []
    current = None
    for raw in lines:
        line = raw.rstrip("\n")
        if current is None:
            match = _COPY_RE.match(line)
            if match:
                current = "%s.%s" % (_unquote(match.group(1)), _unquote(match.group(2)))
                counts[current] = 0
            continue
        if line == "\\.":
            current = None
            continue
        counts[current] += 1
        if current == HISTORY_QUALIFIED:
            versions.append(line.split("\t", 1)[0])
    return counts, sorted(versions)


_INSTALL = "install the PostgreSQL client tools or set pg_bin_dir"


def _tool(bin_dir, name):
    return os.path.join(bin_dir, name) if bin_dir else name


def check_dump(path):
    if not path:
        raise InvalidInput("logical_restore needs backup_path: the pg_dump -Fc file the preflight took "
                           "(supabase_preflight_result.backup_path)")
    if not os.path.isfile(path):
        raise InvalidInput("backup file %s not found; point backup_path at the dump the preflight took" % path)


def dump_contents(path, schemas, bin_dir=None, timeout=3600):
    """``(counts, history_versions)`` of the dump for ``schemas`` (the history schema is always read)."""
    check_dump(path)
    argv = [_tool(bin_dir, "pg_restore"), "--data-only", "-f", "-"]
    for schema in list(schemas) + [HISTORY_SCHEMA]:
        argv += ["-n", schema]
    argv.append(path)
    with tempfile.TemporaryFile() as err:
        proc = start_process(argv, "pg_restore", RestoreError, _INSTALL, stdout=subprocess.PIPE, stderr=err,
                             stdin=subprocess.DEVNULL, universal_newlines=True)
        try:
            counts, versions = parse_copy_stream(proc.stdout)
        finally:
            proc.stdout.close()
            rc = proc.wait(timeout=timeout)
        if rc != 0:
            raise RestoreError("pg_restore cannot read %s (exit %d): %s; is it a pg_dump -Fc file?"
                               % (path, rc, (stderr_lines(err) or ["no message"])[-1]))
    return counts, versions


# -- what a schema holds, and the statements that drop it ------------------------------------------------------

_OBJECTS = """
SELECT kind, schema_name, name, signature FROM (
  SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE'
                        WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind,
         n.nspname AS schema_name, c.relname AS name, NULL::text AS signature,
         CASE c.relkind WHEN 'v' THEN 1 WHEN 'm' THEN 1 ELSE 2 END AS rank
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND NOT c.relispartition
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                     AND d.deptype IN ('e', 'a', 'i'))
  UNION ALL
  SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
         n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), 3
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname = ANY(%(schemas)s)
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                     AND d.deptype = 'e')
  UNION ALL
  SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, n.nspname, t.typname, NULL, 4
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
   WHERE n.nspname = ANY(%(schemas)s) AND t.typtype IN ('e', 'd', 'r', 'm')
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                     AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'TYPE', n.nspname, t.typname, NULL, 4
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_class c ON c.oid = t.typrelid
   WHERE n.nspname = ANY(%(schemas)s) AND t.typtype = 'c' AND c.relkind = 'c'
) objects ORDER BY rank, schema_name, name
"""


def schema_objects(cur, schemas):
    """Objects the schemas hold that a migration could have created (extension members excluded)."""
    cur.execute(_OBJECTS, dict(schemas=list(schemas)))
    return [dict(kind=row[0], schema=row[1], name=row[2], signature=row[3]) for row in cur.fetchall()]


def drop_statements(objects):
    """``DROP <kind> IF EXISTS ... CASCADE`` for each object, composed with identifiers (never formatted)."""
    out = []
    for obj in objects:
        name = sql.SQL("{}.{}").format(sql.Identifier(obj["schema"]), sql.Identifier(obj["name"]))
        if obj["signature"] is not None:
            # The identity arguments come from pg_get_function_identity_arguments: server-generated type names.
            name = sql.SQL("{}({})").format(name, sql.SQL(obj["signature"]))
        out.append(sql.SQL("DROP {} IF EXISTS {} CASCADE").format(sql.SQL(obj["kind"]), name))
    return out


def describe_objects(objects, limit=8):
    return brief(("%s %s.%s" % (o["kind"].lower(), o["schema"], o["name"]) for o in objects), limit)


# -- the restore ------------------------------------------------------------------------------------------------

def restore_dump(settings, path, schemas, drop_sql, log=None, bin_dir=None, timeout=3600):
    """Drop what ``schemas`` hold (``drop_sql``: statements as text) and restore them and the history from the dump.

    One ``psql --single-transaction``: on any error nothing changed. Returns the number of SQL lines run.
    """
    check_dump(path)
    restore_argv = [_tool(bin_dir, "pg_restore"), "--clean", "--if-exists", "--no-owner", "-f", "-"]
    for schema in list(schemas) + [HISTORY_SCHEMA]:
        restore_argv += ["-n", schema]
    restore_argv.append(path)
    psql_argv = [_tool(bin_dir, "psql"), "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1",
                 "--single-transaction", "-f", "-"] + settings.libpq_args()
    env = settings.child_env(dict(os.environ))
    # The database may be held read-only for the application; this session must write.
    env["PGOPTIONS"] = (env.get("PGOPTIONS", "") + " -c default_transaction_read_only=off").strip()
    env["PGAPPNAME"] = "hotdash.supabase migration_rollback"
    secrets = settings.secrets()
    if log is not None:
        log.write("restoring %s into %s (schemas %s and %s) in one transaction"
                  % (path, settings.describe(), ", ".join(schemas), HISTORY_SCHEMA))
    with tempfile.TemporaryFile() as restore_err, tempfile.TemporaryFile() as psql_err:
        producer = start_process(restore_argv, "pg_restore", RestoreError, _INSTALL, stdout=subprocess.PIPE,
                                 stderr=restore_err, stdin=subprocess.DEVNULL)
        try:
            consumer = start_process(psql_argv, "psql", RestoreError, _INSTALL, stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=psql_err, env=env)
        except RestoreError:
            producer.kill()
            producer.wait()
            raise
        try:
            for statement in drop_sql:
                consumer.stdin.write((statement + ";\n").encode("utf-8"))
            for chunk in iter(lambda: producer.stdout.read(65536), b""):
                consumer.stdin.write(chunk)
        except BrokenPipeError:
            pass  # psql stopped on an error; its message is read below
        finally:
            producer.stdout.close()
            try:
                consumer.stdin.close()
            except BrokenPipeError:
                pass
        producer_rc = producer.wait(timeout=timeout)
        consumer_rc = consumer.wait(timeout=timeout)
        if producer_rc != 0:
            raise RestoreError("pg_restore cannot read %s (exit %d): %s; nothing was restored"
                               % (path, producer_rc, (stderr_lines(restore_err) or ["no message"])[-1]))
        if consumer_rc != 0:
            lines = stderr_lines(psql_err)
            errors = [x for x in lines if "ERROR" in x] or lines
            raise RestoreError("restore of %s into %s failed and was rolled back: %s"
                               % (path, settings.describe(), redact(errors[0] if errors else "psql exited %d"
                                                                    % consumer_rc, secrets)[:300]))
    if log is not None:
        log.write("restore committed")
