"""`pyha init`: discover, generate, push to the peer, write locally, in that order.

The order is the safety property: everything that can fail for reasons outside our
control (SSH keys, the peer's routes, its disk) happens before the first local byte is
written, and the peer's files are installed by rename only after all are staged.  So a
failure leaves both nodes as they were, except for a connection lost during the peer's
renames: then the peer's state is unknown, and the error says so and how to see it.
"""

import os
import secrets
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from pyha import diagnostics as dg
from pyha import paths
from pyha.config.common import FileRefused, read_text
from pyha.host import discover, peersync
from pyha.host.files import FileChange, write_files
from pyha.host.initplan import InitParams, Link, PlanError, plan_files, reusable_key
from pyha.host.ssh import Peer, SshError


class InitError(Exception):
    def __init__(self, message, hint=None):
        # type: (str, Optional[str]) -> None
        super(InitError, self).__init__(message)
        self.message = message
        self.hint = hint


def os_error_text(exc, default_path):
    # type: (OSError, str) -> str
    """`path: reason` for an OSError (FileRefused already names its file)."""
    if isinstance(exc, FileRefused):
        return exc.strerror
    return "%s: %s" % (exc.filename or default_path, exc.strerror or exc)


class InitResult(object):
    def __init__(self):
        self.params = None  # type: Optional[InitParams]
        self.local_files = {}  # type: Dict[str, Tuple[str, int]]
        self.peer_files = {}  # type: Dict[str, Tuple[str, int]]
        self.local_changes = []  # type: List[FileChange]
        self.peer_changes = []  # type: List[FileChange]
        self.notes = []  # type: List[dg.Diagnostic]
        self.synced = False


class Discovery(object):
    """The host facts init needs; replaced by a fake in unit tests."""

    def node_name(self):
        return discover.node_name()

    def route_to(self, dst):
        return discover.route_to(dst)

    def default_route(self):
        return discover.default_route()

    def read_file(self, path):
        # type: (str) -> Optional[str]
        try:
            return read_text(path)
        except OSError:
            return None


