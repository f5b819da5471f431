"""`cl_status` as genuine heartbeat 3.0.6 prints it, answered from pyha's status.

Output, exit codes and error texts were taken from genuine heartbeat 3.0.6 (Debian's
package, in the mixed lab; see shared/spec/heartbeat-compat.md 6.1): 0 ok, 1 node or link
dead / heartbeat stopped, 11 bad sub-command or arguments, 13 other error.  Node lists
come in heartbeat's order, the reverse of ha.cf's (nodes, then ping nodes), and link lists
likewise.  Sub-commands pyha has nothing to answer with (`clientstatus`, `hbparameter`)
say so and exit 13, never a made-up value.

`answer()` is pure (arguments and the status dict in, text and code out); `main()` asks
the daemon's control socket and writes the result.  Never imports typer: it starts fast.
"""

import os
import sys
import time
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from pyha import __version__

OK, FAILED, BAD_ARGS, OTHER = 0, 1, 11, 13

# stdout text, stderr entries, exit code.  A stderr entry is a plain line (str) or
# ("ERROR", text), which main() writes in heartbeat's log format.
Result = NamedTuple("Result", [("out", str), ("err", List[Any]), ("code", int)])

USAGE = """Usage: cl_status <sub-command> [<options>] [<parameters>]

Sub-commands:
clientstatus <node-name> <client-id> [<timeout>]
\tShow the status of heartbeat clients.
hblinkstatus <node-name> <link-name>
\tShow the status of a heartbeat link
hbstatus
\tIndicate if heartbeat is running on the local system.
\tOptions:
\t\t-v\tverbose: also add "listnodes -v" output
listnodes [<option>]
\tList the nodes in the cluster.
\tOptions:
\t\t-p\tlist only 'ping' type nodes
\t\t-n\tlist only 'normal' type nodes
\t\t-v\tverbose: also list type and status,
\t\t\tthen add "listhblinks -v" output
listhblinks <node-name>
\tList the network interfaces used as hearbeat links.
\tOptions:
\t\t-v\tverbose: list link status as well
nodestatus <node-name>
\tList the node status.
nodeweight <node-name>
\tList the node weight.
nodesite <node-name>
\tList the node site.
nodetype <node-name>
\tList the nodes of a given type.
rscstatus
\tShow the status of cluster resources.
hbparameter -p <parameter-name>
\tRetrieve the value of a cluster parameter.
\tAs for the valid parameter names, please refer to the man page.
"""

# sub-command: (its option letters, the wording of its getopt error)
_OPTIONS = {
    "hbstatus": ("mv", "code"),
    "listnodes": ("mnpv", "code"),
    "listhblinks": ("mv", "code"),
    "nodestatus": ("m", "plain"),
    "nodetype": ("m", "plain"),
    "nodeweight": ("m", "plain"),
    "nodesite": ("m", "plain"),
    "hblinkstatus": ("m", "plain"),
    "rscstatus": ("m", "plain"),
    "clientstatus": ("m", "plain"),
    "hbparameter": ("mp:", "plain"),
}
NOT_RUNNING = [("ERROR", "Cannot signon with heartbeat"),
               ("ERROR", "REASON: hb_api_signon: Can't initiate connection to heartbeat")]


class _View(object):
    """The cluster as heartbeat's API would list it, read from pyha's status dict."""

    def __init__(self, st):
        # type: (Dict[str, Any]) -> None
        cfg = st.get("config") or {}
        self.st = st
        self.local = (st.get("local") or {}).get("node") or (st.get("daemon") or {}).get("node") or ""
        self.normal = [n.lower() for n in cfg.get("nodes") or []]
        pings = dict(st.get("ping_nodes") or {})
        pings.update(st.get("ping_groups") or {})
        self.pings = pings
        ping_names = list(cfg.get("ping_nodes") or []) + sorted(cfg.get("ping_groups") or {})
        ping_names += sorted(p for p in pings if p not in ping_names)
        # heartbeat's API walks its node table backwards: last ha.cf line first.
        self.order = list(reversed(self.normal + ping_names))
        self.media = list(reversed(cfg.get("media") or []))

    def find(self, name):
        # type: (str) -> Optional[str]
        if name in self.pings:
            return name
        low = name.lower()  # heartbeat compares node names without case
        return low if low in self.normal else None

    def kind(self, node):
        # type: (str) -> str
        return "ping" if node in self.pings else "normal"

    def status(self, node):
        # type: (str) -> str
        """heartbeat's node status word: active, up, init, dead, or ping (a ping node up)."""
        if node in self.pings:
            return "ping" if self.pings[node].get("state") == "up" else "dead"
        if node == self.local:
            return (self.st.get("local") or {}).get("status") or "init"
        peer = (self.st.get("nodes") or {}).get(node) or {}
        state = peer.get("state")
        if state == "up":
            return peer.get("status") if peer.get("status") in ("active", "up", "init") else "up"
        if state == "never":
            return "init"  # not heard since we started, initdead still running
        return "dead"

    def links(self, node):
        # type: (str) -> List[Tuple[str, str]]
        """[(link name, up|dead)]: a ping node has one link named as itself; our own links
        are up (heartbeat reports them so); a peer's link never heard is dead."""
        if node in self.pings:
            return [(node, "up" if self.pings[node].get("state") == "up" else "dead")]
        if node == self.local:
            return [(m, "up") for m in self.media]
        peer_links = ((self.st.get("nodes") or {}).get(node) or {}).get("links") or {}
        return [(m, "up" if (peer_links.get(m) or {}).get("state") == "up" else "dead") for m in self.media]

    def rscstatus(self):
        # type: () -> Optional[str]
        res = self.st.get("resources") or {}
        if res.get("mode"):
            return None  # membership only: nobody manages resources here
        if not res.get("stable", True):
            return "transition"
        holding = res.get("holding")
        return holding if holding in ("all", "local", "foreign", "none") else "transition"


