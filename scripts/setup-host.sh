#!/usr/bin/env bash
# Install what pyha's tests and lab need on a fresh Debian (apt) or EL (yum) machine, and
# create one virtualenv per interpreter with pyha and its dependencies installed.
# Idempotent: a second run only re-installs pyha itself.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
venvs=${PYHA_VENV_DIR:-/var/tmp/pyha-venvs}

if [ "$(id -u)" != 0 ]; then
  echo "setup-host: run as root (network namespaces, iptables, packages)" >&2
  exit 1
fi

debian_packages="iproute2 iptables nginx curl heartbeat net-tools openssh-server openssh-client
  chrony socat rpm rpmlint keepalived iputils-arping iputils-ping tcpdump procps util-linux kmod
  python3 python3-venv python3-dev gcc make
  resource-agents fence-agents openipmi ipmitool cluster-glue pacemaker-cli-utils corosync pcs
  bsd-mailx dma e2fsprogs"  # mail + a local MTA without a daemon, mkfs: MailTo/Filesystem lab test
if command -v apt-get >/dev/null 2>&1; then
  missing=""
  for p in $debian_packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    echo "setup-host: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Debian's postinst scripts would start nginx/ssh/chrony on the host: forbid that.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq --no-install-recommends $missing
    rm -f /usr/sbin/policy-rc.d
  fi
elif command -v yum >/dev/null 2>&1; then
  yum install -y -q iproute iptables nginx curl net-tools openssh-server openssh-clients chrony socat \
    rpm-build iputils tcpdump procps-ng util-linux kmod python3 python3-devel gcc make || true
fi

# One venv per interpreter we test on: EL7's Python 3.6 (pyenv build on the CI image) and
# the system's current python3.
interpreters=()
py36=${PYHA_PY36:-$HOME/.pyenv/versions/3.6.15/bin/python}
if [ -x "$py36" ]; then
  interpreters+=("36:$py36")
elif [ "${PYHA_REQUIRE_PY36:-0}" = 1 ]; then
  echo "setup-host: Python 3.6 not found at $py36 (set PYHA_PY36)" >&2
  exit 1
else
  echo "setup-host: Python 3.6 not found at $py36; testing on the current python3 only" >&2
fi
interpreters+=("3:$(command -v python3)")

mkdir -p "$venvs"
for entry in "${interpreters[@]}"; do
  tag=${entry%%:*}; py=${entry#*:}
  venv="$venvs/py$tag"
  if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
  fi
  if [ "$tag" = 36 ]; then
    # pip 21.3 / setuptools 59.6 / wheel 0.37 are the last releases that run on 3.6.
    "$venv/bin/python" -m pip install -q --upgrade 'pip<22' 'setuptools<60' 'wheel<0.38'
    "$venv/bin/python" -m pip install -q 'pytest==7.0.1' hypothesis vermin
  else
    "$venv/bin/python" -m pip install -q --upgrade pip setuptools wheel
    "$venv/bin/python" -m pip install -q pytest hypothesis vermin
  fi
  "$venv/bin/python" -m pip install -q "$top"
  echo "setup-host: $venv ready ($("$venv/bin/python" --version 2>&1), $("$venv/bin/pyha" --version))"
done
