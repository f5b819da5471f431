"""CTS adapter: runs heartbeat's own Cluster Test Suite (CTSlab.py) with a few runtime patches.

This file is executed by **Python 2.7** (`python2 -B cts_driver.py CONFIG.json`), never
imported by pyha: CTS imports `UserDict` and `popen2`, which Python 3 lacks.  It must
stay valid Python 2 *and* 3.6 syntax (vermin checks the package).

Job: import CTS from its installed directory (/usr/share/heartbeat/cts, Debian's heartbeat
package), replace the few behaviours listed below at run time (monkeypatching, so nothing
under /usr/share is written or copied, and `-B` keeps Python 2 from writing .pyc files
there), then run CTSlab.py's own main program unchanged.  `pyha.lab.cts` writes CONFIG.json
and reads the outcome from CTS's own summary lines.

What is replaced, and why (each is a CTS limitation or a fact of the lab, not of the
daemon under test; the same patches apply to genuine heartbeat and to pyha):

1. `CTSTest.__contains__`: Debian's partial Python 3 conversion turned
   `test.has_key("min_time")` into `"min_time" not in test`; CTSTest has no __contains__,
   so Python 2 falls back to __getitem__(0) and raises KeyError: 0 after the first test.
2. `HeartbeatCM.Components()`: missing in CM_hb; ComponentFail's constructor calls it
   for every cluster manager (the test itself only applies to the CRM).  Returns [].
3. `RemoteExec` ssh/scp commands get `-F <lab ssh config>`: the lab's client key and
   known_hosts, never the host's /root/.ssh.
4. Node commands (`StartCmd`, `StopCmd`, `StatusCmd`, `RereadCmd`, `Standby`, the
   communication-break commands) and the timings (`DeadTime`, `StableTime`) come from the
   config: CM_hb hard-codes /usr/lib/heartbeat (Debian: /usr/libexec/heartbeat) and 30 s.
5. `HeartbeatCM.ResourceDirs` gains /etc/init.d (where heartbeat itself looks for
   haresources scripts; CM_hb only knows /etc/rc.d/init.d).
6. `HBResource.IsWorkingCorrectly` for LSB init scripts (not IPaddr): `status` instead of
   `monitor`, an action LSB scripts do not have.  The VIP keeps CTS's check: heartbeat's
   IPaddr `monitor`, run on the test machine (pings the address).
7. Literal node commands rewritten (config "rewrites", regex -> replacement): tests that
   hard-code heartbeat's process name (`killall -9 heartbeat`) or syslog (`logger`).
8. syslog.syslog is a no-op: CTS's own messages go to its stderr (kept by the harness),
   never to the host's syslog.
9. Optional "patterns": CM pattern overrides (empty unless the harness says why).
10. `HBipResource.IsWorkingCorrectly` (the VIP check on the test machine): heartbeat's
    IPaddr wrapper pings the address with arguments from a shell function `pingargs`
    that today's resource-agents no longer ship, so its ping has no target and always
    fails.  The patch runs the ping the wrapper meant (3 tries, 1 s each) from the test
    machine: the VIP must answer where clients are.
11. A node command starting with "@local " runs on the test machine instead ("{node}"
    names the node): the communication break cuts the node's cables at the lab's
    switch (see pyha.lab.cts).
12. Optional "heal_end" (pyha only): Split_brain's last check waits for each node's
    "Initial resource acquisition complete" after the heal, because genuine heartbeat
    answers a healed partition by restarting itself on both nodes (spec 5.7).  pyha
    resolves a heal in place, without a restart or an outage, and logs "Partition with
    <peer> resolved" on each node when the two agree again (pyha/cluster/manager/heal.py).
    Within Split_brain only, from the isolation on, the start pattern is that line; the
    test's other checks (both nodes declare each other dead, both log the return from
    partition) and CTS's audits after it are unchanged.
"""

import json
import os
import re
import sys


