"""The tutorial's scenario on one machine: what `pyha lab up` builds on top of `Lab`.

Two nodes HA1/HA2 (eth0 public 192.0.2.0/24 with the VIP 192.0.2.160, eth1 heartbeat
link 198.51.100.0/24), the gateway 192.0.2.1 as ping node, a client 192.0.2.8.  Each
node runs nginx serving a page with its own name (the tutorial's step 6), gets its
/etc/ha.d from a real `pyha init` run on HA1 against a real sshd on HA2, and then runs
its daemon: pyha, or genuine heartbeat 3.0.6 on HA1 for a mixed cluster.

nginx inside a node must not use the host's files: the node's own mount namespace gets a
private /etc/nginx and /var/www (bind mounts made inside the node), so the stock
`/etc/init.d/nginx` resource script works unchanged and serves that node's page.
"""

import os
import shutil
import subprocess
import sys
import time
from typing import Dict, List, Optional, Tuple

from pyha.lab.netns import LabError
from pyha.lab.spec import reference_spec
from pyha.lab.sshd import start_sshd
from pyha.lab.topology import Lab, cleanup_leftovers, default_statedir

DEFAULT_PREFIX = "pyhalab"
VIP = "192.0.2.160"
VIP_SPEC = "192.0.2.160/24/eth0"
NODES = ("HA1", "HA2")
PEER_ADDR = {"HA1": "198.51.100.2", "HA2": "198.51.100.1"}

NGINX_CONF = """# nginx for lab node %(node)s: the tutorial's www.cmdschool.org site, per node.
user www-data;
worker_processes 1;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log;
events { worker_connections 64; }
http {
    access_log off;
    server {
        listen 80 default_server;
        server_name www.cmdschool.org;
        location / {
            root /var/www/www.cmdschool.org;
            index index.html index.htm;
        }
    }
}
"""


def _env():
    # type: () -> Dict[str, str]
    return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "LANG": "C.UTF-8"}


def pyha_argv(*args):
    # type: (*str) -> List[str]
    """`pyha ARGS` with this interpreter, importable both installed and from a checkout."""
    return [sys.executable, "-m", "pyha"] + list(args)


def run_pyha(node, *args, **kw):
    kw.setdefault("timeout", 120)
    return node.exec(pyha_argv(*args), env=_env(), **kw)


NGINX_INITS = ("el", "debian")
IPFAIL = "/usr/libexec/heartbeat/ipfail"  # Debian's heartbeat 3.0.6 package


def setup_web(node, nginx_init="el"):
    """Private /etc/nginx and /var/www inside `node`, page body = the node's name; with
    `nginx_init` "el", pyha.lab.nginxinit's script over /etc/init.d/nginx (see there)."""
    base = node.host_path("/var/lib/pyha/lab")
    conf, www = os.path.join(base, "nginx"), os.path.join(base, "www")
    if os.path.isdir(conf):
        shutil.rmtree(conf)
    shutil.copytree("/etc/nginx", conf, symlinks=True)
    for sub in ("sites-enabled", "conf.d"):
        d = os.path.join(conf, sub)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
    with open(os.path.join(conf, "nginx.conf"), "w") as f:
        f.write(NGINX_CONF % {"node": node.name})
    site = os.path.join(www, "www.cmdschool.org")
    os.makedirs(site, exist_ok=True)
    with open(os.path.join(site, "index.html"), "w") as f:
        f.write("%s\n" % node.name)
    script = ("set -e; mount --bind /var/lib/pyha/lab/nginx /etc/nginx; "
              "mkdir -p /var/www; mount --bind /var/lib/pyha/lab/www /var/www; mkdir -p /var/log/nginx")
    if nginx_init == "el":
        from pyha.lab.nginxinit import NGINX_INIT
        with open(os.path.join(base, "nginx-init"), "w") as f:
            f.write(NGINX_INIT)
        os.chmod(os.path.join(base, "nginx-init"), 0o755)
        script += "; mount --bind /var/lib/pyha/lab/nginx-init /etc/init.d/nginx"
    elif nginx_init != "debian":
        raise LabError("nginx init script must be one of %s, not %r" % (", ".join(NGINX_INITS), nginx_init))
    r = node.exec(["sh", "-c", script], timeout=30)
    if r.returncode != 0:
        raise LabError("%s: cannot set up nginx: %s" % (node.name, r.stderr.strip()))


