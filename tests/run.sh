#!/usr/bin/env bash
# The one command that runs every test, on a fresh machine: installs what the
# tests need (Debian packages for the lab when root, a venv with the package
# and its test extras), checks style, then runs the whole suite, lab included.
#   bash tests/run.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

LAB_PACKAGES=(user-mode-linux kmod iproute2 iptables iputils-ping procps
              strongswan-starter strongswan-charon strongswan-swanctl tmux netplan.io
              mmdebstrap uml-utilities e2fsprogs frr)
# mmdebstrap, uml-utilities (uml_switch), e2fsprogs (mke2fs -d): the booted lab
# (tests/lab/boot), which builds Debian 12 and 13 boxes from Debian's packages.

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for pkg in "${LAB_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages for the lab: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # Installing strongSwan may start its daemon on the host; the tests never need it there.
  systemctl stop strongswan-starter >/dev/null 2>&1 || true
  # Likewise FRR (BGP; tests/frr_pair.py and the lab run their own, never the host's).
  systemctl stop frr >/dev/null 2>&1 || true
  /usr/lib/frr/frrinit.sh stop >/dev/null 2>&1 || true
else
  echo "not root (or no apt-get): the lab tests will be skipped with a reason"
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

echo "release artefact:"
# The boot lab installs exactly this file, as README "Install on a box" says.
bash tools/build-zipapp.sh

echo "ruff:"
.venv/bin/ruff check wizard screens tests bench
echo "pytest:"
# Three workers (pytest-xdist) on a 2-core machine: the boot lab and the other
# labs, in two groups, each keep one worker and their order, and every other
# test fills the time they spend waiting (tests/conftest.py).
# VPN_WIZARD_WORKERS=0 runs it all in this one process.
exec .venv/bin/python -m pytest -n "${VPN_WIZARD_WORKERS:-3}" --dist loadgroup "$@"
