"""A deterministic two-node (or more) cluster for the resource manager's tests.

Each simulated node is a `NodeStack`: the daemon's own composition, `NodeCore`
(pyha/cluster/node_core.py: the real `Membership` feeding the real `Manager`, with
production's claim delay, driven one step per input and ticked at its deadline exactly as
`pyha daemon` drives it), plus a fake resource shell whose group starts
and stops complete after configurable delays and can be told to fail.  A `World` holds
the truth the nodes cannot see directly: where each group's resources (and service
address) are configured.  It is also the VIP witness: an ARP probe from a node is
answered when any *other* node has that group's address up, and when an address comes
up on a second node both holders get a `VipConflict` (gratuitous ARP is seen by all).
The service LAN the witness uses is not cut by the heartbeat-link cuts, so cutting the
media models "only the heartbeat links are cut".

The network, fake clock and event queue are `tests/unit/simnet.py`'s `SimNet` (cuts per
link and direction, loss, delay, jitter, duplication; one seeded generator).  `Genuine`
is a scripted stand-in for a genuine heartbeat node: its membership is real, and the
test makes it say exactly the resource messages of spec Appendix A.

Never reads a real clock, never sleeps, never touches a socket.
"""

import heapq
import random
from collections import OrderedDict

from pyha.cluster.events import Deliver, Heard, Log, PingReply, Retransmit, Send, Tick
from pyha.cluster.manager import Manager, ManagerConfig
from pyha.cluster.manager_events import (
    INPUTS, Acquire, AnnounceVip, CheckFailed, FencePeer, Fenced, GroupAcquired, GroupAcquireFailed,
    GroupReleased, GroupReleaseFailed, ProbeVip, Release, ResourceRestarted, RestartResource, Shutdown,
    ShutdownComplete, VipAnswered, VipConflict, VipFree, VipLink,
)
from pyha.cluster.membership import Membership, MembershipConfig
from pyha.cluster.node_core import NodeCore
from simnet import SimNet, event_class

INF = float("inf")


def mac_of(node):
    return "02:00:5e:00:00:%02x" % (sum(node.encode()) % 256)


class At(object):
    """A manager input (operator command, shell result) delivered to a node at `now`."""

    def __init__(self, now, event):
        self.now = now
        self.event = event


class Say(object):
    """Make a scripted node send `fields` (through its membership, numbered)."""

    def __init__(self, now, fields):
        self.now = now
        self.fields = fields


