"""Running commands on the peer node with the system OpenSSH client, never interactively.

`pyha init` and `pyha sync` need the peer's `uname -n`, its routes, and to install files
there.  We use the operator's own `ssh` (BatchMode, so a missing key fails at once instead
of prompting at 3 a.m.), send POSIX sh scripts on stdin, and translate OpenSSH's failures
into what to do about them.
"""

import subprocess
from typing import List, Optional, Sequence

DEFAULT_TIMEOUT = 30.0


class SshError(Exception):
    """The peer could not be reached or refused us; `hint` says how to fix it."""

    def __init__(self, message, hint=None):
        # type: (str, Optional[str]) -> None
        super(SshError, self).__init__(message)
        self.message = message
        self.hint = hint


class Result(object):
    __slots__ = ("returncode", "stdout", "stderr")

    def __init__(self, returncode, stdout, stderr):
        # type: (int, str, str) -> None
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def _explain(host, user, stderr):
    # type: (str, str, str) -> SshError
    text = stderr.strip()
    last = text.splitlines()[-1] if text else "ssh failed"
    target = "%s@%s" % (user, host)
    if "Permission denied" in text:
        return SshError(
            "key-based SSH to %s is not set up (%s)" % (target, last),
            "run `ssh-keygen -t ed25519` (if you have no key) and `ssh-copy-id %s`, then check "
            "that `ssh -o BatchMode=yes %s true` works; or pass --no-sync and copy the files "
            "yourself" % (target, target))
    if "Host key verification failed" in text or "REMOTE HOST IDENTIFICATION HAS CHANGED" in text:
        return SshError(
            "the SSH host key of %s is unknown or changed (%s)" % (host, last),
            "verify the peer's fingerprint, then add it with `ssh-keyscan %s >> ~/.ssh/known_hosts` "
            "(or connect once interactively)" % host)
    if "Connection refused" in text:
        return SshError("sshd is not listening on %s (%s)" % (host, last),
                        "start sshd on the peer, or pass --no-sync and copy the files yourself")
    if "timed out" in text or "No route to host" in text or "unreachable" in text:
        return SshError("cannot reach %s over SSH (%s)" % (host, last),
                        "check the address, the cable and the peer's firewall (tcp/22)")
    if "Could not resolve hostname" in text:
        return SshError("cannot resolve %s (%s)" % (host, last), "use the peer's IP address")
    return SshError("ssh to %s failed: %s" % (target, last))


class Peer(object):
    """An SSH connection recipe for one peer: `run_script` sends a sh script on stdin."""

    def __init__(self, host, user="root", options=None, ssh="ssh", timeout=DEFAULT_TIMEOUT):
        # type: (str, str, Optional[Sequence[str]], str, float) -> None
        self.host = host
        self.user = user
        self.options = list(options or [])
        self.ssh = ssh
        self.timeout = timeout

    def argv(self, remote_command):
        # type: (str) -> List[str]
        return ([self.ssh, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"] + self.options
                + ["%s@%s" % (self.user, self.host), remote_command])

    def run_script(self, script, check=True, secret_stdout=False):
        # type: (str, bool, bool) -> Result
        """Run `script` with `sh -s` on the peer.  Exit 255 is ssh's own failure: explained.
        `secret_stdout`: the output may hold a key, never quote it in an error."""
        argv = self.argv("sh -s")
        try:
            proc = subprocess.run(argv, input=script, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  universal_newlines=True, timeout=self.timeout)
        except FileNotFoundError:
            raise SshError("the OpenSSH client (%s) is not installed" % self.ssh,
                           "install openssh-clients (EL) / openssh-client (Debian)")
        except subprocess.TimeoutExpired:
            raise SshError("ssh to %s did not finish within %.0f s" % (self.host, self.timeout),
                           "check that the peer is up and sshd answers")
        if proc.returncode == 255:
            raise _explain(self.host, self.user, proc.stderr)
        if check and proc.returncode != 0:
            raise SshError("command on %s failed (exit %d): %s"
                           % (self.host, proc.returncode, proc.stderr.strip()
                              or ("(no message)" if secret_stdout else proc.stdout.strip())))
        return Result(proc.returncode, proc.stdout, proc.stderr)
