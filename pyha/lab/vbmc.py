"""A virtual BMC for one lab node: OpenIPMI's `ipmi_sim` inside a network namespace, with a
chassis hook that powers the "node" off and on.

Real fence agents (fence_ipmilan, cluster-glue's external/ipmi) talk IPMI over the LAN to
it exactly as to a server's BMC.  ipmi_sim runs the hook as `HOOK get power` (expects
`power:0|1`), `HOOK set power 0|1` and `HOOK set reset 1`; every call is appended to
`hook.log`, so a test can see what the device really did.  What "the node" is comes from
three shell snippets (`is_on`, `power_off`, `power_on`); by default it is a placeholder
process (`sleep`) whose pid is in `node.pid`, as in shared/spec/fencing.md's recipe.  In
the reference lab the snippets stop a node's daemon and down its links (`lab_node_hooks`).
`broken=True` gives a BMC whose power control fails (it still answers status: on).

Network safety: the BMC listens only inside the given namespace (loopback or a 192.0.2.x
address there), never in the root namespace.  ipmi_sim is stopped by its PID, the node
placeholder by the PID the hook recorded.
"""

import os
import signal
import subprocess
import time
from typing import List, Optional

from pyha.lab import netns as nsu

IPMI_SIM = "ipmi_sim"
IPMITOOL = "ipmitool"
READY_TIMEOUT_S = 10.0

DEFAULT_IS_ON = '[ -s "$DIR/node.pid" ] && kill -0 "$(cat "$DIR/node.pid")" 2>/dev/null'
DEFAULT_OFF = 'if is_on; then kill -KILL "$(cat "$DIR/node.pid")"; fi; rm -f "$DIR/node.pid"'
DEFAULT_ON = 'is_on || { setsid sleep 100000 </dev/null >/dev/null 2>&1 & echo $! > "$DIR/node.pid"; }'

_HOOK = """#!/bin/sh
# ipmi_sim chassis_control hook written by pyha.lab.vbmc
DIR=%(dir)s
echo "$(date +%%T.%%N) $*" >> "$DIR/hook.log"
is_on() { %(is_on)s; }
power_off() { %(off)s; }
power_on() { %(on)s; }
op=$1; shift
case $op in
get) for f; do [ "$f" = power ] && { is_on && echo power:1 || echo power:0; }; done ;;
set) %(set)s ;;
esac
exit 0
"""
_SET_WORKS = """while [ $# -ge 2 ]; do
         case "$1:$2" in power:0) power_off ;; power:1) power_on ;; reset:*) power_off; power_on ;; esac
         shift 2
       done"""
_SET_BROKEN = "exit 1"

_LAN_CONF = """name "%(name)s"
set_working_mc 0x20
  startlan 1
    addr %(addr)s %(port)d
    priv_limit admin
    allowed_auths_callback md5
    allowed_auths_user md5
    allowed_auths_operator md5
    allowed_auths_admin md5
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "%(hook)s"
  user 2 true "%(user)s" "%(password)s" admin 10 md5
"""
_EMU = "mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02\nmc_enable 0x20\n"


