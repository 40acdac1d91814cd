#!/usr/bin/env bash
# Build the release artefact: dist/vpn-wizard.pyz, one file that runs on any box with python3 >= 3.10
# and nothing else (no pip, no venv, no compiler). shiv packs the project's wheel and every
# dependency (all pure Python) into a zipapp; on its first run the file unpacks them once under
# ~/.shiv of the user running it (root's: /root/.shiv, HOME set or not), or under $SHIV_ROOT,
# and reuses that afterwards.
#   bash tools/build-zipapp.sh            # -> dist/vpn-wizard.pyz (and the wheel, for pipx)
# Install it on a box exactly as README.md "Install on a box" says.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
work=build/zipapp
mkdir -p "$work" dist
# The build tool lives in a venv of its own, made once and reused.
if [ ! -x "$work/venv/bin/shiv" ]; then
  "$PY" -m venv "$work/venv"
  "$work/venv/bin/python" -m pip install -q --disable-pip-version-check 'shiv>=1.0.8,<2' 'pip>=23'
fi
rm -rf "$work/wheels"
"$work/venv/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps \
  -w "$work/wheels" .
wheel=$(ls "$work"/wheels/vpn_wizard-*.whl)
# pip resolves for the oldest Python the project supports and for no platform in particular:
# only pure-Python wheels qualify (no compiled module that would tie the file to one Python or
# one CPU), so the file runs on 3.10 through 3.13 alike. Markers, though, are judged by the
# build's own interpreter: tomli (needed below 3.11 only) is named so that 3.10 boxes have it.
# vici: `vpn-wizard status` reads swanctl's daemon with it.
# --reproducible: fixed timestamps inside the file. The shebang is the box's own python3.
"$work/venv/bin/shiv" --quiet --reproducible \
  --python '/usr/bin/env python3' \
  --console-script vpn-wizard \
  --output-file dist/vpn-wizard.pyz.new \
  "$wheel" 'vici>=5.9,<7' 'tomli>=2.0' \
  --python-version 3.10 --implementation py --abi none --platform any --only-binary=:all:
# Refuse an artefact that would need a compiler's output on the box.
if "$work/venv/bin/python" -m zipfile -l dist/vpn-wizard.pyz.new | grep -E '\.(so|pyd)(\s|$)'; then
  echo "error: the zipapp holds compiled extensions; it would not run everywhere" >&2
  exit 1
fi
mv dist/vpn-wizard.pyz.new dist/vpn-wizard.pyz
# The wheel too, for those who install with pipx (README).
rm -f dist/vpn_wizard-*.whl
cp "$wheel" dist/
echo "built dist/vpn-wizard.pyz ($(stat -c %s dist/vpn-wizard.pyz) bytes) and dist/$(basename "$wheel")"
