"""Starting and stopping one resource group, in order, without blocking the loop.

haresources semantics (spec 3.2) with pyha's stricter failure rules:
- start left to right; a resource already running is left alone (heartbeat checks
  status first); an IP is added by netlink and announced with gratuitous ARP in the
  background (count/interval like heartbeat's send_arp: 10 x 500 ms, alternating
  announcement and reply, two frames per round);
- a start failure stops what this attempt started, right to left, and reports failure
  so that the manager can let the peer try;
- stop right to left, except that the group's IP addresses go first: a duplicate VIP is
  the one failure clients cannot route around, and a release is often the losing side
  of a conflict (after a partition heals) where every 100 ms of overlap counts; the
  services are stopped afterwards in reverse order (heartbeat removes the IP last).
  Only IPsrcaddr goes before the addresses (`agents.stop_order`): removing its source
  address would make the kernel delete the default route it has to restore;
- a failing stop is retried (heartbeat: 10 times, 1 s apart) and if it still fails the
  group is reported as NOT released: the node must never claim it gave up a VIP or a
  service that may still run.
Each script operation is a child process with a timeout (ProcessRunner).
"""

import logging
from typing import Any, Callable, List, Optional

from pyha.resources import agents, arp, ipaddr
from pyha.resources.runner import Completed, ProcessRunner

log = logging.getLogger("pyha")

START_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0
STATUS_TIMEOUT = 30.0
STOP_RETRIES = 10
STOP_RETRY_DELAY = 1.0
ARP_COUNT = 10
ARP_INTERVAL = 0.5


class GroupResult(object):
    __slots__ = ("ok", "op", "key", "failed", "detail", "duration")

    def __init__(self, ok, op, key, failed=None, detail="", duration=0.0):
        # type: (bool, str, str, Optional[str], str, float) -> None
        self.ok = ok
        self.op = op
        self.key = key
        self.failed = failed  # the resource token that failed, if any
        self.detail = detail
        self.duration = duration


class ArpAnnouncer(object):
    """Gratuitous ARP bursts for VIPs, paced by the loop's timers."""

    def __init__(self, loop, count=ARP_COUNT, interval=ARP_INTERVAL):
        self.loop = loop
        self.count = count
        self.interval = interval
        self.sockets = {}  # type: dict
        self.bursts = {}  # type: dict  # ip -> pending timer

    def announce(self, ifname, ip):
        # type: (str, str) -> None
        try:
            sock = self.sockets.get(ifname) or arp.ArpSocket(ifname)
        except OSError as exc:
            log.warning("cannot send gratuitous ARP for %s on %s: %s", ip, ifname, exc)
            return
        self.sockets[ifname] = sock
        self.cancel(ip)

        def burst(remaining):
            self.bursts.pop(ip, None)
            sock.send(arp.announcement(sock.mac, ip))
            sock.send(arp.gratuitous_reply(sock.mac, ip))
            if remaining > 1:
                self.bursts[ip] = self.loop.call_later(self.interval, lambda: burst(remaining - 1))

        burst(self.count)

    def cancel(self, ip):
        # type: (str) -> None
        """Stop announcing `ip` (we released it: a late announcement would claim it back)."""
        timer = self.bursts.pop(ip, None)
        if timer is not None:
            timer.cancel()

    def close(self):
        for s in self.sockets.values():
            s.close()
        self.sockets = {}


def _succeeded(agent, op, res):
    # type: (agents.Agent, str, Completed) -> bool
    """The agent's own success rule (OCF: a stop answered "not running" succeeded)."""
    return not res.timed_out and res.error is None and agent.succeeded(op, res.returncode)


def _describe(agent, res):
    # type: (agents.Agent, Completed) -> str
    meaning = agent.explain(res.returncode) if not res.timed_out and res.error is None else ""
    return res.describe() + (" (%s)" % meaning if meaning else "")


