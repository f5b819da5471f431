"""corosync.conf from a `pacemaker_model.Cluster`.

Corosync 3 (Debian 12, EL8+): knet, one `interface { linknumber: N }` and one
`ringN_addr` per link.  Corosync 2 (EL7): `transport: udpu`, at most two rings,
`rrp_mode: passive` with two.  Both: two nodes with `two_node: 1` (which implies
wait_for_all), token from heartbeat's deadtime (spec pacemaker.md).  Pure.
"""

from pyha.export.pacemaker_model import NOT_MAPPED, Cluster

MAX_LINKS = {2: 2, 3: 8}


def render(cluster, version=3):
    # type: (Cluster, int) -> str
    if version not in MAX_LINKS:
        raise ValueError("Corosync version must be 2 or 3, not %r" % (version,))
    links = cluster.links[:MAX_LINKS[version]]
    for extra in cluster.links[MAX_LINKS[version]:]:
        cluster.say(NOT_MAPPED, "`%s`: Corosync %d takes at most %d links; this one is left out"
                    % (extra.medium, version, MAX_LINKS[version]))
    out = ["# Written by `pyha export pacemaker` from /etc/ha.d/ha.cf.",
           "# Links: " + ("; ".join("%d = `%s`" % (l.number, l.medium) for l in links) or "none"),
           "totem {",
           "    version: 2",
           "    cluster_name: %s" % cluster.name]
    if version == 3:
        out += ["    transport: knet",
                "    token: %d" % cluster.token_ms]
        for link in links:
            out += ["    interface {", "        linknumber: %d" % link.number, "    }"]
    else:
        out += ["    transport: udpu",
                "    token: %d" % cluster.token_ms]
        if len(links) > 1:
            out.append("    rrp_mode: passive")
    out += ["}", "", "nodelist {"]
    for i, name in enumerate(cluster.nodes, 1):
        out += ["    node {", "        name: %s" % name, "        nodeid: %d" % i]
        for link in links:
            out.append("        ring%d_addr: %s" % (link.number, link.addresses.get(name) or name))
        out.append("    }")
    out += ["}", "", "quorum {", "    provider: corosync_votequorum"]
    if len(cluster.nodes) == 2:
        out.append("    two_node: 1")
    # syslog only: the log file's directory differs between EL (/var/log/cluster) and
    # Debian (/var/log/corosync), and corosync refuses to start when it is missing
    out += ["}", "", "logging {", "    to_syslog: yes", "    timestamp: on", "}", ""]
    return "\n".join(out)

