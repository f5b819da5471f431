"""The resource manager as a package (issue 12 item 2): its public names stay importable from
`pyha.cluster.manager`, and no module or class in it grows past the agreed size."""

import ast
import os

import pyha.cluster.manager as manager
from pyha.cluster.manager import rules

PACKAGE_DIR = os.path.dirname(manager.__file__)
MAX_MODULE_LINES = 700
MAX_CLASS_LINES = 450

# What importers (daemon, node core, simulator, tests) took from the single module before.
PUBLIC = (
    "Manager", "ManagerConfig", "ManagedGroup", "default_claim_delay_ms", "IllegalTransition",
    "AUTO_FAILBACK_MODES", "RSC_WORDS", "PING_MSG", "GROUPS_MSG", "LINKS_MSG", "INFO_STARTUP",
    "MAX_PING", "IPFAIL", "IPFAIL_TYPES", "PHASES", "GROUP_STATES", "STANDBY_STATES",
    "P_WAITING", "P_STARTING", "P_RUNNING", "P_STOPPING", "P_STOPPED",
    "G_IDLE", "G_PROBING", "G_ACQUIRING", "G_HELD", "G_RELEASING", "G_STUCK",
    "SB_NONE", "SB_ASKED", "SB_RELEASING", "SB_RELEASED", "SB_ACCEPTED", "SB_ACQUIRING",
    "PEER_NEVER", "PEER_UP", "PEER_DEAD", "PEER_LEFT",
    "PROBE_NONE", "PROBE_HOLDER", "PROBE_CLAIM", "PROBE_CLAIM_DELAYED",
    "W_STARTUP", "W_TAKEOVER", "W_STANDBY_RELEASE", "W_STANDBY_ACQUIRE", "W_SHUTDOWN",
)


def _modules():
    return sorted(f for f in os.listdir(PACKAGE_DIR) if f.endswith(".py"))


def test_public_names_still_come_from_the_package():
    missing = [name for name in PUBLIC if not hasattr(manager, name)]
    assert missing == []
    assert manager.default_claim_delay_ms(1000, 6000, 3000) == 3000


def test_no_module_or_class_past_the_size_limits():
    too_long = []
    for name in _modules():
        with open(os.path.join(PACKAGE_DIR, name)) as f:
            text = f.read()
        lines = text.count("\n")
        if lines > MAX_MODULE_LINES:
            too_long.append("%s: %d lines" % (name, lines))
        for node in ast.parse(text).body:
            if isinstance(node, ast.ClassDef):
                end = max(getattr(n, "lineno", node.lineno) for n in ast.walk(node))
                if end - node.lineno + 1 > MAX_CLASS_LINES:
                    too_long.append("%s: class %s, %d lines" % (name, node.name, end - node.lineno + 1))
    assert len(_modules()) > 1
    assert too_long == []


def test_the_rules_ladder_is_named_and_ordered():
    names = [name for name, _rule in rules.RULES]
    assert len(names) == len(set(names))
    # Guards come before the hand-overs they protect, and the ladder ends by taking orphans.
    assert names.index("not-running") == 0
    assert names.index("in-flux") < names.index("start-failure") < names.index("carrier") \
        < names.index("ping") < names.index("failback")
    assert names[-1] == "orphans"
