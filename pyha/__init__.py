"""pyha: a two-node failover daemon that reads Heartbeat 3's /etc/ha.d and speaks its protocol."""

__version__ = "0.1.0"
