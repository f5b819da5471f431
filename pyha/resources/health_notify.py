"""Running the `notify PROGRAM` of pyha.cf on a state change, keepalived-style, without
ever blocking the loop.

For each change the program runs as a child process (the daemon's ProcessRunner: own
process group, killed at `timeout`) as

    PROGRAM [ARG...] KIND NAME OLD NEW REASON

KIND is `group` or `node`, NAME the group key or node name, OLD/NEW its states, REASON
pyha's words for why (the same as the log and `pyha status`).  The environment says the
same and a little more: PYHA_KIND, PYHA_NAME, PYHA_OLD, PYHA_NEW, PYHA_REASON, PYHA_NODE
(this node), PYHA_TIME (Unix time of the change), plus PATH.  At most `parallel` run at
once; later ones wait in order, at most `backlog` of them (the oldest waiting is dropped,
counted and logged: a program slower than the changes must not grow memory without end).

Never: wait for the program, or let its failure touch the daemon (it is logged).  Which
changes to report is the caller's choice (the manager's typed state-change events).
"""

import logging
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence

log = logging.getLogger("pyha")

DEFAULT_TIMEOUT_S = 30.0
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Notifier(object):
    def __init__(self, runner, argv, node, wall=None, timeout_s=DEFAULT_TIMEOUT_S, parallel=2, backlog=100):
        # type: (Any, Sequence[str], str, Optional[Callable[[], float]], float, int, int) -> None
        import time
        self.runner = runner
        self.argv = list(argv)
        self.node = node
        self.wall = wall or time.time
        self.timeout_s = timeout_s
        self.parallel = parallel
        self.waiting = deque(maxlen=backlog)  # type: Deque[List[Any]]
        self.running = 0
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    def notify(self, kind, name, old, new, reason):
        # type: (str, str, str, str, str) -> None
        if len(self.waiting) == self.waiting.maxlen:
            self.dropped += 1
            log.warning("notify: %d change(s) waiting for %s; dropping the oldest", len(self.waiting), self.argv[0])
        self.waiting.append([kind, name, old, new, reason, self.wall()])
        self._next()

    def _next(self):
        # type: () -> None
        while self.running < self.parallel and self.waiting:
            kind, name, old, new, reason, when = self.waiting.popleft()
            env = {"PATH": PATH, "PYHA_KIND": kind, "PYHA_NAME": name, "PYHA_OLD": old, "PYHA_NEW": new,
                   "PYHA_REASON": reason, "PYHA_NODE": self.node, "PYHA_TIME": "%.3f" % when}  # type: Dict[str, str]
            self.running += 1
            self.sent += 1
            self.runner.start(self.argv + [kind, name, old, new, reason], self._done, self.timeout_s, env=env)

    def _done(self, completed):
        # type: (Any) -> None
        self.running -= 1
        if not completed.ok:
            self.failed += 1
            log.warning("notify: %s", completed.describe())
        self._next()
