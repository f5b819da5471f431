"""cib.xml from a `pacemaker_model.Cluster`: the configuration section Pacemaker loads.

The XML omits `crm_feature_set` (a newer one than the installed Pacemaker makes
crm_simulate abort) and declares `validate-with="pacemaker-2.0"`, a schema both EL7's
Pacemaker 1.1 and Pacemaker 2.x accept; rule values use `type="number"` (spec
pacemaker.md).  Pure: text in, text out.
"""

import xml.etree.ElementTree as ET
from typing import List, Tuple

from pyha.export.pacemaker_model import PING_MULTIPLIER, PREFERENCE_SCORE, Cluster

VALIDATE_WITH = "pacemaker-2.0"


def _nvpairs(parent, tag, set_id, pairs):
    # type: (ET.Element, str, str, List[Tuple[str, str]]) -> ET.Element
    block = ET.SubElement(parent, tag, id=set_id)
    for name, value in pairs:
        ET.SubElement(block, "nvpair", id="%s-%s" % (set_id, name), name=name, value=value)
    return block


def _primitive(parent, prim):
    attrs = {"id": prim.id, "class": prim.cls, "type": prim.type}
    if prim.provider:
        attrs["provider"] = prim.provider
    el = ET.SubElement(parent, "primitive", attrs)
    if prim.params:
        _nvpairs(el, "instance_attributes", prim.id + "-instance_attributes", prim.params)
    if prim.meta:
        _nvpairs(el, "meta_attributes", prim.id + "-meta_attributes", prim.meta)
    ops = ET.SubElement(el, "operations")
    interval, timeout = prim.monitor
    ET.SubElement(ops, "op", id="%s-monitor-%s" % (prim.id, interval), name="monitor", interval=interval,
                  timeout=timeout)
    return el


def render(cluster):
    # type: (Cluster) -> str
    cib = ET.Element("cib", {"validate-with": VALIDATE_WITH, "admin_epoch": "0", "epoch": "1",
                             "num_updates": "0"})
    conf = ET.SubElement(cib, "configuration")
    crm = ET.SubElement(conf, "crm_config")
    _nvpairs(crm, "cluster_property_set", "cib-bootstrap-options",
             [("stonith-enabled", "true" if cluster.fencing else "false"), ("cluster-name", cluster.name)])
    nodes = ET.SubElement(conf, "nodes")
    for i, name in enumerate(cluster.nodes, 1):
        ET.SubElement(nodes, "node", id=str(i), uname=name)
    resources = ET.SubElement(conf, "resources")
    for g in cluster.groups:
        group = ET.SubElement(resources, "group", id=g.id)
        for prim in g.primitives:
            _primitive(group, prim)
    if cluster.ping_hosts:
        clone = ET.SubElement(resources, "clone", id="ping-clone")
        prim = ET.SubElement(clone, "primitive", {"id": "ping", "class": "ocf", "provider": "pacemaker",
                                                  "type": "ping"})
        _nvpairs(prim, "instance_attributes", "ping-instance_attributes",
                 [("host_list", " ".join(cluster.ping_hosts)), ("multiplier", PING_MULTIPLIER)])
        ops = ET.SubElement(prim, "operations")
        ET.SubElement(ops, "op", id="ping-monitor-10s", name="monitor", interval="10s", timeout="60s")
    for dev in cluster.fence_devices:
        el = ET.SubElement(resources, "primitive", {"id": dev.id, "class": "stonith", "type": dev.type})
        _nvpairs(el, "instance_attributes", dev.id + "-instance_attributes",
                 dev.params + [("pcmk_host_list", " ".join(dev.targets))])
        ops = ET.SubElement(el, "operations")
        ET.SubElement(ops, "op", id="%s-monitor-60s" % dev.id, name="monitor", interval="60s", timeout="60s")
    cons = ET.SubElement(conf, "constraints")
    for dev in cluster.fence_devices:
        if dev.avoid:
            ET.SubElement(cons, "rsc_location", id="%s-avoids-%s" % (dev.id, dev.avoid), rsc=dev.id,
                          node=dev.avoid, score="-INFINITY")
    for g in cluster.groups:
        ET.SubElement(cons, "rsc_location", id="%s-prefers-%s" % (g.id, g.node), rsc=g.id, node=g.node,
                      score=PREFERENCE_SCORE)
        if cluster.ping_hosts:
            loc = ET.SubElement(cons, "rsc_location", id="%s-connected" % g.id, rsc=g.id)
            rule = ET.SubElement(loc, "rule", {"id": "%s-connected-rule" % g.id, "score": "-INFINITY",
                                               "boolean-op": "or"})
            ET.SubElement(rule, "expression", id="%s-connected-undefined" % g.id, attribute="pingd",
                          operation="not_defined")
            ET.SubElement(rule, "expression", id="%s-connected-zero" % g.id, attribute="pingd",
                          operation="lte", value="0", type="number")
    defaults = ET.SubElement(conf, "rsc_defaults")
    _nvpairs(defaults, "meta_attributes", "rsc-options", [("resource-stickiness", cluster.stickiness)])
    ET.SubElement(cib, "status")
    _indent(cib)
    return ET.tostring(cib, encoding="unicode") + "\n"


def _indent(el, level=0):
    """Pretty-print in place (ElementTree.indent is 3.9+)."""
    pad = "\n" + "  " * level
    if len(el):
        if not (el.text or "").strip():
            el.text = pad + "  "
        for child in el:
            _indent(child, level + 1)
        if not (child.tail or "").strip():
            child.tail = pad
    if level and not (el.tail or "").strip():
        el.tail = pad
