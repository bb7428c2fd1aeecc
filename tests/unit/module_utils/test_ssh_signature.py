"""SSH-signed approvals with the real ssh-keygen: a good signature verifies, a forged one does not."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "support"))
from ssh_signers import Signers  # noqa: E402

from ansible_collections.hotdash.supabase.plugins.module_utils import ssh_signature  # noqa: E402
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput  # noqa: E402

STATEMENT = "hotdash.supabase approval v1\ngate: apply_production\nticket: CHG-1042\n"
ANA, BOB = "ana@hotdash.example", "bob@hotdash.example"


@pytest.fixture(scope="module")
def signers(tmp_path_factory):
    return Signers(tmp_path_factory.mktemp("keys"), [ANA, BOB], allowed=[ANA])


def test_a_good_signature_verifies_and_names_the_key(signers):
    with open(signers.allowed_signers_path) as handle:
        allowed = handle.read()
    line = ssh_signature.verify(STATEMENT, signers.sign(ANA, STATEMENT), ANA, allowed)
    assert ANA in line
    assert ssh_signature.fingerprint(line).startswith("SHA256:")
    # the helper signs as an approver does by hand
    assert ANA in ssh_signature.verify(STATEMENT, ssh_signature.sign(STATEMENT, signers.keys[ANA]), ANA, allowed)


@pytest.mark.parametrize("case", ["edited", "other_key", "claims_other_principal", "git_namespace"])
def test_forged_signatures_are_refused(signers, case):
    allowed = signers.allowed_signers([ANA])
    message, principal = STATEMENT, ANA
    if case == "edited":
        signature = signers.sign(ANA, STATEMENT)
        message = STATEMENT.replace("CHG-1042", "CHG-1043")
    elif case == "other_key":
        signature = signers.sign(BOB, STATEMENT)       # bob's key, claiming to be ana
    elif case == "claims_other_principal":
        signature = signers.sign(ANA, STATEMENT)
        allowed = signers.allowed_signers([ANA, BOB])
        principal = BOB                                # ana signed, the statement says bob
    else:
        signature = signers.sign(ANA, STATEMENT, namespace="git")
    with pytest.raises(ssh_signature.SignatureError) as err:
        ssh_signature.verify(message, signature, principal, allowed)
    assert "does not verify for %s" % principal in str(err.value)
    assert "\n" not in str(err.value)


def test_a_signer_missing_from_allowed_signers_is_named(signers):
    with pytest.raises(ssh_signature.SignatureError) as err:
        ssh_signature.verify(STATEMENT, signers.sign(BOB, STATEMENT), BOB, signers.allowed_signers([ANA]))
    assert str(err.value).startswith("signer bob@hotdash.example is not in the allowed_signers file")


@pytest.mark.parametrize("signature", ["not a signature", ["-----BEGIN SSH SIGNATURE-----"], None])
def test_anything_but_an_armored_signature_is_bad_input(signature):
    with pytest.raises(InvalidInput):
        ssh_signature.verify(STATEMENT, signature, ANA, "")


def test_principals_are_read_from_allowed_signers():
    text = "# approvers\nana@hotdash.example,ana@x ssh-ed25519 AAAA\n\nbob namespaces=\"git\" ssh-ed25519 AAAA\n"
    assert ssh_signature.allowed_signer_principals(text) == ["ana@hotdash.example", "ana@x", "bob"]


def test_the_signing_tool_turns_a_request_into_a_verifiable_statement(signers, tmp_path):
    import subprocess
    from ansible_collections.hotdash.supabase.plugins.module_utils import approval_evidence
    plan = {"digest": "sha256:" + "cd" * 32, "database": "7301/hotdash", "host": "prod", "versions": ["20251019090000"]}
    request = tmp_path / "approval_request.txt"
    request.write_text(approval_evidence.build_request("apply_production", "production", [plan]))
    tool = os.path.join(os.path.dirname(__file__), "..", "..", "..", "tools", "sign_approval.py")
    done = subprocess.run([sys.executable, tool, str(request), "--key", signers.keys[ANA], "--approver", ANA,
                           "--ticket", "CHG-1042"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    statement = (tmp_path / "approval.txt").read_text()
    parsed = approval_evidence.parse_statement(statement)
    assert parsed["approver"] == ANA and parsed["plans"] == [plan["digest"]] and parsed["gate"] == "apply_production"
    assert ANA in ssh_signature.verify(statement, (tmp_path / "approval.txt.sig").read_text(), ANA,
                                       signers.allowed_signers([ANA]))
    bad = subprocess.run([sys.executable, tool, str(request), "--key", signers.keys[ANA], "--approver", ANA,
                          "--ticket", "\u200b"], capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "U+200B" in bad.stderr