class GroupRunner(object):
    """Runs start/stop of one group; `done(GroupResult)` is called from the loop."""

    def __init__(self, loop, runner, key, group_agents, announcer=None, clock=None,
                 stop_retries=STOP_RETRIES, stop_retry_delay=STOP_RETRY_DELAY):
        # type: (Any, ProcessRunner, str, List[agents.Agent], Optional[ArpAnnouncer], Any, int, float) -> None
        self.loop = loop
        self.runner = runner
        self.key = key
        self.agents = list(group_agents)
        self.announcer = announcer
        self.clock = clock or loop.clock
        self.stop_retries = stop_retries
        self.stop_retry_delay = stop_retry_delay
        self.busy = False

    # -- start ------------------------------------------------------------------------
    def start(self, done):
        # type: (Callable[[GroupResult], Any]) -> None
        self._begin()
        started = []  # type: List[agents.Agent]
        t0 = self.clock()

        def step(i):
            if i == len(self.agents):
                self._finish(done, GroupResult(True, "start", self.key, duration=self.clock() - t0))
                return
            agent = self.agents[i]

            def ok(already_running=False):
                if not already_running:
                    started.append(agent)
                step(i + 1)

            def failed(detail):
                log.error("CRIT: Giving up resources due to failure of %s: %s", agent.token, detail)

                def reported(_result):
                    self._finish(done, GroupResult(False, "start", self.key, agent.token, detail,
                                                   self.clock() - t0))
                self._stop_list(list(reversed(started)), reported)

            self._start_one(agent, ok, failed)

        step(0)

    def _start_one(self, agent, ok, failed):
        if agent.kind == agents.KIND_IP:
            try:
                spec = ipaddr.IpSpec.parse(agent.ip_spec())
                ifname, present = ipaddr.ensure(spec)
            except (ipaddr.IpResourceError, OSError) as exc:
                failed(str(exc))
                return
            log.info("%s %s on %s", "kept" if present else "added", spec.ip, ifname)
            if self.announcer is not None:
                # also when it was already there: neighbours may still map it to the
                # peer's MAC (the address outlived a crash or a partition here)
                self.announcer.announce(ifname, spec.ip)
            ok(already_running=present)
            return

        def after_status(result):
            # type: (Completed) -> None
            if agent.interpret_status(result.returncode, result.output) == agents.RUNNING:
                log.info("%s already running", agent.token)
                ok(already_running=True)
                return
            log.info("Running %s", " ".join(agent.argv("start")))

            def after_start(res):
                # type: (Completed) -> None
                if _succeeded(agent, "start", res):
                    ok()
                else:
                    failed(_describe(agent, res) + (": " + res.output.strip()[-300:] if res.output.strip() else ""))

            self.runner.start(agent.argv("start"), after_start, START_TIMEOUT, env=agent.env())

        self.runner.start(agent.argv("status"), after_status, STATUS_TIMEOUT, env=agent.env())

    # -- stop -------------------------------------------------------------------------
    def stop(self, done):
        # type: (Callable[[GroupResult], Any]) -> None
        self._begin()
        t0 = self.clock()

        def finished(failure):
            if failure is None:
                self._finish(done, GroupResult(True, "stop", self.key, duration=self.clock() - t0))
            else:
                self._finish(done, GroupResult(False, "stop", self.key, failure[0], failure[1],
                                               self.clock() - t0))
        self._stop_list(agents.stop_order(self.agents), finished)

    def _stop_list(self, todo, finished):
        # type: (List[agents.Agent], Callable[[Any], Any]) -> None
        """Stop each in order; keep going past a failure (stop as much as we can)."""
        failures = []

        def step(i):
            if i == len(todo):
                finished(failures[0] if failures else None)
                return

            def next_one(error=None):
                if error:
                    failures.append((todo[i].token, error))
                step(i + 1)

            self._stop_one(todo[i], next_one, self.stop_retries)

        step(0)

    def _stop_one(self, agent, then, retries_left):
        if agent.kind == agents.KIND_IP:
            try:
                spec = ipaddr.IpSpec.parse(agent.ip_spec())
                if self.announcer is not None:
                    self.announcer.cancel(spec.ip)
                removed = ipaddr.remove(spec)
                if removed:
                    log.info("removed %s", agent.ip_spec())
                then()
            except (ipaddr.IpResourceError, OSError) as exc:
                then(str(exc))
            return

        def after_stop(res):
            # type: (Completed) -> None
            if _succeeded(agent, "stop", res):
                then()
                return
            if retries_left > 1:
                log.warning("stop of %s failed (%s); retrying", agent.token, _describe(agent, res))
                self.loop.call_later(self.stop_retry_delay,
                                     lambda: self._stop_one(agent, then, retries_left - 1))
                return
            log.critical("could not stop %s: %s; it may still be running", agent.token, _describe(agent, res))
            then(_describe(agent, res))

        log.info("Running %s", " ".join(agent.argv("stop")))
        self.runner.start(agent.argv("stop"), after_stop, STOP_TIMEOUT, env=agent.env())

    # -- restart of one resource (a failed service check, issue 14) ---------------------
    def restart(self, token, done):
        # type: (str, Callable[[GroupResult], Any]) -> None
        """Stop then start the one resource `token` of this group; the rest of the group
        (its address above all) is left alone.  `done(GroupResult)` with op "restart"."""
        agent = next((a for a in self.agents if a.token == token), None)
        if agent is None:
            raise RuntimeError("group %s has no resource %s" % (self.key, token))
        self._begin()
        t0 = self.clock()

        def result(ok, detail=""):
            self._finish(done, GroupResult(ok, "restart", self.key, None if ok else token, detail,
                                           self.clock() - t0))

        def stopped(error=None):
            if error:
                result(False, "stop: %s" % error)
                return
            self._start_one(agent, lambda already_running=False: result(True),
                            lambda detail: result(False, "start: %s" % detail))

        self._stop_one(agent, stopped, self.stop_retries)

    # -- bookkeeping ------------------------------------------------------------------
    def _begin(self):
        if self.busy:
            raise RuntimeError("group %s: operation already in progress" % self.key)
        self.busy = True

    def _finish(self, done, result):
        self.busy = False
        done(result)
