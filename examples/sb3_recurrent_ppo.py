"""Train sb3-contrib RecurrentPPO (CnnLstmPolicy) on a tiny image memory task, vectorized by pufferlib.

    python examples/sb3_recurrent_ppo.py [--timesteps 6000] [--backend multiprocessing]

``FlashEnv``: the first frame flashes a square on the left or the right, then the screen
goes dark for ``delay`` frames; on the last frame (a bar in the middle) the agent must
name the side (action 0 = left, 1 = right) for reward 1. A memoryless policy scores 0.5
on average; the LSTM can score 1.
"""

from __future__ import annotations

import argparse

import gymnasium
import numpy as np
from sb3_contrib import RecurrentPPO

from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.frameworks.sb3 import make_vec_env
from pufferlib.postprocess import EpisodeStats

SIZE = 36  # the smallest input SB3's NatureCNN accepts


class FlashEnv(gymnasium.Env):
    """Remember which side flashed; answer after ``delay`` dark frames."""

    def __init__(self, delay: int = 2):
        self.delay = delay
        self.observation_space = gymnasium.spaces.Box(0, 255, (SIZE, SIZE, 1), np.uint8)
        self.action_space = gymnasium.spaces.Discrete(2)
        self._rng = np.random.default_rng()
        self._frame = np.zeros((SIZE, SIZE, 1), np.uint8)

    def _render_frame(self) -> np.ndarray:
        frame = self._frame
        frame[:] = 0
        if self._t == 0:
            columns = slice(2, 14) if self._side == 0 else slice(22, 34)
            frame[12:24, columns] = 255
        elif self._t == self.delay + 1:
            frame[4:32, 16:20] = 255
        return frame.copy()

    def reset(self, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._side = int(self._rng.integers(2))
        self._t = 0
        return self._render_frame(), {}

    def step(self, action):
        answering = self._t == self.delay + 1
        reward = float(int(action) == self._side) if answering else 0.0
        self._t += 1
        return self._render_frame(), reward, answering, False, {}


def make_flash(delay: int = 2) -> GymnasiumPufferEnv:
    return GymnasiumPufferEnv(EpisodeStats(FlashEnv(delay)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=6_000)
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--backend", default="serial", choices=["serial", "multiprocessing"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    env = make_vec_env(make_flash, num_envs=args.num_envs, backend=args.backend, seed=args.seed)
    try:
        model = RecurrentPPO(
            "CnnLstmPolicy", env, n_steps=64, batch_size=128, n_epochs=4, learning_rate=1e-3,
            policy_kwargs={"lstm_hidden_size": 64, "features_extractor_kwargs": {"features_dim": 64}},
            seed=args.seed, device="cpu", verbose=1,
        )
        model.learn(args.timesteps)
        returns = [episode["r"] for episode in model.ep_info_buffer]
        print(f"mean return over the last {len(returns)} training episodes: {np.mean(returns):.2f} "
              "(memoryless: 0.50, perfect: 1.00)")
    finally:
        env.close()


if __name__ == "__main__":
    main()
