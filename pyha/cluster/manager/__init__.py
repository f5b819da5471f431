"""Who holds the resource groups: heartbeat's haresources ("v1") policy as a pure machine.

`Manager` decides, for the local node and its one peer, which resource groups run here.
The daemon feeds it membership notifications (`CommUp`, `NodeDead`, `NodeLeft`,
`NodeRestarted`, `PartitionHealed`, `NodeWarn`, `PingUp`/`PingDead`, `Deliver` of the
peer's resource-protocol messages), results of group operations from the shell
(`GroupAcquired`, ...), the VIP witness (`VipFree`, `VipAnswered`, `VipConflict`),
operator commands (`Standby`, `Takeover`, `Shutdown`) and `Tick`, each with a monotonic
`now`.  It answers with actions: `Send` (protocol messages, numbered by membership's
`send` when one is injected), `Acquire`/`Release`/`ProbeVip`/`AnnounceVip` for the shell,
`CommandResult`, `ShutdownComplete`, `Log` and one typed event per state change
(`GroupStateChanged`, `NodeStateChanged`, ...).  Every decision carries a sentence saying
why; the last ones are kept for `pyha status` (`snapshot()`).

The package, one job a module:
  states.py    states as constants, transition tables; re-exports IllegalTransition and the
               protocol words (both defined once: pyha.cluster.events, pyha.wire.vocabulary)
  config.py    ManagerConfig, ManagedGroup, default_claim_delay_ms
  records.py   the small mutable records (group, probe, peer, standby, wait, arbitration)
  core.py      Manager: fields, transitions, claims, reports, the input loop
  startup.py   start-up: `starting`, first reports, RQSTDELAY
  initial.py   InitialAcquisition: heartbeat's "Initial resource acquisition complete (<why>)"
  peer.py      membership's word on the peer; routing of the peer's messages
  standby.py   the standby exchange and hb_takeover
  legacy.py    LegacyFailback: auto_failback legacy (ip-request)
  fence.py     FenceGate: a dead peer that may hold resources is fenced before a takeover
  compat.py    RscWords (rsc_hold words); heartbeat's ipfail and pyha's peer words
  health.py    ServiceHealth: failed checks -> restart in place or hand over (issue 14)
  witness.py   the VIP witness: probes, answers, conflicts, carrier
  timing.py    ProbeTiming: when to probe, how long an address must stay free
  rules.py     the arbitration ladder, an ordered list of named rules
  groups.py    moving groups, the shell's results, waits for protocol steps
  timers.py    timed steps and next_deadline()
  commands.py  operator commands
  view.py      the snapshot for `pyha status`
Manager is composed of mixins where the handlers share its state, owns collaborators where
a job's state is its own (ProbeTiming, RscWords, InitialAcquisition, LegacyFailback, FenceGate,
ServiceHealth; core.py
says which and why), and calls rules and view, plain functions of the Manager.

What this package must never do: open sockets, read a clock, start processes or threads,
draw randomness, import a third-party library, or raise on bad input from the network,
the shell or the operator (bad input is logged and ignored).  An impossible state change
is a bug and raises `IllegalTransition`.
"""

from pyha.cluster.manager.config import ManagedGroup, ManagerConfig, default_claim_delay_ms
from pyha.cluster.manager.core import Manager
from pyha.cluster.manager.states import (
    AUTO_FAILBACK_MODES, G_ACQUIRING, G_HELD, G_IDLE, G_PROBING, G_RELEASING, G_STUCK, GROUP_STATES,
    GROUPS_MSG, INFO_STARTUP, IPFAIL, IPFAIL_TYPES, LINKS_MSG, MAX_PING, P_RUNNING, P_STARTING,
    P_STOPPED, P_STOPPING, P_WAITING, PEER_DEAD, PEER_LEFT, PEER_NEVER, PEER_UP, PHASES, PING_MSG,
    PROBE_CLAIM, PROBE_CLAIM_DELAYED, PROBE_HOLDER, PROBE_NONE, RSC_WORDS, SB_ACCEPTED, SB_ACQUIRING,
    SB_ASKED, SB_NONE, SB_RELEASED, SB_RELEASING, STANDBY_STATES, W_SHUTDOWN, W_STANDBY_ACQUIRE,
    W_STANDBY_RELEASE, W_STARTUP, W_TAKEOVER, IllegalTransition,
)
