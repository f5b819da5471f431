#!/usr/bin/env bash
# The test command: set the machine up, then run the whole suite on every interpreter
# (EL7's Python 3.6 and the current python3) and vermin over pyha/ for 3.6 syntax.
# Unit tests are pure and fast; lab tests (tests/lab) need root and build real network
# namespaces with real nginx, sshd and genuine heartbeat.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
venvs=${PYHA_VENV_DIR:-/var/tmp/pyha-venvs}
"$top/scripts/setup-host.sh"

cd "$top"
status=0
for venv in "$venvs"/py36 "$venvs"/py3; do
  [ -x "$venv/bin/python" ] || continue
  echo "=== pytest on $("$venv/bin/python" --version 2>&1) ==="
  # The pytest script (not `python -m pytest`) keeps the checkout off sys.path, so the
  # tests exercise the installed package, as a user would run it.
  "$venv/bin/pytest" -p no:cacheprovider -q "${@:-tests}" || status=1
done
echo "=== vermin (Python 3.6 compatibility of pyha/) ==="
"$venvs/py3/bin/vermin" --no-tips -t=3.6- --violations --eval-annotations \
  --backport dataclasses --backport typing pyha || status=1
exit $status
