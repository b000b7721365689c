#!/usr/bin/env bash
# Set up the environment (first run only) and run the whole test suite headless.
set -euo pipefail
cd "$(dirname "$0")"
./installer/setup_env.sh
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest -q "$@"
