"""Reading pg_dump's plain output into objects, and what two schemas are compared by (no database)."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import schema_dump
from ansible_collections.hotdash.supabase.plugins.module_utils.schema_dump import DumpEntry

DUMP = """--
-- PostgreSQL database dump
--

\\restrict a0dkIjaFDzYR3mMKsa

-- Dumped from database version 15.18
SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;

--
-- Name: analytics; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA analytics;


ALTER SCHEMA analytics OWNER TO postgres;

--
-- Name: total(bigint); Type: FUNCTION; Schema: public; Owner: postgres
--

CREATE FUNCTION public.total(p bigint) RETURNS numeric
    LANGUAGE sql
    AS $$
-- a comment inside the body is part of the function
select 1::numeric;
$$;


ALTER FUNCTION public.total(p bigint) OWNER TO postgres;

SET default_tablespace = '';

--
-- Name: orders owners_read; Type: POLICY; Schema: public; Owner: postgres
--

CREATE POLICY owners_read ON public.orders FOR SELECT TO authenticated USING ((owner = auth.uid()));


--
-- Name: SCHEMA public; Type: ACL; Schema: -; Owner: pg_database_owner
--

GRANT USAGE ON SCHEMA public TO anon;


--
-- Name: DEFAULT PRIVILEGES FOR TABLES; Type: DEFAULT ACL; Schema: public; Owner: postgres
--

ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON TABLES TO anon;


--
-- PostgreSQL database dump complete
--

\\unrestrict a0dkIjaFDzYR3mMKsa

"""


def test_entries_are_read_with_type_schema_and_name_and_psql_lines_dropped():
    preamble, entries = schema_dump.parse_entries(DUMP)
    assert preamble == ("SET statement_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n"
                        "SET check_function_bodies = false;")
    assert [e.key for e in entries] == [
        ("SCHEMA", "analytics", "analytics"), ("FUNCTION", "public", "total(bigint)"),
        ("POLICY", "public", "orders owners_read"), ("ACL", "public", "SCHEMA public"),
        ("DEFAULT ACL", "public", "DEFAULT PRIVILEGES FOR TABLES")]
    assert all("restrict" not in e.sql and "dump complete" not in e.sql for e in entries)
    function = entries[1]
    assert "-- a comment inside the body is part of the function" in function.sql
    assert function.label() == "FUNCTION public.total(bigint)" and entries[0].label() == "SCHEMA analytics"


def test_entries_about_another_object_are_labelled_like_their_sql():
    def entry(kind, schema, name):
        return schema_dump.DumpEntry(kind, schema, name, "postgres", "")
    assert entry("ACL", "public", "TABLE facts").label() == "GRANTS ON TABLE public.facts"
    assert entry("ACL", "public", "FUNCTION total(bigint)").label() == "GRANTS ON FUNCTION public.total(bigint)"
    assert entry("ACL", "", "SCHEMA public").label() == "GRANTS ON SCHEMA public"
    assert entry("COMMENT", "public", "TABLE facts").label() == "COMMENT ON TABLE public.facts"
    assert entry("DEFAULT ACL", "public", "DEFAULT PRIVILEGES FOR TABLES").label() == (
        "DEFAULT PRIVILEGES FOR TABLES IN SCHEMA public")
    assert entry("POLICY", "public", "orders orders_owner").label() == "POLICY public.orders orders_owner"


def test_normalised_text_leaves_out_owners_and_session_settings_only():
    function = schema_dump.parse_entries(DUMP)[1][1]
    text = function.normalised()
    assert "OWNER TO" not in text and "default_tablespace" not in text
    assert text.startswith("CREATE FUNCTION public.total(p bigint) RETURNS numeric\n    LANGUAGE sql\n")
    assert "-- a comment inside the body" in text
    other_owner = function._replace(sql=function.sql.replace("OWNER TO postgres", "OWNER TO supabase_admin"))
    assert other_owner.normalised() == text
    edited = function._replace(sql=function.sql.replace("select 1::numeric", "select 2::numeric"))
    assert edited.normalised() != text


def test_scope_and_managed_schemas():
    assert DumpEntry("EXTENSION", "", "pgcrypto", "", "").scope == ""
    assert DumpEntry("COMMENT", "", "SCHEMA analytics", "", "").scope == "analytics"
    assert schema_dump.is_managed("auth") and schema_dump.is_managed("pg_temp_3")
    assert schema_dump.is_managed("_timescaledb_internal") and not schema_dump.is_managed("analytics")
    assert not schema_dump.is_managed("public")


def test_missing_client_programs_are_named():
    with pytest.raises(schema_dump.SchemaDumpError, match="pg_dump not found in /nonexistent; install the PostgreSQL"):
        schema_dump.pg_tool("pg_dump", "/nonexistent")