def run_init(peer_ip, peer_name=None, peer_public=None, vips=(), services=(), primary=None,
             profile="tutorial", ping_nodes=None, directory=paths.HA_DIR, dry_run=False,
             sync=True, ssh_options=(), ssh_user="root", new_key=False, auto_failback="on",
             udpport=694, discovery=None, peer_factory=None):
    # type: (str, Optional[str], Optional[str], Sequence[str], Sequence[str], Optional[str], str, Optional[Sequence[str]], str, bool, bool, Sequence[str], str, bool, str, int, Optional[Discovery], Optional[Callable[[str], Peer]]) -> InitResult
    disc = discovery or Discovery()
    result = InitResult()
    note = result.notes.append

    local_name = disc.node_name()
    if "." in local_name:
        note(dg.warning("init-node-domain",
                        "this node's name %r has a domain suffix; the tutorial reports heartbeat failing "
                        "with such names" % local_name, hint="set a short hostname (hostnamectl set-hostname HA1)"))
    try:
        hb = disc.route_to(peer_ip)
    except discover.DiscoveryError as exc:
        raise InitError("cannot find the path to the peer %s: %s" % (peer_ip, exc),
                        "give the peer's address on the dedicated heartbeat link (the tutorial's 10.0.0.2)")
    if hb.gateway:
        note(dg.warning("init-peer-routed",
                        "the peer %s is reached through the gateway %s, not on a directly attached link"
                        % (peer_ip, hb.gateway), hint="heartbeat links should be direct (crossover or same LAN)"))
    if not hb.src:
        raise InitError("no local address on %s to reach %s" % (hb.ifname, peer_ip))
    default = disc.default_route()

    public_local = None  # type: Optional[Tuple[str, str]]
    if default is not None and default.ifname != hb.ifname and default.src:
        public_local = (default.ifname, default.src)

    peer = None
    if sync:
        make_peer = peer_factory or (lambda host: Peer(host, user=ssh_user, options=ssh_options))
        peer = make_peer(peer_ip)
        ours = [hb.src] + ([public_local[1]] if public_local else [])
        try:
            facts = peersync.probe(peer, ours)
        except SshError as exc:
            raise InitError(exc.message, exc.hint)
        if facts.uid != 0:
            raise InitError("SSH to the peer logs in as uid %d, not root; /etc/ha.d needs root" % facts.uid,
                            "use --ssh-user root (key-based, PermitRootLogin prohibit-password)")
        if peer_name and peer_name.lower() != facts.name.lower():
            raise InitError("--peer-name %s but the peer says its name (uname -n) is %s" % (peer_name, facts.name),
                            "drop --peer-name or fix the peer's hostname")
        peer_name = facts.name
        peer_hb_if = facts.routes.get(hb.src, (None, None))[0] or hb.ifname
        links = [Link(hb.ifname, hb.src, peer_hb_if, peer_ip, "dedicated")]
        if public_local:
            pub_if, pub_src = facts.routes.get(public_local[1], (None, None))
            if peer_public is None:
                peer_public = pub_src
            if pub_if and peer_public and pub_if != peer_hb_if:
                links.append(Link(public_local[0], public_local[1], pub_if, peer_public, "public"))
    else:
        if not peer_name:
            raise InitError("--no-sync needs --peer-name (the peer's `uname -n`)")
        links = [Link(hb.ifname, hb.src, hb.ifname, peer_ip, "dedicated")]
        if public_local and peer_public:
            links.append(Link(public_local[0], public_local[1], public_local[0], peer_public, "public"))
    if len(links) == 1:
        note(dg.warning("init-single-link",
                        "only one heartbeat path (%s): cutting it will look like a dead peer" % links[0].local_if,
                        hint="connect a dedicated link and/or pass --peer-public ADDR for a second path"))
    if peer_name.lower() == local_name.lower():
        raise InitError("the peer's node name %r equals this node's; each node needs a unique hostname" % peer_name)

    if ping_nodes is None:
        ping_nodes = [default.gateway] if default is not None and default.gateway else []
        if not ping_nodes:
            note(dg.warning("init-no-ping", "no default gateway, so no ping node",
                            hint="pass --ping ADDR (a router both nodes can reach)"))

    key = None if new_key else reusable_key(disc.read_file(os.path.join(directory, "authkeys")))
    params = InitParams(local_name, peer_name, links, tuple(ping_nodes), tuple(vips), tuple(services),
                        primary=primary or local_name, profile=profile, key=key or secrets.token_hex(32),
                        udpport=udpport, auto_failback=auto_failback)
    try:
        local_files, peer_files = plan_files(params)
    except PlanError as exc:
        raise InitError(str(exc))
    existing = disc.read_file(os.path.join(directory, paths.PYHA_CF))
    if existing is not None:
        # pyha.cf holds what the operator (or another tool) set; init never rewrites it,
        # it makes the peer's the same
        local_files[paths.PYHA_CF] = peer_files[paths.PYHA_CF] = (existing, local_files[paths.PYHA_CF][1])
        note(dg.info("init-pyhacf-kept", "%s exists: kept as it is (and copied to the peer)"
                     % os.path.join(directory, paths.PYHA_CF)))
    result.params = params
    result.local_files, result.peer_files = local_files, peer_files
    if local_files["ha.cf"] != peer_files["ha.cf"]:
        note(dg.info("init-per-node-hacf", "interface names differ between the nodes, so each gets its own ha.cf"))
    try:
        # read this node's files before the peer is touched: one we cannot read stops us here
        result.local_changes = write_files(local_files, directory, dry_run=True)
    except OSError as exc:
        raise InitError("cannot read this node's files: %s" % os_error_text(exc, directory),
                        "replace it with a regular file, or remove it")
    if dry_run:
        return result

    if peer is not None:
        try:
            result.peer_changes = peersync.push(peer, peer_files, directory)
        except peersync.PeerStateUnknown as exc:
            raise InitError("%s; this node's files were not changed" % exc.message,
                            "%s`pyha sync --peer %s --dry-run` shows how the peer's files differ from this node's; "
                            "run this `pyha init` again to bring both nodes to the same files"
                            % (exc.hint + "; then " if exc.hint else "", peer_ip))
        except SshError as exc:
            raise InitError("the peer's files were not changed: " + exc.message, exc.hint)
        result.synced = True
    try:
        result.local_changes = write_files(local_files, directory)
    except OSError as exc:
        raise InitError("writing this node's files failed: %s%s" % (os_error_text(exc, directory), "; the peer "
                                                                    "already has the new files" if result.synced else ""),
                        "fix the cause and run this `pyha init` again")
    return result
