"""SIGHUP (`service pyha reload`, `systemctl reload pyha`): re-read /etc/ha.d beside the
loop and apply what may change under a running node.

New keys take effect at once (heartbeat rereads authkeys on SIGHUP too), and so do pyha's
own settings (pyha.cf: monitors, notify, ...; its readers take the new frozen settings)
and fencing's (ha.cf's stonith/stonith_host lines, pyha.cf's fence, fence_delay,
fence_action, fence_check: `use_fencing`, pyha/daemon/fence_shell.py `reload_fencing`;
the core refuses, and logs why, only taking the device away while a fencing is under
way); other changes are reported, not applied: changing timings, media, nodes or groups under a running node
is what a restart (and a hand-over) is for.  A file with errors changes nothing.

The check runs beside the loop (offloop.Job): it reads files and resolves host names,
and neither may delay a keepalive (a 4 MB ha.cf once blocked the loop 3.7 s and the
peer was declared dead).  A SIGHUP during a reload runs one more after it, so the last
signal always sees the last edit.  Never: touch daemon state from the checking thread.
"""

import logging
from typing import Any, Callable, Dict, Optional, Tuple

from pyha import diagnostics as dg
from pyha import wire
from pyha.config.check import check_config
from pyha.daemon.logsetup import LOGGER
from pyha.daemon.offloop import Job

log = logging.getLogger(LOGGER)

# A reload whose check (file reads, host name look-ups) takes longer is abandoned.
RELOAD_TIMEOUT_S = 30.0


def keyring_of(authkeys):
    # type: (Any) -> wire.Keyring
    """The wire keyring for a checked authkeys model."""
    mapping = {}  # type: Dict[int, Any]
    for idx, key in authkeys.keys.items():
        mapping[idx] = (key.method, key.key) if key.key is not None else key.method
    return wire.Keyring.from_mapping(authkeys.active_index, mapping)


def without_stonith(cf):
    # type: (Any) -> str
    """ha.cf's text less its stonith/stonith_host lines (which a reload applies)."""
    return "\n".join(line for line in cf.render().splitlines()
                     if line.split(None, 1)[:1] not in (["stonith"], ["stonith_host"]))


class Reloader(object):
    def __init__(self, loop, ha_dir, running, use_keys, running_pyhacf=None, use_pyhacf=None, use_fencing=None):
        # type: (Any, str, Callable[[], Tuple[Any, Any, Any]], Callable[[wire.Keyring, Any], None], Optional[Callable[[], Any]], Optional[Callable[[Any], None]], Optional[Callable[[Any, Any], None]]) -> None
        """`running()`: the (ha.cf, haresources, authkeys) models in force;
        `use_keys(keyring, authkeys)`: switch to new keys (runs in the loop);
        `running_pyhacf()` / `use_pyhacf(pyhacf)`: the PyhaCf in force, and switching to a
        new one (runs in the loop); `use_fencing(hacf, pyhacf)`: apply the fencing
        settings of these (runs in the loop, after `use_pyhacf`)."""
        self.loop = loop
        self.ha_dir = ha_dir
        self.running = running
        self.use_keys = use_keys
        self.running_pyhacf = running_pyhacf
        self.use_pyhacf = use_pyhacf
        self.use_fencing = use_fencing
        self.stonith = None  # type: Optional[Tuple[Any, ...]]  # ha.cf's stonith lines last applied
        self.job = None  # type: Optional[Job]
        self.again = False

    def reload(self):
        # type: () -> None
        if self.job is not None and self.job.running:
            self.again = True
            log.info("reload: one is in progress; reloading again when it finishes")
            return
        self.again = False
        ha_dir = self.ha_dir
        self.job = Job(self.loop, lambda: check_config(ha_dir), self._checked, RELOAD_TIMEOUT_S)

    def _checked(self, report, error):
        self.job = None
        if error is not None:
            log.error("reload: checking %s failed (%s); keeping the running configuration", self.ha_dir, error)
        else:
            try:
                self._apply(report)
            except Exception:  # a bug here must not stop the node; the old config stays
                log.exception("reload: internal error; keeping the running configuration")
        if self.again:
            self.reload()

    def _apply(self, report):
        errors = [d for d in report.diagnostics if d.severity == dg.ERROR]
        if errors:
            for d in errors:
                log.error("%s", d.format())
            log.error("reload: configuration has errors; keeping the running one")
            return
        cf, haresources, authkeys = self.running()
        changed = []
        if report.authkeys.render() != authkeys.render():
            self.use_keys(keyring_of(report.authkeys), report.authkeys)
            log.info("reload: authkeys reread (active key %d)", report.authkeys.active_index)
        applied = self._apply_pyhacf(report.pyhacf)
        stonith = tuple(report.hacf.stonith)
        glue_changed = stonith != (self.stonith if self.stonith is not None else tuple(cf.stonith))
        if self.use_fencing is not None and (applied or glue_changed):
            self.use_fencing(report.hacf, report.pyhacf if report.pyhacf is not None or self.running_pyhacf is None
                             else self.running_pyhacf())
            self.stonith = stonith
            if glue_changed:
                log.info("reload: %s stonith lines reread", report.hacf.filename)
                applied = True
        if self.use_fencing is None and report.hacf.render() != cf.render():
            changed.append("ha.cf")
        elif self.use_fencing is not None and without_stonith(report.hacf) != without_stonith(cf):
            changed.append("ha.cf (beyond its stonith lines)" if glue_changed else "ha.cf")
        if report.haresources.render() != haresources.render():
            changed.append("haresources")
        if changed:
            log.warning("reload: %s changed; restart pyha to apply it (the peer takes the resources meanwhile)",
                        " and ".join(changed))
        elif report.authkeys.render() == authkeys.render() and not applied:
            log.info("reload: configuration unchanged")

    def _apply_pyhacf(self, new):
        # type: (Any) -> bool
        """Switch to a changed pyha.cf (its settings apply at once); True if it changed."""
        if self.use_pyhacf is None or self.running_pyhacf is None or new is None:
            return False
        old = self.running_pyhacf()
        if old is not None and (old.present, old.render()) == (new.present, new.render()):
            return False
        self.use_pyhacf(new)
        log.info("reload: %s %s", new.filename, "reread" if new.present else "removed; every pyha setting is "
                 "its default")
        return True
