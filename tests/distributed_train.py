"""One learner rank of a multi-process PPO run (used by test_distributed.py).

Runs under ``torchrun`` (``torchrun --standalone --nproc-per-node 2 tests/distributed_train.py
SCENARIO OUT_DIR``) or in a process the test starts itself with the torchrun environment
variables set. Each rank writes ``OUT_DIR/rank<r>.json`` with what the test checks.

Scenarios:

- ``learn``: train Ocean ``squared`` within a step budget, checking after every update that
  every rank holds identical weights;
- ``crash``: rank 1 raises after its first update, the others keep training;
- ``hang``: rank 1 stops answering (sleeps) after its first update, the others keep training;
- ``mismatch``: rank 1 has twice the envs of rank 0 (a setup the collectives cannot match);
- ``resume``: train, let rank 0 checkpoint, then resume every rank from it and train on.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
import traceback
from pathlib import Path

import torch

import pufferlib.vector
from pufferlib import distributed
from pufferlib.environments import ocean
from pufferlib.trainer import TrainConfig, Trainer, seed_everything

NUM_ENVS = 16


def train_rank(scenario: str, out_dir: str, timeout_s: float = 60.0) -> None:
    """Train one rank of ``scenario`` and write its report; re-raises any error after reporting it."""
    context = distributed.init_from_env(timeout_s=timeout_s)
    report: dict = {"rank": context.rank, "world_size": context.world_size}
    out = Path(out_dir) / f"rank{context.rank}.json"
    torch.set_num_threads(1)
    start = time.monotonic()
    try:
        total_timesteps = 4096 if scenario == "resume" else 30_000
        config = TrainConfig(seed=1, total_timesteps=total_timesteps, batch_size=512, minibatch_size=128,
                             bptt_horizon=8, update_epochs=4, learning_rate=0.01, gamma=0.9, gae_lambda=0.9,
                             data_dir=str(Path(out_dir) / "experiments"), checkpoint_interval=1)
        seed_everything(config.seed + context.rank)  # different initial weights: the broadcast must fix them
        num_envs = NUM_ENVS * (2 if scenario == "mismatch" and context.rank == 1 else 1)
        vecenv = pufferlib.vector.make(ocean.env_creator("squared"), backend="serial", num_envs=num_envs,
                                       env_kwargs={"distance_to_target": 3, "num_targets": 1})
        policy = ocean.Policy(vecenv.driver_env, hidden_size=64)
        trainer = Trainer(vecenv, policy, config, exp_id="distributed")
        saves = report["saves"] = []
        save_checkpoint = trainer.save_checkpoint

        def counted_save(*args, **kwargs):  # which rank writes checkpoints, and how often
            saves.append(trainer.update)
            return save_checkpoint(*args, **kwargs)

        trainer.save_checkpoint = counted_save
        report["seed"] = trainer.seed
        report["weights_equal"] = []
        report["global_steps"] = []
        report["weight_norms"] = []
        while not trainer.done:
            trainer.evaluate()
            if trainer.update == 0:
                rollout = trainer.experience.observations_np
                report["first_rollout"] = hashlib.sha256(rollout.tobytes()).hexdigest()
            trainer.train()
            report["global_steps"].append(trainer.global_step)
            report["weight_norms"].append(float(distributed.flat_parameters(trainer.policy).norm()))
            report["weights_equal"].append(distributed.parameters_equal_on_every_rank(trainer.policy))
            if scenario == "crash" and context.rank == 1:
                raise RuntimeError("rank 1 crashed on purpose")
            if scenario == "hang" and context.rank == 1:
                time.sleep(3600)
        report["score"] = trainer.stats.get("score")
        report["sps"] = trainer.sps
        trainer.close()  # the default save: rank 0 writes the final checkpoint, the others must not
        report["updates"] = trainer.update
        report["episodes"] = trainer.episodes
        if scenario == "resume":
            distributed.barrier()  # rank 0's checkpoint is complete
            vecenv = pufferlib.vector.make(ocean.env_creator("squared"), backend="serial", num_envs=num_envs,
                                           env_kwargs={"distance_to_target": 3, "num_targets": 1})
            config.total_timesteps *= 2
            policy = ocean.Policy(vecenv.driver_env, hidden_size=64)
            resumed = Trainer(vecenv, policy, config, exp_id="distributed")
            resumed.load_checkpoint(resumed.exp_dir)
            report["resumed_from"] = resumed.global_step
            trained = distributed.flat_parameters(trainer.policy)
            report["resumed_weights_equal"] = [torch.equal(distributed.flat_parameters(policy), trained)]
            while not resumed.done:
                resumed.evaluate()
                resumed.train()
                report["resumed_weights_equal"].append(distributed.parameters_equal_on_every_rank(resumed.policy))
            report["resumed_to"] = resumed.global_step
            resumed.close(save=False)
    except BaseException as e:
        report["error_type"] = type(e).__name__
        report["error"] = str(e)
        report["traceback"] = traceback.format_exc()
        raise
    finally:
        report["elapsed_s"] = time.monotonic() - start
        out.write_text(json.dumps(report, default=str))
        distributed.destroy()


def spawned_rank(rank: int, world_size: int, port: int, scenario: str, out_dir: str,
                 timeout_s: float) -> None:
    """Entry point of a rank the test starts itself: the environment torchrun would set, then train."""
    import os

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world_size))
    train_rank(scenario, out_dir, timeout_s)


if __name__ == "__main__":
    train_rank(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 60.0)
