"""The resource manager's own vocabulary: what the shell and the operator tell it, and what
it asks the shell to do.

Membership notifications (`NodeDead`, `Deliver`, `CommUp`, ...), `Tick`, `Send` and `Log`
come from `pyha.cluster.events` and are shared with the membership machine; this module
adds only what is specific to resource groups: results of group operations run by the
shell, the VIP witness (ARP probes of a group's service address), operator commands, and
the actions `Acquire`, `Release`, `ProbeVip`, `AnnounceVip`, `CommandResult` and
`ShutdownComplete`, fencing's `FencePeer` and its answer `Fenced`, service health's
`RestartResource` (`CheckFailed` in, `ResourceRestarted` back), and the typed state changes (`PhaseChanged`, `GroupStateChanged`,
`StandbyStateChanged`, `NodeStateChanged`, `FenceStateChanged`: Supervisor's idea of an event per transition,
so a shell can record them or run a notify program without parsing log lines).  Like events.py these are plain value objects comparing by value, with
`to_dict()` for JSON; each names its fields once, in `_fields` (the slots follow).

This module must never do I/O, read a clock or import anything outside the standard
library, `pyha.cluster.events` and the protocol words of `pyha.wire.vocabulary`.
"""

from pyha.cluster.events import _Value
from pyha.wire.vocabulary import RSC_ALL, RSC_FAILBACK, RSC_FOREIGN, RSC_LOCAL

# Operator command names (as `pyha standby|takeover|shutdown` send them).
CMD_STANDBY = "standby"
CMD_TAKEOVER = "takeover"
CMD_SHUTDOWN = "shutdown"

# Which resources a standby/takeover command or message is about, from the point of view
# of the node that says it (heartbeat's rsc_hold words, spec 1.7 and 5.4).
WHICH_WORDS = (RSC_ALL, RSC_LOCAL, RSC_FOREIGN, RSC_FAILBACK)


# --- inputs from the shell: results of group operations ------------------------------

class GroupAcquired(_Value):
    """Every resource of group `group` (its key) started here."""
    _fields = ("group",)


class GroupAcquireFailed(_Value):
    """Starting `group` failed; part of it may be running (the manager orders a release)."""
    _fields = ("group", "error")
    _defaults = {"error": "start failed"}


class GroupReleased(_Value):
    """Every resource of `group` is stopped here."""
    _fields = ("group",)


class GroupReleaseFailed(_Value):
    """Stopping `group` failed: it may still be running here."""
    _fields = ("group", "error")
    _defaults = {"error": "stop failed"}


# --- inputs from the shell: the VIP witness (ARP) ---------------------------------------

class VipFree(_Value):
    """An ARP probe for the service address of `group` got no answer."""
    _fields = ("group",)


class VipAnswered(_Value):
    """An ARP probe for the service address of `group` was answered by `mac`."""
    _fields = ("group", "mac")


class VipConflict(_Value):
    """While we hold `group`, another station (`mac`) announced its service address."""
    _fields = ("group", "mac")


class VipLink(_Value):
    """The interfaces carrying the service addresses of `group` all have carrier here
    (`up`), or one of them lost it (`detail` names which).  Sent by the shell for every
    group with an address, at start and on every change, held or not: the peer needs to
    know whether it could serve a group before we hand it over."""
    _fields = ("group", "up", "detail")
    _defaults = {"detail": ""}


# --- inputs from the operator (control socket) ----------------------------------------

class Standby(_Value):
    """`pyha standby [all|local|foreign|failback]`: hand these groups to the peer."""
    _fields = ("which",)
    _defaults = {"which": "all"}


class Takeover(_Value):
    """`pyha takeover [all|local|foreign]`: bring these groups here."""
    _fields = ("which",)
    _defaults = {"which": "all"}


class Shutdown(_Value):
    """Graceful stop (SIGTERM, `pyha stop`): release everything, then say `shutdone`."""
    _fields = ("reason",)
    _defaults = {"reason": "operator asked for a graceful stop"}


# --- inputs from the shell: fencing (issue 15) -------------------------------------------

