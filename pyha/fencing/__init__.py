"""Fencing devices: make sure a node is really off, with heartbeat's stonith lines
(cluster-glue) or Red Hat fence agents.

lines     pyha.cf's `fence` / `fence_delay` lines, read from their words (pure)
devices   which device may fence which node; heartbeat's stonith line rules (pure)
invoke    argv/stdin/environment of one call, and what exit codes mean (pure)
runner    calls as child processes: start, poll, outcome; never blocks a loop
metadata  what agents and cluster-glue types accept (`-o metadata`, `stonith -n`)
plan      the call for "ACTION on NODE" with the one device allowed
load      read ha.cf + pyha.cf of a directory into a FenceConfig
check     `pyha config check`'s fencing findings
command   `pyha fence ...`

This package never decides *when* to fence: that is the resource manager's policy.
"""
