"""Train RLlib PPO with a pufferlib policy on Ocean "squared", then act with the plain policy.

    python examples/rllib_ppo.py [--iterations 8] [--batch-size 1024] [--num-env-runners 0]

``register_env`` hands RLlib the puffer env (flat spaces); ``policy_spec`` wraps
``ocean.Policy`` (a ``pufferlib.models.Default``) in an RLlib ``RLModule``. After
training, ``policy_state_dict`` gives the weights in the plain policy's key names:
the plain pufferlib policy then picks the same greedy actions as RLlib's module.
"""

from __future__ import annotations

import argparse

import numpy as np
import ray
import torch
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.columns import Columns

from pufferlib.environments import ocean
from pufferlib.frameworks.rllib import policy_spec, policy_state_dict, register_env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--num-env-runners", type=int, default=0, help="0: sample in this process")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        env_name = register_env("puffer_squared", ocean.env_creator("squared"))
        config = (
            PPOConfig()
            .environment(env_name)
            .env_runners(num_env_runners=args.num_env_runners, num_envs_per_env_runner=16)
            .learners(num_learners=0)
            .training(train_batch_size=args.batch_size, minibatch_size=max(args.batch_size // 4, 32),
                      num_epochs=4, lr=1e-2, gamma=0.9, lambda_=0.9)
            .rl_module(rl_module_spec=policy_spec(ocean.Policy, hidden_size=64))
            .debugging(seed=args.seed)
        )
        algo = config.build_algo()
        try:
            for iteration in range(args.iterations):
                result = algo.train()
                print(f"iteration {iteration}: mean episode return "
                      f"{result['env_runners']['episode_return_mean']:.3f} (optimal 2.0)")

            # The trained weights in the plain pufferlib policy.
            env = ocean.make_env("squared")
            policy = ocean.Policy(env, hidden_size=64)
            policy.load_state_dict(policy_state_dict(algo))
            module = algo.get_module()
            obs = torch.as_tensor(np.stack([env.reset(seed=seed)[0] for seed in range(64)]))
            with torch.no_grad():
                plain_actions = policy(obs)[0].argmax(dim=-1)
            dist_inputs = module.forward_inference({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
            dist = module.get_inference_action_dist_cls().from_logits(dist_inputs)
            rllib_actions = dist.to_deterministic().sample()
            if not torch.equal(plain_actions, rllib_actions):
                raise SystemExit("round trip failed: the plain policy acts differently from RLlib's module")
            print("round trip: plain pufferlib policy acts the same as RLlib's module")
        finally:
            algo.stop()
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
