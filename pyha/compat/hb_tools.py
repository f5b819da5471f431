"""`hb_standby` and `hb_takeover` as heartbeat 3.0.6 ships them, answered by pyha's daemon.

Arguments, usage texts and exit codes are genuine heartbeat's scripts' (checked against
/usr/share/heartbeat/hb_standby and hb_takeover in the mixed lab): `[all|foreign|local|
failback]`, default all; a wrong or extra argument prints `$0: ...` and `usage:` on
stdout, the usage line on stderr, exit 1; hb_standby logs "Going standby [SET]." on
stderr.  Where genuine heartbeat's script would write into a FIFO nobody reads (the daemon
is not running: it blocks) or accept silently what the daemon then refuses in its log,
these say why on stderr and exit 1 instead.

`check()` is pure; `main_standby`/`main_takeover` send `standby`/`takeover` to the
daemon's control socket.  Never imports typer.
"""

import os
import sys
import time
from typing import List, NamedTuple, Optional, Tuple

WORDS = ("all", "foreign", "local", "failback")
Checked = NamedTuple("Checked", [("which", Optional[str]), ("out", str), ("err", str), ("code", int)])


def check(tool, prog, args):
    # type: (str, str, List[str]) -> Checked
    """The resource set `args` asks for, or genuine's complaint: (which, stdout, stderr, rc)."""
    usage_err = "%s [all|foreign|local|failback]\n" % prog
    if len(args) >= 2:
        return Checked(None, "%s: too many arguments\nusage:\n" % prog, usage_err, 1)
    which = args[0] if args else "all"
    if which == "--help":
        return Checked(None, "usage:\n", usage_err, 1)
    if which not in WORDS:
        return Checked(None, "%s: wrong resources(%s).\nusage:\n" % (prog, which), usage_err, 1)
    if tool == "standby" and which == "failback":
        which = "foreign"  # hb_standby's own translation; hb_takeover sends failback as is
    return Checked(which, "", "", 0)


def send(cmd, which, run_dir=None):
    # type: (str, str, Optional[str]) -> Tuple[bool, str]
    """(accepted, why) from the daemon for `cmd which`."""
    from pyha import paths
    from pyha.daemon.control import ControlError, request
    run_dir = run_dir or os.environ.get("PYHA_RUN_DIR") or paths.RUN_DIR
    try:
        answer = request(paths.control_path(run_dir), {"cmd": cmd, "which": which}, timeout=10)
    except ControlError as exc:
        return False, "pyha is not running on this node (%s)" % exc.message
    if answer.get("ok"):
        return True, answer.get("reason") or "accepted"
    return False, "pyha refused %s %s: %s" % (cmd, which, answer.get("error") or answer.get("reason") or "refused")


def _main(tool, argv):
    # type: (str, Optional[List[str]]) -> int
    prog = sys.argv[0] if argv is None else "hb_" + tool
    args = sys.argv[1:] if argv is None else argv
    c = check(tool, prog, args)
    sys.stdout.write(c.out)
    sys.stdout.flush()
    sys.stderr.write(c.err)
    if c.which is None:
        return c.code
    if tool == "standby":
        sys.stderr.write("%s Going standby [%s].\n" % (time.strftime("%b %d %H:%M:%S"), c.which))
    ok, why = send(tool, c.which)
    if not ok:
        sys.stderr.write("%s: %s\n" % (prog, why))
        return 1
    return 0


def main_standby(argv=None):
    # type: (Optional[List[str]]) -> int
    return _main("standby", argv)


def main_takeover(argv=None):
    # type: (Optional[List[str]]) -> int
    return _main("takeover", argv)
