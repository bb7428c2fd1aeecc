# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pooler's own numbers: PgBouncer's admin console and Supavisor's Prometheus metrics.

Supabase applications connect through a pooler (Supavisor, or the dedicated PgBouncer), in transaction mode:
thousands of clients share a pool of a few dozen server connections. "Connection pool usage" is therefore the
pool's, not ``pg_stat_activity`` over ``max_connections`` (that one is reported too, as *database connections*).

- **PgBouncer** (:func:`read_pgbouncer`): ``SHOW POOLS`` (clients active and waiting, servers active and idle,
  the oldest waiting client's wait), ``SHOW DATABASES`` (each database's effective pool size) and ``SHOW CONFIG``
  (``max_client_conn``, ``default_pool_size``), on the admin console (database ``pgbouncer``, a user in
  ``admin_users`` or ``stats_users``). Usage is servers active over the pool size, of the fullest pool of the
  database; a client waiting means the pool is exhausted.
- **Supavisor** (:func:`read_supavisor`): the ``/metrics`` endpoint (or ``/metrics/<tenant>``), Prometheus text
  exposition format over HTTP with a bearer token (a JWT signed with Supavisor's ``METRICS_JWT_SECRET``).
  Supavisor exports connected clients (``supavisor_connections_active``) and how long clients waited to check
  out a pool connection (histograms ``supavisor_pool_checkout_duration_local`` / ``_remote``, in ms), not the
  number of busy server connections: usage is clients over ``max_clients`` (the tenant's client limit, which
  the caller states), and the wait is read from the histogram between two readings (its mean, and the bucket
  bound that no wait exceeded).

Both return the same reading shape (:func:`empty_reading`), so the monitor, its chart and its checks treat them
alike.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

try:
    from prometheus_client.parser import text_string_to_metric_families
    HAS_PROMETHEUS_CLIENT = True
except ImportError:  # pragma: no cover - exercised through the error message
    HAS_PROMETHEUS_CLIENT = False

from ansible.module_utils.urls import ConnectionError as UrlConnectionError, open_url
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect, redact
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ConnectionFailed, InvalidInput, SupabaseError

KINDS = ("pgbouncer", "supavisor")
ADMIN_DATABASE = "pgbouncer"
SUPAVISOR_CLIENTS = "supavisor_connections_active"
SUPAVISOR_CHECKOUTS = ("supavisor_pool_checkout_duration_local", "supavisor_pool_checkout_duration_remote")


class PoolerUnreadable(SupabaseError):
    """The pooler's numbers could not be read (unreachable, refused, or not what was expected)."""


def empty_reading(kind, database=None, tenant=None):
    """The reading shape shared by both poolers (None where a pooler does not say).

    ``max_wait_ms`` is PgBouncer's oldest waiting client; for Supavisor it is a bound (``max_wait_is_bound``):
    the smallest histogram bucket that holds every checkout since the previous reading.
    """
    return {"source": kind, "database": database, "tenant": tenant, "pool_mode": None, "pool_size": None,
            "max_clients": None, "clients_active": None, "clients_waiting": None, "servers_active": None,
            "servers_idle": None, "max_wait_ms": None, "max_wait_is_bound": False, "wait_mean_ms": None,
            "checkouts": None, "usage": None, "usage_of": None, "pools": []}


# ---------------------------------------------------------------- PgBouncer

def _rows(cur, command):
    cur.execute(command)
    names = [column[0] for column in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def pgbouncer_reading(pools, databases, config, database, user=None):
    """Reading of ``database`` (and ``user``) from SHOW POOLS / SHOW DATABASES / SHOW CONFIG rows (pure)."""
    settings = dict((row["key"], row["value"]) for row in config)
    reading = empty_reading("pgbouncer", database)
    reading["max_clients"] = _int(settings.get("max_client_conn"))
    entry = [row for row in databases if row["name"] == database]
    pool_size = _int(entry[0]["pool_size"]) if entry else None
    if not pool_size or pool_size < 0:
        pool_size = _int(settings.get("default_pool_size"))
    reading["pool_size"] = pool_size
    reading["pool_mode"] = (entry[0].get("pool_mode") if entry else None) or settings.get("pool_mode")
    mine = [row for row in pools if row["database"] == database and (user is None or row["user"] == user)]
    for row in mine:
        wait_ms = _int(row.get("maxwait")) * 1000.0 + _int(row.get("maxwait_us")) / 1000.0
        reading["pools"].append({
            "user": row["user"], "pool_mode": row.get("pool_mode"), "clients_active": _int(row["cl_active"]),
            "clients_waiting": _int(row["cl_waiting"]), "servers_active": _int(row["sv_active"]),
            "servers_idle": _int(row["sv_idle"]), "servers_used": _int(row.get("sv_used")),
            "max_wait_ms": round(wait_ms, 3),
            "usage": (float(_int(row["sv_active"])) / pool_size) if pool_size else None})
    for key in ("clients_active", "clients_waiting", "servers_active", "servers_idle"):
        reading[key] = sum(p[key] for p in reading["pools"])
    reading["max_wait_ms"] = max([p["max_wait_ms"] for p in reading["pools"]] or [0.0])
    usages = [p["usage"] for p in reading["pools"] if p["usage"] is not None]
    reading["usage"] = max(usages) if usages else (0.0 if pool_size else None)
    reading["usage_of"] = "pool_size"
    return reading


def read_pgbouncer(settings, database, user=None):
    """One reading of PgBouncer's admin console; ``settings`` reach database ``pgbouncer`` as an admin/stats user."""
    try:
        conn = connect(settings, application_name="hotdash.supabase.monitor", autocommit=True)
    except ConnectionFailed as exc:
        raise PoolerUnreadable("cannot read the PgBouncer admin console: %s" % exc)
    try:
        import psycopg2
        with conn.cursor() as cur:
            try:
                pools = _rows(cur, "SHOW POOLS")
                databases = _rows(cur, "SHOW DATABASES")
                config = _rows(cur, "SHOW CONFIG")
            except psycopg2.Error as exc:
                line = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
                raise PoolerUnreadable("the PgBouncer admin console at %s refused SHOW POOLS (%s); connect to database "
                                       "'pgbouncer' as a user listed in admin_users or stats_users"
                                       % (settings.describe(), redact(line, settings.secrets())))
    finally:
        conn.close()
    if pools and "cl_waiting" not in pools[0]:
        raise PoolerUnreadable("%s did not answer like a PgBouncer admin console (no cl_waiting in SHOW POOLS)"
                               % settings.describe())
    return pgbouncer_reading(pools, databases, config, database, user)


# ---------------------------------------------------------------- Supavisor

def parse_exposition(text):
    """``{metric family name: [(labels, value)]}`` of Prometheus text exposition; InvalidInput when it is not."""
    if not HAS_PROMETHEUS_CLIENT:
        raise InvalidInput("prometheus-client is required to read Supavisor's metrics: pip install prometheus-client")
    samples = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise PoolerUnreadable("the metrics are not in the Prometheus text exposition format: %s" % exc)
    return samples


def _matches(labels, tenant, user):
    return (tenant is None or labels.get("tenant") == tenant) and (user is None or labels.get("user") == user)


def _histogram(samples, names, tenant, user):
    """Cumulative ``({bound: count}, total count, sum)`` of the matching series of the histograms ``names``."""
    buckets, count, total = {}, 0.0, 0.0
    for name in names:
        for labels, value in samples.get(name + "_bucket", []):
            if _matches(labels, tenant, user):
                bound = float(labels["le"]) if labels["le"] not in ("+Inf", "Inf") else math.inf
                buckets[bound] = buckets.get(bound, 0.0) + value
        count += sum(v for labels, v in samples.get(name + "_count", []) if _matches(labels, tenant, user))
        total += sum(v for labels, v in samples.get(name + "_sum", []) if _matches(labels, tenant, user))
    return buckets, count, total


def supavisor_reading(samples, tenant=None, user=None, max_clients=None, previous=None):
    """Reading from parsed metrics (pure). ``previous`` is the last reading: waits are counted since it."""
    reading = empty_reading("supavisor", tenant=tenant)
    series = [(labels, value) for labels, value in samples.get(SUPAVISOR_CLIENTS, []) if _matches(labels, tenant, user)]
    reading["clients_active"] = int(sum(value for labels, value in series))
    modes = sorted(set(labels.get("mode") for labels, value in series if labels.get("mode")))
    reading["pool_mode"] = ",".join(modes) or None
    reading["max_clients"] = max_clients
    if max_clients:
        reading["usage"] = float(reading["clients_active"]) / max_clients
        reading["usage_of"] = "max_clients"
    buckets, count, total = _histogram(samples, SUPAVISOR_CHECKOUTS, tenant, user)
    reading["_checkout_histogram"] = {"buckets": sorted(buckets.items()), "count": count, "sum": total}
    before = (previous or {}).get("_checkout_histogram")
    if before and before["count"] <= count:
        old = dict(before["buckets"])
        buckets = dict((bound, value - old.get(bound, 0.0)) for bound, value in buckets.items())
        count -= before["count"]
        total -= before["sum"]
    # else: first reading, or the counters were reset: everything counted so far.
    reading["checkouts"] = int(count)
    if count > 0:
        reading["wait_mean_ms"] = round(total / count, 3)
        bounds = [bound for bound, value in sorted(buckets.items()) if value >= count and not math.isinf(bound)]
        reading["max_wait_ms"] = bounds[0] if bounds else None
        reading["max_wait_is_bound"] = True
    for labels, value in series:
        reading["pools"].append({"user": labels.get("user"), "pool_mode": labels.get("mode"),
                                 "clients_active": int(value)})
    return reading


def fetch_metrics(url, token=None, timeout=10, validate_certs=True):
    """GET the metrics text; PoolerUnreadable with one redacted line when the endpoint refuses or is unreachable."""
    headers = {"Accept": "text/plain"}
    if token:
        headers["Authorization"] = "Bearer %s" % token
    secrets = [token] if token else []
    try:
        response = open_url(url, method="GET", headers=headers, timeout=timeout, validate_certs=validate_certs,
                            http_agent="hotdash.supabase")
        return response.read().decode("utf-8", "replace")
    except HTTPError as exc:
        hint = " (check the metrics token)" if exc.code in (401, 403) else ""
        raise PoolerUnreadable("Supavisor metrics at %s answered HTTP %d%s" % (redact(url, secrets), exc.code, hint))
    except (URLError, UrlConnectionError, IOError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise PoolerUnreadable("cannot read Supavisor metrics at %s: %s" % (redact(url, secrets), redact(str(reason), secrets)))


def read_supavisor(url, token=None, tenant=None, user=None, max_clients=None, previous=None, timeout=10,
                   validate_certs=True):
    """One reading of Supavisor's metrics endpoint (see :func:`supavisor_reading`)."""
    samples = parse_exposition(fetch_metrics(url, token, timeout, validate_certs))
    if SUPAVISOR_CLIENTS not in samples and not any(n + "_count" in samples for n in SUPAVISOR_CHECKOUTS):
        raise PoolerUnreadable("%s serves no Supavisor pool metrics (%s, %s)"
                               % (redact(url, [token] if token else []), SUPAVISOR_CLIENTS, SUPAVISOR_CHECKOUTS[0]))
    return supavisor_reading(samples, tenant, user, max_clients, previous)


def public_reading(reading):
    """The reading without the bookkeeping kept for the next delta (what goes into a sample)."""
    return dict((k, v) for k, v in reading.items() if not k.startswith("_"))


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class PoolerSource(object):
    """Where the monitor reads the pool: one configured pooler, read once per sample."""

    def __init__(self, kind, admin_settings=None, database=None, user=None, metrics_url=None, token=None,
                 tenant=None, max_clients=None, timeout=10, validate_certs=True):
        if kind not in KINDS:
            raise InvalidInput("pooler.kind must be one of %s; got %r" % (", ".join(KINDS), kind))
        if kind == "pgbouncer" and admin_settings is None:
            raise InvalidInput("pooler.kind pgbouncer needs pooler.admin_url (database 'pgbouncer', an admin_users "
                               "or stats_users user)")
        if kind == "supavisor" and not metrics_url:
            raise InvalidInput("pooler.kind supavisor needs pooler.metrics_url (https://<host>:4000/metrics/<tenant>)")
        if max_clients is not None and int(max_clients) < 1:
            raise InvalidInput("pooler.max_clients must be >= 1; got %s" % max_clients)
        self.kind = kind
        self.admin_settings = admin_settings
        self.database = database
        self.user = user
        self.metrics_url = metrics_url
        self.token = token
        self.tenant = tenant
        self.max_clients = int(max_clients) if max_clients is not None else None
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.previous = None

    @classmethod
    def from_params(cls, params, default_database):
        """From the module option ``pooler`` (a dict); None when no pooler is configured."""
        if not params or not params.get("kind"):
            return None
        from ansible_collections.hotdash.supabase.plugins.module_utils.connection import ConnectionSettings
        admin = None
        if params.get("admin_url"):
            admin = ConnectionSettings.from_url(params["admin_url"], option="pooler.admin_url")
            if admin.dbname != ADMIN_DATABASE:
                raise InvalidInput("pooler.admin_url must name the admin console's database %r; got %r"
                                   % (ADMIN_DATABASE, admin.dbname))
        return cls(params["kind"], admin_settings=admin, database=params.get("database") or default_database,
                   user=params.get("user"), metrics_url=params.get("metrics_url"), token=params.get("metrics_token"),
                   tenant=params.get("tenant"), max_clients=params.get("max_clients"),
                   validate_certs=params.get("validate_certs", True))

    def secrets(self):
        found = list(self.admin_settings.secrets()) if self.admin_settings is not None else []
        return found + ([self.token] if self.token else [])

    def describe(self):
        if self.kind == "pgbouncer":
            return "PgBouncer %s (database %s)" % (self.admin_settings.describe(), self.database)
        return "Supavisor %s%s" % (redact(self.metrics_url, self.secrets()),
                                   " (tenant %s)" % self.tenant if self.tenant else "")

    def read(self):
        """One reading (PoolerUnreadable when the pooler cannot be read)."""
        if self.kind == "pgbouncer":
            reading = read_pgbouncer(self.admin_settings, self.database, self.user)
        else:
            reading = read_supavisor(self.metrics_url, self.token, self.tenant, self.user, self.max_clients,
                                     self.previous, self.timeout, self.validate_certs)
        self.previous = reading
        return public_reading(reading)
