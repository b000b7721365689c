#!/usr/bin/env bash
# Build an offline installation bundle (wheelhouse + project wheel + installer) on a connected
# machine; see installer/build_bundle.py --help and docs/install.md.
#   installer/build_bundle.sh                      # CPU torch where a local CPU build exists
#   installer/build_bundle.sh --cuda --tar         # CUDA torch, plus BUNDLE.tar
#   installer/build_bundle.sh --from-installed     # fast, offline: repack this venv's wheels
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${EVOSAM_PYTHON:-.venv/bin/python}
if [ "$PY" = .venv/bin/python ]; then
  ./installer/setup_env.sh
fi
exec "$PY" installer/build_bundle.py "$@"
