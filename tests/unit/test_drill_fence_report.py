"""The fencing drills' numbers and PASS/FAIL rules (pyha.drill.fence_report), on made-up
samples: power cycles, a fence call seen running then ending, a state left over from an
earlier episode, and each rule failing on its own."""

import pytest

from pyha.drill import fence_report as fr
from pyha.drill.drills import DrillError, Result, format_result
from pyha.drill.fencing import require_fencing


def view(on=True, fence="idle", **kw):
    d = {"on": on, "fence": fence if on else None}
    d.update(kw)
    return d


def samples(*rows):
    """rows: (t, HA1 view, HA2 view)."""
    return [(t, {"HA1": a, "HA2": b}) for t, a, b in rows]


CUT = samples(
    (0.0, view(fence="fenced"), view()),       # "fenced" left from an earlier drill
    (1.0, view(fence="fenced"), view()),
    (1.2, view(fence="fencing"), view(fence="delaying")),
    (1.5, view(fence="fencing"), view(on=False)),
    (3.7, view(fence="fenced"), view(on=False)),
    (6.0, view(fence="fenced"), view(on=True)),
)


def test_fence_outcome_needs_a_call_seen_running():
    assert fr.fence_outcome(CUT, "fenced", since=1.0) == (1.2, 3.7, "HA1")
    # the leftover "fenced" before the cut is not an outcome
    assert fr.fence_outcome(CUT[:2], "fenced", since=0.0) == (None, None, None)
    assert fr.fence_outcome(CUT, "fenced", since=1.0, nodes=["HA2"]) == (None, None, None)
    assert fr.fence_outcome(CUT, "failed", since=1.0) == (1.2, None, "HA1")


def test_power_cycles_and_both_off():
    assert fr.power_cycles(CUT, "HA2") == [(1.5, 6.0)]
    assert fr.power_cycles(CUT[:5], "HA2") == [(1.5, None)]
    assert fr.power_cycles(CUT, "HA1") == []
    assert not fr.ever_both_off(CUT, ["HA1", "HA2"])
    assert fr.ever_both_off(CUT + samples((7.0, view(on=False), view(on=False))), ["HA1", "HA2"])
    assert fr.since(3.7, 1.0) == 2.7 and fr.since(None, 1.0) is None


GOOD_CUT = {"cut_to_fence_call_s": 0.2, "cut_to_fenced_s": 2.7, "cut_to_power_off_s": 0.5, "survivor": "HA1",
            "fenced_node": "HA2", "survivor_powered_off": False, "both_off": False, "duplicate_vip_s": 0,
            "outage_s": 0.0, "rejoin_s": 0.4, "rejoin_duplicate_vip_s": 0, "back_on_s": 2.5}


def failing(checks):
    return [what for what, ok, _ in checks if not ok]


def test_links_cut_passes_and_each_rule_fails_alone():
    assert failing(fr.links_cut_checks(GOOD_CUT, "off", "HA1")) == []
    assert failing(fr.links_cut_checks(GOOD_CUT, "reboot", "HA1")) == []
    cases = [
        ({"cut_to_fenced_s": None}, "the survivor fenced its peer"),
        ({"cut_to_power_off_s": None}, "the fenced node was powered off"),
        ({"survivor": "HA2"}, "exactly one node kept running"),
        ({"survivor": None}, "exactly one node kept running"),
        ({"both_off": True}, "exactly one node kept running"),
        ({"duplicate_vip_s": 0.05}, "no duplicate VIP"),
        ({"outage_s": 0.3}, "clients kept being served"),
        ({"rejoin_s": None}, "the fenced node rejoined"),
        ({"rejoin_duplicate_vip_s": 0.1}, "no duplicate VIP when it rejoined"),
    ]
    for change, what in cases:
        bad = failing(fr.links_cut_checks(dict(GOOD_CUT, **change), "off", "HA1"))
        assert len(bad) == 1 and bad[0].startswith(what), (change, bad)
    # reboot: the fenced node must come back on by itself
    bad = failing(fr.links_cut_checks(dict(GOOD_CUT, back_on_s=None), "reboot", "HA1"))
    assert len(bad) == 1 and "powered on again" in bad[0]
    assert failing(fr.links_cut_checks(dict(GOOD_CUT, back_on_s=None), "off", "HA1")) == []