class World(object):
    """Where each group really runs; the VIP witness; the invariant log."""

    def __init__(self, groups, conflicts=True):
        self.groups = OrderedDict((g.key, g) for g in groups)
        self.running = OrderedDict((g.key, set()) for g in groups)
        self.conflicts = conflicts
        self.stacks = {}           # name -> current NodeStack (for conflict notices)
        self.changes = []          # (time, key, frozenset of holders) after every change
        self.duplicates = []       # [start, end or None, key, holders]
        self._open = {}            # key -> index into duplicates
        self.dark = set()          # nodes whose service interface has no carrier
        self.power_off = None      # fn(when, fencer, target): a fence device switches a node off
        self.fenced = []           # (time, fencer, target) of every successful fence
        # node -> how its monitored service is broken: "crash" (a restart mends it),
        # "broken" (restarts succeed, checks keep failing), "unstartable" (restarts fail)
        self.faults = {}

    def holders(self, key):
        return set(self.running[key])

    def serving(self, key):
        """Holders clients can reach: a node without carrier on the VIP's interface holds
        the address, but nobody hears it answer (the lab counts a duplicate the same way)."""
        if not self.groups[key].vip:
            return set(self.running[key])
        return set(self.running[key]) - self.dark

    def _changed(self, now, key):
        holders = frozenset(self.serving(key))
        self.changes.append((now, key, holders))
        if len(holders) > 1 and key not in self._open:
            self._open[key] = len(self.duplicates)
            self.duplicates.append([now, None, key, holders])
        elif len(holders) <= 1 and key in self._open:
            self.duplicates[self._open.pop(key)][1] = now

    def bring_up(self, now, node, key):
        if node in self.running[key]:
            return
        others = set(self.running[key])
        self.running[key].add(node)
        self._changed(now, key)
        if self.conflicts and self.groups[key].vip and node not in self.dark:
            for other in others - self.dark:
                for who, mac in ((other, mac_of(node)), (node, mac_of(other))):
                    stack = self.stacks.get(who)
                    if stack is not None:
                        stack.shell.notify(now, VipConflict(key, mac))

    def set_dark(self, now, node, dark):
        """The service interface of `node` loses (True) or regains its carrier.  On its
        return the node announces what it holds (resources_shell.poll_links), so another
        holder's witness sees the conflict."""
        if dark == (node in self.dark):
            return
        if dark:
            self.dark.add(node)
        else:
            self.dark.discard(node)
        stack = self.stacks.get(node)
        if stack is not None:
            stack.shell.carrier(now, not dark)
        for key in self.running:
            self._changed(now, key)
            if dark or not self.conflicts or not self.groups[key].vip or node not in self.running[key]:
                continue
            for other in self.running[key] - self.dark - {node}:
                stack = self.stacks.get(other)
                if stack is not None:
                    stack.shell.notify(now, VipConflict(key, mac_of(node)))

    def take_down(self, now, node, key):
        if node in self.running[key]:
            self.running[key].discard(node)
            self._changed(now, key)

    def drop_node(self, now, node):
        for key in self.running:
            self.take_down(now, node, key)

    def probe(self, node, key):
        if node in self.dark:
            return VipAnswered(key, "none (eth0 has no carrier here)")
        others = sorted(self.serving(key) - {node})
        return VipAnswered(key, mac_of(others[0])) if others else VipFree(key)