def start_nginx(node):
    r = node.exec(["/etc/init.d/nginx", "start"], timeout=60, stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL)
    if r.returncode != 0:
        raise LabError("%s: nginx did not start" % node.name)


def configure(lab, profile="tutorial"):
    """Run `pyha init` on HA1 against a real sshd on HA2 (the same as on real hosts)."""
    access = start_sshd(lab, "HA2")
    try:
        opts = ["--ssh-opt=" + o for o in access.options]
        r = run_pyha(lab.node("HA1"), "init", "--peer", PEER_ADDR["HA1"], "--vip", VIP_SPEC,
                     "--service", "nginx", "--profile", profile, *opts)
        if r.returncode != 0:
            raise LabError("pyha init failed on HA1:\n%s%s" % (r.stdout, r.stderr))
        return r.stdout
    finally:
        access.stop()


KEEPALIVED_CONF = """# keepalived for lab node %(node)s: the benchmark's reference VRRP pair (VRRPv3,
# multicast adverts on the public LAN, the usual set-up; nginx runs on both nodes).
global_defs {
  router_id %(node)s
  vrrp_garp_master_delay 0
}
vrrp_instance VIP {
  state BACKUP
  interface eth0
  virtual_router_id 51
  version 3
  priority %(prio)d
  advert_int %(advert).2f
  virtual_ipaddress {
    %(vip)s dev eth0
  }
}
"""


def keepalived_conf(node):
    """keepalived.conf for `node`: HA1 preferred (preempts, like auto_failback on), adverts
    at the keepalive of the node's ha.cf (VRRPv3 counts in centiseconds)."""
    from pyha.config.hacf import HaCf
    cf = HaCf.load(node.host_path("/etc/ha.d/ha.cf"))
    advert = max(0.01, round(cf.keepalive_ms / 1000.0, 2))
    return KEEPALIVED_CONF % {"node": node.name, "prio": 150 if node.name == "HA1" else 100, "advert": advert,
                              "vip": VIP_SPEC.rsplit("/", 1)[0]}


def start_daemon(node, kind="pyha"):
    """Start the node's HA daemon; pyha's output goes to the node's /var/log/pyha-daemon.out."""
    if kind == "keepalived":
        with open(node.host_path("/etc/ha.d/keepalived.conf"), "w") as f:
            f.write(keepalived_conf(node))
        r = node.exec(["keepalived", "-f", "/etc/ha.d/keepalived.conf", "-p", "/run/keepalived.pid",
                       "-r", "/run/keepalived-vrrp.pid"], timeout=30)
        if r.returncode != 0:
            raise LabError("%s: keepalived did not start: %s%s" % (node.name, r.stdout, r.stderr))
        return None
    if kind == "heartbeat":
        r = node.exec(["/etc/init.d/heartbeat", "start"], timeout=60)
        if r.returncode != 0:
            raise LabError("%s: heartbeat did not start: %s%s" % (node.name, r.stdout, r.stderr))
        return None
    out = open(node.host_path("/var/log/pyha-daemon.out"), "a")
    try:
        proc = node.spawn(pyha_argv("daemon"), env=_env(), stdout=out, stderr=subprocess.STDOUT)
    finally:
        out.close()
    # Return once the daemon holds its pid file lock (or has exited): a caller that stops
    # it right away then finds its pid instead of racing its start-up.
    from pyha.daemon.pidlock import held_by
    run_dir = node.host_path("/run/pyha")
    wait_for(lambda: proc.poll() is not None or held_by(run_dir), 30, step=0.02)
    return proc


