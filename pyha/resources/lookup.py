"""Where the agent for a haresources resource name is: the one lookup order.

Used by the daemon (`pyha.resources.agents.resolve`, on this host) and by `pyha config
check` (through its `HostFacts`), so both always agree.  The order:
1. `<resource.d>/NAME` (heartbeat's own scripts, drbd's `drbddisk`, ...), run unchanged;
2. an LSB init script `NAME` in the init directories;
3. a systemd unit `NAME.service` (when systemd is considered);
4. a heartbeat standard name (Delay, Filesystem, ...): the OCF agent of that type from
   resource-agents, with heartbeat's argument mapping (`pyha.resources.standard`);
5. for Delay, MailTo and SendArp without an agent: pyha's built-in (`builtin.py`).
IPaddr/IPaddr2 and the bare IP never get here: they are pyha's netlink agent.

Pure: the host is asked only through `probe.is_executable_file(path)` and
`probe.exists(path)`.
"""

import difflib
import os
from typing import Any, Optional, Sequence

from pyha.resources import standard

KIND_HEARTBEAT = "heartbeat-script"
KIND_LSB = "lsb"
KIND_SYSTEMD = "systemd"
KIND_OCF = "ocf"
KIND_BUILTIN = "builtin"

RESOURCE_D = "/etc/ha.d/resource.d"
INIT_D = ("/etc/init.d", "/etc/rc.d/init.d")
SYSTEMD_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")
OCF_ROOT = "/usr/lib/ocf"


class Found(object):
    """kind, path (script, unit file or OCF agent; None for a built-in), and for OCF and
    built-in kinds the mapped arguments."""

    __slots__ = ("kind", "path", "mapped")

    def __init__(self, kind, path, mapped=None):
        # type: (str, Optional[str], Optional[standard.Mapped]) -> None
        self.kind = kind
        self.path = path
        self.mapped = mapped

    def __repr__(self):
        return "Found(%s, %r)" % (self.kind, self.path)


class NotFound(Exception):
    """No agent anywhere; `hint` says what to install or change."""

    def __init__(self, message, hint):
        # type: (str, str) -> None
        Exception.__init__(self, message)
        self.hint = hint


def unit_name(name):
    # type: (str) -> str
    return name if name.endswith(".service") else name + ".service"


def locate(name, args, probe, resource_d=RESOURCE_D, init_dirs=INIT_D, systemd=True,
           systemd_dirs=SYSTEMD_DIRS, ocf_root=OCF_ROOT):
    # type: (str, Optional[Sequence[str]], Any, str, Sequence[str], bool, Sequence[str], str) -> Found
    """The agent for `name` with `args`.  Raises `standard.ArgsError` when a standard
    name gets arguments its heartbeat wrapper refuses (`args` None: only where, no
    mapping), `NotFound` when nothing fits.  `name` must already have passed
    `script_name_problem` (a bare file name)."""
    path = os.path.join(resource_d, name)
    if probe.is_executable_file(path):
        return Found(KIND_HEARTBEAT, path)
    for d in init_dirs:
        path = os.path.join(d, name)
        if probe.is_executable_file(path):
            return Found(KIND_LSB, path)
    if systemd:
        for d in systemd_dirs:
            path = os.path.join(d, unit_name(name))
            if probe.exists(path):
                return Found(KIND_SYSTEMD, path)
    if standard.is_standard(name):
        mapped = None if args is None else standard.map_args(name, args)
        path = os.path.join(ocf_root, "resource.d", standard.PROVIDER, name)  # OCF type = name
        if probe.is_executable_file(path):
            return Found(KIND_OCF, path, mapped)
        if name in standard.BUILTIN:
            return Found(KIND_BUILTIN, None, mapped)
    raise NotFound("Cannot locate resource script %s (looked in %s, %s%s%s)" % (
        name, resource_d, ", ".join(init_dirs), ", systemd units" if systemd else "",
        ", %s/resource.d/heartbeat" % ocf_root if standard.is_standard(name) else ""), hint(name))


def hint(name):
    # type: (str) -> str
    """What to do about a name nothing provides; only packages that exist are named."""
    if standard.is_standard(name):
        text = "%s is a heartbeat standard resource: %s" % (name, standard.PACKAGE_HINT)
        if name in standard.NOT_ON_EL:
            text += "; Red Hat's EL6/EL7 resource-agents leave %s out: there keep heartbeat's " \
                    "resource.d/%s and the OCF agent from upstream resource-agents, or replace it" % (name, name)
        return text
    close = difflib.get_close_matches(name, standard.NAMES, n=1, cutoff=0.8)
    if close:
        return "did you mean %s (heartbeat's standard resource)?" % close[0]
    return ("install the package that provides /etc/init.d/%s or %s (find it with "
            "`yum provides '*/%s'` or `apt-file search %s`), or fix the name" % (name, unit_name(name), name, name))

