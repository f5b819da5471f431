"""Heartbeat's standard resource names, mapped to OCF agents the way heartbeat 3 does.

In heartbeat 3 every standard `/etc/ha.d/resource.d/NAME` script (Delay, MailTo,
Filesystem, ...) is a thin wrapper: it turns the positional `::` arguments of a
haresources token into `OCF_RESKEY_*` variables and runs the OCF agent of the same
type from the `resource-agents` package.  When heartbeat is removed, those wrappers go
with it; this table is their argument mapping, so pyha can run the OCF agent directly.
Each entry was checked against Debian heartbeat 3.0.6's wrapper scripts (argument
counts, names, defaults, the instance name they export) and the parameter names in the
resource-agents 4.12 agents' `meta-data`.

Pure: no file, process or environment is touched here; `map_args` only answers which
agent and which variables, or raises `ArgsError` where the wrapper would print its
usage and fail.  IPaddr/IPaddr2 are not here: pyha runs IP addresses itself (netlink).
"""

from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Sequence, Tuple

# The OCF provider heartbeat's wrappers use (`${OCF_RA_DIR}/heartbeat/${OCF_TYPE}`).
PROVIDER = "heartbeat"

# Standard names with an agent in Debian's resource-agents that Red Hat removes from the
# EL6 and EL7 packages (their spec files' "Unsupported" %exclude lists).  IPv6addr is
# excluded on EL6 only.
NOT_ON_EL = ("AudibleAlarm", "ICP", "IPv6addr", "LinuxSCSI", "Raid1", "ServeRAID", "WAS", "WinPopup", "ids")

# Standard names pyha can run itself when no agent is installed (pyha.resources.builtin).
BUILTIN = ("Delay", "MailTo", "SendArp")

PACKAGE_HINT = "install resource-agents (EL6/EL7: `yum install resource-agents`; Debian: " \
               "`apt-get install resource-agents`)"


class ArgsError(ValueError):
    """The arguments do not fit the wrapper's usage; the message says what it takes."""


class Mapped(object):
    """What heartbeat's wrapper would export: the OCF type, OCF_RESKEY_* values (without
    the prefix, in the wrapper's order) and OCF_RESOURCE_INSTANCE."""

    __slots__ = ("name", "ocf_type", "reskeys", "instance")

    def __init__(self, name, ocf_type, reskeys, instance):
        # type: (str, str, Dict[str, str], str) -> None
        self.name = name
        self.ocf_type = ocf_type
        self.reskeys = reskeys
        self.instance = instance

    def __repr__(self):
        return "Mapped(%s, %r, %r)" % (self.ocf_type, dict(self.reskeys), self.instance)


def _keys(*pairs):
    # type: (*Tuple[str, str]) -> Dict[str, str]
    return OrderedDict(pairs)


def _count(args, low, high, usage):
    # type: (Sequence[str], int, int, str) -> None
    if not low <= len(args) <= high:
        raise ArgsError("takes %s (%d given)" % (usage, len(args)))


def _audible_alarm(a):
    return _keys(("nodelist", " ".join(a))), "AudibleAlarm"


def _delay(a):
    _count(a, 0, 2, "[<startdelay> [<stopdelay>]]")
    start = a[0] if a else "10"  # the wrapper's default, not the agent's 20
    keys = _keys(("startdelay", start))
    if len(a) > 1:
        keys["stopdelay"] = a[1]
    # heartbeat's `status` is the agent's `monitor`, which sleeps `mondelay` (30 s) first;
    # hto-mapfuncs itself calls that mapping a bug.  The check before a start must not wait.
    keys["mondelay"] = "0"
    return keys, "Delay_" + start


def _filesystem(a):
    _count(a, 2, 4, "<device> <directory> [<fstype> [<options>]]")
    keys = _keys(*zip(("device", "directory", "fstype", "options"), a))
    return keys, "Filesystem_" + a[0]


def _icp(a):
    _count(a, 2, 2, "<ICP cluster drive ID> <device>")
    return _keys(("driveid", a[0]), ("device", a[1])), "ICP_" + a[0]


def _ipsrcaddr(a):
    _count(a, 1, 1, "<ip-address>")
    return _keys(("ipaddress", a[0])), "IPsrcaddr"


def _ipv6addr(a):
    _count(a, 1, 1, "<ipv6-address>[/<prefix>[/<interface>]]")
    parts = a[0].split("/")
    keys = _keys(("ipv6addr", parts[0]))
    if len(parts) > 1:
        keys["cidr_netmask"] = parts[1]
        if len(parts) > 2 and parts[2]:
            keys["nic"] = parts[2]
    return keys, "IPv6addr_" + a[0]


