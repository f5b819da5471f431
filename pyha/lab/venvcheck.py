"""Can the lab's nodes run this pyha?  Every node replaces /tmp, /run, /var/log, /etc/ha.d,
/var/lib/pyha and /var/lib/heartbeat with private copies (node.PRIVATE_DIRS), and runs
pyha inside as `sys.executable -m pyha`.  An interpreter, virtualenv or pyha package
under one of those (a virtualenv in /tmp, say) does not exist inside the nodes: the
nodes' commands would fail one by one with `nsenter: failed to execute .../python3`.
`Lab.up` asks here first and refuses with the reason before it builds anything.

Pure path arithmetic over what it is given; it must never create, mount or run anything.
"""

import os
import sys
from typing import List, Optional, Sequence, Tuple

from pyha.lab.netns import LabError
from pyha.lab.node import PRIVATE_DIRS


def _forms(path):
    # type: (str) -> List[str]
    """`path` as given and with its symlinks resolved (/var/run is /run)."""
    out = [os.path.normpath(os.path.abspath(path))]
    real = os.path.realpath(path)
    if real not in out:
        out.append(real)
    return out


def hidden_in_nodes(paths, private_dirs=PRIVATE_DIRS):
    # type: (Sequence[Tuple[str, str]], Sequence[str]) -> List[Tuple[str, str, str]]
    """(what, path, private dir) for each (what, path) that a node cannot see because
    it lies under one of `private_dirs`."""
    out = []
    for what, path in paths:
        for private in private_dirs:
            hit = [p for p in _forms(path) for d in _forms(private) if p == d or p.startswith(d.rstrip("/") + "/")]
            if hit:
                out.append((what, path, private))
                break
    return out


def pyha_paths(executable=None, prefix=None, package_dir=None):
    # type: (Optional[str], Optional[str], Optional[str]) -> List[Tuple[str, str]]
    """What the nodes need to see: the interpreter (as the nodes will exec it, i.e.
    unresolved: a virtualenv's bin/python3 is a link into it), its prefix (the
    virtualenv, whose site-packages hold pyha's libraries) and the pyha package."""
    if package_dir is None:
        import pyha
        package_dir = os.path.dirname(os.path.abspath(pyha.__file__))
    return [("the interpreter", executable or sys.executable), ("its prefix", prefix or sys.prefix),
            ("the pyha package", package_dir)]


def check_nodes_can_run_pyha(paths=None):
    # type: (Optional[Sequence[Tuple[str, str]]]) -> None
    """LabError naming what is hidden and why, when a node could not run this pyha."""
    hidden = hidden_in_nodes(pyha_paths() if paths is None else paths)
    if not hidden:
        return
    what = "; ".join("%s %s is under %s" % h for h in hidden)
    raise LabError("the lab nodes cannot run this pyha: %s, and every node mounts its own private %s over "
                   "the host's (nsenter would fail to execute it inside the nodes). Install pyha in a "
                   "virtualenv elsewhere (e.g. /opt/pyha-venv or /var/tmp/pyha-venv) and run that one"
                   % (what, ", ".join(sorted(set(h[2] for h in hidden)))))
