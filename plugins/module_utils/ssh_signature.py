# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SSH signatures (``ssh-keygen -Y sign`` / ``-Y verify``), the way git signs commits with SSH keys.

An approver signs the approval statement with their SSH key; the collection verifies the signature
against an ``allowed_signers`` file (``principal [options] key-type base64-key`` per line, see
ssh-keygen(1) "ALLOWED SIGNERS"). The namespace (``-n``) is fixed, so a signature made for git, or for
any other purpose, never verifies as an approval. OpenSSH 8.2 or newer is needed (Debian package
``openssh-client``).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import tempfile

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput, SupabaseError
from ansible_collections.hotdash.supabase.plugins.module_utils.process import last_line, run_process

NAMESPACE = "hotdash.supabase.approval"
_ARMOR_BEGIN = "-----BEGIN SSH SIGNATURE-----"
_ARMOR_END = "-----END SSH SIGNATURE-----"
_PRINCIPAL_RE = re.compile(r"^[^\s,\"]+$")
_TIMEOUT = 30


class SignatureError(SupabaseError):
    """A signature did not verify, or ssh-keygen could not check it."""


def ssh_keygen_path(path=None):
    found = path or shutil.which("ssh-keygen")
    if not found:
        raise SignatureError("ssh-keygen not found: install the Debian package openssh-client (OpenSSH 8.2 or newer)")
    return found


def _run(argv, data=None):
    result = run_process(argv, "ssh-keygen %s %s" % (argv[1], argv[2]), timeout=_TIMEOUT, error=SignatureError,
                         check=False, install_hint="install openssh-client (OpenSSH 8.2 or newer)", input_data=data)
    return result.rc, result.stdout, result.stderr


def check_armored(signature):
    """The armored signature text, or InvalidInput when it is not one."""
    if not isinstance(signature, str):
        raise InvalidInput("the approval signature must be the text of an SSH signature (%s ...), got %s"
                           % (_ARMOR_BEGIN, type(signature).__name__))
    text = signature.strip()
    if not (text.startswith(_ARMOR_BEGIN) and text.endswith(_ARMOR_END)):
        raise InvalidInput("the approval signature is not an armored SSH signature (%s ... %s); make it with "
                           "ssh-keygen -Y sign -n %s" % (_ARMOR_BEGIN, _ARMOR_END, NAMESPACE))
    return text + "\n"


def check_principal(principal):
    if not isinstance(principal, str) or not _PRINCIPAL_RE.match(principal):
        raise InvalidInput("signer %r is not an allowed_signers principal (one word, such as maria@hotdash.example)"
                           % (principal,))
    return principal


def allowed_signer_principals(allowed_signers):
    """Principals named in an allowed_signers text (first field of each non-comment line)."""
    principals = []
    for line in (allowed_signers or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        for name in line.split()[0].split(","):
            if name and name not in principals:
                principals.append(name)
    return principals


def sign(message, key_path, namespace=NAMESPACE, ssh_keygen=None):
    """Sign ``message`` (text) with the private key at ``key_path``; return the armored signature.

    What an approver runs by hand is ``ssh-keygen -Y sign -n hotdash.supabase.approval -f KEY FILE``; this
    helper does the same for tools and tests.
    """
    workdir = tempfile.mkdtemp(prefix="hotdash-sign-")
    try:
        path = os.path.join(workdir, "statement")
        with open(path, "wb") as handle:
            handle.write(message.encode("utf-8"))
        rc, out, err = _run([ssh_keygen_path(ssh_keygen), "-Y", "sign", "-n", namespace, "-f", key_path, path])
        if rc != 0:
            raise SignatureError("ssh-keygen -Y sign with %s failed: %s" % (key_path, last_line(err or out)))
        with open(path + ".sig") as handle:
            return handle.read()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def verify(message, signature, principal, allowed_signers, namespace=NAMESPACE, ssh_keygen=None):
    """Check that ``signature`` over ``message`` was made by a key ``allowed_signers`` lists for ``principal``.

    Returns the line ssh-keygen prints (``Good "<namespace>" signature for <principal> with <type> key
    SHA256:<fingerprint>``). Raises SignatureError with one line naming the principal otherwise.
    """
    signature = check_armored(signature)
    check_principal(principal)
    if principal not in allowed_signer_principals(allowed_signers):
        raise SignatureError("signer %s is not in the allowed_signers file; add their public key there (and to the "
                             "database policy) or have an allowed signer approve" % principal)
    workdir = tempfile.mkdtemp(prefix="hotdash-verify-")
    try:
        signers = os.path.join(workdir, "allowed_signers")
        sig = os.path.join(workdir, "statement.sig")
        with open(signers, "w") as handle:
            handle.write(allowed_signers if allowed_signers.endswith("\n") else allowed_signers + "\n")
        with open(sig, "w") as handle:
            handle.write(signature)
        rc, out, err = _run([ssh_keygen_path(ssh_keygen), "-Y", "verify", "-f", signers, "-I", principal,
                             "-n", namespace, "-s", sig], data=message.encode("utf-8"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if rc != 0:
        raise SignatureError("the approval signature does not verify for %s against allowed_signers (%s): the "
                             "statement was changed after signing, or another key signed it"
                             % (principal, last_line(err or out)))
    return last_line(out or err)


def fingerprint(verified_line):
    """``SHA256:...`` from ssh-keygen's success line, or None."""
    match = re.search(r"(SHA256:[A-Za-z0-9+/=]+)", verified_line or "")
    return match.group(1) if match else None
