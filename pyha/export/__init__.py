"""Exports of a heartbeat pair's configuration to other cluster stacks (Pacemaker)."""
