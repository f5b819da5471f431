"""Where pyha's files live on a node: the one place each path is spelled.

Heartbeat's configuration directory, pyha's state and run directories (DESIGN.md "Fixed
points users rely on"), and the names of the files inside them.  Commands take the
directories as options (tests and the lab point them elsewhere); the defaults and the
file names come from here.  Pure constants and joins: nothing here touches the disk.
"""

import os

HA_DIR = "/etc/ha.d"            # ha.cf, haresources, authkeys (heartbeat's)
PYHA_CF = "pyha.cf"             # pyha's own settings, in HA_DIR (heartbeat never reads it)
STATE_DIR = "/var/lib/pyha"     # hb_generation, hb_uuid
RUN_DIR = "/var/run/pyha"       # pid file (the one-daemon lock), control socket

PID_FILE = "pyha.pid"
CONTROL_SOCKET = "pyha.sock"


def control_path(run_dir=RUN_DIR):
    # type: (str) -> str
    return os.path.join(run_dir, CONTROL_SOCKET)


def pid_path(run_dir=RUN_DIR):
    # type: (str) -> str
    return os.path.join(run_dir, PID_FILE)