def native(value):
    """JSON's strings as Python 2 `str`: CTS's loggers write a `str` as one line but
    iterate anything else (a `unicode`) as a list of lines, one character each."""
    if isinstance(value, dict):
        return dict((native(k), native(v)) for k, v in value.items())
    if isinstance(value, list):
        return [native(v) for v in value]
    if not isinstance(value, (str, bytes, int, float, type(None))):
        return value.encode("utf-8")
    return value


def main(config_path):
    with open(config_path) as f:
        cfg = native(json.load(f))
    cts_dir = cfg["cts_dir"]
    sys.path.insert(0, cts_dir)

    import syslog
    syslog.syslog = lambda *args: None  # (8)
    syslog.openlog = lambda *args, **kw: None

    import CTS
    import CTStests
    import CM_hb

    # (1)
    CTStests.CTSTest.__contains__ = lambda self, key: key in self.Stats
    # (2)
    CM_hb.HeartbeatCM.Components = lambda self: []

    # (3) and (7)
    ssh_config = cfg["ssh_config"]
    rewrites = [(re.compile(p), r) for p, r in cfg.get("rewrites", [])]
    orig_init = CTS.RemoteExec.__init__

    def remote_init(self):
        orig_init(self)
        self.Command = "/usr/bin/ssh -F %s -l root -n -x" % ssh_config
        self.CommandnoBlock = "/usr/bin/ssh -F %s -f -l root -n -x" % ssh_config
        self.CpCommand = "/usr/bin/scp -F %s -B -q" % ssh_config

    CTS.RemoteExec.__init__ = remote_init

    def rewrite(args):
        sysname, command = args[0], args[1]
        for pattern, replacement in rewrites:
            command = pattern.sub(replacement, command)
        if command.startswith("@local "):  # (11)
            return ("localhost", command[len("@local "):].replace("{node}", str(sysname)))
        return (sysname, command) + tuple(args[2:])

    orig_cmd, orig_noblock = CTS.RemoteExec._cmd, CTS.RemoteExec._cmd_noblock
    CTS.RemoteExec._cmd = lambda self, *args: orig_cmd(self, rewrite(args[0]))
    CTS.RemoteExec._cmd_noblock = lambda self, *args: orig_noblock(self, rewrite(args[0]))

    # (4), (5), (9)
    orig_cm_init = CM_hb.HeartbeatCM.__init__

    def cm_init(self, Environment, randseed=None):
        orig_cm_init(self, Environment, randseed=randseed)
        self.update(cfg["cm"])
        self.update(cfg.get("patterns", {}))
        for d in cfg.get("resource_dirs", []):
            if d not in self.ResourceDirs:
                self.ResourceDirs.append(d)

    CM_hb.HeartbeatCM.__init__ = cm_init

    # (12)
    heal_end = cfg.get("heal_end")
    if heal_end:
        split_brain = CTStests.Split_brainTest
        orig_call, orig_isolate = split_brain.__call__, CTS.ClusterManager.isolate_node

        def isolate(self, node):
            ok = orig_isolate(self, node)
            if getattr(self, "_pyha_split_brain", False):
                self["Pat:We_started"] = heal_end
            return ok

        def call(self, node):
            started = self.CM["Pat:We_started"]
            self.CM._pyha_split_brain = True
            try:
                return orig_call(self, node)
            finally:
                self.CM._pyha_split_brain = False
                self.CM["Pat:We_started"] = started

        CTS.ClusterManager.isolate_node = isolate
        split_brain.__call__ = call

    # (6) HBipResource (the VIP) defines its own IsWorkingCorrectly and keeps it
    CM_hb.HBResource.IsWorkingCorrectly = (
        lambda self, nodename: self._ResourceOperation("status", "OK|running", nodename))

    # (10)
    def vip_answers(self, nodename):
        address = str(self.Instance).split("/")[0]
        for _ in range(3):
            if os.system("/bin/ping -n -q -c 1 -w 1 %s >/dev/null 2>&1" % address) == 0:
                return 1
        return 0

    CM_hb.HBipResource.IsWorkingCorrectly = vip_answers

    sys.argv = [os.path.join(cts_dir, "CTSlab.py")] + list(cfg["argv"])
    sys.stdout.flush()
    import runpy
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1])
