"""A simulated network and fake clock for driving pure cluster state machines in tests.

`SimNet` holds named nodes (each wrapping a machine with `handle(event)` and
`next_deadline(now)`, e.g. `pyha.cluster.membership.Membership`), named media (links)
with programmable cuts, loss, delay, jitter (hence reordering) and duplication, and
ping targets that echo.  Everything runs on one event queue ordered by simulated
monotonic time; all randomness comes from one seeded `random.Random`, so a run is
reproducible to the bit.  Every action a machine returns is recorded in `trace` as
`(time, node, action)`.

Messages travel as flat field dicts, built like the shell will build them: the
machine's `Send.fields` plus the control fields src, seq (hex), hg (hex), ts (hex of
the node's *wall clock*, which tests may step), in heartbeat's order.  Stored payloads
for retransmission are the same dicts (frozen as tuples of pairs).

Other simulators (the resource manager's) can reuse it: pass `hooks` to `add_node`
to see each batch of actions and inject follow-up events.

Also here: small builders shared by the membership tests (a standard config with the
lab's timings, a scripted RNG, `FakePeer` producing a well-behaved peer's `Heard`
events, and action filters).

Never reads a real clock, never sleeps, never touches a socket.
"""

import heapq
import random
from collections import OrderedDict

from pyha.cluster.events import Heard, Log, PingReply, Retransmit, Send, Tick
from pyha.cluster.membership import Membership, MembershipConfig

WALL_BASE = 1800000000.0  # the simulated wall clock starts here (Unix seconds)
_MISSING = object()


def event_class(kind):
    """The event/action class `kind` names (or is), from pyha.cluster's vocabularies."""
    if isinstance(kind, type):
        return kind
    from pyha.cluster import events, manager_events
    for module in (events, manager_events):
        cls = getattr(module, kind, None)
        if isinstance(cls, type):
            return cls
    raise ValueError("no event or action class named %r in pyha.cluster" % (kind,))


class Medium(object):
    """One named link shared by all nodes (like one ethernet segment)."""

    def __init__(self, name, delay=0.002, jitter=0.0, loss=0.0, dup=0.0):
        self.name = name
        self.delay = delay      # seconds, every packet
        self.jitter = jitter    # extra uniform 0..jitter seconds (reorders packets)
        self.loss = loss        # probability a packet copy is lost
        self.dup = dup          # probability a packet is delivered twice
        self.cuts = set()       # (src, dst) pairs that cannot talk; ("*", "*") = all

    def cut(self, a=None, b=None, both_ways=True):
        """Cut the link between a and b (None = everybody)."""
        a = a or "*"
        b = b or "*"
        self.cuts.add((a, b))
        if both_ways:
            self.cuts.add((b, a))

    def restore(self):
        self.cuts.clear()

    def is_cut(self, src, dst):
        return bool({(src, dst), (src, "*"), ("*", dst), ("*", "*")} & self.cuts)


class SimNode(object):
    def __init__(self, name, machine, hg, wall_offset=0.0, hooks=()):
        self.name = name
        self.machine = machine
        self.hg = hg
        self.wall_offset = wall_offset
        self.alive = True
        self.hooks = list(hooks)
        self.tick_at = None     # the one pending tick we honour
        self.tick_token = 0
        self.sent = []          # wire dicts this node put on the network


class PingTarget(object):
    def __init__(self, addr, delay=0.001):
        self.addr = addr
        self.delay = delay
        self.unreachable_from = set()  # node names whose echoes are lost; "*" = all