class FakeShell(object):
    """Runs group operations for one node after fixed delays; may fail on purpose.

    With `monitor` (a dict: resource, group, interval_s, restarts, window_ms) it is also
    the daemon's service monitor: while the group runs here it checks every interval and
    says `CheckFailed` while the World says this node's service is faulty; it carries out
    `RestartResource` after `restart_s` (no checks meanwhile, the next one an interval
    after the outcome, as the daemon's Watch does)."""

    def __init__(self, node, world, acquire_s=0.5, release_s=0.3, probe_s=0.05,
                 fail_start=(), fail_stop=(), fence_s=1.0, fence_ok=True, monitor=None, restart_s=0.4):
        self.monitor = dict(monitor) if monitor else None
        self.restart_s = restart_s
        self._check_gen = 0                 # bumped when checks (re)start: older chains stop
        self.restarting = False
        self.checks = []                    # (time, ok) of every check made
        self.node = node
        self.world = world
        self.acquire_s = acquire_s
        self.release_s = release_s
        self.probe_s = probe_s
        self.fail_start = set(fail_start)   # keys whose next starts fail
        self.fail_stop = set(fail_stop)     # keys whose stops fail
        self.fence_s = fence_s              # how long a fence call takes
        self.fence_ok = fence_ok            # False: the device fails (a broken BMC); may be changed
        self.ops = []                       # heap of (due, order, kind, payload)
        self._order = 0
        self.probes = []                    # (time, keys) of every ProbeVip
        self.actions = []                   # (time, action) every Acquire/Release/...

    def _push(self, due, kind, payload):
        self._order += 1
        heapq.heappush(self.ops, (due, self._order, kind, payload))

    def notify(self, now, event):
        self._push(now, "event", event)

    def carrier(self, now, up):
        for key, g in self.world.groups.items():
            if g.vip:
                self.notify(now, VipLink(key, up, "" if up else "eth0"))

    def take(self, now, action):
        self.actions.append((now, action))
        if isinstance(action, Acquire):
            for key in action.groups:
                self._push(now + self.acquire_s, "acquire", key)
        elif isinstance(action, Release):
            for key in action.groups:
                self._push(now + self.release_s, "release", key)
        elif isinstance(action, ProbeVip):
            self.probes.append((now, tuple(action.groups)))
            for key in action.groups:
                self._push(now + self.probe_s, "probe", key)
        elif isinstance(action, FencePeer):
            # The BMC acts whatever happens to the caller meanwhile (two nodes fencing each
            # other at once both go off); the answer reaches only a caller still running.
            if self.fence_ok:
                self.world.power_off(now + self.fence_s, self.node, action.node)
            self._push(now + self.fence_s, "fence", (action.node, self.fence_ok))
        elif isinstance(action, RestartResource):
            self.restarting = True
            self._push(now + self.restart_s, "restart", action)

    def _watch(self, now):
        """(Re)start the check chain: the first check one interval on."""
        self._check_gen += 1
        self._push(now + self.monitor["interval_s"], "check", self._check_gen)

    def _check(self, due, gen):
        m = self.monitor
        if gen != self._check_gen or self.node not in self.world.running[m["group"]]:
            return []  # released (or restarted meanwhile): this chain ends
        self._push(due + m["interval_s"], "check", gen)
        if self.restarting:
            return []
        fault = self.world.faults.get(self.node)
        self.checks.append((due, fault is None))
        if fault is None:
            return []
        return [CheckFailed(m["group"], m["resource"], "status exit 3 (%s)" % fault, m["restarts"],
                            m["window_ms"], int(m["interval_s"] * 1000))]

    def _restarted(self, due, action):
        self.restarting = False
        fault = self.world.faults.get(self.node)
        if fault == "crash":
            del self.world.faults[self.node]
        self._watch(due)
        if fault == "unstartable":
            return [ResourceRestarted(action.group, action.resource, False, "%s start exited 1" % action.resource)]
        return [ResourceRestarted(action.group, action.resource, True, "")]

    def next_due(self):
        return self.ops[0][0] if self.ops else INF

    def due(self, now):
        """Complete what is due by `now`; return the manager inputs it produces."""
        out = []
        while self.ops and self.ops[0][0] <= now + 1e-12:
            due, _, kind, key = heapq.heappop(self.ops)
            if kind == "event":
                out.append(key)
            elif kind == "acquire":
                # The address is configured even when a later resource of the group fails.
                self.world.bring_up(due, self.node, key)
                if key in self.fail_start:
                    out.append(GroupAcquireFailed(key, "specres::one start exited 1"))
                else:
                    out.append(GroupAcquired(key))
                    if self.monitor and self.monitor["group"] == key:
                        self._watch(due)
            elif kind == "release":
                if key in self.fail_stop:
                    out.append(GroupReleaseFailed(key, "specres::one stop exited 1"))
                else:
                    self.world.take_down(due, self.node, key)
                    out.append(GroupReleased(key))
            elif kind == "probe":
                out.append(self.world.probe(self.node, key))
            elif kind == "fence":
                # A fence device of the lab's kind: success has powered the target off (its
                # resources stopped with it); failure is fence_ipmilan's exit 1.
                target, ok = key
                if ok:
                    out.append(Fenced(target, True, "fence_ipmilan off: Success: Powered OFF"))
                else:
                    out.append(Fenced(target, False, "fence_ipmilan exit 1: Failed: Unable to obtain correct plug "
                                                     "status"))
            elif kind == "check":
                out.extend(self._check(due, key))
            elif kind == "restart":
                out.extend(self._restarted(due, key))
        return out


