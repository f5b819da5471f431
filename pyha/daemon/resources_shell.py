"""Carrying out the manager's resource actions: Acquire, Release, ProbeVip, AnnounceVip.

The manager (pure) says what should happen to which group; this shell resolves the
haresources tokens to agents, runs each group through a GroupRunner (child processes,
netlink), asks the VIP witness, and reports every outcome back as an event
(`GroupAcquired`, `GroupReleaseFailed`, `VipAnswered`, ...).  It also keeps the guardian
told what this node may be holding *before* anything starts, so a SIGKILL at any moment
leaves nothing behind.
"""

import logging
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional

from pyha.cluster import manager_events as me
from pyha.config.pyhacf_monitor import find_resource
from pyha.resources import agents, ipaddr
from pyha.resources.group import ArpAnnouncer, GroupRunner
from pyha.resources.runner import ProcessRunner
from pyha.resources.witness import VipWitness

log = logging.getLogger("pyha")


def has_carrier(ifname, sys_class_net="/sys/class/net"):
    # type: (str, str) -> bool
    try:
        with open("%s/%s/operstate" % (sys_class_net, ifname)) as f:
            state = f.read().strip()
        with open("%s/%s/carrier" % (sys_class_net, ifname)) as f:
            carrier = f.read().strip()
    except OSError:
        return False  # down interfaces refuse to report carrier (EINVAL)
    return carrier == "1" and state in ("up", "unknown")


