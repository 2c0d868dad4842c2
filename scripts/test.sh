#!/usr/bin/env bash
# Set up .venv with the test dependencies and every optional environment that installs
# on this machine, then run the whole test suite (learning checks included). Test files are spread
# over the cores (pytest-xdist), at most 4 at once: the heavier tests start processes of their own.
#   bash scripts/test.sh [PYTEST ARGS]     e.g. bash scripts/test.sh -m "not slow", or -n 0 for one process
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "dev,test-envs"
# A worker that dies (killed for memory, say) fails the run at once instead of leaving it waiting.
exec .venv/bin/python -m pytest -n auto --maxprocesses 4 --dist loadfile --max-worker-restart 0 "$@"
