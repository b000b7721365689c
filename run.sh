#!/usr/bin/env bash
# Set up the environment (first run only) and open EvoSAM Annotator on the bundled sample.
set -euo pipefail
cd "$(dirname "$0")"
./installer/setup_env.sh
exec .venv/bin/python main.py "$@"
