"""SSH key pairs for approvers, made with the real ssh-keygen, and the allowed_signers file that lists them.

``Signers(directory, ["ana@hotdash.example", "bob@hotdash.example"], allowed=["ana@hotdash.example"])`` creates one
ed25519 key per name; only the names in ``allowed`` are written to ``allowed_signers`` (``principal key``, as git's
gpg.ssh.allowedSignersFile). ``sign(name, text)`` is what the approver runs:
``ssh-keygen -Y sign -n hotdash.supabase.approval -f <key> <file>``.
"""
import os
import subprocess


class Signers(object):
    def __init__(self, directory, names, allowed=None):
        self.directory = str(directory)
        self.keys = {}
        for name in names:
            path = os.path.join(self.directory, "id_%s" % name.split("@")[0])
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path],
                           check=True, stdin=subprocess.DEVNULL)
            self.keys[name] = path
        self.allowed_signers_path = os.path.join(self.directory, "allowed_signers")
        with open(self.allowed_signers_path, "w") as handle:
            handle.write(self.allowed_signers(allowed if allowed is not None else names))

    def public_key(self, name):
        with open(self.keys[name] + ".pub") as handle:
            return " ".join(handle.read().split()[:2])

    def allowed_signers(self, names):
        return "".join("%s %s\n" % (name, self.public_key(name)) for name in names)

    def sign(self, name, text, namespace="hotdash.supabase.approval"):
        path = os.path.join(self.directory, "statement-%d.txt" % len(os.listdir(self.directory)))
        with open(path, "w") as handle:
            handle.write(text)
        subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-n", namespace, "-f", self.keys[name], path],
                       check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(path + ".sig") as handle:
            return handle.read()
