#!/usr/bin/env bash
# The main job: set up .venv, train PPO on the Ocean "squared" env (the progress lines show
# the score climbing towards 1.0), then evaluate the checkpoint with a terminal rendering.
#   bash scripts/train.sh [TRAIN OPTIONS]     e.g. bash scripts/train.sh --vec multiprocessing
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh train
.venv/bin/puffer train --env squared --data-dir experiments --progress plain --progress-interval 0.1 "$@"
.venv/bin/puffer eval --env squared --data-dir experiments --episodes 3
