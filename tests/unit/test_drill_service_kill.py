"""`pyha drill service-kill` on a real pair finds what to kill without a name match on the
host's whole process table by pkill: the monitored service's process name from the
daemon's status, and the PIDs whose /proc comm is exactly that name (a fake /proc here)."""

from pyha.drill.real import monitored_service, service_pids


def test_pids_are_those_whose_comm_is_exactly_the_name(tmp_path):
    for pid, comm in ((10, "nginx"), (11, "nginx"), (12, "nginx-debug"), (13, "bash"), (99, "nginx")):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "comm").write_text(comm + "\n")
    (tmp_path / "14").mkdir()          # a process gone meanwhile: no comm file
    (tmp_path / "self").mkdir()        # not a PID
    assert service_pids("nginx", str(tmp_path)) == [10, 11, 99]
    # comm is cut at 15 characters
    (tmp_path / "20").mkdir()
    (tmp_path / "20" / "comm").write_text("a-very-long-ser\n")
    assert service_pids("a-very-long-service", str(tmp_path)) == [20]


def test_the_monitored_service_of_the_group_comes_from_the_status():
    st = {"monitors": {"mysql": {"group": "192.0.2.161/24/eth0"}, "nginx": {"group": "192.0.2.160/24/eth0"}}}
    assert monitored_service(st, "192.0.2.160/24/eth0") == "nginx"
    assert monitored_service({"monitors": {"httpd::web": {"group": "g"}}}, "g") == "httpd"
    assert monitored_service(st, "other") is None and monitored_service({}, "g") is None