class NodeStack(object):
    """One pyha node: the daemon's own NodeCore (membership + manager) and a FakeShell.

    Driven as the daemon drives it: each input is one step, ticks come at the core's
    next deadline, resource results go back in as inputs of their own."""

    def __init__(self, name, world, mconfig, rconfig, rng, shell, start_at=0.0, exit_after_s=0.5):
        self.name = name
        self.world = world
        self.core = NodeCore.build(mconfig, rconfig, rng)
        self.membership, self.manager = self.core.membership, self.core.manager
        self.shell = shell
        self.start_at = start_at
        self.exit_after_s = exit_after_s
        self.exit_at = None            # set when the manager says ShutdownComplete
        self.log = []                  # (time, action) of every action of every step
        self.inputs = []               # (time, event) fed to the core besides network and ticks
        self.reasons = []              # (time, input kind, Step.reason) of every step

    def record_sent(self, seq, payload):
        self.membership.record_sent(seq, payload)

    def _step(self, event, now):
        step = self.core.handle(event, now)
        self.reasons.append((now, type(event).__name__, step.reason))
        for action in step.actions:
            self.log.append((now, action))
            if isinstance(action, (Acquire, Release, ProbeVip, AnnounceVip, FencePeer, RestartResource)):
                self.shell.take(now, action)
            elif isinstance(action, ShutdownComplete):
                self.exit_at = now + self.exit_after_s
        return step.actions

    def handle(self, event):
        now = event.now
        if now < self.start_at - 1e-12:
            return []  # not started yet: the daemon is not running
        out = []
        for ev in self.shell.due(now):
            self.inputs.append((now, ev))
            out += self._step(ev, now)
        if isinstance(event, (Heard, PingReply, Tick)):
            out += self._step(event, now)
        elif isinstance(event, At):
            self.inputs.append((now, event.event))
            out += self._step(event.event, now)
        return out

    def next_deadline(self, now):
        if now < self.start_at:
            return self.start_at
        cands = [self.core.next_deadline(now), self.shell.next_due()]
        if self.exit_at is not None:
            cands.append(self.exit_at)
        return max(now, min(cands))

    def decisions(self):
        """(time, reason) of every decision the manager logged at INFO or above."""
        return [(t, a.text) for t, a in self.log if isinstance(a, Log) and a.level != "DEBUG"]


class Genuine(object):
    """A scripted genuine heartbeat node: real membership, resource messages by hand."""

    def __init__(self, mconfig, rng, start_at=0.0):
        self.membership = Membership(mconfig, rng)
        self.delivered = []  # (time, Deliver)
        self.start_at = start_at

    def record_sent(self, seq, payload):
        self.membership.record_sent(seq, payload)

    def handle(self, event):
        if event.now < self.start_at - 1e-12:
            return []
        if isinstance(event, Say):
            return [self.membership.send(event.fields)]
        acts = self.membership.handle(event)
        for a in acts:
            if isinstance(a, Deliver):
                self.delivered.append((event.now, a))
        return acts

    def next_deadline(self, now):
        if now < self.start_at:
            return self.start_at
        return self.membership.next_deadline(now)

    def said_to_it(self, t=None):
        """The resource messages this node received, as (time, fields) pairs."""
        return [(when, d.fields) for when, d in self.delivered if t is None or d.t == t]