def _getopt(sub, args):
    # type: (str, List[str]) -> Tuple[Optional[Dict[str, str]], List[str], Optional[str]]
    """GNU getopt as cl_status uses it: (options, operands, bad option letter or None)."""
    letters, _ = _OPTIONS[sub]
    opts = {}  # type: Dict[str, str]
    operands = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            operands.extend(args[i + 1:])
            break
        if a.startswith("-") and len(a) > 1:
            j = 1
            while j < len(a):
                c = a[j]
                pos = letters.find(c)
                if pos < 0 or c == ":":
                    return None, operands, c
                if pos + 1 < len(letters) and letters[pos + 1] == ":":
                    value = a[j + 1:]
                    if not value:
                        i += 1
                        value = args[i] if i < len(args) else ""
                    opts[c] = value
                    break
                opts[c] = ""
                j += 1
        else:
            operands.append(a)
        i += 1
    return opts, operands, None


def _bad_option(sub, letter):
    # type: (str, str) -> List[Any]
    wording = "character code" if _OPTIONS[sub][1] == "code" else "character"
    return ["%s: invalid option -- '%s'" % (sub, letter), ("ERROR", "Error: getopt returned%s ?." % wording)]


def _node_block(view, node):
    # type: (_View, str) -> List[str]
    lines = ["", "%s\t%s\t(nodetype: %s)" % (node, view.status(node), view.kind(node))]
    lines += ["\t%s\t%s" % link for link in view.links(node)]
    return lines


