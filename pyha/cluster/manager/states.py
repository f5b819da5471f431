"""States of the resource manager as plain constants, with their transition tables.

The node's resource phase (P_*), one group's state (G_*), the standby exchange (SB_*), the
peer's liveness (PEER_*), how an acquisition is checked against the VIP witness (PROBE_*)
and what a protocol step waits for (W_*).  `_PHASE_FROM`, `_GROUP_FROM` and `_SB_FROM`
say from which states each state may be entered; `Manager._phase_to`, `_group_to` and
`_sb_to` are the only places states change and raise `IllegalTransition` otherwise.
The protocol words the manager speaks (rsc_hold words, the pyha-* message types, ipfail's
client id) are `pyha.wire.vocabulary`'s, re-exported here under the manager's names.

This module depends on nothing but those two value modules and must never hold logic:
values and tables only.
"""

from pyha.cluster.events import IllegalTransition  # noqa: F401  (re-exported)
from pyha.wire.vocabulary import (  # noqa: F401  (re-exported)
    GROUPS_MSG, INFO_REQ_OUR_RESOURCES, IPFAIL, IPFAIL_TYPES, LINKS_MSG, PING_MSG, RSC_WORDS,
)

AUTO_FAILBACK_MODES = ("on", "off", "legacy")
INFO_STARTUP = INFO_REQ_OUR_RESOURCES
MAX_PING = 10000

# Node-level resource phase.
P_WAITING = "waiting"      # communication not up yet
P_STARTING = "starting"    # sent `starting`, waiting for what the peer holds
P_RUNNING = "running"      # start-up decided; normal operation
P_STOPPING = "stopping"    # graceful stop: releasing everything
P_STOPPED = "stopped"      # `shutdone` sent; the daemon may exit
PHASES = (P_WAITING, P_STARTING, P_RUNNING, P_STOPPING, P_STOPPED)
_PHASE_FROM = {
    P_STARTING: (P_WAITING,),
    P_RUNNING: (P_WAITING, P_STARTING),
    P_STOPPING: (P_WAITING, P_STARTING, P_RUNNING),
    P_STOPPED: (P_STOPPING,),
}

# One group, as seen from this node.
G_IDLE = "idle"            # not running here
G_PROBING = "probing"      # wanted here; waiting for the VIP witness
G_ACQUIRING = "acquiring"  # Acquire sent to the shell
G_HELD = "held"            # running here
G_RELEASING = "releasing"  # Release sent to the shell
G_STUCK = "stuck"          # the stop failed: it may still run here
GROUP_STATES = (G_IDLE, G_PROBING, G_ACQUIRING, G_HELD, G_RELEASING, G_STUCK)
_GROUP_FROM = {
    G_PROBING: (G_IDLE,),
    G_ACQUIRING: (G_IDLE, G_PROBING, G_STUCK),
    G_HELD: (G_ACQUIRING,),
    G_RELEASING: (G_HELD, G_ACQUIRING, G_STUCK),
    G_IDLE: (G_PROBING, G_RELEASING),
    G_STUCK: (G_RELEASING,),
}
_RUNNING_STATES = (G_ACQUIRING, G_HELD, G_RELEASING, G_STUCK)  # might be running here

# The standby exchange (spec 5.4).  R = the node giving groups up, O = the other.
SB_NONE = "none"
SB_ASKED = "asked"            # R: sent `me`, waiting for `other` (10 s)
SB_RELEASING = "releasing"    # R: got `other`, releasing
SB_RELEASED = "released"      # R: sent `done`, waiting for O's `done`
SB_ACCEPTED = "accepted"      # O: sent `other`, waiting for R's `done`
SB_ACQUIRING = "acquiring"    # O: got R's `done`, acquiring
STANDBY_STATES = (SB_NONE, SB_ASKED, SB_RELEASING, SB_RELEASED, SB_ACCEPTED, SB_ACQUIRING)
_SB_FROM = {
    SB_ASKED: (SB_NONE,),
    SB_RELEASING: (SB_ASKED,),
    SB_RELEASED: (SB_RELEASING,),
    SB_ACCEPTED: (SB_NONE,),
    SB_ACQUIRING: (SB_ACCEPTED,),
    SB_NONE: (SB_ASKED, SB_RELEASING, SB_RELEASED, SB_ACCEPTED, SB_ACQUIRING),
}

# The peer's liveness as the manager last heard it from membership.
PEER_NEVER = "never"
PEER_UP = "up"
PEER_DEAD = "dead"
PEER_LEFT = "left"

# How an acquisition is checked against the VIP witness.
PROBE_NONE = "none"        # hand-over confirmed by the peer: no probe
PROBE_HOLDER = "holder"    # the dead peer held it: take it once the address is free
PROBE_CLAIM = "claim"      # holder unknown: preferred node at once, the other after claim_delay
PROBE_CLAIM_DELAYED = "claim-delayed"  # after 2 x claim_delay even on the preferred node

# Things waited for before a protocol step (see _fire_waits).
W_STARTUP = "startup"                   # initial acquisition -> report req_our_resources()
W_TAKEOVER = "takeover"                 # takeover from a dead/leaving peer -> report
W_STANDBY_RELEASE = "standby-release"   # R released S -> ask_resources done
W_STANDBY_ACQUIRE = "standby-acquire"   # O acquired S -> report + ask_resources done
W_SHUTDOWN = "shutdown"                 # everything released -> shutdone
_RELEASE_WAITS = (W_STANDBY_RELEASE, W_SHUTDOWN)

_EPS = 1e-9  # slack when comparing float instants

