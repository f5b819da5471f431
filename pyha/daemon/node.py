"""The daemon: the imperative shell around the membership and manager state machines.

It owns every piece of I/O and nothing else: it reads /etc/ha.d, opens the media, turns
datagrams into `Heard` events (decode + verify, drop and count what is hostile), feeds
the pure machines with a monotonic `now`, and carries out what they return: sign and
send messages, start and stop resources through child processes, feed the watchdog,
tell the guardian what we hold, answer the control socket.  It makes no decisions of
its own about liveness or resources; when it needs a rule, the rule belongs in
`pyha/cluster/`.

The loop is single-threaded; nothing here blocks for longer than a netlink call.
"""

import logging
import os
import signal
import socket
import time
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional

from dataclasses import dataclass

from pyha import __version__
from pyha import diagnostics as dg
from pyha import paths
from pyha import wire
from pyha.wire import vocabulary
from pyha.cluster import events as ev
from pyha.cluster import manager_events as me
from pyha.cluster.node_core import NodeCore
from pyha.config.check import check_config
from pyha.daemon import logsetup, statefiles
from pyha.daemon.composition import CompositionError, core_config, fence_config
from pyha.daemon.control import ControlServer
from pyha.daemon.fence_shell import reload_fencing, start_fence_shell
from pyha.daemon.logsetup import LOGGER, RateLimiter
from pyha.daemon.reload import Reloader, keyring_of
from pyha.daemon.loop import EventLoop
from pyha.media.base import MediumError
from pyha.media.portowner import port_conflict
from pyha.media.udp import open_udp_media

log = logging.getLogger(LOGGER)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_NOT_CONFIGURED = 6  # heartbeat's (and LSB's) "program is not configured"

# How long a gracefully stopping node keeps answering (retransmission requests for its
# shutdone, late acks) after announcing it is leaving; heartbeat lingers ~2 s.
LEAVE_LINGER_S = 1.0
# Carrier poll interval when netlink link changes wake the daemon (else: every tick).
LINK_POLL_S = 1.0


_START = object()  # the first input: membership's start burst


@dataclass(eq=False)
class Settings(object):
    ha_dir: str = paths.HA_DIR
    state_dir: str = paths.STATE_DIR
    run_dir: str = paths.RUN_DIR
    manage_resources: bool = True
    node_name: Optional[str] = None

    @property
    def control_path(self):
        return paths.control_path(self.run_dir)


class StartupError(Exception):
    def __init__(self, message, diagnostics=(), exit_code=EXIT_NOT_CONFIGURED):
        # type: (str, Any, int) -> None
        super(StartupError, self).__init__(message)
        self.message = message
        self.diagnostics = list(diagnostics)
        self.exit_code = exit_code


def _load_average():
    # type: () -> str
    try:
        with open("/proc/loadavg") as f:
            return f.read().strip()
    except OSError:
        return "n/a"


def string_fields(msg):
    # type: (wire.Message) -> Dict[str, str]
    """The message's string fields as text (first occurrence wins, like heartbeat's lookup).

    Raises WireError(bad-utf8) for a string field that is not UTF-8: node names, types
    and numbers are ASCII in every genuine message, so anything else is hostile.
    """
    out = OrderedDict()  # type: Dict[str, str]
    for f in msg.fields:
        if f.type != wire.STRING or f.name in out:
            continue
        try:
            out[f.name] = f.value.decode("utf-8")
        except UnicodeDecodeError:
            raise wire.WireError("bad-utf8", "field %r is not UTF-8" % f.name, field=f.name)
    return out


