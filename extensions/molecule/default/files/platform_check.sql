-- What the scenarios' PostgreSQL must hold, as one JSON line. The extensions and the probe objects are created
-- inside a transaction that is rolled back: the database is left as create.yml shaped it.
\set ON_ERROR_STOP 1
BEGIN;
CREATE EXTENSION pgtap;
CREATE EXTENSION plpgsql_check;
CREATE TABLE platform_probe (id int);
CREATE FUNCTION platform_probe_reader() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  RETURN (SELECT missing_column FROM platform_probe LIMIT 1);
END
$$;
SELECT plan(1) AS tap_plan \gset
SELECT json_build_object(
  'server_version_num', current_setting('server_version_num')::int,
  'shared_preload_libraries', current_setting('shared_preload_libraries'),
  'search_path', current_setting('search_path'),
  'statements_readable', (SELECT count(*) >= 0 FROM extensions.pg_stat_statements),
  'roles', (SELECT json_agg(rolname ORDER BY rolname) FROM pg_roles
            WHERE rolname IN ('anon', 'authenticated', 'service_role', 'authenticator')),
  'auth_users', to_regclass('auth.users') IS NOT NULL,
  'auth_uid', to_regprocedure('auth.uid()') IS NOT NULL,
  'databases', (SELECT json_agg(datname ORDER BY datname) FROM pg_database WHERE datname IN ('app', 'staging')),
  'pgtap', ok(true, 'pgTAP loads'),
  'plpgsql_check', (SELECT json_agg(message) FROM plpgsql_check_function_tb('platform_probe_reader()'))
);
ROLLBACK;
