#!/usr/bin/env python
"""Sign an approval request with your SSH key, as the approver.

The operator's run writes ``approval_request.txt`` (the gate, the environment and one ``plan:`` line per
database, each with the digest of exactly what will change). The approver reads it, then:

    python3 tools/sign_approval.py approval_request.txt --key ~/.ssh/id_ed25519 \
        --approver ana@hotdash.example --ticket CHG-1042

writes ``approval.txt`` (the request plus approver, ticket and the time, UTC) and ``approval.txt.sig``
(``ssh-keygen -Y sign -n hotdash.supabase.approval``), and prints the statement. The operator passes
``-e supabase_approval_statement_file=approval.txt``; the signature is verified against the allowed_signers
file the database's policy pins, for the principal named after ``approver:``.

By hand, the same: add the three lines ``approver: ...``, ``ticket: ...``, ``approved_at: <ISO 8601 UTC>`` after
``environment:``, change the first line to ``hotdash.supabase approval v1``, and run
``ssh-keygen -Y sign -n hotdash.supabase.approval -f ~/.ssh/id_ed25519 approval.txt``.
"""
import argparse
import datetime
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
if not os.path.isdir(os.path.join(COLLECTIONS, "ansible_collections", "hotdash", "supabase")):
    os.makedirs(os.path.join(COLLECTIONS, "ansible_collections", "hotdash"), exist_ok=True)
    os.symlink(ROOT, os.path.join(COLLECTIONS, "ansible_collections", "hotdash", "supabase"))
sys.path.insert(0, COLLECTIONS)

from ansible_collections.hotdash.supabase.plugins.module_utils import approval_evidence, ssh_signature  # noqa: E402
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import SupabaseError  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("request", help="approval_request.txt written by the operator's run")
    parser.add_argument("--key", required=True, help="your SSH private key (its public key is in allowed_signers)")
    parser.add_argument("--approver", required=True, help="your principal in allowed_signers, e.g. ana@hotdash.example")
    parser.add_argument("--ticket", required=True, help="the change ticket")
    parser.add_argument("--window-override", help="why this may run outside the maintenance window (if the policy allows)")
    parser.add_argument("--out", help="where to write the statement (default: approval.txt beside the request)")
    args = parser.parse_args(argv)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.request)), "approval.txt")
    try:
        with open(args.request) as handle:
            request = handle.read()
        statement = approval_evidence.statement_from_request(
            request, args.approver, args.ticket, datetime.datetime.now(datetime.timezone.utc), args.window_override)
        signature = ssh_signature.sign(statement, args.key)
    except (SupabaseError, OSError) as exc:
        sys.stderr.write("sign_approval: %s\n" % exc)
        return 1
    with open(out, "w") as handle:
        handle.write(statement)
    with open(out + ".sig", "w") as handle:
        handle.write(signature)
    sys.stdout.write(statement)
    sys.stdout.write("signed: %s and %s\n" % (out, out + ".sig"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