class ResourceShell(object):
    def __init__(self, loop, haresources, emit, guardian=None, resource_d=agents.RESOURCE_D,
                 witness=None, announcer=None):
        # type: (Any, Any, Callable[[Any], Any], Any, str, Optional[VipWitness], Optional[ArpAnnouncer]) -> None
        self.loop = loop
        self.emit = emit
        self.guardian = guardian
        self.runner = ProcessRunner(loop)
        self.announcer = announcer if announcer is not None else ArpAnnouncer(loop)
        self.witness = witness if witness is not None else VipWitness(loop)
        self.groups = OrderedDict()  # type: Dict[str, GroupRunner]
        self.tokens = OrderedDict()  # type: Dict[str, List[str]]
        self.ips = {}  # type: Dict[str, List[ipaddr.IpSpec]]
        self.maybe_held = OrderedDict()  # type: Dict[str, bool]
        self.problems = []  # type: List[str]
        self.verifying = set()  # type: set
        self.carrier = {}  # type: Dict[Any, bool]  # (group, interface) -> carrier, while held
        self.link_ok = {}  # type: Dict[str, bool]  # group -> all its VIP interfaces have carrier
        self.releasing = set()  # type: set
        self.haresources = haresources
        self.restarting = {}  # type: Dict[str, List[Callable[[], Any]]]  # group -> what waits for its restart
        self.before_restart = None  # type: Optional[Callable[[Any], Any]]  # told of each RestartResource first
        self._ifnames = {}  # type: Dict[str, str]
        for group in haresources.groups:
            tokens = [r.token for r in group.resources]
            try:
                resolved = [agents.resolve(t, resource_d=resource_d) for t in tokens]
            except agents.AgentError as exc:
                self.problems.append("group %s: %s" % (group.key, exc))
                continue
            self.tokens[group.key] = tokens
            self.groups[group.key] = GroupRunner(loop, self.runner, group.key, resolved, self.announcer)
            self.ips[group.key] = [ipaddr.IpSpec.parse(a.ip_spec()) for a in resolved
                                   if a.kind == agents.KIND_IP]
        if any(self.ips.values()):
            # Import the netlink library now, not at the first takeover: the import takes
            # ~0.2 s, long enough to delay keepalives past a sub-second warntime.
            import pyroute2  # noqa: F401

    # -- what the guardian must release if we die ----------------------------------------
    def _tell_guardian(self):
        if self.guardian is None:
            return
        held = []  # type: List[str]
        for key in self.maybe_held:
            held.extend(self.tokens.get(key, []))
        self.guardian.holding(held)

    def holding(self):
        # type: () -> List[str]
        return list(self.maybe_held)

    # -- actions -------------------------------------------------------------------------
    def do(self, action):
        # type: (Any) -> bool
        """Carry out one manager action; False if it is not a resource action."""
        if isinstance(action, me.Acquire):
            for key in action.groups:
                self._acquire(key)
        elif isinstance(action, me.Release):
            for key in action.groups:
                self._release(key)
        elif isinstance(action, me.ProbeVip):
            for key in action.groups:
                self._probe(key)
        elif isinstance(action, me.RestartResource):
            if self.before_restart is not None:
                self.before_restart(action)
            self._restart(action.group, action.resource)
        elif isinstance(action, me.AnnounceVip):
            for key in action.groups:
                for spec, ifname in self._vips(key):
                    if ifname:
                        self.announcer.announce(ifname, spec.ip)
        else:
            return False
        return True

    def _vips(self, key):
        """(spec, interface name or None) for each VIP of `key`.  An interface derived from
        the subnet (no `/eth0` in haresources) costs a netlink dump, so a found name is
        kept; poll_links runs on every tick."""
        for spec in self.ips.get(key, []):
            ifname = spec.ifname or self._ifnames.get(spec.ip)
            if ifname is None:
                try:
                    ifname = self._ifnames[spec.ip] = ipaddr.resolve(spec)[0]
                except ipaddr.IpResourceError:
                    ifname = None
            yield spec, ifname

    def _acquire(self, key):
        self.releasing.discard(key)
        runner = self.groups.get(key)
        if runner is None:
            self.loop.call_later(0, lambda: self.emit(me.GroupAcquireFailed(key, "unknown or unresolvable group")))
            return
        self.maybe_held[key] = True
        self._tell_guardian()

        def done(result):
            if result.ok:
                log.info("group %s acquired in %.2f s", key, result.duration)
                for spec, ifname in self._vips(key):
                    if ifname:
                        self.witness.watch(ifname, spec.ip,
                                           lambda ip, mac, ifname=ifname: self._suspect(key, ifname, ip, mac))
                self.emit(me.GroupAcquired(key))
            else:
                # the runner stopped what it started; if that stop failed, it may still run
                log.error("group %s: start failed at %s: %s", key, result.failed, result.detail)
                self.emit(me.GroupAcquireFailed(key, "%s: %s" % (result.failed, result.detail)))

        try:
            runner.start(done)
        except RuntimeError as exc:
            self.emit(me.GroupAcquireFailed(key, str(exc)))

    def poll_links(self):
        # type: () -> None
        """Called on every tick and whenever netlink says a link changed.

        For every group with a service address, tell the manager whether all its
        interfaces have carrier (`VipLink`, once at start and then on every change, held
        or not: the peer must know whether we could take a group before it hands it to
        us).  When a VIP's interface gets its carrier back while we hold the VIP, announce
        it: neighbours (and the switch) may have learnt the peer's MAC while our link was
        down, and after a partition heal nobody else will tell them."""
        seen = {}  # type: Dict[str, bool]
        for key, specs in self.ips.items():
            if not specs:
                continue  # no service address: nothing a carrier could say
            dark = []  # type: List[str]
            for spec, ifname in self._vips(key):
                if not ifname:
                    continue
                if ifname not in seen:
                    seen[ifname] = has_carrier(ifname)
                if not seen[ifname]:
                    dark.append(ifname)
            ok = not dark
            if self.link_ok.get(key) != ok:
                self.link_ok[key] = ok
                self.emit(me.VipLink(key, ok, "" if ok else ", ".join(dark)))
        for key in list(self.maybe_held):
            if key in self.releasing:
                continue
            for spec, ifname in self._vips(key):
                if not ifname or ifname not in seen:
                    continue
                up = seen[ifname]
                was = self.carrier.get((key, ifname))
                self.carrier[(key, ifname)] = up
                if up and was is False:
                    log.info("%s has its carrier back; announcing %s", ifname, spec.ip)
                    self.announcer.announce(ifname, spec.ip)
                elif not up and was:
                    log.warning("%s lost its carrier while holding %s", ifname, spec.ip)

    def announce_held(self, why):
        # type: (str) -> None
        """Gratuitous ARP for every VIP we hold (after a partition heal: we kept them).
        Never for a group being released, nor for an address no longer configured."""
        for key in self.maybe_held:
            if key in self.releasing:
                continue
            for spec, ifname in self._vips(key):
                if ifname and has_carrier(ifname) and ipaddr.is_present(spec):
                    log.info("announcing %s (%s)", spec.ip, why)
                    self.announcer.announce(ifname, spec.ip)

    def _suspect(self, key, ifname, ip, mac):
        """Another MAC announced our VIP.  An announcement may be stale (a burst still in
        flight from the previous holder), so ask: only a station that answers a probe for
        the address now really holds it, and only that is a conflict."""
        if key in self.verifying or key not in self.maybe_held:
            return
        self.verifying.add(key)

        def answered(_ip, holder):
            self.verifying.discard(key)
            if holder is not None and key in self.maybe_held:
                self.emit(me.VipConflict(key, holder))
            elif holder is None:
                log.info("stale ARP announcement of %s from %s ignored: nobody else answers for it", ip, mac)

        self.witness.probe(ifname, ip, answered)

    def _restart(self, key, resource):
        """Stop then start one resource of a held group (RestartResource); answer
        ResourceRestarted.  A release asked for meanwhile waits for it (queued below)."""
        runner = self.groups.get(key)
        tokens = set(r.token for r in find_resource(self.haresources, resource))
        token = next((t for t in self.tokens.get(key, []) if t in tokens), None)

        def report(ok, detail=""):
            self.emit(me.ResourceRestarted(key, resource, ok, detail))

        if runner is None or token is None:
            self.loop.call_later(0, lambda: report(False, "%s is not a resource of group %s" % (resource, key)))
            return
        self.restarting[key] = []

        def done(result):
            waiting = self.restarting.pop(key, [])
            if result.ok:
                log.info("%s (group %s) restarted in %.2f s", token, key, result.duration)
            else:
                log.error("restart of %s (group %s) failed: %s", token, key, result.detail)
            report(result.ok, result.detail)
            for then in waiting:
                then()

        try:
            runner.restart(token, done)
        except RuntimeError as exc:
            self.restarting.pop(key, None)
            self.loop.call_later(0, lambda: report(False, str(exc)))

    def _release(self, key):
        if key in self.restarting:
            self.restarting[key].append(lambda: self._release(key))
            return
        runner = self.groups.get(key)
        if runner is None:
            self.loop.call_later(0, lambda: self.emit(me.GroupReleased(key)))
            return
        for spec in self.ips.get(key, []):
            self.witness.unwatch(spec.ip)
        self.releasing.add(key)

        def done(result):
            self.releasing.discard(key)
            if result.ok:
                log.info("group %s released in %.2f s", key, result.duration)
                self.maybe_held.pop(key, None)
                for k in [k for k in self.carrier if k[0] == key]:
                    del self.carrier[k]
                self._tell_guardian()
                self.emit(me.GroupReleased(key))
            else:
                log.critical("group %s: stop failed at %s: %s; still holding it", key, result.failed, result.detail)
                self.emit(me.GroupReleaseFailed(key, "%s: %s" % (result.failed, result.detail)))

        try:
            runner.stop(done)
        except RuntimeError as exc:
            self.emit(me.GroupReleaseFailed(key, str(exc)))

    def _probe(self, key):
        specs = list(self.ips.get(key, []))
        if not specs:
            self.loop.call_later(0, lambda: self.emit(me.VipFree(key)))
            return
        answers = {}  # type: Dict[str, Optional[str]]

        def one(ip, mac):
            answers[ip] = mac
            if len(answers) < len(specs):
                return
            holders = [m for m in answers.values() if m]
            self.emit(me.VipAnswered(key, holders[0]) if holders else me.VipFree(key))

        for spec, ifname in self._vips(key):
            if ifname is None:
                one(spec.ip, None)
                continue
            if not has_carrier(ifname):
                # We cannot serve the address there, nor ask who holds it: never take it
                # on an interface that is down (a node cut off on both links would).
                one(spec.ip, "none (%s has no carrier here)" % ifname)
                continue
            self.witness.probe(ifname, spec.ip, one)

    def close(self):
        self.runner.kill_all()
        self.witness.close()
        self.announcer.close()