class Cluster(object):
    """SimNet + World + NodeStacks with heartbeat's lab timings (keepalive 1, deadtime 6)."""

    def __init__(self, groups=(("192.0.2.100/24/eth0", "ha1", True),), nodes=("ha1", "ha2"),
                 seed=0, keepalive_ms=1000, deadtime_ms=6000, warntime_ms=3000, initdead_ms=12000,
                 auto_failback="on", ping=(), media=("eth0",), start_at=None, shell=None,
                 delay=0.002, manager_opts=None, conflicts=True, genuine=(), exit_after_s=0.5,
                 node_opts=None):
        self.net = SimNet(seed)
        self.rng = random.Random(seed)
        for m in media:
            self.net.add_medium(m, delay=delay)
        for p in ping:
            self.net.add_ping_target(p)
        self.nodes = tuple(nodes)
        self.group_specs = list(groups)
        self.auto_failback = auto_failback
        self.timing = dict(keepalive_ms=keepalive_ms, deadtime_ms=deadtime_ms,
                           warntime_ms=warntime_ms, initdead_ms=initdead_ms)
        self.ping = tuple(ping)
        self.media = tuple(media)
        self.manager_opts = dict(manager_opts or {})
        self.node_opts = dict(node_opts or {})  # node -> manager options of that node only
        self.shell_opts = dict(shell or {})
        self.exit_after_s = exit_after_s
        self.genuine = set(genuine)
        rconf = self.rconfig(self.nodes[0])
        self.world = World(rconf.groups, conflicts=conflicts)
        self.world.power_off = self._power_off
        self.stacks = OrderedDict()
        self.scripted = OrderedDict()
        self._hg = {}
        start_at = dict(start_at or {})
        for name in self.nodes:
            self._hg[name] = 1000 + 100 * len(self._hg)
            machine = self._machine(name, start_at.get(name, 0.0))
            self.net.add_node(name, machine, hg=self._hg[name], hooks=[self._hook],
                              start_at=start_at.get(name, 0.0))

    # --- building ---------------------------------------------------------------------------

    def mconfig(self, name):
        return MembershipConfig(name, self.nodes, self.media, ping_nodes=self.ping, **self.timing)

    def rconfig(self, name):
        peer = [n for n in self.nodes if n != name][0]
        opts = dict(self.manager_opts)
        opts.update(self.node_opts.get(name, {}))
        opts.setdefault("ping_targets", self.ping)
        return ManagerConfig(name, peer, self.group_specs, auto_failback=self.auto_failback,
                             keepalive_ms=self.timing["keepalive_ms"], deadtime_ms=self.timing["deadtime_ms"],
                             warntime_ms=self.timing["warntime_ms"], **opts)

    def _machine(self, name, start_at=0.0):
        rng = random.Random("%s-%s" % (name, self.rng.random()))
        if name in self.genuine:
            machine = Genuine(self.mconfig(name), rng, start_at)
            self.scripted[name] = machine
            return machine
        opts = dict(self.shell_opts.get("*", {}))
        opts.update(self.shell_opts.get(name, {}))
        shell = FakeShell(name, self.world, **opts)
        if name in self.world.dark:
            shell.carrier(start_at, False)  # the daemon's first poll of the links says so
        stack = NodeStack(name, self.world, self.mconfig(name), self.rconfig(name), rng, shell,
                          start_at=start_at, exit_after_s=self.exit_after_s)
        self.world.stacks[name] = stack
        self.stacks[name] = stack
        return stack

    def _hook(self, net, node, now, actions):
        stack = self.stacks.get(node.name)
        if stack is not None and node.machine is stack and stack.exit_at is not None \
                and now >= stack.exit_at - 1e-12:
            net.kill(node.name)  # the daemon exits after shutdone (resources already released)

    # --- driving -----------------------------------------------------------------------------

    def run_until(self, t):
        self.net.run_until(t)

    def run_for(self, dt):
        self.net.run_for(dt)

    @property
    def now(self):
        return self.net.now

    def at(self, when, fn):
        self.net.at(when, fn)

    def command(self, when, node, event):
        """Deliver a manager input (Standby(), Takeover(), Shutdown(), a shell result...)."""
        self.net.inject(when, node, lambda now: At(now, event))

    def say(self, when, node, fields):
        """A scripted (genuine) node sends `fields`."""
        self.net.inject(when, node, lambda now: Say(now, OrderedDict(fields)))

    def genuine_holds(self, when, node, key, up=True):
        """A scripted genuine node's resources come up (or go down) at `when`."""
        def doit(net):
            if up:
                self.world.bring_up(net.now, node, key)
            else:
                self.world.take_down(net.now, node, key)
        self.net.at(when, doit)

    def crash(self, when, node, resources="released"):
        """kill -9 of the daemon.  resources: "released" (guardian stops them at once) or
        "stay" (nothing stops them: the address keeps answering)."""
        def doit(net):
            net.kill(node)
            if node in self.stacks:
                self.stacks[node].shell.ops = []
            if resources == "released":
                self.world.drop_node(net.now, node)
        self.net.at(when, doit)

    def _power_off(self, when, fencer, node):
        """At `when` a fence device switches `node` off: the daemon and its resources are gone."""
        def doit(net):
            self.world.fenced.append((net.now, fencer, node))
            net.kill(node)
            if node in self.stacks:
                self.stacks[node].shell.ops = []
            self.world.drop_node(net.now, node)
        self.net.at(when, doit)

    def restart(self, when, node):
        """Start a fresh daemon (new generation) on a node whose resources are released."""
        def doit(net):
            self._hg[node] += 1
            machine = self._machine(node, net.now)
            net.restart(node, machine, self._hg[node])
        self.net.at(when, doit)

    def fault(self, when, node, mode="crash"):
        """`node`'s monitored service breaks at `when` (World.faults; None mends it)."""
        def doit(net):
            if mode is None:
                self.world.faults.pop(node, None)
            else:
                self.world.faults[node] = mode
        self.net.at(when, doit)

    def cut(self, when, a=None, b=None, media=None, both_ways=True):
        def doit(net):
            for m in (media or self.media):
                net.media[m].cut(a, b, both_ways)
        self.net.at(when, doit)

    def nic(self, when, node, up):
        """The public (service) interface of `node` loses or regains its carrier; the ping
        nodes sit behind it."""
        def doit(net):
            self.world.set_dark(net.now, node, not up)
            for p in net.pings.values():
                (p.unreachable_from.discard if up else p.unreachable_from.add)(node)
        self.at(when, doit)

    def restore(self, when, media=None):
        def doit(net):
            for m in (media or self.media):
                net.media[m].restore()
        self.net.at(when, doit)

    # --- reading --------------------------------------------------------------------------------

    def holders(self, key=None):
        key = key or self.world.groups and list(self.world.groups)[0]
        return self.world.holders(key)

    def manager(self, node):
        return self.stacks[node].manager

    def snapshot(self, node):
        return self.stacks[node].manager.snapshot(self.now)

    def sent(self, node, t=None, since=None):
        """Wire dicts `node` put on the network (membership's and the manager's)."""
        out = []
        for w in self.net.nodes[node].sent:
            if t is not None and w.get("t") != t:
                continue
            out.append(w)
        return out

    def resource_msgs(self, node, types=("starting", "resource", "ask_resources", "hb_takeover", "shutdone",
                                         "ip-request", "ip-request-resp", "stonith", "pyha-ping"),
                      last_run=True):
        """The resource protocol messages `node` sent, as (t, own fields...) tuples without
        the control fields, in order: the shapes of spec Appendix A.  `last_run`: only
        those of its current daemon (generation)."""
        ctl = {"src", "seq", "hg", "ts", "srcuuid", "ld", "ttl", "auth", "destuuid"}
        out = []
        hg = "%x" % self._hg[node]
        for w in self.net.nodes[node].sent:
            if last_run and w.get("hg") != hg:
                continue
            if w.get("t") in types:
                out.append(tuple((k, v) for k, v in w.items() if k not in ctl))
        return out

    def decisions(self, node):
        return self.stacks[node].decisions()

    def actions(self, who, kind, **attrs):
        """(time, action) of node `who`'s steps of one kind (a class or its name in
        pyha.cluster), with these attribute values.  A renamed class or field is an
        error, not an empty list (a negative assert must not pass by accident)."""
        cls = event_class(kind)
        missing = [k for k in attrs if k not in cls._fields]
        if missing:
            raise AttributeError("%s has no field %s" % (cls.__name__, ", ".join(missing)))
        return [(t, a) for t, a in self.stacks[who].log
                if type(a) is cls and all(getattr(a, k) == v for k, v in attrs.items())]
