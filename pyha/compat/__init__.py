"""heartbeat's own command-line tools (`cl_status`, `hb_standby`, `hb_takeover`) answered by
pyha, for the `pyha-heartbeat-compat` package: scripts and monitoring checks written for a
heartbeat node keep working after the switch.

Each tool has a pure part (arguments and the daemon's status in, genuine heartbeat 3.0.6's
output and exit code out) and a thin `main` that asks the daemon's control socket.  They
import neither typer nor click: a Nagios check starts them every minute.
"""
