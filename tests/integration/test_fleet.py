"""A fleet of 8 databases (8 inventory hosts, one cluster) rolled out in canary batches [1, 10 %, 100 %]:
the canary's migration fails, the canary is rolled back, and the 7 others are never touched."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_playbook_support import (NEW_VERSION, add_migration, approval_vars, approvals, baseline,  # noqa: E402
                                   copy_example, history_versions, run_playbook, table_counts, write_inventory)


def test_failing_canary_stops_the_fleet(make_db, run_module, tmp_path):
    project = copy_example(tmp_path)
    add_migration(project, "20251020090000", "cap_margins",
                  "alter table public.product_categories add constraint product_categories_margin_cap"
                  " check (margin_pct < 90);\n",
                  down_sql="alter table public.product_categories drop constraint if exists product_categories_margin_cap;\n")
    fleet = {}
    for number in range(1, 9):
        database = make_db("fleet%02d" % number)
        baseline(run_module, database, project)
        fleet["tenant%02d" % number] = ("staging", database)
    canary = fleet["tenant01"][1]
    # Only the canary tenant has a product the new constraint rejects.
    canary.execute("INSERT INTO public.product_categories (shopify_product_id, category_l1, margin_pct)"
                   " VALUES (4242, 'Clearance', 95)")
    before = dict((name, (history_versions(db), table_counts(db))) for name, (env, db) in fleet.items())
    inventory = write_inventory(tmp_path, fleet, project=project)

    run = run_playbook(tmp_path, "apply_staging", inventory, approval_vars())

    assert run.rc != 0, run
    failed = [line for line in run.output.splitlines() if ": FAILED (apply failed" in line]
    assert failed and all("tenant01" in line for line in failed), run
    assert "product_categories_margin_cap" in failed[0]
    assert "rolled back %s (succeeded)" % NEW_VERSION in failed[0]
    for name, (env, database) in fleet.items():
        assert (history_versions(database), table_counts(database)) == before[name], name
        if name != "tenant01":
            assert approvals(database) == [], name
            assert "[%s]" % name not in run.output, name
    assert [r["gate"] for r in approvals(canary)] == ["apply_staging"]
    run_dir = run.run_dirs()[-1]
    assert sorted(d for d in os.listdir(run_dir) if os.path.isdir(os.path.join(run_dir, d))) == ["tenant01"]