class SimNet(object):
    def __init__(self, seed=0):
        self.rng = random.Random(seed)
        self.now = 0.0
        self.nodes = OrderedDict()
        self.media = OrderedDict()
        self.pings = OrderedDict()
        self.trace = []          # (time, node, action)
        self.delivered = []      # (time, dst, medium, wire dict)
        self._queue = []
        self._order = 0

    # --- building ----------------------------------------------------------------------

    def add_medium(self, name, **kwargs):
        self.media[name] = Medium(name, **kwargs)
        return self.media[name]

    def add_node(self, name, machine, hg=1000, wall_offset=0.0, hooks=(), start_at=None):
        node = SimNode(name, machine, hg, wall_offset, hooks)
        self.nodes[name] = node
        self._schedule_tick(node, self.now if start_at is None else start_at)
        return node

    def add_ping_target(self, addr, delay=0.001):
        self.pings[addr] = PingTarget(addr, delay)
        return self.pings[addr]

    # --- driving -------------------------------------------------------------------------

    def at(self, when, fn):
        """Call fn(simnet) at simulated time `when` (for cuts, kills, injections...)."""
        self._push(when, ("call", fn))

    def inject(self, when, node_name, event_factory):
        """Deliver event_factory(now) to a node at `when` (e.g. a crafted Heard)."""
        self._push(when, ("inject", node_name, event_factory))

    def deliver(self, when, dst, medium, wire):
        """A packet arrives at `dst` at `when` whatever was sent since (held in a queue)."""
        self._push(when, ("deliver", dst, medium, dict(wire)))

    def kill(self, name):
        """The node stops dead: no more sends, no more processing (like SIGKILL)."""
        self.nodes[name].alive = False

    def restart(self, name, machine, hg):
        """The node comes back as a new process with a new generation."""
        node = self.nodes[name]
        node.machine = machine
        node.hg = hg
        node.alive = True
        node.tick_at = None
        self._schedule_tick(node, self.now)

    def emit(self, name, fields):
        """Have node `name` send a message of its own now (as its manager would)."""
        node = self.nodes[name]
        if node.alive:
            send = node.machine.send(fields)
            self.trace.append((self.now, name, send))
            self._send(node, send)

    def step_wall(self, name, delta):
        """Step one node's wall clock (NTP jump, operator date -s): only `ts` changes."""
        self.nodes[name].wall_offset += delta

    def run_until(self, t):
        while self._queue and self._queue[0][0] <= t:
            when, _, item = heapq.heappop(self._queue)
            self.now = max(self.now, when)
            self._dispatch(item)
        self.now = max(self.now, t)

    def run_for(self, dt):
        self.run_until(self.now + dt)

    # --- reading the trace ---------------------------------------------------------------

    def actions(self, who=None, kind=None, since=None, until=None, **attrs):
        """[(time, action)] returned by node `who` (None: all), of a kind (a class or the
        name of one in pyha.cluster), with attrs.  A kind that names no class, or an attr
        the kind does not have, is an error: a negative assert ("no NodeDead") must not
        pass because a class or field was renamed."""
        cls = event_class(kind) if kind is not None else None
        if cls is not None:
            missing = [k for k in attrs if k not in getattr(cls, "__slots__", ())]
            if missing:
                raise AttributeError("%s has no field %s" % (cls.__name__, ", ".join(missing)))
        out = []
        for when, name, action in self.trace:
            if who is not None and name != who:
                continue
            if cls is not None and type(action) is not cls:
                continue
            if since is not None and when < since:
                continue
            if until is not None and when > until:
                continue
            if any(getattr(action, k, _MISSING) != v for k, v in attrs.items()):
                continue
            out.append((when, action))
        return out

    def first(self, who=None, kind=None, since=None, **attrs):
        found = self.actions(who, kind, since=since, **attrs)
        return found[0] if found else (None, None)

    def sent(self, node, t=None):
        return [w for w in self.nodes[node].sent if t is None or w.get("t") == t]

    # --- internals ------------------------------------------------------------------------

    def _push(self, when, item):
        self._order += 1
        heapq.heappush(self._queue, (when, self._order, item))

    def _schedule_tick(self, node, when):
        if node.tick_at is not None and node.tick_at <= when:
            return
        node.tick_at = when
        node.tick_token += 1
        self._push(when, ("tick", node.name, node.tick_token))

    def _dispatch(self, item):
        kind = item[0]
        if kind == "call":
            item[1](self)
            return
        if kind == "tick":
            node = self.nodes[item[1]]
            if item[2] != node.tick_token:
                return  # superseded by an earlier tick
            node.tick_at = None
            self._feed(node, Tick(self.now))
            return
        if kind == "inject":
            self._feed(self.nodes[item[1]], item[2](self.now))
            return
        if kind == "deliver":
            _, dst, medium, wire = item
            node = self.nodes[dst]
            self.delivered.append((self.now, dst, medium, wire))
            self._feed(node, Heard.from_fields(self.now, medium, wire))
            return
        if kind == "ping":
            self._feed(self.nodes[item[1]], PingReply(self.now, item[2]))
            return
        raise AssertionError(item)

    def _feed(self, node, event):
        if not node.alive:
            return
        actions = node.machine.handle(event)
        for action in actions:
            self.trace.append((self.now, node.name, action))
        for action in actions:
            if isinstance(action, Send):
                self._send(node, action)
            elif isinstance(action, Retransmit):
                self._broadcast(node, dict(action.payload))
        for hook in node.hooks:
            hook(self, node, self.now, actions)
        if node.alive:
            self._schedule_tick(node, node.machine.next_deadline(self.now))

    def _wire(self, node, send):
        wire = OrderedDict(send.fields)
        wire["src"] = node.name
        if send.seq is not None:
            wire["seq"] = "%x" % send.seq
        wire["hg"] = "%x" % node.hg
        wire["ts"] = "%x" % int(WALL_BASE + self.now + node.wall_offset)
        return wire

    def _send(self, node, send):
        wire = self._wire(node, send)
        if send.seq is not None:
            node.machine.record_sent(send.seq, tuple(wire.items()))
        self._broadcast(node, wire)
        if wire.get("t") == "status":
            for target in self.pings.values():
                if node.name in target.unreachable_from or "*" in target.unreachable_from:
                    continue
                self._push(self.now + 2 * target.delay, ("ping", node.name, target.addr))

    def _broadcast(self, node, wire):
        node.sent.append(wire)
        for medium in self.media.values():
            for dst in self.nodes:
                if dst == node.name or medium.is_cut(node.name, dst):
                    continue
                copies = 2 if medium.dup and self.rng.random() < medium.dup else 1
                for _ in range(copies):
                    if medium.loss and self.rng.random() < medium.loss:
                        continue
                    delay = medium.delay + (self.rng.random() * medium.jitter if medium.jitter else 0.0)
                    self._push(self.now + delay, ("deliver", dst, medium.name, dict(wire)))


