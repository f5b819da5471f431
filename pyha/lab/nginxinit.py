"""The nginx init script the lab's nodes use by default.

The reference tutorial runs on EL, whose nginx init script stops nginx with `killproc`:
signal the master, then return as soon as it has exited.  Debian's /etc/init.d/nginx
signals it the same way and then sleeps a fixed second (`do_stop`: `sleep 1`), which
alone would make every graceful hand-over in the lab last over a second, on pyha as on
heartbeat.  The lab therefore mounts this LSB script over /etc/init.d/nginx inside each
node (`pyha lab up --nginx-init el`, the default); `--nginx-init debian` keeps the
stock script, and the drills and benches report which one ran.

Stop is graceful (QUIT lets requests in flight finish), escalates to TERM and KILL like
Debian's STOP_SCHEDULE, and polls every 20 ms; a zombie master counts as stopped, and so
does a pid file naming a process that is not nginx (pid reuse).
Status follows LSB: 0 running, 1 dead with a pid file, 3 stopped.
"""

NGINX_INIT = r"""#!/bin/sh
### BEGIN INIT INFO
# Provides:          nginx
# Required-Start:    $local_fs $remote_fs $network
# Required-Stop:     $local_fs $remote_fs $network
# Default-Start:
# Default-Stop:      0 1 6
# Short-Description: nginx, stopped like EL's killproc (pyha lab)
### END INIT INFO

NGINX=/usr/sbin/nginx
PIDFILE=/run/nginx.pid

pid() {
    [ -s "$PIDFILE" ] && read p < "$PIDFILE" && [ -n "$p" ] && echo "$p"
}

alive() {
    [ -r "/proc/$1/stat" ] || return 1
    # a recycled pid (small pid namespaces reuse them fast) is not nginx
    [ "$(cat "/proc/$1/comm" 2>/dev/null)" = nginx ] || return 1
    # a zombie (state Z) has exited; only its parent has not reaped it yet
    ! grep -q '^[0-9]* (.*) Z ' "/proc/$1/stat" 2>/dev/null
}

running() {
    p=$(pid) && alive "$p"
}

wait_gone() {  # pid, tenths of a second
    n=$(($2 * 5))
    while [ "$n" -gt 0 ]; do
        alive "$1" || return 0
        sleep 0.02
        n=$((n - 1))
    done
    ! alive "$1"
}

case "$1" in
start)
    running && exit 0
    "$NGINX" || exit 1
    n=250
    while [ "$n" -gt 0 ]; do
        running && exit 0
        sleep 0.02
        n=$((n - 1))
    done
    exit 1
    ;;
stop)
    p=$(pid) || exit 0
    alive "$p" || { rm -f "$PIDFILE"; exit 0; }
    for sig in QUIT TERM KILL; do
        kill -s "$sig" "$p" 2>/dev/null
        wait_gone "$p" 50 && { rm -f "$PIDFILE"; exit 0; }
    done
    exit 1
    ;;
restart|force-reload)
    "$0" stop && "$0" start
    ;;
reload)
    p=$(pid) && alive "$p" && kill -s HUP "$p"
    ;;
status)
    if running; then echo "nginx is running"; exit 0; fi
    if [ -n "$(pid)" ]; then echo "nginx is dead but its pid file exists"; exit 1; fi
    echo "nginx is stopped"; exit 3
    ;;
*)
    echo "Usage: $0 {start|stop|restart|reload|force-reload|status}" >&2
    exit 2
    ;;
esac
"""