def _lvm(a):
    _count(a, 1, 1, "<volume group>")
    return _keys(("volgrpname", a[0])), "LVM"


def _linux_scsi(a):
    _count(a, 1, 1, "<host>:<channel>:<target>[:<lun>]")
    return _keys(("scsi", a[0])), "LinuxSCSI_" + a[0]


def _mailto(a):
    _count(a, 1, 2, "<email> [<subject>]")
    return _keys(*zip(("email", "subject"), a)), "MailTo"


def _raid1(a):
    _count(a, 2, 2, "<raidtab config file> <md device>")
    return _keys(("raidconf", a[0]), ("raiddev", a[1])), "Raid1_" + a[0]


def _sendarp(a):
    _count(a, 1, 1, "<ip-address>/<interface>")
    ip, _, nic = a[0].partition("/")
    if not nic:
        raise ArgsError("takes <ip-address>/<interface> (%r has no interface)" % a[0])
    return _keys(("ip", ip), ("nic", nic)), "SendArp_" + ip


def _serveraid(a):
    _count(a, 2, 2, "<serveraid#> <sharedmergegroup#>")
    return _keys(("serveraid", a[0]), ("mergegroup", a[1])), "ServeRAID_" + a[0]


def _was(a):
    # The wrapper tests `-f $1` first; a bare number is the port, anything else the
    # configuration file (the agent's validate-all reports a missing one).
    _count(a, 0, 1, "[<WAS configuration file> | <port>]")
    if not a:
        return _keys(), "WAS"
    return _keys(("port" if a[0].isdigit() else "config", a[0])), "WAS"


def _winpopup(a):
    _count(a, 0, 1, "[<workstation file>]")
    return _keys(("hostfile", a[0] if a else "hosts")), "WinPopup"


def _xinetd(a):
    _count(a, 1, 1, "<xinetd service name>")
    return _keys(("service", a[0])), "Xinetd"


def _apache(a):
    _count(a, 0, 1, "[<config file>]")
    return _keys(*zip(("configfile",), a)), "apache_" + (a[0] if a else "")


def _db2(a):
    _count(a, 1, 1, "<db2 instance owner>")
    return _keys(("instance", a[0])), "db2_" + a[0]


def _ids(a):
    if len(a) not in (0, 3):
        raise ArgsError("takes [<INFORMIXDIR> <INFORMIXSERVER> <ONCONFIG>] (%d given)" % len(a))
    keys = _keys(*zip(("informixdir", "informixserver", "onconfig"), a))
    return keys, "ids_" + (a[1] if a else "")


def _portblock(a):
    _count(a, 3, 3, "{udp|tcp} <portno,portno> {block|unblock}")
    keys = _keys(("protocol", a[0]), ("portno", a[1]), ("action", a[2]))
    return keys, "portblock_%s_%s_%s" % tuple(a)


# name -> mapper; every name is also the OCF type (heartbeat's OCF_TYPE=<name>).
_MAPPERS = OrderedDict([
    ("AudibleAlarm", _audible_alarm), ("Delay", _delay), ("Filesystem", _filesystem), ("ICP", _icp),
    ("IPsrcaddr", _ipsrcaddr), ("IPv6addr", _ipv6addr), ("LVM", _lvm), ("LinuxSCSI", _linux_scsi),
    ("MailTo", _mailto), ("Raid1", _raid1), ("SendArp", _sendarp), ("ServeRAID", _serveraid),
    ("WAS", _was), ("WinPopup", _winpopup), ("Xinetd", _xinetd), ("apache", _apache), ("db2", _db2),
    ("ids", _ids), ("portblock", _portblock),
])  # type: Dict[str, Callable[[List[str]], Tuple[Dict[str, str], str]]]

NAMES = tuple(_MAPPERS)


def is_standard(name):
    # type: (str) -> bool
    return name in _MAPPERS


def map_args(name, args):
    # type: (str, Sequence[str]) -> Mapped
    """The OCF call heartbeat's resource.d/<name> makes for `args`; ArgsError if its
    usage refuses them, KeyError if `name` is not a standard name."""
    mapper = _MAPPERS[name]
    try:
        keys, instance = mapper(list(args))
    except ArgsError as exc:
        raise ArgsError("%s %s" % (name, exc))
    return Mapped(name, name, keys, instance)