class Daemon(object):
    def __init__(self, settings, clock=time.monotonic, wall=time.time):
        # type: (Settings, Callable[[], float], Callable[[], float]) -> None
        self.settings = settings
        self.clock = clock
        self.wall = wall
        self.loop = EventLoop(clock=clock)
        self.media = []  # type: List[Any]
        self.ping = None  # type: Any
        self.control = None  # type: Optional[ControlServer]
        self.drops = OrderedDict()  # type: Dict[str, int]
        self.drop_log = RateLimiter(burst=5, interval=60.0, clock=clock)
        self.uuids = {}  # type: Dict[str, bytes]
        self.clock_skew = {}  # type: Dict[str, float]
        self.sent = 0
        self.received = 0
        self.exit_code = EXIT_OK
        self._tick_timer = None  # type: Any
        self._stopping = False
        self._load_config()

    # -- configuration -----------------------------------------------------------------
    def _load_config(self):
        report = check_config(self.settings.ha_dir)
        errors = [d for d in report.diagnostics if d.severity == dg.ERROR]
        if errors:
            raise StartupError("configuration error, pyha not started", errors)
        for d in report.diagnostics:
            log.warning("%s", d.format()) if d.severity == dg.WARNING else log.info("%s", d.format())
        cf, keys = report.hacf, report.authkeys
        self.cf, self.haresources, self.authkeys = cf, report.haresources, keys
        self.name = (self.settings.node_name or os.uname()[1]).lower()
        self.peer_names = frozenset(n.lower() for n in cf.nodes if n.lower() != self.name)
        self.keyring = keyring_of(keys)
        self.pyhacf = report.pyhacf  # pyha's own settings; a SIGHUP swaps in a new frozen copy
        logsetup.use_ident_of(self.pyhacf)
        self.reloader = Reloader(self.loop, self.settings.ha_dir,
                                 lambda: (self.cf, self.haresources, self.authkeys), self._use_keys,
                                 lambda: self.pyhacf, self._use_pyhacf, self._use_fencing)
        try:
            cc = core_config(cf, self.haresources, self.name, self.settings.manage_resources, fence_config(cf, self.pyhacf))
        except CompositionError as exc:
            raise StartupError(str(exc))
        self.ping_targets, self.ping_groups = cc.ping_targets, cc.ping_groups
        self.ttl, self.inner_auth, self.managing = cc.ttl, cc.inner_auth, cc.managing
        self.core = NodeCore.build(cc.membership, cc.manager)  # as the simulator composes it (clustersim.py)
        self.membership, self.manager = self.core.membership, self.core.manager
        self._inbox = []  # type: List[Any]  # inputs waiting for the core (never re-entered)
        self._feeding = False
        self.resources = self.fence = None  # type: Any  # fence: pyha/daemon/fence_shell.py
        self.health = None  # type: Any  # pyha.cf `monitor` and `notify` (pyha/daemon/health_shell.py)
        self.linkwatch = None  # type: Any
        self._link_poll_at = 0.0
        self.realtime = "normal (not started by `pyha daemon`)"  # what make_realtime said
        self.guardian = None  # type: Any
        # resources.lock, held (with the guardian) from start-up to exit: see guardian.py
        self._release_lock = None  # type: Optional[int]
        self.watchdog = None  # type: Any

    # -- start-up ----------------------------------------------------------------------
    def open(self):
        """Claim identity and sockets; everything that can fail at start fails here."""
        try:
            gen, warning = statefiles.next_generation(self.settings.state_dir, now=self.wall())
            uuid = statefiles.node_uuid(self.settings.state_dir)
        except statefiles.StateDirError as exc:
            raise StartupError(str(exc), exit_code=EXIT_FAILURE)
        if warning:
            log.warning("%s", warning)
        self.generation = gen
        self.sender = wire.control.Sender(self.name, uuid, gen, ttl=self.ttl)
        ucast = [(m.dev, m.peer) for m in self.cf.media if m.kind == "ucast"]
        bcast = [m.dev for m in self.cf.media if m.kind == "bcast"]
        mcast = [(m.dev, m.group, m.port, m.ttl, m.loop) for m in self.cf.media if m.kind == "mcast"]
        port = next((m.port for m in self.cf.media if m.kind in ("ucast", "bcast") and m.port), self.cf.udpport)
        conflict = port_conflict(([port] if ucast or bcast else []) + [m[2] for m in mcast])
        if conflict:
            raise StartupError(conflict, exit_code=EXIT_FAILURE)
        try:
            self.media = open_udp_media(ucast, bcast, mcast, port)
            for m in self.cf.media:
                if m.kind == "serial":
                    from pyha.media.serial_link import SerialMedium
                    self.media.append(SerialMedium(m.dev, m.baud or 19200))
        except MediumError as exc:
            self.close_media()
            raise StartupError(str(exc), exit_code=EXIT_FAILURE)
        for medium in self.media:
            self.loop.add_reader(medium, lambda medium=medium: self._on_readable(medium))
            log.info("medium %s", medium.describe())
        if self.ping_targets or self.ping_groups:
            from pyha.media.ping import PingSocket
            try:
                self.ping = PingSocket()
                self.loop.add_reader(self.ping, self._on_ping_readable)
            except OSError as exc:
                log.error("cannot open the ICMP socket for ping nodes: %s", exc)
        if self.managing:
            # Before the watchdog: this may wait, and nothing would pet it meanwhile.
            from pyha.daemon.guardian import ReleaseInProgress, wait_for_release
            try:
                self._release_lock = wait_for_release(self.settings.run_dir,
                                                      say=lambda text: log.warning("%s", text))
            except (ReleaseInProgress, OSError) as exc:
                self.close_media()
                raise StartupError(str(exc), exit_code=EXIT_FAILURE)
        if self.cf.watchdog:
            from pyha.daemon.watchdog import Watchdog
            self.watchdog = Watchdog(self.cf.watchdog, self.cf.deadtime_ms)
            try:
                self.watchdog.open()
            except OSError as exc:
                self.close_media()
                self._close_release_lock()
                raise StartupError(str(exc), exit_code=EXIT_FAILURE)
            log.info("watchdog %s armed, timeout %d s%s", self.cf.watchdog, self.watchdog.timeout,
                     " (%s)" % self.watchdog.set_timeout_error if self.watchdog.set_timeout_error else "")
        if self.managing:
            from pyha.daemon.guardian import GuardianLink
            from pyha.daemon.resources_shell import ResourceShell
            resource_d = os.path.join(self.settings.ha_dir, "resource.d")
            self.guardian = GuardianLink(resource_d=resource_d, lock_fd=self._release_lock)
            self.resources = ResourceShell(self.loop, self.haresources, self._on_resource_event,
                                           guardian=self.guardian, resource_d=resource_d)
            for problem in self.resources.problems:
                log.error("%s", problem)
            from pyha.daemon.health_shell import HealthShell
            self.health = HealthShell(self.loop, self.resources, self.haresources, resource_d, self.name)
            self.health.configure(self.pyhacf)
            self.fence = start_fence_shell(self.loop, self.cf, self.pyhacf, self.manager.config, self._on_resource_event)
            if any(self.resources.ips.values()):
                from pyha.resources.linkwatch import LinkWatch
                try:
                    self.linkwatch = LinkWatch()
                    self.loop.add_reader(self.linkwatch, self._on_link_change)
                except OSError as exc:
                    log.warning("cannot watch link changes over netlink (%s): carrier is checked "
                                "only once per keepalive", exc)
        os.makedirs(self.settings.run_dir, mode=0o755, exist_ok=True)
        self.control = ControlServer(self.loop, self.settings.control_path, self._on_control)
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(sig, lambda s: self.request_stop("signal %d" % s))
        self.loop.add_signal_handler(signal.SIGHUP, lambda s: self.reload())
        log.info("pyha %s starting on node %s, generation %d", __version__, self.name, gen)

    def close_media(self):
        for m in self.media:
            try:
                self.loop.remove_reader(m)
                m.close()
            except OSError:
                pass
        self.media = []

    # -- the loop ----------------------------------------------------------------------
    def run(self):
        # type: () -> int
        self._feed(_START)
        self._arm_tick()
        self.loop.run()
        self._shutdown_io()
        return self.exit_code

    def _arm_tick(self):
        now = self.clock()
        if self._tick_timer is not None:
            self._tick_timer.cancel()
        when = self.core.next_deadline(now)
        self._tick_timer = self.loop.call_at(when, self._on_tick)

    def _on_tick(self):
        self._tick_timer = None
        now = self.clock()
        self._feed(ev.Tick(now))
        if self.resources is not None and (self.linkwatch is None or now >= self._link_poll_at):
            # netlink wakes us on every link change; the poll only covers what it could
            # miss, so with the watch it runs once a second instead of every keepalive
            self._link_poll_at = now + LINK_POLL_S
            self.resources.poll_links()
        self._arm_tick()

    def _on_link_change(self):
        try:
            self.linkwatch.drain()
        except OSError as exc:
            log.warning("netlink link watch failed (%s): carrier is checked once per keepalive", exc)
            self.loop.remove_reader(self.linkwatch)
            self.linkwatch.close()
            self.linkwatch = None
        self.resources.poll_links()
        self._arm_tick()

    def _drop(self, code, detail, medium=""):
        self.drops[code] = self.drops.get(code, 0) + 1
        ok, suppressed = self.drop_log.allow(code)
        if ok:
            more = " (%d similar suppressed)" % suppressed if suppressed else ""
            log.warning("dropped packet%s: %s: %s%s", " on " + medium if medium else "", code, detail, more)

    def _on_readable(self, medium):
        try:
            frames = medium.receive()
        except OSError as exc:
            self._drop("receive-error", str(exc), medium.name)
            return
        now = self.clock()
        for data, origin in frames:
            self.received += 1
            try:
                packet = wire.decode_verified(data, self.keyring)
                fields = string_fields(packet.message)
            except wire.WireError as exc:
                self._drop(exc.code, "%s from %s" % (exc, origin), medium.name)
                continue
            src = fields.get("src", "").lower()
            if src == self.name:
                continue  # our own broadcast or multicast loop
            if src in self.peer_names:
                # only ha.cf's nodes: anyone holding the key could otherwise grow these
                # tables one made-up name at a time (membership drops such packets)
                uuid = packet.message.get_bytes("srcuuid")
                if uuid is not None and len(uuid) == 16:
                    self.uuids[src] = uuid
                if fields.get("t") == "status":
                    ts = ev.parse_hex(fields.get("ts"))
                    if ts:
                        self.clock_skew[src] = ts - self.wall()
            heard = ev.Heard.from_fields(now, medium.name, fields)
            try:
                self._feed(heard)
            except Exception:  # a bug must not turn one odd packet into a dead node
                self.drops["internal"] = self.drops.get("internal", 0) + 1
                log.exception("internal error while processing a packet from %s on %s", origin, medium.name)
        self._arm_tick()

    def _on_ping_readable(self):
        now = self.clock()
        for addr, data in self.ping.receive():
            try:
                packet = wire.decode_verified(data, self.keyring)
                fields = string_fields(packet.message)
            except wire.WireError as exc:
                self._drop(exc.code, "ICMP reply from %s: %s" % (addr, exc), "ping")
                continue
            if fields.get("t") != "NS_st" or fields.get("src") != addr:
                self._drop("ping-mismatch", "echo from %s carries %r" % (addr, fields.get("src")), "ping")
                continue
            try:
                self._feed(ev.PingReply(now, addr))
            except Exception:  # as for packets: one odd echo must not stop the node
                self.drops["internal"] = self.drops.get("internal", 0) + 1
                log.exception("internal error while processing an echo reply from %s", addr)
        self._arm_tick()

    # -- actions -----------------------------------------------------------------------
    def _feed(self, event):
        # type: (Any) -> List[Any]
        """Give the core one input and carry out its step; returns the steps run.

        An input that arrives while a step is being carried out (a resource shell that
        reports synchronously) waits in the inbox and is fed after it: the core is
        never re-entered in the middle of a step."""
        self._inbox.append(event)
        if self._feeding:
            return []
        self._feeding = True
        steps = []
        try:
            while self._inbox:
                event = self._inbox.pop(0)
                now = self.clock()
                step = self.core.start(now) if event is _START else self.core.handle(event, now)
                steps.append(step)
                self._execute(step)
        finally:
            self._feeding = False
        return steps

    def _execute(self, step):
        for action in step.actions:
            if isinstance(action, ev.Send):
                self._send(action)
            elif isinstance(action, ev.Retransmit):
                self._broadcast(action.payload)
            elif isinstance(action, ev.Log):
                log.log(getattr(logging, action.level, logging.INFO), "%s", action.text)
            elif isinstance(action, me.CommandResult):
                log.info("%s %s: %s (%s)", action.command, action.which or "",
                         "accepted" if action.accepted else "refused", action.reason)
            elif isinstance(action, me.ShutdownComplete):
                log.info("%s", action.reason)
                self._leave()
            elif isinstance(action, me.TRANSITIONS):
                # logged by the manager, kept by the core for `pyha status` (transitions)
                if self.health is not None:
                    self.health.on_transition(action)
            elif any(shell is not None and shell.do(action) for shell in (self.resources, self.fence)):
                pass
            elif isinstance(action, ev.PartitionHealed) and self.resources is not None:
                # whatever we still hold after the heal, neighbours must map to us
                self.loop.call_later(0.5, lambda: self.resources.announce_held("partition healed"))

    def _on_resource_event(self, event):
        if self.health is not None:
            self.health.on_event(event)
        self._feed(event)
        self._arm_tick()

    def _send(self, action):
        # type: (ev.Send) -> None
        msg = wire.Message([wire.Field(k, wire.STRING, v.encode("utf-8")) for k, v in action.fields.items()])
        t = action.fields.get("t", "")
        dest = action.fields.get("dest")
        wire.control.add_control_fields(
            msg, self.sender, ts=int(self.wall()), seq=action.seq,
            ld=_load_average() if not t.startswith("NS_") else "n/a",
            destuuid=self.uuids.get(dest.lower()) if dest else None)
        payload = wire.sign_netstring(msg, self.keyring, inner=self.inner_auth)
        if action.seq is not None:
            self.membership.record_sent(action.seq, payload)
        self._broadcast(payload)
        if t == "status":
            self._ping_all(int(msg.get("ts"), 16))
            if self.watchdog is not None:
                self.watchdog.feed()

    def _broadcast(self, payload):
        # type: (bytes) -> None
        for medium in self.media:
            if medium.send(payload):
                self.sent += 1

    def _ping_all(self, ts):
        if self.ping is None:
            return
        targets = list(self.ping_targets)
        for hosts in self.ping_groups.values():
            targets.extend(h for h in hosts if h not in targets)
        for target in targets:
            payload = wire.sign_netstring(wire.control.ns_st_ping(target, ts), self.keyring,
                                          inner=self.inner_auth)
            self.ping.send(target, payload)

    # -- control socket ----------------------------------------------------------------
    def _on_control(self, request):
        # type: (Dict[str, Any]) -> Dict[str, Any]
        cmd = request.get("cmd")
        if cmd == "status":
            return {"ok": True, "status": self.status()}
        if cmd in ("standby", "takeover"):
            which = request.get("which", "all")
            if which not in me.WHICH_WORDS:
                return {"ok": False, "error": "%s: which must be one of %s" % (cmd, ", ".join(me.WHICH_WORDS))}
            if not self.managing:
                return {"ok": False, "error": "this node does not manage resources (no groups, or --no-resources)"}
            event = me.Standby(which) if cmd == "standby" else me.Takeover(which)
            steps = self._feed(event)
            self._arm_tick()
            results = [r for step in steps[:1] for r in step.of(me.CommandResult) if r.command == cmd]
            if not results:
                return {"ok": False, "error": "%s: no answer from the resource manager" % cmd}
            r = results[-1]
            return {"ok": bool(r.accepted), "accepted": bool(r.accepted), "reason": r.reason,
                    "error": None if r.accepted else r.reason}
        return {"ok": False, "error": "unknown command %r" % (cmd,)}

    def status(self):
        # type: () -> Dict[str, Any]
        now = self.clock()
        snap = self.core.snapshot(now)
        for name, skew in self.clock_skew.items():
            if name in snap.get("nodes", {}):
                snap["nodes"][name]["peer_clock_skew_s"] = skew
        snap["daemon"] = {
            "version": __version__, "pid": os.getpid(), "node": self.name, "generation": self.generation,
            "media": [{"name": m.name, "describe": m.describe(), "send_errors": getattr(m, "send_errors", 0)}
                      for m in self.media],
            "packets_received": self.received, "packets_sent": self.sent,
            "dropped": dict(self.drops), "stopping": self._stopping, "scheduling": self.realtime,
        }
        if self.watchdog is not None:
            snap["daemon"]["watchdog"] = self.watchdog.snapshot()
        if self.health is not None:
            snap["monitors"] = self.health.snapshot(now)
        snap["fence_device"] = self.fence.snapshot(now) if self.fence is not None else None
        return snap

    # -- reload (SIGHUP): pyha/daemon/reload.py ----------------------------------------
    def reload(self):
        # type: () -> None
        self.reloader.reload()

    def _use_keys(self, keyring, authkeys):
        self.keyring, self.authkeys = keyring, authkeys

    def _use_pyhacf(self, pyhacf):
        self.pyhacf = pyhacf
        logsetup.use_ident_of(self.pyhacf)
        if self.health is not None:
            self.health.configure(pyhacf)

    def _use_fencing(self, cf, pyhacf):
        if not self.managing or self._stopping:
            return
        from pyha.cluster.manager import ManagedGroup
        groups = self.haresources.groups
        preferred = ManagedGroup.coerce(groups[0]).node if groups else None
        self.fence = reload_fencing(self.loop, self.fence, cf, pyhacf, self.name, self.manager.config.peer,
                                    preferred, self._feed,
                                    lambda: self.manager.snapshot(self.clock()).get("fencing"), self._on_resource_event)

    # -- stopping ----------------------------------------------------------------------
    def request_stop(self, why):
        # type: (str) -> None
        """Graceful stop: the manager releases everything and says `shutdone`, then we go.

        A second signal while resources are still being released is logged and ignored:
        exiting now would leave them running (the guardian would then try, but a clean
        release is what the peer is waiting for)."""
        if self._stopping:
            log.warning("already stopping (%s); waiting for the resources to be released", why)
            return
        self._stopping = True
        log.info("stopping (%s)", why)
        if self.managing:
            self._feed(me.Shutdown("graceful stop (%s)" % why))
            self._arm_tick()
        else:
            # nothing to release: announce we are leaving
            self._send(self.membership.send(OrderedDict(vocabulary.shutdone())))
            self._leave()

    def _close_release_lock(self):
        if self._release_lock is not None:
            os.close(self._release_lock)
            self._release_lock = None

    def _leave(self):
        """Linger briefly (retransmission requests for our last messages), then exit."""
        self.loop.call_later(LEAVE_LINGER_S, self.loop.stop)

    def _shutdown_io(self):
        if self.linkwatch is not None:
            self.loop.remove_reader(self.linkwatch)
            self.linkwatch.close()
        for shell in (s for s in (self.health, self.fence) if s is not None):
            shell.close()
        if self.resources is not None:
            self.resources.close()
        if self.guardian is not None:
            self.guardian.clean_exit()
        self._close_release_lock()
        if self.watchdog is not None:
            self.watchdog.close(clean=True)
        if self.control is not None:
            self.control.close()
        if self.ping is not None:
            self.ping.close()
        self.close_media()
        log.info("%s %s shutdown complete.", self.name, logsetup.product())
