"""pyha's own small OCF agents, for standard names whose agent is not installed.

Run as a child process exactly like an OCF agent (`python -m pyha.resources.builtin
NAME ACTION`, parameters in `OCF_RESKEY_*`, exit 0 / 7 / other), so the daemon treats
both the same and never blocks on them.  They copy what the resource-agents agent of
the same name does, and keep its state file (`$HA_RSCTMP/<Name>_<instance>`, the
agent's `ha_pseudo_resource`) so that a node that installs resource-agents later sees
the same resource state:
- Delay: sleep `startdelay` on start, `stopdelay` on stop (defaults 20 and 30).
- MailTo: mail `email` that the resource group arrives or leaves (`$MAILCMD`, else
  `mail`); like the agent, a mail that cannot be delivered does not fail the group.
- SendArp: gratuitous ARP for `ip` on `nic` (5 rounds, 200 ms apart, as the agent).

Never used when the real agent exists (the lookup prefers it).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from typing import Callable, Dict, List, Optional

SUCCESS, GENERIC, ARGS, UNIMPLEMENTED, INSTALLED, NOT_RUNNING = 0, 1, 2, 3, 5, 7
NAMES = ("Delay", "MailTo", "SendArp")  # = pyha.resources.standard.BUILTIN


def _state_path(name, env):
    # type: (str, Dict[str, str]) -> str
    tmp = env.get("HA_RSCTMP") or "/run/resource-agents"
    return os.path.join(tmp, "%s_%s" % (name, env.get("OCF_RESOURCE_INSTANCE", name)))


def _mark(path, running):
    # type: (str, bool) -> None
    if running:
        d = os.path.dirname(path)
        if not os.path.isdir(d):
            os.makedirs(d, 0o755)
        with open(path, "a"):
            pass
    elif os.path.exists(path):
        os.unlink(path)


def _seconds(env, key, default):
    # type: (Dict[str, str], str, str) -> float
    text = env.get("OCF_RESKEY_" + key, default)
    try:
        value = float(text)
    except ValueError:
        raise ValueError("%s=%r is not a number of seconds" % (key, text))
    if value < 0:
        raise ValueError("%s=%r is negative" % (key, text))
    return value


def delay(action, env, sleep=time.sleep):
    # type: (str, Dict[str, str], Callable[[float], None]) -> int
    state = _state_path("Delay", env)
    try:
        start, stop = _seconds(env, "startdelay", "20"), _seconds(env, "stopdelay", "30")
    except ValueError as exc:
        print("Delay: %s" % exc)
        return ARGS
    running = os.path.exists(state)
    if action == "monitor":
        return SUCCESS if running else NOT_RUNNING
    if action == "start":
        if not running:
            _mark(state, True)
            sleep(start)
        return SUCCESS
    if action == "stop":
        if running:
            _mark(state, False)
            sleep(stop)
        return SUCCESS
    return UNIMPLEMENTED


def mail_command(env, which=shutil.which):
    # type: (Dict[str, str], Callable[[str], Optional[str]]) -> Optional[str]
    cmd = env.get("MAILCMD") or "mail"
    return which(cmd, path=env.get("PATH"))


def mailto(action, env, which=shutil.which, run=subprocess.call):
    # type: (str, Dict[str, str], Callable[..., Optional[str]], Callable[..., int]) -> int
    state = _state_path("MailTo", env)
    running = os.path.exists(state)
    if action == "monitor":
        return SUCCESS if running else NOT_RUNNING
    if action not in ("start", "stop"):
        return UNIMPLEMENTED
    email = env.get("OCF_RESKEY_email", "")
    if not email:
        print("MailTo: no email address (OCF_RESKEY_email)")
        return 6  # not configured
    cmd = mail_command(env, which)
    if cmd is None:
        print("MailTo: no mail command (%s) on PATH; install mailx (EL) or bsd-mailx (Debian)"
              % (env.get("MAILCMD") or "mail"))
        return INSTALLED
    subject = env.get("OCF_RESKEY_subject", "Resource Group")
    host = socket.gethostname()
    when = time.strftime("%a %b %d %H:%M:%S %Z %Y")
    if action == "start":
        line = "%s Takeover in progress at %s on %s" % (subject, when, host)
    else:
        line = "%s Migrating resource away at %s from %s" % (subject, when, host)
    body = "%s\n\nCommand line was:\n%s\n" % (line, " ".join(sys.argv))
    rc = run([cmd, "-s", line, email], input_text=body)
    if rc != 0:
        print("MailTo: %s exited %d (the group goes on, as with the OCF agent)" % (cmd, rc))
    _mark(state, action == "start")
    return SUCCESS


def _run_with_input(argv, input_text):
    # type: (List[str], str) -> int
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, universal_newlines=True)
    except OSError as exc:
        print("cannot run %s: %s" % (argv[0], exc.strerror))
        return 127
    proc.communicate(input_text)
    return proc.returncode


def sendarp(action, env, sleep=time.sleep):
    # type: (str, Dict[str, str], Callable[[float], None]) -> int
    state = _state_path("SendArp", env)
    if action == "monitor":
        return SUCCESS if os.path.exists(state) else NOT_RUNNING
    if action == "stop":
        _mark(state, False)
        return SUCCESS
    if action != "start":
        return UNIMPLEMENTED
    from pyha.resources import arp
    ip, nic = env.get("OCF_RESKEY_ip", ""), env.get("OCF_RESKEY_nic", "")
    try:
        socket.inet_aton(ip)
    except (OSError, ValueError):
        print("SendArp: %r is not an IPv4 address" % ip)
        return ARGS
    try:
        sock = arp.ArpSocket(nic)
    except OSError as exc:
        print("SendArp: cannot send on %r: %s" % (nic, exc))
        return GENERIC
    try:
        for i in range(5):
            sock.send(arp.announcement(sock.mac, ip))
            sock.send(arp.gratuitous_reply(sock.mac, ip))
            if i < 4:
                sleep(0.2)
    finally:
        sock.close()
    _mark(state, True)
    return SUCCESS


def run(name, action, env):
    # type: (str, str, Dict[str, str]) -> int
    if action == "status":
        action = "monitor"
    if action == "meta-data":
        return SUCCESS
    if name == "Delay":
        return delay(action, env)
    if name == "MailTo":
        return mailto(action, env, run=lambda argv, input_text: _run_with_input(argv, input_text))
    if name == "SendArp":
        return sendarp(action, env)
    print("no built-in agent %r (there are: %s)" % (name, ", ".join(NAMES)))
    return INSTALLED


def main(argv=None):
    # type: (Optional[List[str]]) -> int
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m pyha.resources.builtin NAME start|stop|monitor")
        return ARGS
    try:
        return run(args[0], args[1], dict(os.environ))
    except OSError as exc:
        print("%s %s: %s" % (args[0], args[1], exc))
        return GENERIC


if __name__ == "__main__":
    sys.exit(main())
