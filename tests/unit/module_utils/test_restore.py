"""Reading row counts and history versions from pg_restore's COPY output, and composing drops (no database)."""
from psycopg2 import sql

from ansible_collections.hotdash.supabase.plugins.module_utils.restore import (
    describe_objects,
    drop_statements,
    parse_copy_stream,
)

STREAM = """--
-- Data for Name: customer_segments; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.customer_segments (id, segment, customers) FROM stdin;
1\tnew\t120
2\tline\\nbreak\t3
\\.


COPY "Weird Schema"."Odd.Table" (id) FROM stdin;
\\.


COPY supabase_migrations.schema_migrations (version, statements, name) FROM stdin;
20251019090000\t{"alter table x"}\tb
20251011090000\t{"create table y"}\ta
\\.
"""


def test_counts_rows_per_table_and_reads_history_versions():
    counts, versions = parse_copy_stream(STREAM.splitlines(True))
    assert counts == {"public.customer_segments": 2, "Weird Schema.Odd.Table": 0,
                      "supabase_migrations.schema_migrations": 2}
    assert versions == ["20251011090000", "20251019090000"]


def test_drop_statements_are_composed_with_identifiers():
    objects = [dict(kind="VIEW", schema="public", name='tiles"; drop', signature=None),
               dict(kind="FUNCTION", schema="public", name="f", signature="a integer")]
    statements = drop_statements(objects)
    assert all(isinstance(s, sql.Composed) for s in statements)
    assert repr(statements[0]).count("Identifier('tiles\"; drop')") == 1
    assert describe_objects(objects) == 'view public.tiles"; drop, function public.f'