GOOD_BMC = {"check_reported_s": 3.1, "check_message": "status failed", "attempts": 2,
            "kill_to_fence_failed_s": 5.4, "taken_over_while_broken": False, "holders_while_broken": [],
            "status_says_failure": True, "fence_reason": "fencing ha1 failed: ...", "fix_to_fenced_s": 7.2,
            "fix_to_takeover_s": 7.3, "duplicate_vip_s": 0}


def test_broken_bmc_passes_and_each_rule_fails_alone():
    assert failing(fr.broken_bmc_checks(GOOD_BMC)) == []
    cases = [
        ({"check_reported_s": None}, "the periodic device check"),
        ({"attempts": 1}, "fencing failed and was retried"),
        ({"attempts": None}, "fencing failed and was retried"),
        ({"taken_over_while_broken": True}, "no takeover while fencing fails"),
        ({"taken_over_while_broken": None}, "no takeover while fencing fails"),  # never measured is no pass
        ({"status_says_failure": False}, "`pyha status` names"),
        ({"fix_to_fenced_s": None}, "after the BMC is repaired"),
        ({"fix_to_takeover_s": None}, "then the takeover happens"),
        ({"duplicate_vip_s": 0.1}, "no duplicate VIP"),
    ]
    for change, what in cases:
        bad = failing(fr.broken_bmc_checks(dict(GOOD_BMC, **change)))
        assert len(bad) == 1 and bad[0].startswith(what), (change, bad)


def test_require_fencing_refuses_a_lab_without_it():
    require_fencing({"fencing": True, "daemons": {"HA1": "pyha", "HA2": "pyha"}})
    with pytest.raises(DrillError) as e:
        require_fencing({"fencing": False, "daemons": {"HA1": "pyha", "HA2": "pyha"}})
    assert "without --fencing" in str(e.value) and "pyha lab up --profile fast --fencing" in str(e.value)
    with pytest.raises(DrillError, match="without --fencing"):
        require_fencing({})  # a lab from before the option
    with pytest.raises(DrillError, match="heartbeat on HA1"):
        require_fencing({"fencing": True, "daemons": {"HA1": "heartbeat", "HA2": "pyha"}})


def test_format_result_shows_the_fencing_figures():
    res = Result("fence-links-cut", "exactly one keeps running")
    res.values.update(GOOD_CUT, fence_action="off", preferred="HA1")
    for what, ok, detail in fr.links_cut_checks(res.values, "off", "HA1"):
        res.check(what, ok, detail)
    text = format_result(res)
    assert text.splitlines()[0].split() == ["drill", "fence-links-cut", "PASS"]
    for label, value in (("cut to fenced (s)", "2.7"), ("cut to one running (s)", "0.5"), ("survivor", "HA1"),
                         ("fenced node", "HA2"), ("duplicate VIP (s)", "0"), ("fence action", "off")):
        assert "  %-22s %s\n" % (label, value) in text + "\n", (label, text)
    res.check("extra", False)
    assert format_result(res).splitlines()[0].split() == ["drill", "fence-links-cut", "FAIL"]


def test_refusal_which_drill_on_which_lab():
    from pyha.drill.drills import DRILLS, FENCED_BY_DESIGN, refusal
    plain = {"fencing": False, "daemons": {"HA1": "pyha", "HA2": "pyha"}}
    fenced = {"fencing": True, "fence_action": "off", "daemons": {"HA1": "pyha", "HA2": "pyha"}}
    for name in ("fence-links-cut", "fence-broken-bmc"):
        assert "without --fencing" in refusal(name, plain)
        assert refusal(name, fenced) is None
    for name in DRILLS:
        assert refusal(name, plain) is None
        why = refusal(name, fenced)
        assert (why is not None) == (name in FENCED_BY_DESIGN), name
    assert "would fence HA1" in refusal("kill", fenced) and "fence-links-cut" in refusal("kill", fenced)