def up(prefix=DEFAULT_PREFIX, statedir=None, profile="tutorial", peer_daemon="pyha", progress=None,
       daemon="pyha", hacf_edit=None, nginx_init="el", fencing=False, broken_bmc_password=False,
       started=None, fence_action="off"):
    # type: (str, Optional[str], str, str, object, str, object, str, object, bool, Optional[Tuple[str, ...]], str) -> Lab
    """`peer_daemon` runs on HA1, `daemon` on HA2 (heartbeat on both = the reference to
    measure against).  `hacf_edit(text) -> text` adjusts the generated ha.cf (benchmarks
    use it for the timings of a comparison).  `nginx_init`: "el" (the default: stops like
    EL's script) or "debian" (the stock script, a fixed 1 s sleep in every stop).
    `fencing`: each node gets a virtual BMC and pyha.cf `fence` lines for it (see
    `add_fencing`; "stonith_host": ha.cf stonith_host lines for cluster-glue instead);
    `broken_bmc_password` writes a wrong password into them (a BMC that
    refuses every call, for the "broken device" drills); `fence_action` off (a fenced node
    stays off) or reboot (its BMC powers it on again).  `started`: the nodes whose daemon
    starts (default both; start-up fencing tests leave one node's daemon unstarted)."""
    if fence_action not in FENCE_ACTIONS:
        raise LabError("fence action must be one of %s, not %r" % (", ".join(FENCE_ACTIONS), fence_action))
    if nginx_init not in NGINX_INITS:
        raise LabError("nginx init script must be one of %s, not %r" % (", ".join(NGINX_INITS), nginx_init))
    say = progress or (lambda text: None)
    from pyha.lab.venvcheck import check_nodes_can_run_pyha
    check_nodes_can_run_pyha()  # before cleaning leftovers: refuse with the reason, touch nothing
    statedir = statedir or default_statedir(prefix)
    if os.path.exists(os.path.join(statedir, "lab.json")):
        raise LabError("a lab is already up in %s: `pyha lab down` first" % statedir)
    cleanup_leftovers(prefix, statedir)
    lab = Lab(prefix, statedir=statedir, spec=reference_spec())
    say("building namespaces (switch, HA1, HA2, gateway, client)")
    lab.up()
    try:
        for name in NODES:
            say("%s: nginx with its own page (%s init script)" % (name, nginx_init))
            setup_web(lab.node(name), nginx_init)
            start_nginx(lab.node(name))
        say("HA1: pyha init --peer %s --vip %s --service nginx --profile %s (over SSH to HA2)"
            % (PEER_ADDR["HA1"], VIP_SPEC, profile))
        configure(lab, profile)
        if hacf_edit is not None:
            for name in NODES:
                path = lab.node(name).host_path("/etc/ha.d/ha.cf")
                with open(path) as f:
                    text = hacf_edit(f.read())
                with open(path, "w") as f:
                    f.write(text)
        kinds = {"HA1": peer_daemon, "HA2": daemon}
        if fencing:
            say("virtual BMCs (ipmi_sim) for HA1 and HA2; pyha.cf: fence_ipmilan lines, fence_delay %d, "
                "fence_action %s, fence_check %s" % (FENCE_DELAY_S, fence_action, FENCE_CHECK))
            add_fencing(lab, broken_bmc_password, kind="stonith_host" if fencing == "stonith_host" else "fence",
                        action=fence_action)
        for name in NODES:
            if kinds[name] == "heartbeat":
                # the tutorial's ipfail (ping arbitration for genuine heartbeat); a pyha
                # peer answers it as the other node's ipfail would
                with open(lab.node(name).host_path("/etc/ha.d/ha.cf"), "a") as f:
                    f.write("respawn hacluster %s\napiauth ipfail uid=hacluster\n" % IPFAIL)
        for name in (NODES if started is None else [n for n in NODES if n in started]):
            say("%s: starting %s" % (name, kinds[name]))
            start_daemon(lab.node(name), kinds[name])
        _save_meta(lab, profile, kinds, nginx_init, fencing, fence_action if fencing else None)
    except Exception:
        lab.down()
        raise
    return lab


FENCE_DELAY_S = 5  # HA2 waits this long before fencing HA1 (the preferred node fences first)
# With fencing, a node that starts alone fences its peer once initdead has passed (start-up
# fencing): the fast profile's 2 s would fence a peer whose daemon merely starts a moment
# later on a loaded machine.  Only a lone start waits for it.
FENCE_INITDEAD_S = 6
FENCE_ACTIONS = ("off", "reboot")
FENCE_CHECK = "10s"  # the device check's period: a drill's broken BMC shows within seconds


