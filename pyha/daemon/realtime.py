"""ha.cf `realtime on` (heartbeat's default): keepalives must not wait for a busy machine.

With a 50 ms keepalive and a 200 ms deadtime, a daemon that the scheduler leaves behind
a few CPU-bound processes for a fifth of a second gets declared dead by its peer.
heartbeat answers this with round-robin realtime scheduling at the lowest realtime
priority (or ha.cf `rtprio`) and locked memory; so do we, with two differences:

* SCHED_RESET_ON_FORK: resource scripts, respawned programs and the guardian start with
  normal scheduling (a realtime nginx start script would compete with the keepalives
  it must not delay; heartbeat resets its children by hand).
* Memory is locked as it is touched (mlockall with MCL_ONFAULT, Linux 4.4+): the pages
  the daemon uses can never be swapped out, yet its RSS stays what it uses (a plain
  mlockall faults in every mapped library whole: 24 -> 46 MB measured).  Older kernels
  (EL6, EL7) refuse MCL_ONFAULT; there we lock everything, as heartbeat does.
* A failure is a warning, not fatal; the kernel's realtime throttling
  (sched_rt_runtime_us) leaves the machine 5 % to recover from a runaway realtime task.

Nothing here is fatal: a container may refuse realtime scheduling; the daemon then runs
as a normal process and says so.
"""

import ctypes
import ctypes.util
import os
from typing import Tuple

MCL_CURRENT = 1
MCL_FUTURE = 2
MCL_ONFAULT = 4


def _mlockall():
    # type: () -> str
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0:
        return "memory locked as used"
    if libc.mlockall(MCL_CURRENT | MCL_FUTURE) == 0:
        return "memory locked"
    return "memory not locked (%s)" % os.strerror(ctypes.get_errno())


def make_realtime(enabled, rtprio=None, lock_memory=True):
    # type: (bool, object, bool) -> Tuple[bool, str]
    """Apply ha.cf's realtime/rtprio to this process; (realtime now?, what happened)."""
    if not enabled:
        return False, "realtime off in ha.cf: normal scheduling"
    prio = rtprio if isinstance(rtprio, int) and rtprio > 0 else os.sched_get_priority_min(os.SCHED_RR)
    try:
        os.sched_setscheduler(0, os.SCHED_RR | os.SCHED_RESET_ON_FORK, os.sched_param(prio))
    except (OSError, AttributeError) as exc:
        return False, "realtime scheduling refused (%s): running as a normal process" % exc
    memory = _mlockall() if lock_memory else "memory not locked"
    return True, "realtime scheduling SCHED_RR priority %d, children reset on fork; %s" % (prio, memory)
