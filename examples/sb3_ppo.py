"""Train Stable-Baselines3 PPO on CartPole vectorized by pufferlib.

    python examples/sb3_ppo.py [--timesteps 50000] [--backend multiprocessing]

``make_vec_env`` builds a pufferlib vecenv of ``GymnasiumPufferEnv``s and presents it to
SB3 as its own ``VecEnv`` (SB3's auto-reset and ``Monitor`` episode-info conventions).
"""

from __future__ import annotations

import argparse

import gymnasium
import numpy as np
from stable_baselines3 import PPO

from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.frameworks.sb3 import make_vec_env
from pufferlib.postprocess import EpisodeStats


def make_cartpole() -> GymnasiumPufferEnv:
    return GymnasiumPufferEnv(EpisodeStats(gymnasium.make("CartPole-v1")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=50_000)
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--backend", default="serial", choices=["serial", "multiprocessing"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    env = make_vec_env(make_cartpole, num_envs=args.num_envs, backend=args.backend, seed=args.seed)
    try:
        model = PPO("MlpPolicy", env, n_steps=256, batch_size=256, learning_rate=1e-3, seed=args.seed,
                    device="cpu", verbose=1)
        model.learn(args.timesteps)
        returns = [episode["r"] for episode in model.ep_info_buffer]
        print(f"mean return over the last {len(returns)} training episodes: {np.mean(returns):.1f}")
    finally:
        env.close()


if __name__ == "__main__":
    main()
