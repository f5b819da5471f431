"""The VIP as the last witness: ask the LAN who holds it before taking it, and watch it.

Heartbeat decides "the peer is dead, take the VIP" from silence alone, so a cut
heartbeat link makes a duplicate VIP (8 s measured).  pyha asks the address itself: an
RFC 5227 probe ("who has VIP?" from 0.0.0.0, which pollutes no ARP cache) answered by
another MAC means the VIP is alive elsewhere and must not be taken.  While we hold the
VIP, an ARP reply or announcement for it from another MAC is a conflict, reported to the
manager, which resolves it deterministically.

Everything runs on the daemon's loop: one AF_PACKET socket per interface, probes paced
by timers, results delivered by callback.
"""

import logging
from typing import Any, Callable, Dict, List, Optional

from pyha.resources import arp

log = logging.getLogger("pyha")

# Three probes within ~80 ms: a LAN round trip is sub-millisecond and the holder's kernel
# answers from softirq, so this is generous, and short enough that a probe started at
# warntime ends before deadtime even with the fast profile (150 ms / 200 ms).
PROBE_COUNT = 3
PROBE_INTERVAL = 0.02   # seconds between probes
PROBE_WAIT = 0.04       # listening after the last probe


class _IfaceWatch(object):
    def __init__(self, loop, ifname):
        self.loop = loop
        self.sock = arp.ArpSocket(ifname)
        self.probes = {}  # type: Dict[str, List[Any]]   # ip -> [callback, answered mac or None]
        self.watched = {}  # type: Dict[str, Callable[[str, str], Any]]  # ip -> conflict callback
        loop.add_reader(self.sock, self._readable)

    def _readable(self):
        for frame in self.sock.receive():
            parsed = arp.parse_arp(frame)
            if parsed is None:
                continue
            for ip, state in self.probes.items():
                mac = arp.claims(frame, ip, self.sock.mac)
                if mac is not None and state[1] is None:
                    state[1] = mac
            for ip, callback in list(self.watched.items()):
                mac = arp.claims(frame, ip, self.sock.mac)
                if mac is not None:
                    callback(ip, arp.mac_text(mac))

    def close(self):
        self.loop.remove_reader(self.sock)
        self.sock.close()


class VipWitness(object):
    """Probe and watch VIPs on their interfaces (needs CAP_NET_RAW)."""

    def __init__(self, loop, probe_count=PROBE_COUNT, probe_interval=PROBE_INTERVAL, probe_wait=PROBE_WAIT):
        self.loop = loop
        self.probe_count = probe_count
        self.probe_interval = probe_interval
        self.probe_wait = probe_wait
        self.ifaces = {}  # type: Dict[str, _IfaceWatch]

    def _iface(self, ifname):
        # type: (str) -> _IfaceWatch
        w = self.ifaces.get(ifname)
        if w is None:
            w = self.ifaces[ifname] = _IfaceWatch(self.loop, ifname)
        return w

    def probe(self, ifname, ip, done):
        # type: (str, str, Callable[[str, Optional[str]], Any]) -> None
        """Ask `probe_count` times; `done(ip, mac_text or None)` when an answer came or time is up."""
        try:
            w = self._iface(ifname)
        except OSError as exc:
            log.warning("cannot probe %s on %s (%s): assuming it is free", ip, ifname, exc)
            self.loop.call_later(0, lambda: done(ip, None))
            return
        if ip in w.probes:
            w.probes[ip][0].append(done)
            return
        w.probes[ip] = [[done], None]

        def send(remaining):
            state = w.probes.get(ip)
            if state is None:
                return
            if state[1] is not None:
                finish()
                return
            w.sock.send(arp.probe(w.sock.mac, ip))
            if remaining > 1:
                self.loop.call_later(self.probe_interval, lambda: send(remaining - 1))
            else:
                self.loop.call_later(self.probe_wait, finish)

        def finish():
            state = w.probes.pop(ip, None)
            if state is None:
                return
            mac = arp.mac_text(state[1]) if state[1] is not None else None
            for cb in state[0]:
                cb(ip, mac)

        send(self.probe_count)

    def watch(self, ifname, ip, conflict):
        # type: (str, str, Callable[[str, str], Any]) -> None
        try:
            self._iface(ifname).watched[ip] = conflict
        except OSError as exc:
            log.warning("cannot watch %s on %s for conflicts: %s", ip, ifname, exc)

    def unwatch(self, ip):
        # type: (str) -> None
        for w in self.ifaces.values():
            w.watched.pop(ip, None)

    def close(self):
        for w in self.ifaces.values():
            w.close()
        self.ifaces = {}