class VirtualBmc(object):
    """One ipmi_sim in `netns`, its files in `workdir` (created)."""

    def __init__(self, netns, workdir, addr="127.0.0.1", port=623, user="admin", password="pyha-bmc",
                 name="vbmc", is_on=DEFAULT_IS_ON, power_off=DEFAULT_OFF, power_on=DEFAULT_ON, broken=False):
        # type: (str, str, str, int, str, str, str, str, str, str, bool) -> None
        for value in (user, password, name):
            if '"' in value or "\n" in value:
                raise ValueError("BMC user, password and name may not contain quotes or newlines")
        self.netns = netns
        self.dir = os.path.abspath(workdir)
        self.addr = addr
        self.port = port
        self.user = user
        self.password = password
        self.name = name
        self.snippets = (is_on, power_off, power_on)
        self.broken = broken
        self.proc = None  # type: Optional[subprocess.Popen]

    @property
    def hook_path(self):
        # type: () -> str
        return os.path.join(self.dir, "chassis-hook.sh")

    def write_files(self):
        # type: () -> None
        os.makedirs(os.path.join(self.dir, "state"), exist_ok=True)
        is_on, off, on = self.snippets
        with open(self.hook_path, "w") as f:
            f.write(_HOOK % {"dir": self.dir, "is_on": is_on, "off": off, "on": on,
                             "set": _SET_BROKEN if self.broken else _SET_WORKS})
        os.chmod(self.hook_path, 0o700)
        with open(os.path.join(self.dir, "lan.conf"), "w") as f:
            f.write(_LAN_CONF % {"name": self.name, "addr": self.addr, "port": self.port, "hook": self.hook_path,
                                 "user": self.user, "password": self.password})
        os.chmod(os.path.join(self.dir, "lan.conf"), 0o600)
        with open(os.path.join(self.dir, "bmc.emu"), "w") as f:
            f.write(_EMU)

    def start(self, timeout=READY_TIMEOUT_S):
        # type: (float) -> None
        """Start ipmi_sim and return once it answers `chassis power status`."""
        if self.proc is not None and self.proc.poll() is None:
            return
        self.write_files()
        log = open(os.path.join(self.dir, "ipmi_sim.log"), "ab")
        try:
            self.proc = subprocess.Popen(["ip", "netns", "exec", self.netns, IPMI_SIM, "-c",
                                          os.path.join(self.dir, "lan.conf"), "-f", os.path.join(self.dir, "bmc.emu"),
                                          "-s", os.path.join(self.dir, "state"), "-n"],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True, cwd=self.dir)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise nsu.LabError("ipmi_sim exited (%s) at start; see %s/ipmi_sim.log" % (self.proc.returncode,
                                                                                           self.dir))
            if self.ipmitool("chassis", "power", "status").returncode == 0:
                return
            if time.monotonic() > deadline:
                self.stop()
                raise nsu.LabError("ipmi_sim in %s did not answer within %.0f s" % (self.netns, timeout))
            time.sleep(0.05)

    def ipmitool(self, *args):
        # type: (*str) -> subprocess.CompletedProcess
        """One ipmitool call to this BMC from inside its namespace (lanplus, cipher 3)."""
        return nsu.run(["ip", "netns", "exec", self.netns, IPMITOOL, "-I", "lanplus", "-C", "3", "-H", self.addr,
                        "-p", str(self.port), "-U", self.user, "-P", self.password, "-N", "1", "-R", "1"]
                       + list(args), check=False, timeout=10.0)

    def stop(self):
        # type: () -> None
        """Stop ipmi_sim (by its PID); the node placeholder stays as it is."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    @property
    def running(self):
        # type: () -> bool
        return self.proc is not None and self.proc.poll() is None

    def hook(self, *args):
        # type: (*str) -> subprocess.CompletedProcess
        """Run the chassis hook directly (set the node's power before a test)."""
        return nsu.run([self.hook_path] + list(args), check=False)

    def hook_log(self):
        # type: () -> List[str]
        """The hook's calls so far, without their time stamps (`set power 0`, ...)."""
        try:
            with open(os.path.join(self.dir, "hook.log")) as f:
                return [line.split(" ", 1)[1].strip() for line in f if " " in line]
        except (OSError, IOError):
            return []

    def node_pid(self):
        # type: () -> Optional[int]
        """The placeholder node's pid while it runs (default snippets), else None."""
        try:
            with open(os.path.join(self.dir, "node.pid")) as f:
                pid = int(f.read().strip())
        except (OSError, IOError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except OSError:
            return None
        return pid

    def close(self):
        # type: () -> None
        """Stop ipmi_sim and the placeholder node (both by PID)."""
        self.stop()
        pid = self.node_pid()
        if pid is not None:
            nsu.kill_pid(pid)
