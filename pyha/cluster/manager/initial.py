"""heartbeat's "Initial resource acquisition complete (<reason>)": when, and with which word.

CTS and operators wait for this line to know a node has started.  heartbeat 3.0.6
(hb_resource.c, AnnounceTakeover) logs it once per start, when two flags are both set:
*local* work done (our own groups are ours, or settled elsewhere) and *foreign* work done
(the peer's groups are settled); the reason is the event that set the second flag.  The
events, in heartbeat's words, and where pyha meets them:

  foreign  comm-up with the peer alive (deadcount 0)          Manager._on_comm_up
  foreign  the peer's `starting` while we start: HB_R_BOTHSTARTING    _on_starting
  foreign  a `resource` report while we start, auto_failback off: T_RESOURCES
  both     the peer holds our groups, auto_failback off: T_RESOURCES(them)
           (with auto_failback on only the foreign half: we wait for the failback)
  foreign  the peer is stable and we take our groups: T_RESOURCES(them)
  local    our own report of the groups we took: T_RESOURCES(us)  (start-up or takeover)
  foreign  the takeover from a dead peer is done: mach_down     (start alone, or death)
  local    standby acquisition done with auto_failback on: auto_failback
  legacy (no `resource` messages): local when a group taken through ip-request-resp has
           run its start (ip-request-resp) or our own acquisition without a peer is done
           (req_our_resources); foreign when the takeover from a dead peer is done (status)

Where heartbeat runs two child processes whose order is not fixed (legacy: req_our_resources
and the status script's mach_down), the word is that of the one pyha finishes last.

Holds no reference to the Manager: it is told events and answers the line to log, once.
Pure, like the whole package: see `pyha.cluster.manager` for what it must never do.
"""

from typing import Optional

INITMSG = "Initial resource acquisition complete"


class InitialAcquisition(object):
    """heartbeat's two flags and its one line."""

    __slots__ = ("local", "foreign", "reason", "alone")

    def __init__(self):
        self.local = False
        self.foreign = False
        self.reason = None      # type: Optional[str]  # set once the line was logged
        self.alone = False      # started without the peer: the foreign half is mach_down's

    def note(self, reason, local=False, foreign=False):
        # type: (str, bool, bool) -> Optional[str]
        """Set the flags; the line to log when this event completes both, else None."""
        if self.reason is not None:
            return None
        self.local = self.local or local
        self.foreign = self.foreign or foreign
        if not (self.local and self.foreign):
            return None
        self.reason = reason
        return "%s (%s)" % (INITMSG, reason)