class Fenced(_Value):
    """The fence call for `node` ended: `ok` the device did it (the node is off or was
    reset), else `detail` says why not (the device's exit code and last line)."""
    _fields = ("node", "ok", "detail")
    _defaults = {"detail": ""}


class FenceSettings(_Value):
    """A reload (SIGHUP) changed the fencing settings: `device` the peer's device as people
    read it (None: no device any more), `delay_ms` the fence_delay before fencing it."""
    _fields = ("device", "delay_ms")
    _defaults = {"delay_ms": 0}


# --- inputs from the shell: service health (pyha.cf `monitor`, issue 14) ----------------

class CheckFailed(_Value):
    """A check of `resource` (a pyha.cf `monitor` line) in held group `group` failed here:
    `detail` says how.  `restarts`, `window_ms` and `interval_ms` are the monitor line's
    settings in force (the input carries them so a reload never needs a second path)."""
    _fields = ("group", "resource", "detail", "restarts", "window_ms", "interval_ms")
    _defaults = {"detail": "check failed", "restarts": 1, "window_ms": 300000, "interval_ms": 2000}


class ResourceRestarted(_Value):
    """The outcome of a `RestartResource`: `ok` when the resource was stopped and started
    again; otherwise `detail` says what failed (a failed restart counts as a failure)."""
    _fields = ("group", "resource", "ok", "detail")
    _defaults = {"detail": ""}


INPUTS = (GroupAcquired, GroupAcquireFailed, GroupReleased, GroupReleaseFailed,
          VipFree, VipAnswered, VipConflict, VipLink, Standby, Takeover, Shutdown, Fenced,
          CheckFailed, ResourceRestarted)


# --- outputs: what the shell should do ------------------------------------------------

class Acquire(_Value):
    """Start these groups (tuple of keys), each left to right; report each result."""
    _fields = ("groups", "reason")


class Release(_Value):
    """Stop these groups (tuple of keys), each right to left; report each result."""
    _fields = ("groups", "reason")


class ProbeVip(_Value):
    """ARP-probe the service address of these groups; answer VipFree / VipAnswered each."""
    _fields = ("groups", "reason")


class AnnounceVip(_Value):
    """Send gratuitous ARP for these held groups (we keep them after a conflict)."""
    _fields = ("groups", "reason")


class CommandResult(_Value):
    """The answer to an operator command, for the control socket."""
    _fields = ("command", "which", "accepted", "reason")


class ShutdownComplete(_Value):
    """Everything is released and `shutdone` was sent: the daemon may exit now."""
    _fields = ("reason",)


class FencePeer(_Value):
    """Fence `node` now with the one device configured for it (the shell chooses reboot or
    off as configured) and answer `Fenced`; nothing is taken over until it succeeds."""
    _fields = ("node", "reason")


class RestartResource(_Value):
    """Stop then start `resource` of held group `group` here (its check failed); answer
    with `ResourceRestarted`."""
    _fields = ("group", "resource", "reason")


ACTIONS = (Acquire, Release, ProbeVip, AnnounceVip, CommandResult, ShutdownComplete, FencePeer,
           RestartResource)


# --- outputs: state changes (one per transition; the shell may record or ignore them) ---

class PhaseChanged(_Value):
    """The node's resource phase changed (waiting, starting, running, stopping, stopped)."""
    _fields = ("old", "new", "reason")


class GroupStateChanged(_Value):
    """Group `group` changed state here (idle, probing, acquiring, held, releasing, stuck)."""
    _fields = ("group", "old", "new", "reason")


class StandbyStateChanged(_Value):
    """The standby exchange moved (none, asked, releasing, released, accepted, acquiring)."""
    _fields = ("old", "new", "reason")


class NodeStateChanged(_Value):
    """The peer `node`, as the resource manager sees it, changed (never, up, dead, left)."""
    _fields = ("node", "old", "new", "reason")


class FenceStateChanged(_Value):
    """The fencing of the peer `node` moved (idle, delaying, fencing, failed, fenced)."""
    _fields = ("node", "old", "new", "reason")


TRANSITIONS = (PhaseChanged, GroupStateChanged, StandbyStateChanged, NodeStateChanged, FenceStateChanged)
