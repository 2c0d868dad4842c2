"""Play a policy trained by PufferLib 3.0.0 (or by us) in our port of its game; report our episode statistics.

Where 3.0's own episode log does not measure what ours does (``blastar`` logs on explosion frames
and wipes its log at every reset), its trained policy is scored here instead: ``train.py
--save-policy FILE.npz`` saves its parameters, and this script (run with OUR interpreter) rebuilds
3.0's default network (``Default``: Linear + GELU encoder, optionally ``LSTMWrapper``'s LSTM
cell, linear action and value heads), plays ``num_envs`` games of ``ocean:GAME`` for ``--steps``
steps, sampling actions from the logits, and prints one JSON line: the means over each game's
first episode (``score``, ``episode_return``, ...; one episode per game, so that long episodes
weigh as much as short ones), and how many games finished one within ``--steps``. As in 3.0's
trainer, the LSTM state starts from zeros every ``--reset-every`` steps (its ``bptt_horizon``).
A ``model.pt`` (or an experiment folder) of ours is played the same way, for the same figures::

    python bench/pufferlib3/peer_policy.py blastar blastar_policy.npz --num-envs 128
    python bench/pufferlib3/peer_policy.py blastar experiments/blastar-.../model.pt
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from pufferlib.environments import ocean


class PeerDefault(torch.nn.Module):
    """3.0's ``Default`` policy (and ``LSTMWrapper`` when the parameters have an LSTM), for discrete
    actions and flat observations, loaded from ``train.py --save-policy``'s arrays."""

    def __init__(self, params: dict[str, np.ndarray]):
        super().__init__()
        prefix = "policy." if "policy.encoder.0.weight" in params else ""
        weight = params[f"{prefix}encoder.0.weight"]
        hidden = weight.shape[0]
        self.encoder = torch.nn.Linear(weight.shape[1], hidden)
        self.decoder = torch.nn.Linear(hidden, params[f"{prefix}decoder.weight"].shape[0])
        self.value = torch.nn.Linear(hidden, 1)
        self.cell = torch.nn.LSTMCell(hidden, hidden) if "lstm.weight_ih_l0" in params else None
        tensors = {
            "encoder.weight": weight,
            "encoder.bias": params[f"{prefix}encoder.0.bias"],
            "decoder.weight": params[f"{prefix}decoder.weight"],
            "decoder.bias": params[f"{prefix}decoder.bias"],
            "value.weight": params[f"{prefix}value.weight"],
            "value.bias": params[f"{prefix}value.bias"],
        }
        if self.cell is not None:
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                tensors[f"cell.{name}"] = params[f"lstm.{name}_l0"]
        self.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in tensors.items()})

    def forward(self, obs: torch.Tensor, state: tuple | None) -> tuple[torch.Tensor, tuple | None]:
        hidden = torch.nn.functional.gelu(self.encoder(obs.float()))
        if self.cell is not None:
            h, c = self.cell(hidden, state)
            hidden, state = h, (h, c)
        return self.decoder(hidden), state


class Ours(torch.nn.Module):
    """Our ``ocean.Policy`` (the MLP of the shipped configs) with the weights of a ``model.pt``."""

    def __init__(self, env, weights: dict[str, torch.Tensor]):
        super().__init__()
        self.policy = ocean.Policy(env, hidden_size=weights["encoder.weight"].shape[0])
        self.policy.load_state_dict(weights)

    def forward(self, obs: torch.Tensor, state: None) -> tuple[torch.Tensor, None]:
        return self.policy(obs)[0], None


def play(game: str, params: str, steps: int, num_envs: int, seed: int, reset_every: int,
         env_kwargs: dict) -> dict[str, float]:
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    env = ocean.make_env(game, num_envs=num_envs, **env_kwargs)
    if params.endswith(".npz"):
        with np.load(params) as data:
            policy = PeerDefault({key: data[key] for key in data.files})
    else:
        from pufferlib.checkpoint import load_weights

        policy = Ours(env, load_weights(params))
    env.report_each_episode()
    obs, _ = env.reset(seed=seed)
    totals: dict[str, float] = {}
    done = np.zeros(num_envs * env.agents_per_game, dtype=bool)
    state = None
    with torch.no_grad():
        for t in range(steps):
            if reset_every and t % reset_every == 0:
                state = None
            logits, state = policy(torch.from_numpy(obs), state)
            actions = torch.multinomial(torch.softmax(logits, dim=-1), 1)[:, 0].numpy()
            obs, _, _, _, infos = env.step(actions)
            for info in infos:
                if done[info["agent"]]:
                    continue
                done[info["agent"]] = True
                for key, value in info.items():
                    if key not in ("n", "agent"):
                        totals[key] = totals.get(key, 0.0) + value
            if done.all():
                break
    count = int(done.sum())
    return {key: value / max(count, 1) for key, value in totals.items()} | {
        "episodes": count, "games": len(done), "steps_played": t + 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("game")
    parser.add_argument("params", help="train.py --save-policy's .npz, or our model.pt / experiment folder")
    parser.add_argument("--steps", type=int, default=100_000, help="at most this many steps")
    parser.add_argument("--num-envs", type=int, default=128)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--reset-every", type=int, default=64, help="LSTM state reset period (0: never)")
    parser.add_argument("--kwargs", default="{}", help="the env's keyword arguments, as JSON")
    args = parser.parse_args()
    stats = play(args.game, args.params, args.steps, args.num_envs, args.seed, args.reset_every,
                 json.loads(args.kwargs))
    trained_by = "pufferlib-3.0.0" if args.params.endswith(".npz") else "ours"
    print(json.dumps({"game": args.game, "policy": trained_by, "params": args.params, "steps": args.steps,
                      "num_envs": args.num_envs, **stats}))


if __name__ == "__main__":
    main()
