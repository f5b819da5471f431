"""The state directory on a real read-only file system and on a real full one (issue 11
item 5): a StateDirError that names the path and says what to do, no traceback, and no
`hb_generation.tmp` left behind.

Root ignores file modes, so the failure comes from real mounts: a tiny tmpfs remounted
read-only, and a tiny tmpfs filled up.  They live in a private mount namespace
(`unshare --mount`) that dies with the child, so nothing is mounted on the host.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.lab

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHILD = textwrap.dedent("""
    import json, os, subprocess, sys
    from pyha.daemon import statefiles

    base = sys.argv[1]
    ro, full = os.path.join(base, "ro"), os.path.join(base, "full")
    out = {}
    for d in (ro, full):
        os.mkdir(d)
        subprocess.check_call(["mount", "-t", "tmpfs", "-o", "size=16k,mode=0755", "tmpfs", d])
    statefiles.next_generation(ro, now=1000.0)  # an earlier start wrote it
    subprocess.check_call(["mount", "-o", "remount,ro", ro])
    statefiles.next_generation(full, now=1000.0)
    try:
        with open(os.path.join(full, "filler"), "wb") as f:
            while True:
                f.write(b"x" * 4096)
                f.flush()
    except OSError:
        pass
    for name, d in (("ro", ro), ("full", full)):
        try:
            statefiles.next_generation(d, now=2000.0)
            out[name] = {"error": None}
        except statefiles.StateDirError as exc:
            out[name] = {"error": str(exc), "errno": exc.errno}
        out[name]["files"] = sorted(os.listdir(d))
        with open(os.path.join(d, statefiles.GENERATION_FILE)) as f:
            out[name]["generation"] = f.read()
    print(json.dumps(out))
""")


def test_read_only_and_full_state_directory(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, "-c", CHILD,
                           str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    out = json.loads(proc.stdout)
    ro, full = out["ro"], out["full"]
    ro_path = os.path.join(str(tmp_path), "ro", "hb_generation")
    assert ro["error"].startswith("cannot write %s (Read-only file system): " % ro_path)
    assert "mount it read-write or point --state-dir at a writable directory" in ro["error"]
    assert ro["files"] == ["hb_generation"] and ro["generation"] == "%15d\n" % 1001
    full_path = os.path.join(str(tmp_path), "full", "hb_generation")
    assert full["error"].startswith("cannot write %s (No space left on device): " % full_path)
    assert "the file system is full" in full["error"]
    assert full["files"] == ["filler", "hb_generation"]  # no hb_generation.tmp
    assert full["generation"] == "%15d\n" % 1001
    assert os.listdir(str(tmp_path / "ro")) == [] and os.listdir(str(tmp_path / "full")) == []  # nothing on the host
