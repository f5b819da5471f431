#!/usr/bin/env bash
# The main job: on a fresh Debian/EL machine, install what is missing, bring the tutorial's
# two-node scenario up in network namespaces (nginx on HA1 and HA2, a VIP, a client), run
# every failover drill with the fast profile and print the measured report.
# Root only; touches nothing in the root network namespace beyond creating namespaces.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
venvs=${PYHA_VENV_DIR:-/var/tmp/pyha-venvs}
"$top/scripts/setup-host.sh" >/dev/null
pyha="$venvs/py3/bin/pyha"
profile=${PYHA_DEMO_PROFILE:-fast}
"$pyha" lab down >/dev/null 2>&1 || true
trap '"$pyha" lab down >/dev/null 2>&1 || true' EXIT
"$pyha" lab up --profile "$profile"
"$pyha" lab status
status=0
"$pyha" drill "$@" || status=$?
"$pyha" lab status
exit $status