def answer(argv, status, running):
    # type: (List[str], Optional[Dict[str, Any]], bool) -> Result
    """What `cl_status ARGV` prints and returns.  `status`: the daemon's status answer, or
    None when it does not answer; `running`: a pyha daemon holds this node's pid lock."""
    if not argv or argv[0] in ("-h", "--help"):
        return Result(USAGE, [], OK)
    sub, args = argv[0], argv[1:]
    if sub not in _OPTIONS:
        return Result("", [("ERROR", "%s: invalid sub-command." % sub)], BAD_ARGS)
    if sub == "hbstatus":
        opts, _, bad = _getopt(sub, args)
        err = ["%s: invalid option -- '%s'" % (sub, bad)] if bad else []
        if not running and status is None:
            text = "Heartbeat is stopped on this machine.\n"
            if opts and "v" in opts:
                text += "(hb_api_signon: Can't initiate connection to heartbeat)\n"
            return Result(text, err, FAILED)
        if opts and "v" in opts and status is not None:
            # genuine's verbose answer replaces the sentence with the daemon's view
            view = _View(status)
            lines = ["version:\tpyha %s" % __version__, 'managed by:\t"haresources"']
            for node in view.order:
                lines += _node_block(view, node)
            return Result("\n".join(lines) + "\n", err, OK)
        return Result("Heartbeat is running on this machine.\n", err, OK)
    if status is None:
        return Result("", list(NOT_RUNNING), FAILED)
    opts, operands, bad = _getopt(sub, args)
    if bad is not None:
        return Result("", _bad_option(sub, bad), BAD_ARGS)
    view = _View(status)
    verbose = "m" in opts
    if sub == "listnodes":
        nodes = view.order
        if "n" in opts and "p" not in opts:
            nodes = [n for n in nodes if view.kind(n) == "normal"]
        elif "p" in opts and "n" not in opts:
            nodes = [n for n in nodes if view.kind(n) == "ping"]
        if "v" in opts:
            lines = []  # type: List[str]
            for node in nodes:
                lines += _node_block(view, node)
        else:
            lines = (["The nodes are as follow:"] if verbose else []) + nodes
        return Result("\n".join(lines) + "\n" if lines else "", [], OK)
    if sub == "rscstatus":
        word = view.rscstatus()
        if word is None:
            return Result("", [("ERROR", "Cannot get cluster resource status")], OTHER)
        text = "This node is holding %s resources." % word if verbose else word
        return Result(text + "\n", [], OK)
    if sub in ("clientstatus", "hbparameter"):
        return Result("", [("ERROR", "%s: not answered by pyha's cl_status (see `pyha status --json`)" % sub)],
                      OTHER)
    if not operands or (sub == "hblinkstatus" and len(operands) < 2):
        text = "Not enough parameters." if sub == "nodestatus" else "No enough parameter."
        return Result("", [text], BAD_ARGS)
    node = view.find(operands[0])
    if sub == "listhblinks":
        if node is None:
            return Result("", [("ERROR", "Cannot start heartbeat link interface walk."), ("ERROR", "REASON: EINVAL")],
                          OTHER)
        links = view.links(node)
        if "v" in opts:
            lines = ["\t%s\t%s" % link for link in links]
        else:
            lines = ["\t%s" % name for name, _ in links]
        if verbose:
            lines.insert(0, "\tthis node has the following heartbeat links:")
        return Result("\n".join(lines) + "\n", [], OK)
    if sub == "hblinkstatus":
        state = dict(view.links(node)).get(operands[1]) if node is not None else None
        if state is None:
            return Result("", [("ERROR", "Cannot get heartbeat link status"), ("ERROR", "REASON: ")], OTHER)
        text = "The node %s's heartbeat link %s is %s" % (node, operands[1], state) if verbose else state
        return Result(text + "\n", [], OK if state == "up" else FAILED)
    if node is None:
        # genuine's two spellings, each where it uses it
        text = "Error. Maybe due to incorrect node name." if sub == "nodeweight" else \
            "Error. May be due to incorrect node name"
        return Result("", [text], BAD_ARGS)
    if sub == "nodestatus":
        state = view.status(node)
        text = "The cluster node %s is %s" % (node, state) if verbose else state
        return Result(text + "\n", [], FAILED if state == "dead" else OK)
    if sub == "nodetype":
        text = "The node %s's type: %s" % (node, view.kind(node)) if verbose else view.kind(node)
        return Result(text + "\n", [], OK)
    if sub == "nodeweight":
        text = "The weight of the cluster node %s is 100" % node if verbose else "100"
        return Result(text + "\n", [], OK)
    text = "The site of the cluster node %s is " % node if verbose else ""  # nodesite: none set
    return Result(text + "\n", [], OK)


def log_line(text, now=None):
    # type: (str, Optional[float]) -> str
    """heartbeat's stderr log format: `Dec 06 21:46:24 HA1 cl_status: [682]: ERROR: ...`."""
    stamp = time.strftime("%b %d %H:%M:%S", time.localtime(now))
    return "%s %s cl_status: [%d]: ERROR: %s" % (stamp, os.uname()[1], os.getpid(), text)


def ask(run_dir=None):
    # type: (Optional[str]) -> Tuple[Optional[Dict[str, Any]], bool]
    """(the daemon's status or None, whether a daemon holds the pid lock)."""
    from pyha import paths
    from pyha.daemon.control import ControlError, request
    from pyha.daemon.pidlock import held_by
    run_dir = run_dir or os.environ.get("PYHA_RUN_DIR") or paths.RUN_DIR
    try:
        answer_ = request(paths.control_path(run_dir), {"cmd": "status"})
    except ControlError:
        answer_ = None
    status = answer_.get("status") if isinstance(answer_, dict) and answer_.get("ok") else None
    if status is not None:
        return status, True
    try:
        return None, held_by(run_dir) is not None
    except OSError:
        return None, False


def main(argv=None):
    # type: (Optional[List[str]]) -> int
    argv = sys.argv[1:] if argv is None else argv
    needs_daemon = bool(argv) and argv[0] in _OPTIONS
    status, running = ask() if needs_daemon else (None, False)
    res = answer(argv, status, running)
    sys.stdout.write(res.out)
    sys.stdout.flush()
    for entry in res.err:
        sys.stderr.write((log_line(entry[1]) if isinstance(entry, tuple) else entry) + "\n")
    return res.code


if __name__ == "__main__":
    sys.exit(main())
