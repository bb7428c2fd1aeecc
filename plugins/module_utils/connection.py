# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one connection argument spec, DSN building and redaction, and connect().

Every module takes either ``db_url`` (a libpq URL) or the ``login_*`` options. The password is
never printed: :func:`redact` masks it in any text, :func:`secret_values` lists what a module
must add to ``no_log_values``, and child processes get it through ``PGPASSWORD``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import copy
import re

try:
    from urllib.parse import quote, unquote, urlsplit, urlunsplit, parse_qsl, urlencode
except ImportError:  # pragma: no cover - Python 2 is not supported by the collection
    raise

try:
    import psycopg2
    import psycopg2.extensions
    HAS_PSYCOPG2 = True
    PSYCOPG2_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised through missing_required_lib
    psycopg2 = None
    HAS_PSYCOPG2 = False
    PSYCOPG2_IMPORT_ERROR = exc

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ConnectionFailed, InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.pg_errors import connection_failure
from ansible_collections.hotdash.supabase.plugins.module_utils.timestamps import iso_precise

SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
# Supabase's transaction-mode pooler (Supavisor/PgBouncer) listens here; it cannot hold session state.
TRANSACTION_POOLER_PORT = 6543

# The password runs to the LAST "@" of the URL: an unencoded "@" inside it is masked whole, never half.
_URL_PASSWORD = re.compile(r"(?P<prefix>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<secret>\S*)(?P<at>@)")
_KEYWORD_PASSWORD = re.compile(r"(?P<prefix>\bpassword\s*=\s*)(?P<secret>'(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
REDACTED = "********"
# Query keys of db_url the collection reads itself; libpq never sees them (pgbouncer=true marks a pooler URL).
COLLECTION_URL_KEYS = ("pgbouncer",)


def connection_argument_spec():
    """Argument spec shared by every module that talks to a database."""
    return dict(
        db_url=dict(type="str", no_log=True, aliases=["dsn"]),
        login_host=dict(type="str", aliases=["host"]),
        login_port=dict(type="int", default=5432, aliases=["port"]),
        login_user=dict(type="str", default="postgres", aliases=["user"]),
        login_password=dict(type="str", no_log=True, aliases=["password"]),
        login_db=dict(type="str", default="postgres", aliases=["db", "database"]),
        ssl_mode=dict(type="str", default="prefer", choices=SSL_MODES),
        connect_timeout=dict(type="int", default=10),
    )


CONNECTION_MUTUALLY_EXCLUSIVE = [
    ("db_url", "login_host"),
    ("db_url", "login_password"),
]


def redact(text, extra_secrets=()):
    """Mask passwords in URLs (``user:pw@``), keyword DSNs (``password=pw``) and known secrets."""
    if text is None:
        return text
    text = str(text)
    for secret in extra_secrets:
        if secret and len(str(secret)) >= 3:
            text = text.replace(str(secret), REDACTED)
    text = _URL_PASSWORD.sub(lambda m: m.group("prefix") + REDACTED + m.group("at"), text)
    text = _KEYWORD_PASSWORD.sub(lambda m: m.group("prefix") + REDACTED, text)
    return text


def redact_all(value, extra_secrets=()):
    """:func:`redact` applied to every string anywhere in ``value`` (dicts and lists walked); other values kept."""
    if isinstance(value, dict):
        return dict((key, redact_all(item, extra_secrets)) for key, item in value.items())
    if isinstance(value, list):
        return [redact_all(item, extra_secrets) for item in value]
    if isinstance(value, str):
        return redact(value, extra_secrets)
    return value


class ConnectionSettings(object):
    """Where and how to connect; built from module params or a URL, never printed with its password."""

    def __init__(self, host=None, port=5432, user="postgres", password=None, dbname="postgres",
                 ssl_mode="prefer", connect_timeout=10, options=None):
        self.host = host
        self.port = int(port) if port is not None else 5432
        self.user = user
        self.password = password
        self.dbname = dbname
        self.ssl_mode = ssl_mode
        self.connect_timeout = int(connect_timeout) if connect_timeout is not None else 10
        self.options = dict(options or {})
        self.pooler_hint = False

    @classmethod
    def from_params(cls, params):
        """Build from the shared argument spec's values (a module's ``params``)."""
        if params.get("db_url"):
            return cls.from_url(params["db_url"], connect_timeout=params.get("connect_timeout"),
                                ssl_mode=params.get("ssl_mode") if params.get("ssl_mode") != "prefer" else None)
        return cls(host=params.get("login_host") or "localhost", port=params.get("login_port") or 5432,
                   user=params.get("login_user") or "postgres", password=params.get("login_password"),
                   dbname=params.get("login_db") or "postgres", ssl_mode=params.get("ssl_mode") or "prefer",
                   connect_timeout=params.get("connect_timeout") or 10)

    @classmethod
    def from_url(cls, url, connect_timeout=None, ssl_mode=None, option="db_url"):
        """Parse a ``postgres://`` / ``postgresql://`` URL; InvalidInput naming ``option`` when it is not one.

        A ``password`` in the query string is taken as the password (libpq would read it the same way), so it
        reaches child processes through PGPASSWORD and never a command line; other query keys must be
        libpq connection options (``sslmode``, ``application_name``, ...), or ``pgbouncer``.
        """
        try:
            parts = urlsplit(url)
            port = parts.port or 5432
        except ValueError as exc:
            raise InvalidInput("%s is not a valid postgresql:// URL (%s): %s" % (option, exc, redact(url)))
        if parts.scheme not in ("postgres", "postgresql"):
            raise InvalidInput("%s must be a postgresql:// URL (got scheme %r): %s"
                               % (option, parts.scheme or "", redact(url)))
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        unknown = [key for key in query if key not in COLLECTION_URL_KEYS and not _libpq_knows(key)]
        if unknown:
            raise InvalidInput("%s has an unknown connection option %s: %s; use libpq's keywords (sslmode, "
                               "connect_timeout, application_name, ...)"
                               % (option, ", ".join(repr(k) for k in unknown), redact(url)))
        mode = ssl_mode or query.pop("sslmode", None) or "prefer"
        query.pop("sslmode", None)
        timeout = connect_timeout or query.pop("connect_timeout", None) or 10
        query.pop("connect_timeout", None)
        if mode not in SSL_MODES:
            raise InvalidInput("%s has an unknown sslmode %r; use one of %s" % (option, mode, ", ".join(SSL_MODES)))
        try:
            timeout = int(timeout)
        except ValueError:
            raise InvalidInput("%s has a connect_timeout that is not a whole number of seconds: %r" % (option, timeout))
        password = query.pop("password", None)
        if password is None and parts.password is not None:
            password = unquote(parts.password)
        pooler = query.pop("pgbouncer", None)
        settings = cls(host=parts.hostname or "localhost", port=port,
                       user=unquote(parts.username) if parts.username else "postgres",
                       password=password, dbname=unquote(parts.path.lstrip("/")) or "postgres", ssl_mode=mode,
                       connect_timeout=timeout, options=query)
        settings.pooler_hint = pooler is not None and pooler.lower() not in ("false", "0", "no", "off")
        return settings

    def url(self, with_password=True):
        """The libpq URL (what ``supabase --db-url`` takes); ``with_password=False`` leaves it out."""
        auth = quote(self.user or "", safe="")
        if with_password and self.password:
            auth += ":" + quote(self.password, safe="")
        host = self.host or "localhost"
        if ":" in host and not host.startswith("["):
            host = "[%s]" % host
        query = dict(self.options)
        query["sslmode"] = self.ssl_mode
        query["connect_timeout"] = str(self.connect_timeout)
        return urlunsplit(("postgresql", "%s@%s:%d" % (auth, host, self.port),
                           "/" + quote(self.dbname or "postgres", safe=""), urlencode(query), ""))

    def redacted_url(self):
        """For messages and artifacts: the URL with the password masked."""
        return redact(self.url(with_password=True))

    def libpq_kwargs(self):
        kwargs = dict(host=self.host, port=self.port, user=self.user, dbname=self.dbname,
                      sslmode=self.ssl_mode, connect_timeout=self.connect_timeout)
        if self.password:
            kwargs["password"] = self.password
        kwargs.update(self.options)
        return kwargs

    def child_env(self, base_env=None):
        """Environment for a child process (psql, pg_dump, the CLI): password via PGPASSWORD, not argv."""
        env = dict(base_env or {})
        if self.password:
            env["PGPASSWORD"] = self.password
        env["PGSSLMODE"] = self.ssl_mode
        env["PGCONNECT_TIMEOUT"] = str(self.connect_timeout)
        return env

    def libpq_args(self):
        """psql/pg_dump/pg_restore connection arguments, password excluded (see child_env)."""
        return ["-h", self.host or "localhost", "-p", str(self.port), "-U", self.user or "postgres",
                "-d", self.dbname or "postgres"]

    def is_transaction_pooler(self):
        """True for Supabase's transaction-mode pooler, which cannot hold a session-level lock."""
        return self.port == TRANSACTION_POOLER_PORT or self.pooler_hint

    def secrets(self):
        return [self.password] if self.password else []

    def describe(self):
        return "%s@%s:%d/%s" % (self.user, self.host, self.port, self.dbname)

    def for_database(self, dbname):
        """The same server and credentials, another database (``ALTER DATABASE`` of a database not connected to)."""
        other = copy.copy(self)
        other.options = dict(self.options)
        other.dbname = dbname
        return other


def _libpq_knows(key):
    """True when libpq accepts ``key`` as a connection option (asked of libpq itself, no connection made)."""
    if not HAS_PSYCOPG2:
        return True
    try:
        psycopg2.extensions.parse_dsn("postgresql:///?%s=1" % quote(key, safe=""))
    except psycopg2.ProgrammingError:
        return False
    return True


def url_secrets(url):
    """The password(s) a URL carries, also when it is not a valid URL: for ``no_log_values``."""
    if not url:
        return []
    values = []
    match = _URL_PASSWORD.search(str(url))
    if match and match.group("secret"):
        values.extend([match.group("secret"), unquote(match.group("secret"))])
    for pair in str(url).partition("?")[2].split("&"):
        key, _sep, value = pair.partition("=")
        if unquote(key) == "password" and value:
            values.extend([value, unquote(value)])
    return sorted(set(values), key=values.index)


def secret_values(params):
    """Values a module must add to ``no_log_values``: the password embedded in ``db_url`` and in any other
    ``*_db_url`` option (another database the module reads, e.g. ``promotion_db_url``), however written."""
    values = []
    for name in sorted(params):
        if name == "db_url" or name.endswith("_db_url"):
            values.extend(url_secrets(params.get(name)))
    if params.get("login_password"):
        values.append(params["login_password"])
    return values


@contextlib.contextmanager
def transaction(conn):
    """A cursor in one transaction on ``conn``: committed when the block ends, rolled back on any error."""
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            yield cur
        conn.commit()
    except BaseException:
        if not conn.closed:
            conn.rollback()
        raise


def server_clock(cur):
    """The database server's clock now (not its transaction's start) as ``iso_precise`` text: moments the server
    compares with its own (``backend_start``, a PITR target) are taken from it, never from the controller."""
    cur.execute("SELECT clock_timestamp()")
    return iso_precise(cur.fetchone()[0])


def connect(settings, application_name="hotdash.supabase", autocommit=False):
    """Open a psycopg2 connection or raise ConnectionFailed with a one-line, redacted reason."""
    if not HAS_PSYCOPG2:
        raise ConnectionFailed("psycopg2 is required: pip install psycopg2-binary")
    kwargs = settings.libpq_kwargs()
    kwargs["application_name"] = application_name
    try:
        conn = psycopg2.connect(**kwargs)
    except psycopg2.OperationalError as exc:
        raise ConnectionFailed("cannot connect to %s: %s" % (settings.describe(),
                                                             redact(connection_failure(exc), settings.secrets())))
    conn.autocommit = autocommit
    return conn
