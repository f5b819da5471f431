"""Generated scenarios on the simulated cluster, checking the resource manager's invariants.

Each example: two pyha nodes (real membership + manager, fake shells), a lossy/duplicating
network, and a few events 20 s apart (crash, restart, graceful stop, heartbeat cut, one-way
cut, ping loss, standby, takeover, start failures).  Checked:
* with service addresses (the VIP witness): never two holders of a group, at any time,
  whatever is cut (only the heartbeat links are ever cut);
* without addresses and without cuts (protocol only): never two holders either;
* without addresses, with cuts: two holders only while cut, and one again within three
  keepalives (plus the stop time) after the heal;
* a crashed holder is replaced within deadtime + one keepalive + probe + start time;
* with nothing happening, nothing moves; in the end every group runs exactly once.
Deterministic: hypothesis is derandomized and every run of the simulator is seeded.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyha.cluster.manager_events import Shutdown, Standby, Takeover
from clustersim import Cluster

KA = 1.0
DEADTIME = 6.0
START = 0.5
STOP = 0.3
PROBE = 0.05
CLAIM = 3.0


class Profile(object):
    """The timings a run uses, as the daemon would get them from ha.cf.  The scenario's
    own clock (events 20 s apart, cuts of 2-15 s) stays the same: the manager's own
    timers (standby exchange, RQSTDELAY) do not scale with keepalive in production
    either."""

    def __init__(self, name, keepalive, deadtime, warntime, initdead):
        from pyha.cluster.manager import default_claim_delay_ms
        self.name = name
        self.ka, self.dead, self.warn, self.initdead = keepalive, deadtime, warntime, initdead
        ms = lambda s: int(round(s * 1000))
        self.claim = default_claim_delay_ms(ms(keepalive), ms(deadtime), ms(warntime)) / 1000.0
        self.timing = dict(keepalive_ms=ms(keepalive), deadtime_ms=ms(deadtime),
                           warntime_ms=ms(warntime), initdead_ms=ms(initdead))


LAB = Profile("lab", 1.0, 6.0, 3.0, 12.0)        # heartbeat's lab timings (spec 5.8)
FAST = Profile("fast", 0.05, 0.2, 0.15, 2.0)     # `pyha init --profile fast`
assert LAB.claim == CLAIM
SPACING = 20.0
T0 = 20.0
NODES = ("ha1", "ha2")
VIPS = ["192.0.2.100/24/eth0", "192.0.2.101/24/eth0", "192.0.2.102/24/eth0"]
GROUPSETS = [
    [(VIPS[0], "ha1")],
    [(VIPS[0], "ha1"), (VIPS[1], "ha2")],
    [(VIPS[0], "ha1"), (VIPS[2], "ha1"), (VIPS[1], "ha2")],
]

SETTINGS = dict(deadline=None, derandomize=True, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

node = st.sampled_from(NODES)
which = st.sampled_from(["all", "local", "foreign", "failback"])
duration = st.integers(2, 15).map(float)
EVENTS_ALL = st.one_of(
    st.tuples(st.just("crash"), node, st.sampled_from(["released", "released", "stay"])),
    st.tuples(st.just("restart"), node),
    st.tuples(st.just("stop"), node),
    st.tuples(st.just("cut"), duration),
    st.tuples(st.just("oneway"), node, duration),
    st.tuples(st.just("pingloss"), node, duration),
    st.tuples(st.just("nicdown"), node, duration),
    st.tuples(st.just("standby"), node, which),
    st.tuples(st.just("takeover"), node, which),
    st.tuples(st.just("noise")),
)
EVENTS_NO_CUT = st.one_of(
    st.tuples(st.just("crash"), node, st.just("released")),
    st.tuples(st.just("restart"), node),
    st.tuples(st.just("stop"), node),
    st.tuples(st.just("pingloss"), node, duration),
    st.tuples(st.just("nicdown"), node, duration),
    st.tuples(st.just("standby"), node, which),
    st.tuples(st.just("takeover"), node, which),
    st.tuples(st.just("noise")),
)
EVENTS_CUTS = st.one_of(
    st.tuples(st.just("cut"), duration),
    st.tuples(st.just("oneway"), node, duration),
    st.tuples(st.just("noise")),
)


def scenario(events, losses=(0.0, 0.0, 0.02, 0.1)):
    return st.fixed_dictionaries({
        "seed": st.integers(0, 2 ** 31),
        "groups": st.sampled_from(range(len(GROUPSETS))),
        "auto_failback": st.sampled_from(["on", "off"]),
        "ping": st.booleans(),
        "late_start": st.sampled_from([0.0, 0.0, 0.5, 5.0, 15.0]),
        "loss": st.sampled_from(list(losses)),
        "dup": st.sampled_from([0.0, 0.05]),
        "jitter": st.sampled_from([0.0, 0.03]),
        "events": st.lists(st.tuples(events, st.integers(0, 4999).map(lambda ms: ms / 1000.0)),
                           min_size=0, max_size=4),
        "fail_start": st.sampled_from([None, None, None, None, ("ha1", 0), ("ha2", 0), ("ha2", 1)]),
    })


class Run(object):
    """Builds the cluster for one generated scenario and records what really happened."""

    def __init__(self, sc, vip=True, profile=LAB):
        self.sc = sc
        self.profile = profile
        groups = [(key, pref, vip) for key, pref in GROUPSETS[sc["groups"]]]
        self.keys = [g[0] for g in groups]
        shell = {}
        if sc["fail_start"] is not None:
            who, idx = sc["fail_start"]
            shell[who] = {"fail_start": [self.keys[idx % len(self.keys)]]}
        self.c = Cluster(groups=groups, seed=sc["seed"], auto_failback=sc["auto_failback"],
                         ping=("192.0.2.254",) if sc["ping"] else (), start_at={"ha2": sc["late_start"]},
                         shell=shell, **profile.timing)
        for m in self.c.net.media.values():
            m.loss, m.dup, m.jitter = sc["loss"], sc["dup"], sc["jitter"]
        self.executed = []     # (time, kind, node)
        self.crashes = []      # (time, node, {key: bound or None})
        self.restores = []     # restore times
        self.cuts = []         # (from, to) of every cut of the heartbeat links
        self.down = set()
        self.stale_returns = []  # (time, node): a dead node's leftover address back on the LAN
        for i, (ev, offset) in enumerate(sc["events"]):
            self._schedule(T0 + SPACING * i + offset, ev)
        self.end = T0 + SPACING * len(sc["events"]) + 25.0

    def _alive(self, net, n):
        return net.nodes[n].alive and self.c.net.now >= self.c.stacks[n].start_at

    def _schedule(self, t, ev):
        c = self.c
        kind = ev[0]

        if kind == "crash":
            _, n, resources = ev

            def crash(net):
                if not self._alive(net, n):
                    return
                self.executed.append((net.now, "crash", n))
                self.crashes.append((net.now, n, self._bounds(net, n) if resources == "released" else {}))
                net.kill(n)
                c.stacks[n].shell.ops = []
                if resources == "released":
                    c.world.drop_node(net.now, n)
            c.at(t, crash)
        elif kind == "restart":
            n = ev[1]

            def restart(net):
                if net.nodes[n].alive:
                    return
                self.executed.append((net.now, "restart", n))
                c.world.drop_node(net.now, n)  # the machine reboots: nothing of it still runs
                c._hg[n] += 1
                net.restart(n, c._machine(n, net.now), c._hg[n])
            c.at(t, restart)
        elif kind == "stop":
            n = ev[1]

            def stop(net):
                if self._alive(net, n):
                    self.executed.append((net.now, "stop", n))
            c.at(t, stop)
            c.command(t, n, Shutdown())
        elif kind in ("cut", "oneway"):
            if kind == "cut":
                a, b, both, dur = None, None, True, ev[1]
            else:
                a, b, both, dur = ev[1], [x for x in NODES if x != ev[1]][0], False, ev[2]

            def cut(net):
                self.executed.append((net.now, kind, a))
                for m in net.media.values():
                    m.cut(a, b, both)

            def restore(net):
                self.executed.append((net.now, "restore", None))
                self.restores.append(net.now)
                for m in net.media.values():
                    m.restore()
            c.at(t, cut)
            c.at(t + dur, restore)
            self.cuts.append((t, t + dur))
        elif kind == "pingloss":
            if not self.sc["ping"]:
                return
            n, dur = ev[1], ev[2]
            c.at(t, lambda net: net.pings["192.0.2.254"].unreachable_from.add(n))
            c.at(t + dur, lambda net: net.pings["192.0.2.254"].unreachable_from.discard(n))
            self.executed.append((t, "pingloss", n))
        elif kind == "nicdown":
            n, dur = ev[1], ev[2]
            c.nic(t, n, False)
            c.nic(t + dur, n, True)
            self.executed.append((t, "nicdown", n))

            def stale(net):
                # A node whose daemon died leaving its address up, and whose NIC comes
                # back after the survivor rightly took the (then unreachable) address: a
                # stale holder no daemon can remove, only fencing.  Recorded, and the
                # example's invariants are not judged (see test_vip_witness...).
                if not net.nodes[n].alive and any(n in c.world.holders(k) for k in self.keys):
                    self.stale_returns.append((net.now, n))
            c.at(t + dur - 1e-6, stale)
        elif kind == "standby":
            c.command(t, ev[1], Standby(ev[2]))
            self.executed.append((t, "standby", ev[1]))
        elif kind == "takeover":
            c.command(t, ev[1], Takeover(ev[2]))
            self.executed.append((t, "takeover", ev[1]))

    def _bounds(self, net, dead):
        """For each group the crashing node runs: the latest time the survivor must run it
        by (None: the survivor is not in a position to, so no promise is made)."""
        other = [x for x in NODES if x != dead][0]
        out = {}
        if not self._alive(net, other) or self.sc["fail_start"] is not None:
            return out
        snap = self.c.stacks[other].manager.snapshot(net.now)
        if snap["phase"] != "running" or snap["peer_state"]["state"] != "up":
            return out
        if any(m.cuts for m in net.media.values()) or self.c.world.dark:
            return out
        known = snap["peer_state"]["holds_groups"] or []
        for key in self.keys:
            if dead in self.c.world.holders(key):
                pr = self.profile
                bound = pr.dead + pr.ka + PROBE + START + 0.2
                if key not in known:
                    bound += pr.claim + pr.ka + PROBE  # holder unknown: the non-preferred node waits
                out[key] = net.now + bound
        return out

    def run(self):
        self.c.run_until(self.end)
        return self


def check_replacement(run):
    for tc, dead, bounds in run.crashes:
        other = [x for x in NODES if x != dead][0]
        for key, by in bounds.items():
            got = [t for t, k, h in run.c.world.changes if k == key and t >= tc and other in h]
            assert got and got[0] <= by + 1e-6, (
                "crash of %s at %.3f: %s on %s at %r, promised by %.3f" % (dead, tc, key, other, got[:1], by))


def check_heal(run):
    """Two holders only while cut, and one again within three keepalives of the heal.

    Measured from the last restore before the duplicate ended; one that ends while a cut is
    on is fine.  With 10 % loss membership itself may need several keepalives to see the
    heal (it waits for a status, and a run of lost ones delays it), so the bound is looser."""
    ka = run.profile.ka
    bound = (3 * ka if run.sc["loss"] <= 0.02 else 8 * ka) + STOP + 0.1
    for start, end, key, holders in run.c.world.duplicates:
        assert end is not None, (key, holders, run.executed)
        if any(a <= end < b for a, b in run.cuts):
            continue  # ended while cut
        heals = [r for r in run.restores if r <= end]
        assert heals, ("two holders without any cut", start, end, key, run.executed)
        heal = max(heals)
        assert end - heal <= bound, ("slow heal", start, end, key, heal, run.executed)


def check_end_state(run):
    """After the last event settled: every group runs exactly once, if anybody can run it."""
    c = run.c
    if run.sc["fail_start"] is not None:
        return
    someone = any(c.net.nodes[n].alive for n in NODES)
    stays = any(k == "crash" for _, k, _ in run.executed)
    for key in run.keys:
        holders = c.world.holders(key)
        assert len(holders) <= 1, (key, holders)
        if someone and not stays:
            assert len(holders) == 1, (key, holders, run.executed)


def check_quiet(run):
    if any(k != "noise" for (k, *_), _ in run.sc["events"]):
        return
    settle = max(T0, run.sc["late_start"] + run.profile.initdead + 3.0)
    late = [(t, k, sorted(h)) for t, k, h in run.c.world.changes if t > settle]
    assert not late, late


@settings(max_examples=300, **SETTINGS)
@given(scenario(EVENTS_ALL))
def test_vip_witness_never_two_holders(sc):
    run = Run(sc).run()
    if run.stale_returns:
        return  # beyond any daemon: a dead node's leftover address reappears (see Run)
    assert run.c.world.duplicates == [], (run.c.world.duplicates, run.executed)
    check_replacement(run)
    check_end_state(run)
    check_quiet(run)


@settings(max_examples=150, **SETTINGS)
@given(scenario(EVENTS_NO_CUT))
def test_protocol_alone_never_two_holders_while_connected(sc):
    run = Run(sc, vip=False).run()
    assert run.c.world.duplicates == [], (run.c.world.duplicates, run.executed)
    check_replacement(run)
    check_end_state(run)


@settings(max_examples=100, **SETTINGS)
@given(scenario(EVENTS_CUTS))
def test_after_heal_one_holder_within_three_keepalives(sc):
    run = Run(sc, vip=False).run()
    check_heal(run)
    check_end_state(run)


# The same invariants with production's fast profile (keepalive 50 ms, deadtime 200 ms,
# claim delay 150 ms): twenty times the messages per simulated second, so fewer examples.

@settings(max_examples=40, **SETTINGS)
@given(scenario(EVENTS_ALL))
def test_fast_profile_vip_witness_never_two_holders(sc):
    run = Run(sc, profile=FAST).run()
    if run.stale_returns:
        return
    assert run.c.world.duplicates == [], (run.c.world.duplicates, run.executed)
    check_replacement(run)
    check_end_state(run)
    check_quiet(run)


@settings(max_examples=25, **SETTINGS)
@given(scenario(EVENTS_CUTS, losses=(0.0, 0.0, 0.02)))
def test_fast_profile_after_heal_one_holder_within_three_keepalives(sc):
    """Without a service address nothing but the heartbeat decides, and at deadtime 200 ms
    (four keepalives) 10 % loss does lose four in a row now and then: a false death and two
    holders, found by this test.  That is what the VIP witness is for (the test above, with
    10 % loss); here the loss stays at what a fast profile is meant for (<= 2 %)."""
    run = Run(sc, vip=False, profile=FAST).run()
    check_heal(run)
    check_end_state(run)
