"""Drill numbers from synthetic probe records and holder samples."""

from pyha.drill import report


def rec(sent, ok, body=None):
    return {"sent": sent, "end": sent + 0.01, "ok": ok, "body": body}


RECORDS = [rec(0.0, True, "HA1"), rec(0.1, True, "HA1"), rec(0.2, False), rec(0.3, False), rec(0.4, False),
           rec(0.5, True, "HA2"), rec(0.6, True, "HA2"), rec(0.7, False), rec(0.8, True, "HA2")]


def test_outage_runs_and_longest():
    assert report.outages(RECORDS) == [(0.2, 0.5), (0.7, 0.8)]
    assert abs(report.longest_outage(RECORDS) - 0.3) < 1e-9
    assert abs(report.longest_outage(RECORDS, since=0.6) - 0.1) < 1e-9
    assert report.longest_outage([rec(0, True, "HA1")]) == 0.0


def test_trailing_failures_count_until_the_last_probe():
    recs = [rec(0.0, True, "HA1"), rec(0.1, False), rec(0.2, False)]
    assert report.outages(recs) == [(0.1, 0.2)]


def test_serving_before_and_after():
    assert report.serving(RECORDS, before=0.2) == "HA1"
    assert report.serving(RECORDS, after=0.45) == "HA2"


def test_alternations_detect_split_brain_answers():
    flip = [rec(0.0, True, "HA1"), rec(0.1, True, "HA2"), rec(0.2, True, "HA1"), rec(0.3, True, "HA1")]
    assert report.alternations(flip) == 1
    assert report.alternations(RECORDS) == 0


def test_duplicate_time_and_first_time():
    samples = [(0.0, ["HA1"]), (0.05, ["HA1", "HA2"]), (0.10, ["HA1", "HA2"]), (0.15, ["HA2"])]
    assert abs(report.duplicate_time(samples, 0.05) - 0.10) < 1e-9
    assert report.first_time(samples, lambda h: h == ["HA2"]) == 0.15
    assert report.first_time(samples, lambda h: not h) is None


def test_live_line_says_who_holds_and_what_the_client_got():
    import io
    import time
    from pyha.drill.live import LiveLine

    class Obs(object):
        records = []

        def holders(self):
            return ["HA2"]

    obs = Obs()
    out = io.StringIO()
    line = LiveLine(obs, "halt", out=out, interval=0.01)
    now = time.monotonic()
    obs.records = [{"sent": now + 0.1, "ok": True, "body": "HA1"}, {"sent": now + 0.2, "ok": False, "body": None}]
    text = line.text()
    assert "halt" in text and "holders HA2" in text and "client FAILED" in text and "failed 1/2" in text
    line.start()
    time.sleep(0.05)
    line.stop()
    assert out.getvalue().startswith("\r\033[K  halt") and out.getvalue().endswith("\r\033[K")