def add_fencing(lab, broken_password=False, kind="fence", action="off"):
    """A virtual BMC per node (`pyha.lab.bmcs`: ipmi_sim in the gateway's namespace, its
    chassis hook powers the lab node off and on) and, on both nodes, pyha.cf lines for the
    real fence_ipmilan: one `fence` line per node, `fence_delay`, `fence_action` (off: a
    fenced lab node stays off until `pyha fence on`; reboot: its BMC powers it on again
    and, like a machine without an init system, its services stay down) and `fence_check`.
    The BMCs live in the lab's namespaces and state directory: `pyha lab down` removes
    them with the rest.
    `kind` "stonith_host": heartbeat's way instead, ha.cf `stonith_host` lines for
    cluster-glue's external/ipmi (`bmcs.stonith_host_lines`), no `fence` lines."""
    from pyha.lab.bmcs import BMC_PASSWORD, attach_bmcs, fence_lines, stonith_host_lines
    bmcs = attach_bmcs(lab, os.path.join(lab.statedir, "bmcs"))
    password = "not-" + BMC_PASSWORD if broken_password else BMC_PASSWORD
    if kind == "stonith_host":
        glue = "\n# pyha lab up: each node's virtual BMC (cluster-glue external/ipmi)\n%s\n" % "\n".join(
            stonith_host_lines(lab, bmcs, password=password))
        for name in NODES:
            path = lab.node(name).host_path("/etc/ha.d/ha.cf")
            with open(path, "a") as f:
                f.write(glue)
            os.chmod(path, 0o600)  # it holds the BMC password now
        lines = []  # type: List[str]
    else:
        lines = fence_lines(lab, bmcs, password=password)
    text = "\n# pyha lab up --fencing: each node's virtual BMC (%s)\n%s\nfence_delay %d\n" \
           "fence_action %s\nfence_check %s\n" % ("ha.cf stonith_host" if kind == "stonith_host" else "fence_ipmilan",
                                                  "\n".join(lines), FENCE_DELAY_S, action, FENCE_CHECK)
    for name in NODES:
        path = lab.node(name).host_path("/etc/ha.d/pyha.cf")
        with open(path, "a") as f:
            f.write(text)
        os.chmod(path, 0o600)  # it holds the BMC password now
        _at_least_initdead(lab.node(name).host_path("/etc/ha.d/ha.cf"), FENCE_INITDEAD_S)
    return bmcs


def _at_least_initdead(path, seconds):
    # type: (str, int) -> None
    """ha.cf's initdead raised to `seconds` (kept when it is longer)."""
    from pyha.config.hacf import HaCf
    from pyha.config.hacf_doc import Document
    if (HaCf.load(path).initdead_ms or 0) >= seconds * 1000:
        return
    with open(path) as f:
        doc = Document.parse(f.read(), path)
    doc.set("initdead", seconds)
    with open(path, "w") as f:
        f.write(doc.render())


def _save_meta(lab, profile, kinds, nginx_init, fencing=False, fence_action=None):
    import json
    with open(os.path.join(lab.statedir, "scenario.json"), "w") as f:
        json.dump({"profile": profile, "peer_daemon": kinds["HA1"], "daemons": kinds, "vip": VIP,
                   "nginx_init": nginx_init, "fencing": bool(fencing), "fence_action": fence_action}, f)


def load_meta(lab):
    import json
    try:
        with open(os.path.join(lab.statedir, "scenario.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def down(prefix=DEFAULT_PREFIX, statedir=None):
    # type: (str, Optional[str]) -> bool
    """Remove everything; safe to run twice or after a crash.  True if something was there."""
    statedir = statedir or default_statedir(prefix)
    existed = os.path.exists(statedir)
    try:
        Lab.load(statedir).down()
    except Exception:
        pass
    cleanup_leftovers(prefix, statedir)
    return existed


def load(prefix=DEFAULT_PREFIX, statedir=None):
    # type: (str, Optional[str]) -> Lab
    statedir = statedir or default_statedir(prefix)
    if not os.path.exists(os.path.join(statedir, "lab.json")):
        raise LabError("no lab is up (looked in %s): `pyha lab up`" % statedir)
    return Lab.load(statedir)


def vip_holders(lab):
    # type: (Lab) -> List[str]
    """Nodes whose eth0 carries the VIP and is up (what a duplicate VIP means)."""
    holders = []
    for name in NODES:
        node = lab.node(name)
        if not node.is_running():
            continue
        r = node.exec(["ip", "-o", "-4", "addr", "show", "dev", "eth0", "up"], timeout=10)
        if " %s/" % VIP in r.stdout:
            holders.append(name)
    return holders


def curl_vip(lab, timeout=1.0):
    # type: (Lab, float) -> Optional[str]
    r = lab.node("client").exec(["curl", "-s", "-m", str(timeout), "http://%s/" % VIP], timeout=timeout + 5)
    return r.stdout.strip() if r.returncode == 0 else None


def wait_for(cond, limit, step=0.2):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(step)
    return cond()