# --- builders and filters for tests --------------------------------------------------

# The lab's timings (spec 5.8): keepalive 1 s, warntime 3 s, deadtime 6 s, initdead 12 s.
TIMINGS = dict(keepalive_ms=1000, warntime_ms=3000, deadtime_ms=6000, initdead_ms=12000)
TS = 0x6b0a2953


class ScriptedRng(object):
    """randint() that returns chosen values: the ack trigger and the first rexmit delay."""

    def __init__(self, trigger=0, delay_ms=100):
        self.trigger = trigger
        self.delay_ms = delay_ms

    def randint(self, a, b):
        if (a, b) == (0, 9):
            return self.trigger
        return min(max(self.delay_ms, a), b)


def config(local="a", nodes=("a", "b"), media=("eth0", "eth1"), **kw):
    params = dict(TIMINGS)
    params.update(kw)
    return MembershipConfig(local, nodes, media, **params)


def machine(local="a", nodes=("a", "b"), media=("eth0", "eth1"), rng=None, start=0.0, **kw):
    m = Membership(config(local, nodes, media, **kw), rng if rng is not None else random.Random(7))
    m.tick(start)
    return m


class FakePeer(object):
    """Builds the Heard events a well-behaved peer would produce, numbering its messages."""

    def __init__(self, name="b", hg=100, dt="1770"):
        self.name = name
        self.hg = hg
        self.dt = dt
        self.seq = 0
        self.last = None

    def msg(self, now, t, medium="eth0", seq=None, hg=None, **fields):
        if seq is None and not t.startswith("NS_"):
            self.seq += 1
            seq = self.seq
        body = {"t": t}
        body.update(fields)
        body["src"] = self.name
        if seq is not None:
            body["seq"] = "%x" % seq
        body["hg"] = "%x" % (self.hg if hg is None else hg)
        body["ts"] = "%x" % TS
        self.last = Heard(now, medium, self.name, t, seq, self.hg if hg is None else hg, TS, body)
        return self.last

    def status(self, now, st="active", medium="eth0", **kw):
        fields = {"st": st, "protocol": "1"}
        if self.dt is not None:
            fields["dt"] = self.dt
        fields.update(kw)
        return self.msg(now, "status", medium=medium, **fields)

    def again(self, now, medium):
        """The same message arriving again (e.g. on the other link)."""
        h = self.last
        return Heard(now, medium, h.src, h.t, h.seq, h.hg, h.ts, h.fields)


def of(actions, kind):
    cls = event_class(kind)
    return [a for a in actions if type(a) is cls]


def logs(actions, level=None):
    return [a.text for a in actions if isinstance(a, Log) and (level is None or a.level == level)]


def sends(actions, t=None):
    return [a for a in actions if isinstance(a, Send) and (t is None or a.fields.get("t") == t)]


def cluster(names=("a", "b"), media=("eth0", "eth1"), seed=1, hgs=None, ping_nodes=(),
            ping_groups=None, medium_kw=None, **timings):
    """A SimNet with one Membership per name, all configured alike, all started at 0."""
    net = SimNet(seed)
    for medium in media:
        net.add_medium(medium, **(medium_kw or {}))
    for addr in list(ping_nodes) + [a for members in (ping_groups or {}).values() for a in members]:
        if addr not in net.pings:
            net.add_ping_target(addr)
    for i, name in enumerate(names):
        cfg = config(name, names, media, ping_nodes=ping_nodes, ping_groups=ping_groups, **timings)
        rng = random.Random(seed * 1000 + i)
        net.add_node(name, Membership(cfg, rng), hg=(hgs or {}).get(name, 1000 + i))
    return net


def drive(m, until, inputs=(), since=None):
    """Run one machine like the daemon would: tick at `next_deadline()`, feed `inputs`.

    `inputs` are (time, event) pairs; returns [(time, action)] for every action.
    `since` is the time of the last call into `m` (default: its last known `now`).
    """
    now = m.now if since is None else since
    pending = sorted(inputs, key=lambda pair: pair[0])
    out = []
    while True:
        wake = m.next_deadline(now)
        if pending and pending[0][0] <= wake:
            when, event = pending.pop(0)
            if when > until:
                break
            now = max(now, when)
            out += [(now, a) for a in m.handle(event)]
            continue
        if wake > until:
            break
        now = wake
        out += [(now, a) for a in m.tick(now)]
    return out


def acts(timed, kind=None):
    """The actions of a drive() result (optionally of one kind), without times."""
    cls = event_class(kind) if kind is not None else None
    return [a for _, a in timed if cls is None or type(a) is cls]
