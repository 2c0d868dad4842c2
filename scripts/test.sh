#!/usr/bin/env bash
# Set up .venv with the test dependencies and every optional environment that installs
# on this machine, then run the whole test suite (learning checks included).
#   bash scripts/test.sh [PYTEST ARGS]     e.g. bash scripts/test.sh -m "not slow"
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "dev,test-envs"
exec .venv/bin/python -m pytest "$@"
