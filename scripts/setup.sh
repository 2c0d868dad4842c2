#!/usr/bin/env bash
# Create or update .venv with pufferlib installed editable plus the given extras.
# Safe to run again: it only installs what is missing or changed.
#   bash scripts/setup.sh [EXTRAS]      e.g. bash scripts/setup.sh train,test
set -euo pipefail
cd "$(dirname "$0")/.."

extras="${1:-train}"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"

if [ ! -x .venv/bin/python ]; then
    echo "[setup] creating .venv with $python"
    "$python" -m venv .venv
fi
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)

# Without a GPU, take the CPU build of PyTorch first: a bare `torch` requirement
# would pull several GB of CUDA packages. The package itself only asks torch>=2.1.
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
        echo "[setup] GPU found: installing torch"
        "${pip[@]}" torch
    else
        echo "[setup] no GPU: installing torch==2.13.0 (CPU build)"
        "${pip[@]}" torch==2.13.0
    fi
fi

echo "[setup] installing pufferlib[$extras]"
"${pip[@]}" -e ".[$extras]"

# Bindings whose releases pin old numpy / gym / gymnasium versions but run on the core stack
# (their tests pass on numpy 2 and gymnasium 1.4): install them without their pins.
if [[ ",$extras," == *",test-envs,"* ]]; then
    echo "[setup] installing procgen, nle and minihack without their stale pins"
    "${pip[@]}" --no-deps "procgen-mirror==0.10.7" "gym3==0.3.3" "gym==0.26.2" "nle==1.3.0" "minihack==1.0.2"
    "${pip[@]}" cffi filelock cloudpickle pybind11
fi
