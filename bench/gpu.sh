#!/usr/bin/env bash
# One short GPU run: set up from what a CUDA machine has (no internet), run the CUDA tests, then
# train native CartPole and Breakout for a fixed number of steps and print SPS, the time split and
# the GPU's name. About 6 minutes; every step has a time limit, 8 minutes in all.
#
#   bash bench/gpu.sh          on a CUDA machine
#   bash bench/gpu.sh --cpu    a dry run on a CPU: the same steps, device cpu, small layouts
#
# The machine is expected to have Python with PyTorch (CUDA), numpy and numba; nothing is fetched
# from a registry. The project runs from this checkout (PYTHONPATH=src, nothing to build); its
# other dependencies (gymnasium, pettingzoo, the test tools) are wheels in ./.whl (ignored by
# git), prepared beforehand on a machine with internet for the GPU machine's Python, e.g. 3.12:
#
#   python -m pip download --dest .whl --only-binary=:all: --implementation cp --python-version 3.12 \
#       --platform manylinux2014_x86_64 gymnasium pettingzoo pytest pytest-timeout hypothesis psutil
#
# Wheels for distributions the machine already has (numpy, say) are skipped. Settings (environment
# variables): PYTHON (default python3), WHEELS (default .whl), DEPS (where the wheels are installed,
# default /tmp/pufferlib-gpu-deps), OUT (a folder for the JSON lines, default none).
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=cuda
if [[ "${1:-}" == "--cpu" ]]; then MODE=cpu; fi
PYTHON=${PYTHON:-python3}
WHEELS=${WHEELS:-.whl}
DEPS=${DEPS:-/tmp/pufferlib-gpu-deps}
START=$SECONDS
step() { echo "== $1 ($((SECONDS - START)) s since start)"; }

step "machine"
if [[ $MODE == cuda ]]; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
fi
"$PYTHON" -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__, \
'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"

step "dependencies from $WHEELS (no registry)"
mkdir -p "$DEPS"
timeout 120 "$PYTHON" - "$WHEELS" "$DEPS" <<'PY'
import glob, importlib.metadata, os, re, subprocess, sys
wheels, deps = sys.argv[1], sys.argv[2]
files = sorted(glob.glob(os.path.join(wheels, "*.whl")))
def have(name):
    try:
        importlib.metadata.version(name)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False
wanted = [f for f in files if not have(re.split(r"-\d", os.path.basename(f))[0].replace("_", "-"))]
print(f"{len(files)} wheels, {len(wanted)} to install:", " ".join(os.path.basename(f) for f in wanted))
if wanted:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
                    "--disable-pip-version-check", "--target", deps, *wanted], check=True)
PY
export PYTHONPATH="$PWD/src:$DEPS${PYTHONPATH:+:$PYTHONPATH}"
"$PYTHON" -c "import gymnasium, pettingzoo, pufferlib.trainer; print('gymnasium', gymnasium.__version__, \
'pettingzoo', pettingzoo.__version__, 'pufferlib from', pufferlib.__file__)"

step "CUDA tests"
timeout 200 "$PYTHON" -m pytest -q -p no:cacheprovider -k cuda \
    tests/test_pytorch.py tests/test_learner.py || echo "CUDA tests: exit status $?"

# Layouts: the shipped CPU configs are sized for one core; a GPU wants thousands of games and
# large batches (batch = games x steps per agent, a multiple of games x bptt_horizon).
if [[ $MODE == cuda ]]; then
    DEVICE=cuda; CARTPOLE_STEPS=30000000; BREAKOUT_STEPS=10000000; LIMIT=60
    CARTPOLE="--set env.num_envs=4096 --set train.batch_size=262144 --set train.minibatch_size=65536"
    BREAKOUT="--set env.num_envs=2048 --set train.batch_size=131072 --set train.minibatch_size=32768"
else
    DEVICE=cpu; CARTPOLE_STEPS=16384; BREAKOUT_STEPS=16384; LIMIT=60
    CARTPOLE="--set env.num_envs=256 --set train.batch_size=8192 --set train.minibatch_size=4096"
    BREAKOUT="--set env.num_envs=128 --set train.batch_size=8192 --set train.minibatch_size=4096"
fi
RESULTS=/dev/null
if [[ -n "${OUT:-}" ]]; then mkdir -p "$OUT"; RESULTS="$OUT/gpu.jsonl"; fi
run() {  # NAME STEPS LEARNER ARGS...
    local name=$1 steps=$2 learner=$3
    shift 3
    step "train ocean:$name, $learner learner, $steps steps"
    # shellcheck disable=SC2068
    timeout $((LIMIT + 60)) "$PYTHON" bench/gpu.py --env "$name" --device $DEVICE --steps "$steps" \
        --max-seconds $LIMIT --set train.learner="$learner" $@ | tee -a "$RESULTS" \
        || echo "ocean:$name ($learner): exit status $?"
}
run cartpole $CARTPOLE_STEPS compiled $CARTPOLE
run breakout $BREAKOUT_STEPS compiled $BREAKOUT
run cartpole $CARTPOLE_STEPS eager $CARTPOLE
step "done"
